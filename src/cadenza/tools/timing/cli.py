"""``cadenza timing``: hits of a recording (or of MIDI/touch/key events) against a cue.

The commands parse their options and print; the workflow is :mod:`cadenza.tools.timing.actions`. numpy,
scipy and the analysis are imported inside the commands so that ``cadenza --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cadenza.cli._db import ACT_AS_HELP, fail, finish_run

app = typer.Typer(help="Rhythm and timing: tapping, drumming and clapping to a cue.", no_args_is_help=True)


def _fmt(value, spec: str = ".1f") -> str:
    import math

    return "-" if value is None or not math.isfinite(value) else format(value, spec)


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="Audio (WAV/FLAC/OGG/MP3), MIDI (.mid) or a times file (.txt/.csv: "
                                              "one time in s per line, optionally a side L/R).")],
    cue_bpm: Annotated[float | None, typer.Option("--cue-bpm", help="The cue's tempo (beats per minute).")] = None,
    cue_times: Annotated[Path | None, typer.Option("--cue-times", help="A file of the cue's beat times (s).")] = None,
    cue_start_s: Annotated[float, typer.Option("--cue-start-s", help="With --cue-bpm: the first beat's time (s) "
                                                                     "in the recording.")] = 0.0,
    cue_beats: Annotated[int | None, typer.Option("--cue-beats", help="With --cue-bpm: how many beats the cue "
                                                                      "played (hits after it are continuation); "
                                                                      "default: to the end.")] = None,
    latency_ms: Annotated[float, typer.Option("--latency-ms", help="Output latency of the device that played the "
                                                                   "cue (ms, from a calibration): added to every "
                                                                   "cue time.")] = 0.0,
    skip_beats: Annotated[int, typer.Option("--skip-beats", help="Leave the first beats out of the figures.")] = 0,
    threshold: Annotated[float | None, typer.Option("--threshold", help="Onset threshold for audio (lower: "
                                                                        "softer hits, more false ones).")] = None,
    instant: Annotated[str, typer.Option("--instant", help="Which instant of an audio hit: attack (the start of "
                                                           "the sound, for asynchrony; default), spectral (where "
                                                           "onset datasets annotate it, a few ms earlier) or frame "
                                                           "(the 5-ms analysis frame).")] = "attack",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap confidence intervals.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
    store_session: Annotated[int | None, typer.Option("--session", help="Store the block's figures on this therapy-session "
                                                           "id.")] = None,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help=ACT_AS_HELP)] = None,
) -> None:
    """Find the hits and measure them against the cue: mean asynchrony (negative = ahead), SD, circular R,
    phase-correction gain and the share within +-15/30/50 ms, each with a bootstrap 95 % CI; the drift
    after the cue stops; left/right alternation when the file labels sides."""
    from cadenza.errors import CadenzaError
    from cadenza.tools.timing import actions

    if cue_bpm is not None and cue_times is not None:
        fail("give --cue-bpm or --cue-times, not both", code=2)
    try:
        run = actions.analyse_timing_file(file, cue_bpm=cue_bpm, cue_times_file=cue_times, cue_start_s=cue_start_s,
                                          cue_beats=cue_beats, latency_ms=latency_ms, skip_beats=skip_beats,
                                          threshold=threshold, seed=seed, instant=instant)
    except CadenzaError as exc:
        fail(str(exc), code=2)
        return
    finish_run(run, session_id=store_session, as_user=as_user, record=actions.record_timing, as_json=as_json,
               print_table=_print_table)


@app.command("loopback-signal")
def loopback_signal(
    out: Annotated[Path, typer.Argument(help="Where to write the test signal (.wav or .flac).")],
    rate: Annotated[int, typer.Option("--rate", help="Sampling rate (Hz) of the device that will play it.")] = 48_000,
) -> None:
    """Write the loopback test signal: play it on the device while its own microphone records."""
    from cadenza.errors import CadenzaError
    from cadenza.tools.timing import actions

    try:
        actions.write_loopback_signal(out, sampling_rate_hz=rate)
    except CadenzaError as exc:
        fail(str(exc), code=2)
    typer.echo(f"wrote {out}")


@app.command()
def latency(
    recording: Annotated[Path, typer.Argument(help="The device's recording of the test signal (WAV/FLAC/OGG/MP3).")],
    played_at_s: Annotated[float, typer.Option("--played-at-s", help="When the test signal started playing, in "
                                                                     "seconds after the recording started.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The device's loopback latency (output + input, ms), the error left after calibration and the test
    signal's SNR; refused when the signal is too weak. Pass the latency to `analyze --latency-ms` for hits
    recorded by the same microphone."""
    import json

    from cadenza.errors import CadenzaError
    from cadenza.tools.timing import actions

    try:
        result = actions.measure_loopback_file(recording, played_at_s=played_at_s)
    except CadenzaError as exc:
        fail(str(exc), code=2)
        return
    if as_json:
        typer.echo(json.dumps({"file": str(recording), **result.to_dict()}))
    else:
        typer.echo(f"{recording}: loopback latency {result.latency_ms:.2f} ms, error left after calibration "
                   f"{result.residual_ms:.3f} ms, SNR {result.snr_db:.1f} dB")


def _print_table(run, notes: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    report = run.report
    console.print(f"{run.file}: {run.onset_times_s.size} hits ({run.source})")
    block = report.block
    if block is not None:
        a = report.alignment
        table = Table(title=f"against the cue: {a.n_matched} of {a.cue_times_s.size} beats hit, "
                            f"{a.n_extra} extra hit(s)")
        for column in ("figure", "value", "95 % CI"):
            table.add_column(column, justify="left" if column == "figure" else "right")

        def row(name, estimate, spec=".1f"):
            table.add_row(name, _fmt(estimate.value, spec),
                          f"{_fmt(estimate.ci_low, spec)} .. {_fmt(estimate.ci_high, spec)}")

        row("mean asynchrony ms (negative = ahead)", block.mean_asynchrony_ms)
        row("asynchrony SD ms", block.sd_asynchrony_ms)
        row("circular R", block.circular_r, ".3f")
        row("phase-correction gain", block.phase_correction_gain, ".2f")
        for window_ms, estimate in block.within_pct.items():
            row(f"hits within +-{window_ms:g} ms %", estimate)
        console.print(table)
    if report.continuation is not None:
        c = report.continuation
        label = "after the cue" if block is not None else "unpaced"
        console.print(f"{label}: {c.n_taps} taps, mean interval {_fmt(c.mean_iti_ms)} ms (CV {_fmt(c.iti_cv_pct)} %), "
                      f"drift {_fmt(c.drift_ms_per_tap, '.2f')} ms per tap ({_fmt(c.drift_pct)} % over the run)")
    if report.alternation is not None:
        console.print(f"alternation: {_fmt(report.alternation.alternating_pct)} % of consecutive hits change side")
    for note in notes:
        console.print(f"  note: {note}")
