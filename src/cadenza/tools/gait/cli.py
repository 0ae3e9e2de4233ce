"""``cadenza gait``: gait analysis from IMU recordings.

The commands parse their options and print; the workflow is :mod:`cadenza.tools.gait.actions`, shared with
the web page. Heavy libraries (scipy, matplotlib, rich tables) are imported inside the commands so that
``cadenza --help`` stays fast.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cadenza.cli._db import fail, run_as

app = typer.Typer(help="Gait analysis from IMU recordings.", no_args_is_help=True)


Placement = StrEnum("Placement", {"LOWER_BACK": "lower-back", "FOOT": "foot", "INSOLE": "insole"})
AccUnit = StrEnum("AccUnit", {"AUTO": "auto", "M_S2": "m/s^2", "G": "g"})
FreezePlacement = StrEnum("FreezePlacement", {"ALL": "all", "SHANK": "shank", "THIGH": "thigh",
                                              "LOWER_BACK": "lower-back"})
FreezeMethod = StrEnum("FreezeMethod", {"DETECTOR": "detector", "FREEZE_INDEX": "freeze-index"})
FileFormat = StrEnum("FileFormat", {"AUTO": "auto", "DAPHNET": "daphnet", "CSV": "csv"})
GyrUnit = StrEnum("GyrUnit", {"AUTO": "auto", "DEG_S": "deg/s", "RAD_S": "rad/s"})


def _fmt(value: float, spec: str) -> str:
    import math

    return "-" if value is None or not math.isfinite(value) else format(value, spec)


def _save_plot(path: Path, acc, rate: float, result) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    t = np.arange(acc.shape[-1]) / rate
    magnitude = np.linalg.norm(acc, axis=0)
    fig = Figure(figsize=(12, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(t, magnitude, lw=0.7, color="0.3", label="|acc| (m/s²)")
    for bout in result.bouts:
        ax.axvspan(bout.start_s, bout.end_s, color="tab:green" if not bout.low_confidence else "tab:orange", alpha=0.15)
    if result.ic_times_s.size:
        idx = np.clip(np.rint(result.ic_times_s * rate).astype(int), 0, magnitude.size - 1)
        ax.plot(result.ic_times_s, magnitude[idx], "v", color="tab:red", ms=5, label="initial contacts")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("acceleration (m/s²)")
    ax.set_title(f"{len(result.bouts)} walking bout(s); orange = fewer than 8 steps (low confidence)")
    ax.legend(loc="upper right")
    fig.savefig(path, dpi=120)


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="IMU CSV: time column or --rate, acc x/y/z, optional gyr x/y/z; "
                                              "with --placement insole: a gaitpdb record or a per-foot force CSV.")],
    rate: Annotated[float | None, typer.Option("--rate", help="Sampling rate in Hz if the file has no time column.")] = None,
    placement: Annotated[Placement, typer.Option(
        help="Where the sensor was worn; insole: in-shoe force sensors (left_force_n, right_force_n).")
    ] = Placement.LOWER_BACK,
    acc_unit: Annotated[AccUnit, typer.Option(help="Accelerometer unit; auto detects g vs m/s^2.")] = AccUnit.AUTO,
    gyr_unit: Annotated[GyrUnit, typer.Option(help="Gyroscope unit; deg/s unless the header says otherwise.")] = GyrUnit.AUTO,
    plot: Annotated[Path | None, typer.Option(help="Save a PNG of the signal with the detected steps.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
    session: Annotated[int | None, typer.Option("--session", help="Store the cadence as a measurement on this therapy-session id.")] = None,
    store_session: Annotated[int | None, typer.Option(hidden=True, help="Old spelling of --session.")] = None,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help="Acting therapist.")] = None,
) -> None:
    """Detect steps and walking bouts; print per-bout cadence, step-time variability and flags.

    Bouts of fewer than 8 steps are flagged low-confidence and left out of a stored cadence. With
    ``--placement insole``: heel strikes, toe offs, stride/swing/stance times, stride-time CV, swing
    asymmetry and PCI; ``--session`` stores the CV and the asymmetry.
    """
    store_session = session if session is not None else store_session
    if placement is Placement.INSOLE:
        _analyze_insole(file, rate, as_json=as_json, store_session=store_session, as_user=as_user)
        return
    from cadenza.errors import CadenzaError
    from cadenza.io.imu import load_imu_csv
    from cadenza.tools.gait import actions

    try:
        recording = load_imu_csv(file, sampling_rate_hz=rate, acc_unit=acc_unit.value, gyr_unit=gyr_unit.value)
        if store_session is None:
            report = actions.analyse_walk(recording, placement=placement.value)
    except CadenzaError as exc:
        fail(str(exc), code=2)
        return
    notes: list[str] = []
    if store_session is not None:

        def store(db, actor) -> tuple:
            walk = actions.record_walk(db, actor=actor, recording=recording, placement=placement.value,
                                       session_id=store_session)
            asym = walk.stored_asymmetry
            return walk, (f"stored cadence {walk.stored.value:g} {walk.stored.unit}"
                          + (f" and step-time asymmetry {asym.value:g} %" if asym is not None else "")
                          + f" on session {store_session}")

        report, note = run_as(as_user, store)
        notes.append(note)
    result, notes = report.analysis, [*report.notes, *notes]
    if plot is not None:
        _save_plot(plot, recording.acc_m_s2, recording.sampling_rate_hz, result)
    if as_json:
        payload = result.to_dict()
        payload["file"] = str(file)
        payload["notes"] = notes
        payload["walking_bouts"] = payload.pop("bouts")
        overall = result.overall_cadence_spm()
        payload["cadence_spm"] = round(overall, 2) if overall == overall else None  # bouts of >= 8 steps
        typer.echo(json.dumps(payload))
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{file.name}: {placement.value}, {recording.sampling_rate_hz:g} Hz, {result.duration_s:.1f} s")
    for column in ("bout", "start s", "end s", "steps", "cadence spm", "step-time CV %", "L/R asym %", "flags"):
        table.add_column(column, justify="left" if column == "flags" else "right", overflow="fold")
    for i, bout in enumerate(result.bouts, start=1):
        table.add_row(
            str(i),
            f"{bout.start_s:.2f}",
            f"{bout.end_s:.2f}",
            str(bout.n_steps),
            _fmt(bout.cadence_spm, ".1f"),
            _fmt(bout.step_time_cv * 100, ".1f"),
            _fmt(bout.asymmetry * 100, ".1f"),
            ", ".join(bout.flags),
        )
    console.print(table)
    if result.flags:
        console.print(f"[bold yellow]recording flags:[/] {', '.join(result.flags)}")
    for note in notes:
        console.print(f"  note: {note}")
    if plot is not None:
        console.print(f"plot saved to {plot}")


def _analyze_insole(file: Path, rate: float | None, *, as_json: bool, store_session: int | None,
                    as_user: str | None) -> None:
    from cadenza.errors import CadenzaError
    from cadenza.io.insole import load_insole
    from cadenza.tools.gait import actions

    try:
        recording = load_insole(file, sampling_rate_hz=rate)
        if store_session is None:
            report = actions.analyse_insole_walk(recording)
    except CadenzaError as exc:
        fail(str(exc), code=2)
        return
    notes: list[str] = []
    if store_session is not None:

        def store(db, actor) -> tuple:
            walk = actions.record_insole_walk(db, actor=actor, recording=recording, session_id=store_session)
            stored = ", ".join(f"{m.instrument_code} {m.value:g} {m.unit}" for m in walk.stored)
            return walk, f"stored {stored} on session {store_session}"

        report, note = run_as(as_user, store)
        notes.append(note)
    gait, notes = report.gait, [*report.notes, *notes]
    if as_json:
        payload = {"file": str(file), "file_format": recording.file_format, **gait.to_dict(), "notes": notes}
        typer.echo(json.dumps(payload))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{file.name}: force insoles ({recording.file_format}), {gait.sampling_rate_hz:g} Hz, "
                        f"{gait.duration_s:.1f} s")
    for column in ("foot", "contacts", "steady strides", "stride s", "stride CV %", "swing s", "stance s"):
        table.add_column(column, justify="right")
    for side in ("left", "right"):
        d = gait.to_dict()[side]
        table.add_row(side, str(d["n_contacts"]), str(d["n_steady_strides"]), _fmt(d["stride_time_s"], ".3f"),
                      _fmt(d["stride_time_cv_pct"], ".2f"), _fmt(d["swing_time_s"], ".3f"),
                      _fmt(d["stance_time_s"], ".3f"))
    console.print(table)
    console.print(f"cadence {_fmt(gait.cadence_spm, '.1f')} steps/min; stride-time CV {_fmt(gait.stride_time_cv_pct, '.2f')} %; "
                  f"swing asymmetry {_fmt(gait.swing_asymmetry_pct, '.2f')} %; PCI {_fmt(gait.pci_pct, '.2f')} %")
    if gait.flags:
        console.print(f"[bold yellow]flags:[/] {', '.join(gait.flags)}")
    for note in notes:
        console.print(f"  note: {note}")


@app.command()
def speed(
    distance_m: Annotated[float, typer.Option(
        "--distance-m",
        help="Distance timed, in metres. The 10-metre walk test times only the middle 6 m (2-m to 8-m mark), "
             "so the default is 6; give the distance you actually timed for any other protocol.",
    )] = 6.0,
    time_s: Annotated[float, typer.Option("--time-s", help="Time over the timed distance, in seconds.")] = ...,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    session: Annotated[int | None, typer.Option("--session", help="Store the speed as a measurement on this therapy-session id.")] = None,
    store_session: Annotated[int | None, typer.Option(hidden=True, help="Old spelling of --session.")] = None,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help="Acting therapist.")] = None,
) -> None:
    """Gait speed from a timed walk: distance timed / time (10-metre walk test: the middle 6 m).

    The distance is printed with the speed and stored with it.
    """
    store_session = session if session is not None else store_session
    from cadenza.errors import CadenzaError
    from cadenza.gait import gait_speed_m_s

    try:
        value = gait_speed_m_s(distance_m, time_s)
    except CadenzaError as exc:
        fail(str(exc), code=2)
        return
    if store_session is not None:

        def action(db, actor) -> str:
            from cadenza.tools.gait.records import store_timed_walk

            stored = store_timed_walk(db, actor=actor, session_id=store_session, distance_m=distance_m, duration_s=time_s)
            return f"stored gait speed {stored.value:g} m/s (timed over {stored.timed_distance_m:g} m) on session {store_session}"

        typer.echo(run_as(as_user, action), err=as_json)
    if as_json:
        typer.echo(json.dumps({"distance_m": distance_m, "time_s": time_s, "gait_speed_m_s": round(value, 3)}))
    else:
        typer.echo(f"gait speed {value:.2f} m/s (timed over {distance_m:g} m in {time_s:g} s)")


@app.command()
def freeze(
    file: Annotated[Path, typer.Argument(help="Daphnet S<ss>R<rr>.txt (three sensors) or an IMU CSV (one sensor).")],
    placement: Annotated[FreezePlacement, typer.Option(
        help="Where the sensor was worn (CSV: required unless shank); for a Daphnet file, one sensor or all.")
    ] = FreezePlacement.ALL,
    method: Annotated[FreezeMethod, typer.Option(
        help="detector: Cadenza's multi-sensor detector; freeze-index: the Moore/Bächlin baseline.")
    ] = FreezeMethod.DETECTOR,
    file_format: Annotated[FileFormat, typer.Option("--format", help="File format; auto tells them apart.")] = FileFormat.AUTO,
    rate: Annotated[float | None, typer.Option("--rate", help="CSV sampling rate in Hz if it has no time column.")] = None,
    acc_unit: Annotated[AccUnit, typer.Option(help="CSV accelerometer unit; auto detects g vs m/s^2.")] = AccUnit.AUTO,
    scores: Annotated[bool, typer.Option("--scores", help="Add the per-window scores to the JSON.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Find freezing-of-gait episodes: freeze intervals \\[start, end] in seconds, their count and total time.

    Supported placements: shank, thigh and lower back (measured on the Daphnet recordings; see
    docs/gait.md). Times are decision times: when a live detector would know.
    """
    from cadenza.errors import CadenzaError

    try:
        report, annotated = _run_freeze(file, placement, method, file_format, rate, acc_unit)
    except CadenzaError as exc:
        fail(str(exc), code=2)
        return
    if as_json:
        payload = {"file": str(file), **report.to_dict(scores=scores)}
        if annotated is not None:
            payload["annotated_freeze_intervals_s"] = [[round(float(s), 3), round(float(e), 3)] for s, e in annotated]
        typer.echo(json.dumps(payload))
        return

    from rich.console import Console
    from rich.table import Table

    data = report.to_dict()
    console = Console()
    table = Table(title=f"{file.name}: {report.method} on {', '.join(report.placements)}, "
                        f"{report.sampling_rate_hz:g} Hz, {report.duration_s:.1f} s")
    for column in ("episode", "start s", "end s", "duration s"):
        table.add_column(column, justify="right")
    for i, (start, end) in enumerate(data["freeze_intervals_s"], start=1):
        table.add_row(str(i), f"{start:.1f}", f"{end:.1f}", f"{end - start:.1f}")
    console.print(table)
    console.print(f"{data['episode_count']} freeze episode(s), {data['time_frozen_s']:.1f} s frozen "
                  "(decision times: a freeze is reported about 1 s after it starts)")
    if annotated is not None:
        console.print(f"annotated in the file: {len(annotated)} episode(s), "
                      f"{float(sum(e - s for s, e in annotated)):.1f} s")
    for note in data["notes"]:
        console.print(f"  note: {note}")


