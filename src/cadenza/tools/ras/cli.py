"""``cadenza ras``: Rhythmic Auditory Stimulation: plans, cue tracks, synchronisation.

The commands parse their options and print; the workflows (a stored plan, the synchronisation report with
its input rules and audit trail) are :mod:`cadenza.tools.ras.actions`, shared with the web page. Heavy
libraries are imported inside the commands so that ``cadenza --help`` stays fast.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cadenza.cli._db import fail, run_as
from cadenza.cli._json import json_safe

app = typer.Typer(help="Rhythmic Auditory Stimulation: plans, cue tracks, synchronisation.", no_args_is_help=True)


Condition = StrEnum("Condition", {"PARKINSONS": "parkinsons", "STROKE": "stroke", "OTHER": "other"})
Sound = StrEnum("Sound", {"CLICK": "click", "WOODBLOCK": "woodblock", "SOFT_DRUM": "soft_drum"})
# rubberband: an optional external executable (GPL), never bundled
Stretcher = StrEnum("Stretcher", {"WSOLA": "wsola", "PHASE_VOCODER": "phase_vocoder", "RUBBERBAND": "rubberband"})


def _num(value: float, spec: str = ".1f") -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, spec)


@app.command()
def plan(
    cadence: Annotated[float | None, typer.Option(
        "--cadence", help="Baseline (preferred) cadence in steps/min; default: the --client's latest measured."
    )] = None,
    condition: Annotated[Condition, typer.Option(help="Condition the plan is for.")] = Condition.OTHER,
    minutes: Annotated[int, typer.Option(help="Session length, 20-45 min.")] = 30,
    per_week: Annotated[int, typer.Option("--per-week", help="Sessions per week, 1-7 (3-5 usual; 6-7 as in Thaut 1996's daily home programme).")] = 3,
    step: Annotated[float, typer.Option(help="Tempo step in percent.")] = 5.0,
    max_increase: Annotated[float | None, typer.Option(
        "--max", help="Highest cue tempo, percent above preferred (default 10; 5 for stroke).")] = None,
    symmetry_checked: Annotated[bool, typer.Option(
        "--symmetry-checked", help="Stroke: step symmetry has been measured (step_time_asymmetry); allows more than +5 %.")] = False,
    override: Annotated[bool, typer.Option(help="Allow more than +12 % (needs a clinical reason).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    client: Annotated[str | None, typer.Option("--client", help="Store the plan on this client's record (client code).")] = None,
    store_client: Annotated[int | None, typer.Option(hidden=True, help="Old spelling: the client's id.")] = None,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help="Acting therapist.")] = None,
) -> None:
    """A RAS session plan: cue tempo stages from the preferred cadence, dose, and the evidence for each number."""
    from cadenza.errors import CadenzaError
    from cadenza.ras.plan import plan_evidence, plan_ras_sessions

    options = {"condition": condition.value, "session_minutes": minutes, "sessions_per_week": per_week,
               "step_percent": step, "max_increase_percent": max_increase, "allow_beyond_limit": override,
               "symmetry_checked": symmetry_checked}
    stored = None
    try:
        if cadence is None and store_client is None and client is None:
            raise CadenzaError("give --cadence, or --client to plan from the client's latest measured cadence")
        result = plan_ras_sessions(cadence, **options) if cadence is not None else None
        if store_client is not None or client is not None:
            holder = {}

            def action(db, actor) -> str:
                from cadenza.clinic.service import get_client_by_code
                from cadenza.tools.ras import actions

                client_id = get_client_by_code(db, actor=actor, code=client).id if client is not None else store_client
                holder["plan"], row = actions.record_plan(db, actor=actor, client_id=client_id,
                                                          cadence_spm=cadence, **options)
                return f"stored plan {row.id} on client {client if client is not None else client_id}"

            stored = run_as(as_user, action)
            result = holder["plan"]
        evidence = plan_evidence(result)
    except CadenzaError as exc:
        fail(str(exc), code=2)
        return
    cadence = result.baseline_cadence_spm
    if as_json:
        payload = result.to_dict()
        payload["evidence"] = evidence
        payload["stored"] = stored
        typer.echo(json.dumps(json_safe(payload, digits=4)))
        return
    typer.echo(f"RAS plan ({condition.value}), preferred cadence {cadence:g} steps/min: "
               f"{minutes} min sessions, {per_week} per week")
    for stage in result.stages:
        typer.echo(f"  {stage.start_min:5.1f}-{stage.start_min + stage.duration_min:5.1f} min  "
                   f"{stage.tempo_bpm:6.1f} BPM  ({stage.percent_of_preferred:g} % of preferred)")
    typer.echo("Where each number comes from:")
    for fig in result.figures:
        typer.echo(f"  {fig.name}: {fig.value} [{', '.join(fig.evidence_ids) or 'safety limit'}] {fig.note}")
    for entry in evidence:
        typer.echo(f"  {entry['id']}: https://doi.org/{entry['doi']} - {entry['caveat']}")
    for warning in result.warnings:
        typer.secho(f"  note: {warning}", fg=typer.colors.YELLOW)
    if stored:
        typer.echo(stored)


@app.command()
def cue(
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file: .wav, .flac or .ogg.")],
    bpm: Annotated[float | None, typer.Option(help="Cue tempo in BPM (one beat per step).")] = None,
    ramp: Annotated[str | None, typer.Option(help="Tempo ramp START:END in BPM, e.g. 96:104.")] = None,
    ramp_minutes: Annotated[float | None, typer.Option(help="Ramp length (default: the whole cue).")] = None,
    minutes: Annotated[float, typer.Option(help="Cue length in minutes.")] = 30.0,
    music: Annotated[Path | None, typer.Option(help="The person's own song, stretched to the cue tempo.")] = None,
    overlay: Annotated[bool, typer.Option(help="Music mode: add beat-aligned clicks.")] = False,
    sound: Annotated[Sound, typer.Option(help="Cue sound.")] = Sound.WOODBLOCK,
    accent: Annotated[int, typer.Option(help="Accent every N beats (0 = none).")] = 0,
    lufs: Annotated[float, typer.Option(help="Target loudness in LUFS (capped at -14, lower with hearing loss).")] = -23.0,
    rate: Annotated[int, typer.Option(help="Sampling rate in Hz for click cues.")] = 44_100,
    stretcher: Annotated[Stretcher, typer.Option(
        help="Time-stretcher for music mode; 'rubberband' runs an installed rubberband executable (GPL, optional).")
    ] = Stretcher.WSOLA,
    flag: Annotated[list[str] | None, typer.Option("--flag", help="Listener safety flag (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Render a cue track with beats on the planned grid, and report how exact they are."""
    from cadenza.errors import CadenzaError
    from cadenza.io.audio import load_audio, save_audio
    from cadenza.ras.cue import parse_ramp, render_click_cue, render_music_cue

    try:
        if bpm is None and ramp is None:
            raise CadenzaError("give --bpm, or --ramp START:END (optionally with --bpm END)")
        ramp_bpm = parse_ramp(ramp) if ramp else None
        if ramp_bpm is not None and bpm is not None:
            # `--bpm 104 --ramp 96:104` reads as "a cue at 104, reached by a ramp from 96".
            if abs(bpm - ramp_bpm[1]) > 0.05:
                raise CadenzaError(f"--bpm {bpm:g} must equal the ramp's end tempo ({ramp_bpm[1]:g}) when both are given")
            bpm = None
        ramp_s = None if ramp_minutes is None else ramp_minutes * 60
        if music is None:
            track = render_click_cue(duration_s=minutes * 60, sampling_rate_hz=rate, tempo_bpm=bpm, ramp_bpm=ramp_bpm,
                                     ramp_duration_s=ramp_s, sound=sound.value, accent_every=accent, target_lufs=lufs,
                                     safety_flags=flag or ())
        else:
            song = load_audio(music)
            engine = None
            if stretcher is Stretcher.RUBBERBAND:
                from cadenza.cli.rubberband import RubberBandStretcher

                engine = RubberBandStretcher()
            track = render_music_cue(song.samples, sampling_rate_hz=song.sampling_rate_hz, tempo_bpm=bpm,
                                     ramp_bpm=ramp_bpm, ramp_duration_s=ramp_s, duration_s=minutes * 60,
                                     method="wsola" if engine else stretcher.value, stretcher=engine,
                                     click_overlay=overlay, sound=sound.value, accent_every=accent, target_lufs=lufs,
                                     safety_flags=flag or ())
        save_audio(output, track.samples, sampling_rate_hz=track.sampling_rate_hz)
    except CadenzaError as exc:
        fail(str(exc), code=2)
        return
    v = track.verification
    payload = {
        "output": str(output), "mode": track.mode, "duration_s": track.duration_s,
        "sampling_rate_hz": track.sampling_rate_hz, "beats": int(track.beat_times_s.size),
        "first_tempo_bpm": 60 / float(track.beat_times_s[1] - track.beat_times_s[0]) if track.beat_times_s.size > 1 else None,
        "last_tempo_bpm": 60 / float(track.beat_times_s[-1] - track.beat_times_s[-2]) if track.beat_times_s.size > 1 else None,
        "loudness_lufs": track.loudness_lufs, "peak_limited": track.peak_limited,
        "level_dba_default_calibration": track.level_dba, "weekly_dose_percent": track.dose_percent,
        "level_capped": track.level_capped,
        "verification": {"method": v.method, "beats_checked": v.n_beats_checked,
                         "max_error_samples": v.max_error_samples, "median_error_ms": v.median_error_ms,
                         "max_error_ms": v.max_error_ms, "matched_fraction": v.matched_fraction,
                         "checked_s": v.checked_s},
        "warnings": list(track.warnings),
    }
    if as_json:
        typer.echo(json.dumps(json_safe(payload, digits=4)))
        return
    typer.echo(f"wrote {output}: {track.mode} cue, {track.duration_s / 60:.1f} min, {payload['beats']} beats, "
               f"{_num(payload['first_tempo_bpm'])} -> {_num(payload['last_tempo_bpm'])} BPM, "
               f"{_num(track.loudness_lufs)} LUFS" + (" (peak-limited)" if track.peak_limited else ""))
    if v.max_error_samples is not None:
        typer.echo(f"verified: {v.n_beats_checked} beats re-read from the audio, max error {v.max_error_samples} samples")
    else:
        typer.echo(f"verified ({v.method}, first {_num(v.checked_s, '.0f')} s): median {_num(v.median_error_ms)} ms, "
                   f"max {_num(v.max_error_ms)} ms from the grid; {_num(100 * v.matched_fraction, '.0f')} % of "
                   "detected beats matched")
    typer.echo(f"level: about {_num(track.level_dba, '.0f')} dB(A) at the ear on an uncalibrated device "
               f"(a conservative default); this cue uses {_num(track.dose_percent, '.2f')} % of the weekly "
               "listening allowance (WHO/ITU-T H.870)" + ("; turned down to the listener's cap" if track.level_capped else ""))
    for warning in track.warnings:
        typer.secho(f"note: {warning}", fg=typer.colors.YELLOW)


