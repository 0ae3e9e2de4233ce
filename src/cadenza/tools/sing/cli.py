"""``cadenza sing``: the pitch of a sung recording, its notes, range and phonation, and how close it
came to target notes.

The commands parse their options and print; the workflow is :mod:`cadenza.tools.sing.actions`. librosa
and numpy are imported inside the commands so that ``cadenza --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cadenza.cli._db import ACT_AS_HELP, fail, finish_run

app = typer.Typer(help="Singing: pitch matching, range and phonation time.", no_args_is_help=True)


def _fmt(value, spec: str = ".1f") -> str:
    import math

    return "-" if value is None or not math.isfinite(value) else format(value, spec)


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="Audio of the person singing (WAV/FLAC/OGG/MP3).")],
    target: Annotated[str | None, typer.Option("--target", help="Target notes in order, as names or MIDI numbers: "
                                                                "'C4,E4,G4' or '60 64 67'.")] = None,
    octave_equivalent: Annotated[bool, typer.Option("--octave-equivalent", help="Score a note sung an octave "
                                                                                "from its target at that octave.")] = False,
    fmin_hz: Annotated[float | None, typer.Option("--fmin-hz", help="Lowest pitch searched (default 65 Hz).")] = None,
    fmax_hz: Annotated[float | None, typer.Option("--fmax-hz", help="Highest pitch searched (default 1100 Hz).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (times_s, f0_hz with null where "
                                                         "unvoiced, notes, voice, score).")] = False,
    store_session: Annotated[int | None, typer.Option("--session", help="Store the figures on this therapy-session id.")] = None,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=ACT_AS_HELP)] = None,
) -> None:
    """Track the sung pitch, find the notes, measure range and maximum phonation time, and with --target
    the cents error of each target note and the share within +-50 cents."""
    from cadenza.errors import CadenzaError
    from cadenza.tools.sing import actions

    try:
        run = actions.analyse_singing_file(file, targets=target, octave_equivalent=octave_equivalent,
                                           fmin_hz=fmin_hz, fmax_hz=fmax_hz)
    except CadenzaError as exc:
        fail(str(exc), code=2)
        return
    finish_run(run, session_id=store_session, as_user=as_user, record=actions.record_singing, as_json=as_json,
               print_table=_print, notes_key="notes_text")


def _print(run, notes: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    from cadenza.singing.pitch import midi_to_name

    console = Console()
    report = run.report
    voice = report.voice
    console.print(f"{run.file}: {run.duration_s:.1f} s, {voice.voiced_s:.1f} s sung, {len(report.notes)} notes")
    table = Table(title="notes")
    for column in ("#", "onset s", "length s", "note", "Hz", "target", "cents"):
        table.add_column(column, justify="right")
    target_of = {}
    if report.score is not None:
        for i, k in enumerate(report.score.sung_idx):
            if k >= 0:
                target_of[int(k)] = (report.score.target_midi[i], report.score.cents_error[i])
    for k, note in enumerate(report.notes):
        target, cents = target_of.get(k, (None, None))
        table.add_row(str(k + 1), f"{note.onset_s:.2f}", f"{note.duration_s:.2f}", midi_to_name(note.pitch_midi),
                      f"{note.pitch_hz:.1f}", midi_to_name(target) if target is not None else "",
                      _fmt(cents, "+.0f") if cents is not None else "")
    console.print(table)
    if report.score is not None:
        console.print(f"target notes within +-50 cents: {_fmt(report.score.within_50_cents_pct)} % "
                      f"({report.score.target_midi.size} targets, {int((report.score.sung_idx < 0).sum())} missed, "
                      f"{report.score.n_extra} extra notes)")
    console.print(f"range (notes held >= 0.25 s): {midi_to_name(voice.lowest_midi)} to {midi_to_name(voice.highest_midi)}"
                  f" ({_fmt(voice.range_semitones)} semitones); comfortable {midi_to_name(voice.comfortable_low_midi)}"
                  f" to {midi_to_name(voice.comfortable_high_midi)}; maximum phonation {voice.max_phonation_s:.2f} s")
    for note in notes:
        console.print(f"  note: {note}")
