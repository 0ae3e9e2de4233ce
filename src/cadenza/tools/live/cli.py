"""``cadenza live``: replay a recorded walk through the live session, as the phone would stream it.

The command parses its options and prints; the workflow is :mod:`cadenza.tools.live.actions` (the same
batches, sequence numbers and replies as the WebSocket). numpy and the science are imported inside the
command so that ``cadenza --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cadenza.cli._db import fail

app = typer.Typer(help="Live cueing while walking: the streaming step and freeze detectors with the adaptive cue.",
                  no_args_is_help=True)


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="An IMU CSV (lower back, thigh or shank) or a Daphnet .txt file.")],
    cadence_spm: Annotated[float, typer.Option("--cadence-spm", help="The walker's usual cadence (steps/min).")] = 100.0,
    increase_percent: Annotated[float, typer.Option("--increase-percent", help="Goal: faster by this much (0-10 %).")] = 5.0,
    placement: Annotated[str, typer.Option("--placement", help="shank, thigh or lower-back (Daphnet: which sensor).")]
    = "lower-back",
    batch_ms: Annotated[float, typer.Option("--batch-ms", help="Samples per batch, as the phone sends them (ms).")] = 50.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of lines.")] = False,
) -> None:
    """Stream FILE through the live session at its recorded times and print the walk's outcomes: steps, cadence,
    beats sent, synchronisation (R; a recording cannot follow the cue, so R measures only how the cue tracks it)
    and freezes. Nothing is stored."""
    import numpy as np

    from cadenza.errors import CadenzaError
    from cadenza.io.daphnet import load_daphnet, looks_like_daphnet
    from cadenza.io.imu import load_imu_csv
    from cadenza.ras.live import LiveCueSession, goal_cadence_spm

    try:
        if not file.is_file():
            raise CadenzaError(f"IMU file {str(file)!r} does not exist or is not a file")
        if looks_like_daphnet(file):
            rec = load_daphnet(file)
            if placement not in rec.acc_m_s2:
                raise CadenzaError(f"placement must be one of {sorted(rec.acc_m_s2)!r}, got {placement!r}")
            acc, rate = rec.acc_m_s2[placement], rec.sampling_rate_hz
        else:
            imu = load_imu_csv(file)
            acc, rate = imu.acc_m_s2, imu.sampling_rate_hz
        if not 1 <= batch_ms <= 5000:
            raise CadenzaError(f"batch_ms must be within 1-5000 ms, got {batch_ms!r}")
        live = LiveCueSession(preferred_cadence_spm=cadence_spm,
                              goal_cadence_spm=goal_cadence_spm(cadence_spm, increase_fraction=increase_percent / 100),
                              placement=placement)
        times = np.arange(acc.shape[-1]) / rate
        k = max(1, int(round(batch_ms / 1000 * rate)))
        for i in range(0, times.size, k):
            live.push(times[i:i + k], acc[:, i:i + k])
        live.close()
        summary = live.summary()
    except CadenzaError as exc:
        fail(str(exc))
    summary["freeze_intervals_s"] = live.freeze_intervals_s().round(2).tolist()
    clean = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in summary.items()}
    if as_json:
        typer.echo(json.dumps(clean))
        return
    for key, value in clean.items():
        typer.echo(f"{key}: {value}")
    typer.echo("Live cueing is an adjunct to gait rehabilitation, not a cure.")