def _read_text(path: Path, what: str) -> str:
    from cadenza.errors import ParameterError

    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"cannot read {what} from {str(path)!r}: {exc}") from exc


def _read_beat_times(path: Path):
    """The cue's beat times (s), one per line (first column), sorted."""
    import numpy as np

    from cadenza.errors import ParameterError

    try:
        values = np.loadtxt(path, ndmin=2, delimiter=None, comments="#", usecols=0)
    except (OSError, ValueError) as exc:
        raise ParameterError(f"cannot read beat times from {str(path)!r}: {exc}") from exc
    return np.sort(np.asarray(values, dtype=float).ravel())


@app.command()
def sync(
    steps: Annotated[Path | None, typer.Option(help="Step (initial-contact) times, one per line, in seconds.")] = None,
    imu: Annotated[Path | None, typer.Option(help="Or an IMU CSV: steps are detected with the gait module.")] = None,
    imu_rate: Annotated[float | None, typer.Option(help="IMU sampling rate if the CSV has no time column.")] = None,
    placement: Annotated[str, typer.Option(help="IMU placement: lower-back or foot.")] = "lower-back",
    beats: Annotated[Path | None, typer.Option(help="Cue beat times, one per line, in seconds.")] = None,
    bpm: Annotated[float | None, typer.Option(help="Or: the cue was a constant tempo ...")] = None,
    cue_start: Annotated[float, typer.Option("--cue-start", help="... starting at this time (s, on the step clock).")] = 0.0,
    latency_ms: Annotated[float, typer.Option("--latency-ms", help="Measured audio output latency in ms.")] = 0.0,
    window_ms: Annotated[float, typer.Option("--window-ms", help="+- window for 'steps on the beat'.")] = 100.0,
    plot: Annotated[Path | None, typer.Option(help="Save the synchronisation plot (PNG/SVG).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    client: Annotated[str | None, typer.Option(
        "--client", help="Client code: the report is audited on this client's record.")] = None,
    session: Annotated[int | None, typer.Option(
        "--session", help="Store the figures on this therapy-session id (audited on its client).")] = None,
    store_session: Annotated[int | None, typer.Option(hidden=True, help="Old spelling of --session.")] = None,
    as_user: Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help="Acting therapist.")] = None,
) -> None:
    """Step-to-beat synchronisation: asynchrony, relative phase, R, locked segments, cadence vs cue tempo.

    At least 8 steps, a cue tempo of 20-250 BPM; with --client or --session the report is kept on
    the record exactly as from the web page.
    """
    store_session = session if session is not None else store_session
    from cadenza.errors import CadenzaError, ParameterError
    from cadenza.ras.sync import plot_synchronization
    from cadenza.tools.ras import actions

    try:
        if (steps is None) == (imu is None):
            raise ParameterError("give exactly one of --steps or --imu")
        if steps is not None:
            step_times = actions.parse_step_times(_read_text(steps, "step times"))
        else:
            from cadenza.io.imu import load_imu_csv

            step_times = actions.steps_from_recording(load_imu_csv(imu, sampling_rate_hz=imu_rate), placement=placement)
        if (beats is None) == (bpm is None):
            raise ParameterError("give exactly one of --beats or --bpm")
        cue = {"tempo_bpm": bpm, "beat_times_s": None if beats is None else _read_beat_times(beats),
               "cue_start_s": cue_start, "output_latency_s": latency_ms / 1e3, "window_ms": window_ms}
        if client is None and store_session is None:
            result = actions.analyse_sync(step_times, **cue)
    except CadenzaError as exc:
        fail(str(exc), code=2)
        return
    stored = None
    if client is not None or store_session is not None:

        def action(db, actor) -> tuple:
            client_id = None
            if client is not None:
                from cadenza.clinic.service import get_client_by_code

                client_id = get_client_by_code(db, actor=actor, code=client).id
            recorded = actions.record_sync(db, actor=actor, step_times_s=step_times, client_id=client_id,
                                           session_id=store_session, **cue)
            if store_session is None:
                return recorded, f"kept the synchronisation report on client {client}'s record"
            return recorded, f"stored {len(recorded.stored)} synchronisation measurements on session {store_session}"

        result, stored = run_as(as_user, action)
    report = result.report
    summary = report.summary()
    if plot is not None:
        plot_synchronization(report).savefig(plot, dpi=120)
    if as_json:
        payload = {"summary": summary, "locked_segments_s": report.locked_segments_s,
                   "asynchrony_ms": report.asynchrony_ms, "stored": stored}
        typer.echo(json.dumps(json_safe(payload, digits=4)))
        return
    typer.echo(f"{int(summary['n_steps_in_cue'])} of {int(summary['n_steps'])} steps inside the cue")
    typer.echo(f"  mean asynchrony {_num(summary['mean_asynchrony_ms'])} ms (SD {_num(summary['sd_asynchrony_ms'])}); "
               f"negative = foot before the beat")
    typer.echo(f"  relative phase {_num(summary['circular_mean_phase_deg'])} deg, "
               f"R = {_num(summary['resultant_length'], '.2f')}")
    typer.echo(f"  {_num(summary['percent_within_window'], '.0f')} % of steps within +-{window_ms:g} ms; "
               f"{_num(summary['percent_steps_locked'], '.0f')} % locked "
               f"({report.locked_segments_s.shape[0]} locked segment(s))")
    typer.echo(f"  cadence {_num(summary['median_cadence_spm'])} steps/min vs cue {_num(summary['median_cue_tempo_bpm'])} BPM")
    if plot is not None:
        typer.echo(f"plot saved to {plot}")
    if stored:
        typer.echo(stored)


ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the record's history; 3-500 characters).")]
AsUser = Annotated[str | None, typer.Option("--as", envvar="CADENZA_USER", help="Acting therapist's username (or set CADENZA_USER).")]


@app.command("remove-plan")
def remove_plan(plan_id: Annotated[int, typer.Argument(min=1, help="Stored plan id.")], reason: ReasonOption,
                as_user: AsUser = None) -> None:
    """Remove a stored plan made in error (kept with the reason, restorable with restore-plan; audited)."""
    from cadenza.tools.ras import records

    run_as(as_user, lambda db, actor: records.remove_ras_plan(db, actor=actor, plan_id=plan_id, reason=reason))
    typer.echo(f"RAS plan {plan_id} removed (restore with: cadenza ras restore-plan {plan_id}).")


@app.command("restore-plan")
def restore_plan(plan_id: Annotated[int, typer.Argument(min=1, help="Removed plan id.")],
                 reason: Annotated[str, typer.Option("--reason", help="Why (optional).")] = "",
                 as_user: AsUser = None) -> None:
    """Bring back a removed plan (audited)."""
    from cadenza.tools.ras import records

    run_as(as_user, lambda db, actor: records.restore_ras_plan(db, actor=actor, plan_id=plan_id, reason=reason))
    typer.echo(f"RAS plan {plan_id} restored.")