def _run_freeze(file: Path, placement: FreezePlacement, method: FreezeMethod, file_format: FileFormat,
                rate: float | None, acc_unit: AccUnit):
    from cadenza.errors import ParameterError
    from cadenza.io.daphnet import load_daphnet, looks_like_daphnet
    from cadenza.io.imu import load_imu_csv
    from cadenza.tools.gait import actions

    if not file.is_file():
        raise ParameterError(f"file {str(file)!r} does not exist or is not a file")
    fmt = file_format
    if fmt is FileFormat.AUTO:
        fmt = FileFormat.DAPHNET if looks_like_daphnet(file) else FileFormat.CSV
    if fmt is FileFormat.DAPHNET:
        rec = load_daphnet(file)
        sensors = rec.acc_m_s2 if placement is FreezePlacement.ALL else {placement.value: rec.acc_m_s2[placement.value]}
        report = actions.analyse_freezes(sensors, sampling_rate_hz=rec.sampling_rate_hz, method=method.value,
                                         notes=rec.notes)
        return report, rec.freeze_episodes_s
    recording = load_imu_csv(file, sampling_rate_hz=rate, acc_unit=acc_unit.value)
    worn = "shank" if placement is FreezePlacement.ALL else placement.value
    notes = recording.notes
    if placement is FreezePlacement.ALL:
        notes = (*notes, "one sensor in a CSV: taken as worn on the shank (pass --placement to say otherwise)")
    report = actions.analyse_freezes({worn: recording.acc_m_s2}, sampling_rate_hz=recording.sampling_rate_hz,
                                     method=method.value, notes=notes)
    return report, None


# One name per thing: the British spelling works too (hidden), as `cadenza mit analyse` and `cadenza analyze` do.
app.command("analyse", hidden=True)(analyze)
