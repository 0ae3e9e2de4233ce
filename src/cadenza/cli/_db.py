"""Shared helpers for commands that use the clinical record: open the configured database, resolve
the acting user, turn domain errors into clear messages and exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer

ACT_AS_HELP = "Acting therapist's username (or set CADENZA_USER)."

_MIGRATED: set[str] = set()  # databases already brought up to date in this process


@contextmanager
def open_db() -> Iterator[Any]:
    """A migrated database session for one command; commits on success."""
    from cadenza.clinic.db import make_engine, make_session_factory, migrate, session_scope
    from cadenza.settings import Settings

    settings = Settings.from_env()
    if settings.database_url not in _MIGRATED:
        migrate(settings.database_url)
        _MIGRATED.add(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as db:
            yield db
    finally:
        engine.dispose()


def acting_user(db: Any, username: str | None) -> Any:
    from cadenza.clinic.service import get_therapist_by_username
    from cadenza.errors import NotFoundError

    if not username:
        fail("no acting user: pass --as USERNAME or set CADENZA_USER")
    try:
        return get_therapist_by_username(db, username)
    except NotFoundError as exc:
        fail(str(exc))


def acting_client(db: Any, username: str | None, code: str) -> tuple[Any, Any]:
    """The acting user and the client with this code, as that user may see it."""
    from cadenza.clinic.service import get_client_by_code

    actor = acting_user(db, username)
    return actor, get_client_by_code(db, actor=actor, code=code)


def run_as(username: str | None, action: Callable[[Any, Any], Any]) -> Any:
    """``action(db, actor)`` in one migrated, committed session, domain errors reported."""
    with domain_errors(), open_db() as db:
        return action(db, acting_user(db, username))


def store_on_session(username: str | None, session_id: int, record: Callable[[Any, Any, int], Any]) -> tuple[Any, str]:
    """``record(db, actor, session_id)`` in one committed session; returns what it stored and the line to print
    (``stored on session 12: code=value, ...``, from the result's ``stored`` measurements)."""

    def action(db: Any, actor: Any) -> tuple[Any, str]:
        stored = record(db, actor, session_id)
        codes = ", ".join(f"{m.instrument_code}={m.value:g}" for m in stored.stored)
        return stored, f"stored on session {session_id}: {codes}"

    return run_as(username, action)


def finish_run(run: Any, *, session_id: int | None, as_user: str | None, record: Callable[..., Any], as_json: bool,
               print_table: Callable[[Any, list[str]], None], notes_key: str = "notes") -> None:
    """The end of an analysis command: with ``session_id``, ``record(db, actor=, run=, session_id=)`` keeps the
    result on the session (its returned object replaces ``run``); then one JSON object or the tables."""
    import json

    notes: list[str] = []
    if session_id is not None:
        run, note = store_on_session(as_user, session_id,
                                     lambda db, actor, sid: record(db, actor=actor, run=run, session_id=sid))
        notes.append(note)
    if as_json:
        typer.echo(json.dumps({**run.to_dict(), notes_key: notes}))
        return
    print_table(run, notes)


def fail(message: str, code: int = 1) -> None:
    from rich.console import Console
    from rich.markup import escape

    # Escaped and soft-wrapped: the message prints as written ("[...]" is not markup) and a path in it
    # is never broken across lines.
    Console(stderr=True).print(f"[red]Error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Print Cadenza's domain errors as one line and exit non-zero (2 for bad input, 1 otherwise)."""
    from cadenza.errors import CadenzaError, ParameterError

    try:
        yield
    except ParameterError as exc:
        fail(str(exc), code=2)
    except CadenzaError as exc:
        fail(str(exc), code=1)
