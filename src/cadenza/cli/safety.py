"""CLI group: Hearing safety: sound-dose ledger and calibration.

Every audio command resolves its listener the same way (:func:`resolve_listener`): ``--client CODE``
reads the client's safety flags and latest calibration from the clinical record (acting as
``--as``/``CADENZA_USER``); ``--flag`` adds flags by hand (with or without a client). The resulting
:class:`~cadenza.safety.flags.AudioPolicy` decides caps, NICU limits, auto-play and warnings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from cadenza.cli._db import ACT_AS_HELP, acting_client, domain_errors, fail, open_db

app = typer.Typer(help="Hearing safety: sound-dose ledger and calibration.", no_args_is_help=True)

AS_OPTION = typer.Option(None, "--as", envvar="CADENZA_USER", help=ACT_AS_HELP)
CLIENT_HELP = "Client code: safety flags and calibration come from the clinical record."
FLAG_HELP = "Safety flag (repeatable): seizures, hearing_loss, trauma_history, nicu_infant."
CAL_HELP = "Level in dB(A) measured while the calibration tone played (overrides the stored calibration)."
JSON_HELP = "Print one JSON object instead of a table."
CLIENT_OPTION = typer.Option(None, "--client", help=CLIENT_HELP)
FLAG_OPTION = typer.Option([], "--flag", help=FLAG_HELP)
CAL_OPTION = typer.Option(None, "--calibration-dba", help=CAL_HELP)
JSON_OPTION = typer.Option(False, "--json", help=JSON_HELP)
DEVICE_OPTION = typer.Option(None, help="Device whose stored calibration to use.")


@dataclass
class Listener:
    """Who the audio is for, as far as safety is concerned."""

    code: str | None
    client_id: int | None
    flags: list[str]
    policy: Any
    calibration: Any
    notes: list[str] = field(default_factory=list)

    def safety_dict(self) -> dict:
        return {"client": self.code, "flags": sorted(self.flags), "policy": self.policy.as_dict(),
                "calibration": {"device": self.calibration.device, "tone_level_dba": self.calibration.tone_level_dba,
                                "is_default": self.calibration.is_default}}


def resolve_listener(client: str | None, flags: list[str], as_user: str | None, *,
                     calibration_dba: float | None = None, device: str | None = None) -> Listener:
    """Flags and calibration for ``--client``/``--flag``; exits with a clear message on bad input."""
    from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration
    from cadenza.safety.flags import audio_policy, parse_flags

    with domain_errors():
        parse_flags(flags)
        all_flags = list(flags)
        calibration = DEFAULT_CALIBRATION
        client_id = None
        if client:
            from cadenza.clinic import safety_records

            with open_db() as db:
                actor, record = acting_client(db, as_user, client)
                client_id = record.id
                all_flags = sorted(set(record.safety_flags or []) | set(flags))
                calibration = safety_records.latest_calibration(db, actor=actor, client_id=record.id, device=device)
        if calibration_dba is not None:
            calibration = Calibration.from_measurement(calibration_dba, device=device or "command line")
        policy = audio_policy(all_flags)
    notes = []
    if calibration.is_default:
        notes.append("Uncalibrated: assuming the conservative default (calibration tone = 80 dB(A)); "
                     "measure with `cadenza safety tone` and `cadenza safety calibrate`.")
    return Listener(client, client_id, all_flags, policy, calibration, notes)


def print_warnings(listener: Listener) -> None:
    from rich.console import Console

    console = Console()
    for warning in listener.policy.warnings:
        console.print(f"[yellow]Warning:[/yellow] {warning}", highlight=False)
    if not listener.policy.autoplay_allowed:
        console.print("[yellow]Do not auto-play:[/yellow] start playback only by an explicit action.", highlight=False)
    for note in listener.notes:
        console.print(f"[dim]{note}[/dim]", highlight=False)


def emit_json(payload: dict) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def level_table(title: str, report: Any, caps: dict[str, float] | None = None) -> Any:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("cap", justify="right")
    caps = caps or {}
    rows = [("Leq dB(A)", report.leq_dba, caps.get("leq_dba")), ("L10 dB(A)", report.l10_dba, caps.get("l10_dba")),
            ("Lmax (slow) dB(A)", report.lmax_dba, caps.get("lmax_dba")),
            ("max rise dB/s", report.max_rise_db_per_s, caps.get("max_rise_db_per_s")),
            ("unweighted Leq dB", report.lzeq_db, None)]
    for name, value, cap in rows:
        table.add_row(name, f"{value:.1f}", "" if cap is None else f"{cap:.1f}")
    return table


@app.command("policy")
def policy_command(
    client: str = CLIENT_OPTION,
    flag: list[str] = FLAG_OPTION,
    as_user: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show what audio tools may do for this listener (caps, NICU limits, auto-play, warnings)."""
    listener = resolve_listener(client, flag, as_user)
    if as_json:
        emit_json(listener.safety_dict())
        return
    p = listener.policy
    typer.echo(f"max level: {p.max_level_dba:.0f} dB(A) | NICU limits: {'yes' if p.nicu_limits else 'no'} | "
               f"auto-play: {'allowed' if p.autoplay_allowed else 'NOT allowed'} | dose mode: {p.dose_mode}")
    print_warnings(listener)


