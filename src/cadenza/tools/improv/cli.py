"""``cadenza improv``: the figures of a played improvisation (a MIDI file, one player per track or channel).

The command parses its options and prints; the workflow is :mod:`cadenza.tools.improv.actions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cadenza.cli._db import ACT_AS_HELP, fail, finish_run

app = typer.Typer(help="Clinical improvisation: per-player and between-player figures from MIDI or recordings.",
                  no_args_is_help=True)


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="A standard MIDI file (.mid): each player on their own track or channel.")],
    client_player: Annotated[str | None, typer.Option("--client-player", help="The client's player (a track name, "
                                                      "'track N' or 'channel N'); default: a player named "
                                                      "'client', else the first.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
    store_session: Annotated[int | None, typer.Option("--session", help="Store the take and the client's figures "
                                                      "on this therapy-session id.")] = None,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=ACT_AS_HELP)] = None,
) -> None:
    """Note density, velocity, pitch range and register, tempo_bpm and pulse clarity, syncopation and tonal
    clarity per player; synchrony, leader-follower lag, tempo coupling, imitation and turn-taking between
    the client and the other player. The file's tempo marking is reported but never used."""
    from cadenza.errors import CadenzaError
    from cadenza.tools.improv import actions

    try:
        run = actions.analyse_midi_file(file, client_player=client_player)
    except CadenzaError as exc:
        fail(str(exc), code=2)
        return
    finish_run(run, session_id=store_session, as_user=as_user, record=actions.record_take, as_json=as_json,
               print_table=_print_table)


def _parts(drums: list[str], pitched: list[str]) -> list[tuple[str, Path, str]]:
    from cadenza.errors import ParameterError

    parts = []
    for kind, given in (("drum", drums), ("pitched", pitched)):
        for item in given:
            name, sep, path = item.partition("=")
            if not sep or not name.strip() or not path:
                raise ParameterError(f"--{kind} takes PLAYER=FILE (e.g. client=voice.wav), got {item!r}")
            parts.append((name.strip(), Path(path), kind))
    return parts


@app.command()
def audio(
    drum: Annotated[list[str], typer.Option("--drum", help="PLAYER=FILE: an unpitched recording (drum, shaker, "
                                            "claps); repeat for each such player.")] = [],  # noqa: B006
    pitched: Annotated[list[str], typer.Option("--pitched", help="PLAYER=FILE: a voice or pitched instrument "
                                               "(xylophone, piano, guitar); repeat for each.")] = [],  # noqa: B006
    client_player: Annotated[str | None, typer.Option("--client-player", help="The client's player; default: a "
                                                      "player named 'client', else the first.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
    store_session: Annotated[int | None, typer.Option("--session", help="Store the take and the client's figures "
                                                      "on this therapy-session id.")] = None,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=ACT_AS_HELP)] = None,
) -> None:
    """The same figures as ``analyze`` from acoustic recordings, one per player, all starting together (the
    tracks of one multitrack recording): a drum's hits, a voice's or instrument's notes."""
    from cadenza.errors import CadenzaError
    from cadenza.tools.improv import actions

    try:
        run = actions.analyse_audio_files(_parts(drum, pitched), client_player=client_player)
    except CadenzaError as exc:
        fail(str(exc), code=2)
        return
    finish_run(run, session_id=store_session, as_user=as_user, record=actions.record_take, as_json=as_json,
               print_table=_print_table)


def _fmt(value, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec) if isinstance(value, float) else str(value)


def _print_table(run, notes: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    data = run.to_dict()
    console.print(f"{run.file}: {data['n_notes']} notes, {data['duration_s']} s, players by {data['players_from']}; "
                  f"tempo {_fmt(data['tempo_bpm'])} BPM"
                  + (f" or {_fmt(data['tempo_alternative_bpm'])} BPM (level confidence "
                     f"{_fmt(data['tempo_level_confidence'], '.2f')})" if data.get("tempo_level_ambiguous") else "")
                  + f" (file's marking: {_fmt(data.get('tempo_marking_bpm'))})")
    table = Table(title="per player")
    names = data["players"]
    table.add_column("figure")
    for name in names:
        table.add_column(name + (" (client)" if name == run.client_player and name != "client" else ""), justify="right")
    for key in next(iter(data["per_player"].values()), {}):
        table.add_row(key, *[_fmt(data["per_player"][n][key], ".2f") for n in names])
    console.print(table)
    duet = data["duet"]
    if duet:
        pair = Table(title=f"between {duet['a']} (a) and {duet['b']} (b): positive lag = b follows")
        pair.add_column("figure")
        pair.add_column("value", justify="right")
        for key, value in duet.items():
            if key not in ("a", "b"):
                pair.add_row(key, _fmt(value, ".2f"))
        console.print(pair)
    for note in notes:
        console.print(f"  note: {note}")
