"""The listener options every audio command shares, and how a command resolves its listener.

``--client CODE`` reads the client's safety flags and latest calibration from the clinical record (one
authorised read, acting as ``--as``/``CADENZA_USER``); ``--flag`` adds flags by hand (with or without a
client); ``--calibration-dba`` overrides the stored calibration and ``--device`` chooses which stored one
to use; ``--json`` prints one JSON object. :func:`listener_options` adds the set to a command, which
receives it as one :class:`ListenerOptions`; the listener itself (flags, audio policy, calibration) is
:class:`cadenza.clinic.listening.Listener`, the one every tool and page uses.

Nothing heavy is imported here: the record is opened only when a command resolves its listener.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from cadenza.cli._db import ACT_AS_HELP, acting_client, domain_errors, fail, open_db

if TYPE_CHECKING:
    from cadenza.clinic.listening import Listener

CLIENT_HELP = "Client code: safety flags and calibration come from the clinical record."
FLAG_HELP = "Safety flag (repeatable): seizures, hearing_loss, trauma_history, nicu_infant."
CALIBRATION_HELP = "Level in dB(A) measured while the calibration tone played (overrides the stored calibration)."
DEVICE_HELP = "Device whose stored calibration to use."
JSON_HELP = "Print one JSON object instead of a table."
UNCALIBRATED_NOTE = ("Uncalibrated: assuming the conservative default (calibration tone = 80 dB(A)); "
                     "measure with `cadenza safety tone` and `cadenza safety calibrate`.")

# The options on their own, for commands that act as a therapist or print JSON without a listener.
ActAs = Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=ACT_AS_HELP)]
AsJson = Annotated[bool, typer.Option("--json", help=JSON_HELP)]

Command = TypeVar("Command", bound=Callable[..., Any])


@dataclass
class ListenerOptions:
    """The listener options as given on the command line, and the notes to print after the output."""

    client: str | None = None
    flags: list[str] = field(default_factory=list)
    calibration_dba: float | None = None
    device: str | None = None
    as_user: str | None = None
    as_json: bool = False
    notes: list[str] = field(default_factory=list)

    def resolve(self, db: Any = None) -> Listener:
        """The listener: with ``--client`` the client's flags and stored calibration (one authorised
        read, in ``db`` if the command holds one open, else in a session of its own), plus ``--flag``;
        ``--calibration-dba`` overrides the calibration. Exits with a clear message on bad input; notes
        an uncalibrated listener."""
        from cadenza.clinic import listening
        from cadenza.safety.calibration import Calibration

        def from_record(session: Any) -> Listener:
            _, record = acting_client(session, self.as_user, self.client)
            return listening.listener_of(session, client=record, device=self.device, flags=self.flags,
                                         calibration=override)

        with domain_errors():
            override = None
            if self.calibration_dba is not None:
                override = Calibration.from_measurement(self.calibration_dba, device=self.device or "command line")
            if not self.client:
                listener = listening.listener_from_flags(self.flags, calibration=override)
            elif db is not None:
                listener = from_record(db)
            else:
                with open_db() as own:
                    listener = from_record(own)
        if listener.calibration.is_default:
            self.notes.append(UNCALIBRATED_NOTE)
        return listener


def listener_options(*, calibration: bool = True, device_help: str | None = DEVICE_HELP,
                     client_help: str = CLIENT_HELP) -> Callable[[Command], Command]:
    """Add ``--client --flag [--calibration-dba] [--device] --as --json`` to a command, which receives
    them as ``listening: ListenerOptions`` (its own parameter of that name is replaced by the options).

    ``calibration=False`` leaves out ``--calibration-dba``; ``device_help=None`` leaves out ``--device``.
    """
    extra = [
        ("client", Annotated[str | None, typer.Option("--client", help=client_help)], None),
        ("flag", Annotated[list[str] | None, typer.Option("--flag", help=FLAG_HELP)], None),
    ]
    if calibration:
        extra.append(("calibration_dba", Annotated[float | None, typer.Option("--calibration-dba",
                                                                               help=CALIBRATION_HELP)], None))
    if device_help is not None:
        extra.append(("device", Annotated[str | None, typer.Option("--device", help=device_help)], None))
    extra += [("as_user", ActAs, None), ("as_json", AsJson, False)]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
             for name, annotation, default in extra]

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "listening"]

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            options = ListenerOptions(
                client=kwargs.pop("client"), flags=list(kwargs.pop("flag") or []),
                calibration_dba=kwargs.pop("calibration_dba", None), device=kwargs.pop("device", None),
                as_user=kwargs.pop("as_user"), as_json=kwargs.pop("as_json"))
            return command(*args, listening=options, **kwargs)

        run.__signature__ = signature.replace(parameters=own + added)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in own + added} | {"return": None}
        return run  # type: ignore[return-value]

    return decorate


def one_client(client: str | None, old_spelling: str | None, *, old_name: str) -> str:
    """The client code from ``--client``, or from a hidden older spelling of it (``old_name``)."""
    if client and old_spelling and client != old_spelling:
        fail(f"--client {client!r} and {old_name} {old_spelling!r} name different clients; give --client only",
             code=2)
    code = client or old_spelling
    if not code:
        fail("Missing option '--client' (the client code)", code=2)
    return code


def print_warnings(listener: Listener, notes: Iterable[str] = ()) -> None:
    """The listener's policy warnings, the no-auto-play rule and any notes, after a command's output."""
    from rich.console import Console

    console = Console()
    for warning in listener.policy.warnings:
        console.print(f"[yellow]Warning:[/yellow] {warning}", highlight=False)
    if not listener.policy.autoplay_allowed:
        console.print("[yellow]Do not auto-play:[/yellow] start playback only by an explicit action.", highlight=False)
    for note in notes:
        console.print(f"[dim]{note}[/dim]", highlight=False)


def emit_json(payload: dict) -> None:
    """One JSON object on standard output (dates and other objects as text)."""
    typer.echo(json.dumps(payload, indent=2, default=str))