@app.command("tone")
def tone_command(
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the calibration tone (.wav/.flac)."),
    seconds: float = typer.Option(30.0, help="Length of the tone in seconds."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write the 1 kHz calibration tone; play it at your usual volume and measure the level at the ear."""
    from cadenza.io.audio import save_audio
    from cadenza.safety.calibration import CALIBRATION_TONE_RMS_DBFS, render_calibration_tone

    with domain_errors():
        tone = render_calibration_tone(duration_s=seconds, sampling_rate_hz=44_100)
        save_audio(output, tone, sampling_rate_hz=44_100)
    payload = {"output": str(output), "tone_hz": 1000.0, "rms_dbfs": CALIBRATION_TONE_RMS_DBFS, "duration_s": seconds}
    if as_json:
        emit_json(payload)
        return
    typer.echo(f"Wrote {output}: 1 kHz at {CALIBRATION_TONE_RMS_DBFS:g} dBFS RMS for {seconds:g} s.")
    typer.echo("Play it at the usual volume, measure dB(A) at the ear (or the infant's head), then run "
               "`cadenza safety calibrate --listener CODE --measured-dba LEVEL --device NAME`.")


@app.command("calibrate")
def calibrate_command(
    listener: str = typer.Option(..., "--listener", help="Client code of the listener."),
    measured_dba: float = typer.Option(..., "--measured-dba", help="Level measured while the tone played."),
    device: str = typer.Option("default", help="Device / headphone / speaker name."),
    as_user: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Store a calibration for a listener and device."""
    from cadenza.clinic import safety_records

    with domain_errors(), open_db() as db:
        actor, record = acting_client(db, as_user, listener)
        row = safety_records.record_calibration(db, actor=actor, client_id=record.id,
                                                measured_level_dba=measured_dba, device=device)
        payload = {"listener": listener, "device": row.device, "tone_level_dba": row.tone_level_dba,
                   "measured_at": row.measured_at.isoformat()}
    if as_json:
        emit_json(payload)
    else:
        typer.echo(f"Calibration stored for {listener} on {device}: tone at {measured_dba:g} dB(A).")


@app.command("dose")
def dose_command(
    listener: str = typer.Option(..., "--listener", help="Client code of the listener."),
    add_level_dba: float = typer.Option(None, help="Record listening at this level (dB(A) at the ear)..."),
    add_minutes: float = typer.Option(None, help="...for this many minutes, ending now."),
    source: str = typer.Option("manual", help="What was listened to: manual, ras_cue, playlist, mit, nicu_*."),
    plan_level_dba: float = typer.Option(None, help="Preview a planned session at this level..."),
    plan_minutes: float = typer.Option(None, help="...lasting this many minutes."),
    as_user: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The listener's rolling 7-day sound dose (WHO/ITU-T H.870), with a warning at 100 %."""
    import datetime as dt

    from cadenza.clinic import safety_records

    if (add_level_dba is None) != (add_minutes is None):
        fail("--add-level-dba and --add-minutes go together", code=2)
    if (plan_level_dba is None) != (plan_minutes is None):
        fail("--plan-level-dba and --plan-minutes go together", code=2)
    now = dt.datetime.now(dt.UTC)
    with domain_errors(), open_db() as db:
        actor, record = acting_client(db, as_user, listener)
        if add_level_dba is not None:
            safety_records.add_dose_entry(db, actor=actor, client_id=record.id, level_dba=add_level_dba,
                                          duration_s=add_minutes * 60.0,
                                          started_at=now - dt.timedelta(minutes=add_minutes), source=source)
        week = safety_records.weekly_dose(db, actor=actor, client_id=record.id, now=now)
        preview = None
        if plan_level_dba is not None:
            preview = safety_records.preview_session_dose(db, actor=actor, client_id=record.id,
                                                          level_dba=plan_level_dba, duration_s=plan_minutes * 60.0,
                                                          now=now)
    payload = week.as_dict()
    if preview is not None:
        payload["planned"] = {"level_dba": preview.level_dba, "minutes": preview.duration_s / 60.0,
                              "adds_percent": round(100 * preview.added_fraction, 2),
                              "total_percent_after": round(100 * preview.fraction_after, 2),
                              "warning": preview.warning}
    if as_json:
        emit_json(payload)
        return
    typer.echo(f"{listener}: {100 * week.fraction:.1f} % of the weekly allowance ({week.mode} mode, "
               f"{week.entries_counted} listening periods in the last 7 days)")
    if week.warning:
        typer.echo(f"Warning: {week.warning}")
    if preview is not None:
        typer.echo(f"Planned session adds {100 * preview.added_fraction:.1f} % -> {100 * preview.fraction_after:.1f} %")
        if preview.warning:
            typer.echo(f"Warning: {preview.warning}")


@app.command("level")
def level_command(
    audio_file: Path = typer.Argument(..., help="Rendered track to check."),
    client: str = CLIENT_OPTION,
    flag: list[str] = FLAG_OPTION,
    calibration_dba: float = CAL_OPTION,
    device: str = DEVICE_OPTION,
    as_user: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Estimated level at the ear and weekly-dose share of one play of a track, against the listener's policy."""
    from cadenza.io.audio import load_audio
    from cadenza.safety.dose import assess_track
    from cadenza.safety.enforce import NICU_LIMITS, check_limits
    from cadenza.render.levels import measure_levels

    listener = resolve_listener(client, flag, as_user, calibration_dba=calibration_dba, device=device)
    with domain_errors():
        audio = load_audio(audio_file)
        track = assess_track(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, calibration=listener.calibration,
                             mode=listener.policy.dose_mode, max_level_dba=listener.policy.max_level_dba)
        nicu_problems: tuple[str, ...] = ()
        if listener.policy.nicu_limits:
            report = measure_levels(audio.mono, sampling_rate_hz=audio.sampling_rate_hz,
                                    level_offset_db=listener.calibration.level_offset_db,
                                    floor_dba=NICU_LIMITS.floor_dba)
            nicu_problems = check_limits(report)
    within = track.gain_db_to_cap >= 0 and not nicu_problems
    payload = {"file": str(audio_file), **track.as_dict(), "within_policy": within,
               "nicu_problems": list(nicu_problems), **listener.safety_dict()}
    if as_json:
        emit_json(payload)
        return
    typer.echo(f"{audio_file.name}: {track.level_dba:.1f} dB(A) at the ear for {track.duration_s / 60:.1f} min "
               f"= {100 * track.dose_fraction:.2f} % of the weekly {track.mode} allowance")
    typer.echo(f"cap {listener.policy.max_level_dba:.0f} dB(A): "
               + ("within" if within else f"EXCEEDS (turn down by {-track.gain_db_to_cap:.1f} dB)"))
    for problem in nicu_problems:
        typer.echo(f"NICU: {problem}")
    print_warnings(listener)


@app.command("apply")
def apply_command(
    audio_file: Path = typer.Argument(..., help="Track to bring within the listener's policy."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the result."),
    client: str = CLIENT_OPTION,
    flag: list[str] = FLAG_OPTION,
    calibration_dba: float = CAL_OPTION,
    device: str = DEVICE_OPTION,
    as_user: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a copy of a track turned down to the listener's cap (NICU limits for an NICU infant)."""
    from cadenza.io.audio import load_audio, save_audio
    from cadenza.safety.enforce import apply_audio_policy

    listener = resolve_listener(client, flag, as_user, calibration_dba=calibration_dba, device=device)
    with domain_errors():
        audio = load_audio(audio_file)
        out = apply_audio_policy(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, policy=listener.policy,
                                 calibration=listener.calibration)
        save_audio(output, out.samples, sampling_rate_hz=out.sampling_rate_hz)
    payload = {"output": str(output), **out.as_dict(), **listener.safety_dict()}
    if as_json:
        emit_json(payload)
        return
    typer.echo(f"Wrote {output}: Leq {out.report.leq_dba:.1f} dB(A), gain {out.gain_db:.1f} dB")
    print_warnings(listener)
