"""``cadenza improv``: the figures of a played improvisation (a MIDI file, one player per track or channel).

The command parses its options and prints; the workflow is :mod:`cadenza.tools.improv.actions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cadenza.cli._db import ACT_AS_HELP, fail, finish_run

app = typer.Typer(help="Clinical improvisation: per-player and between-player figures from MIDI.",
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
