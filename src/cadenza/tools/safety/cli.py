"""``cadenza safety``: hearing safety: the listener's audio policy, calibration and the sound-dose ledger.

Every audio command resolves its listener the same way (:mod:`cadenza.cli._listener`): ``--client CODE``
reads the client's safety flags and latest calibration from the clinical record (acting as
``--as``/``CADENZA_USER``); ``--flag`` adds flags by hand (with or without a client). The resulting
:class:`~cadenza.safety.flags.AudioPolicy` decides caps, NICU limits, auto-play and warnings. The commands
parse and print; the workflows are :mod:`cadenza.tools.safety.actions`, shared with the web pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cadenza.cli._db import acting_client, domain_errors, fail, open_db
from cadenza.cli._listener import (
    ActAs,
    AsJson,
    ListenerOptions,
    emit_json,
    listener_options,
    one_client,
    print_warnings,
)

app = typer.Typer(help="Hearing safety: sound-dose ledger and calibration.", no_args_is_help=True)

ClientCode = Annotated[str | None, typer.Option("--client", help="Client code of the listener.")]
OldClientCode = Annotated[str | None, typer.Option("--listener", hidden=True, help="Older spelling of --client.")]


@app.command("policy")
@listener_options(calibration=False, device_help=None)
def policy_command(listening: ListenerOptions) -> None:
    """Show what audio tools may do for this listener (caps, NICU limits, auto-play, warnings)."""
    listener = listening.resolve()
    if listening.as_json:
        emit_json(listener.as_dict())
        return
    p = listener.policy
    typer.echo(f"max level: {p.max_level_dba:.0f} dB(A) | NICU limits: {'yes' if p.nicu_limits else 'no'} | "
               f"auto-play: {'allowed' if p.autoplay_allowed else 'NOT allowed'} | dose mode: {p.dose_mode}")
    print_warnings(listener, listening.notes)


@app.command("tone")
def tone_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the calibration tone (.wav/.flac).")],
    seconds: Annotated[float, typer.Option(help="Length of the tone in seconds.")] = 30.0,
    as_json: AsJson = False,
) -> None:
    """Write the 1 kHz calibration tone; play it at your usual volume and measure the level at the ear."""
    from cadenza.io.audio import save_audio
    from cadenza.safety.calibration import CALIBRATION_TONE_RMS_DBFS
    from cadenza.tools.safety import actions

    with domain_errors():
        tone = actions.calibration_tone(duration_s=seconds)
        save_audio(output, tone, sampling_rate_hz=actions.TONE_RATE_HZ)
    payload = {"output": str(output), "tone_hz": 1000.0, "rms_dbfs": CALIBRATION_TONE_RMS_DBFS, "duration_s": seconds}
    if as_json:
        emit_json(payload)
        return
    typer.echo(f"Wrote {output}: 1 kHz at {CALIBRATION_TONE_RMS_DBFS:g} dBFS RMS for {seconds:g} s.")
    typer.echo("Play it at the usual volume, measure dB(A) at the ear (or the infant's head), then run "
               "`cadenza safety calibrate --client CODE --measured-dba LEVEL --device NAME`.")


@app.command("calibrate")
def calibrate_command(
    measured_dba: Annotated[float, typer.Option("--measured-dba", help="Level measured while the tone played.")],
    client: ClientCode = None,
    device: Annotated[str, typer.Option(help="Device / headphone / speaker name.")] = "default",
    as_user: ActAs = None,
    as_json: AsJson = False,
    listener: OldClientCode = None,
) -> None:
    """Store a calibration for a listener and device."""
    from cadenza.tools.safety import actions

    code = one_client(client, listener, old_name="--listener")
    with domain_errors(), open_db() as db:
        actor, record = acting_client(db, as_user, code)
        row = actions.calibrate(db, actor=actor, client_id=record.id, measured_level_dba=measured_dba, device=device)
        payload = {"client": code, "device": row.device, "tone_level_dba": row.tone_level_dba,
                   "measured_at": row.measured_at.isoformat()}
    if as_json:
        emit_json(payload)
    else:
        typer.echo(f"Calibration stored for {code} on {device}: tone at {measured_dba:g} dB(A).")


@app.command("dose")
def dose_command(
    client: ClientCode = None,
    add_level_dba: Annotated[float | None, typer.Option(
        help="Record listening at this level (dB(A) at the ear)...")] = None,
    add_minutes: Annotated[float | None, typer.Option(help="...for this many minutes, ending now.")] = None,
    source: Annotated[str, typer.Option(
        help="What was listened to: manual, ras_cue, playlist, mit, nicu_*.")] = "manual",
    plan_level_dba: Annotated[float | None, typer.Option(help="Preview a planned session at this level...")] = None,
    plan_minutes: Annotated[float | None, typer.Option(help="...lasting this many minutes.")] = None,
    as_user: ActAs = None,
    as_json: AsJson = False,
    listener: OldClientCode = None,
) -> None:
    """The listener's rolling 7-day sound dose (WHO/ITU-T H.870), with a warning at 100 %."""
    import datetime as dt

    from cadenza.tools.safety import actions

    code = one_client(client, listener, old_name="--listener")
    if (add_level_dba is None) != (add_minutes is None):
        fail("--add-level-dba and --add-minutes go together", code=2)
    if (plan_level_dba is None) != (plan_minutes is None):
        fail("--plan-level-dba and --plan-minutes go together", code=2)
    now = dt.datetime.now(dt.UTC)
    with domain_errors(), open_db() as db:
        actor, record = acting_client(db, as_user, code)
        if add_level_dba is not None:
            actions.record_listening(db, actor=actor, client_id=record.id, level_dba=add_level_dba,
                                     duration_s=add_minutes * 60.0, source=source, now=now)
        report = actions.dose_report(db, actor=actor, client_id=record.id, plan_level_dba=plan_level_dba,
                                     plan_duration_s=None if plan_minutes is None else plan_minutes * 60.0, now=now)
    if as_json:
        emit_json(report.as_dict())
        return
    week, preview = report.week, report.planned
    typer.echo(f"{code}: {100 * week.fraction:.1f} % of the weekly allowance ({week.mode} mode, "
               f"{week.entries_counted} listening periods in the last 7 days)")
    if week.warning:
        typer.echo(f"Warning: {week.warning}")
    if preview is not None:
        typer.echo(f"Planned session adds {100 * preview.added_fraction:.1f} % -> {100 * preview.fraction_after:.1f} %")
        if preview.warning:
            typer.echo(f"Warning: {preview.warning}")


def _listener_and_track(listening: ListenerOptions, audio_file: Path):
    """The resolved listener and the decoded track (a bad file is one line and exit code 2)."""
    from cadenza.io.audio import load_audio

    listener = listening.resolve()
    with domain_errors():
        return listener, load_audio(audio_file)


@app.command("level")
@listener_options()
def level_command(
    audio_file: Annotated[Path, typer.Argument(help="Rendered track to check.")],
    listening: ListenerOptions,
) -> None:
    """Estimated level at the ear and weekly-dose share of one play of a track, against the listener's policy."""
    from cadenza.tools.safety import actions

    listener, audio = _listener_and_track(listening, audio_file)
    with domain_errors():
        check = actions.check_track(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, listener=listener)
    track = check.track
    payload = {"file": str(audio_file), **track.as_dict(), "within_policy": check.within_policy,
               "nicu_problems": list(check.nicu_problems), **listener.as_dict()}
    if listening.as_json:
        emit_json(payload)
        return
    typer.echo(f"{audio_file.name}: {track.level_dba:.1f} dB(A) at the ear for {track.duration_s / 60:.1f} min "
               f"= {100 * track.dose_fraction:.2f} % of the weekly {track.mode} allowance")
    typer.echo(f"cap {listener.policy.max_level_dba:.0f} dB(A): "
               + ("within" if check.within_policy else f"EXCEEDS (turn down by {-track.gain_db_to_cap:.1f} dB)"))
    for problem in check.nicu_problems:
        typer.echo(f"NICU: {problem}")
    print_warnings(listener, listening.notes)


@app.command("apply")
@listener_options()
def apply_command(
    audio_file: Annotated[Path, typer.Argument(help="Track to bring within the listener's policy.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the result.")],
    listening: ListenerOptions,
) -> None:
    """Write a copy of a track turned down to the listener's cap (NICU limits for an NICU infant)."""
    from cadenza.io.audio import save_audio
    from cadenza.tools.safety import actions

    listener, audio = _listener_and_track(listening, audio_file)
    with domain_errors():
        out = actions.fit_to_policy(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, listener=listener)
        save_audio(output, out.samples, sampling_rate_hz=out.sampling_rate_hz)
    payload = {"output": str(output), **out.as_dict(), **listener.as_dict()}
    if listening.as_json:
        emit_json(payload)
        return
    typer.echo(f"Wrote {output}: Leq {out.report.leq_dba:.1f} dB(A), gain {out.gain_db:.1f} dB")
    print_warnings(listener, listening.notes)


@app.command("entries")
def entries_command(client: Annotated[str, typer.Option("--client", help="Client code.")], as_user: ActAs = None,
                    as_json: AsJson = False) -> None:
    """The listening periods the rolling week counts, newest first, with the ids remove-entry takes."""
    from cadenza.tools.safety import records

    with domain_errors(), open_db() as db:
        actor, record = acting_client(db, as_user, client)
        view = records.safety_overview(db, actor=actor, client_id=record.id)
        rows = [{"id": w.entry.id, "started_at": w.entry.started_at.isoformat(), "level_dba": w.entry.level_dba,
                 "minutes": round(w.entry.duration_s / 60, 1), "source": w.entry.source, "label": w.entry.label,
                 "week_percent": round(w.week_percent, 2)} for w in view.entries]
    if as_json:
        emit_json({"client": client, "entries": rows})
        return
    if not rows:
        typer.echo(f"{client}: no listening in the last 7 days.")
    for r in rows:
        typer.echo(f"{r['id']:>6}  {r['started_at'][:16]}  {r['level_dba']:5.1f} dB(A)  {r['minutes']:6.1f} min  "
                   f"{r['week_percent']:6.2f} %  {r['source']}{' · ' + r['label'] if r['label'] else ''}")


@app.command("remove-entry")
def remove_entry_command(
    entry_id: Annotated[int, typer.Argument(min=1, help="Ledger entry id (cadenza safety entries).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the record's history; 3-500 characters).")],
    as_user: ActAs = None,
) -> None:
    """Take a wrong listening period out of the weekly dose (kept with the reason, restorable; audited)."""
    from cadenza.cli._db import run_as
    from cadenza.tools.safety import records

    run_as(as_user, lambda db, actor: records.remove_dose_entry(db, actor=actor, entry_id=entry_id, reason=reason))
    typer.echo(f"Dose entry {entry_id} removed (restore with: cadenza safety restore-entry {entry_id}).")


@app.command("restore-entry")
def restore_entry_command(
    entry_id: Annotated[int, typer.Argument(min=1, help="Removed ledger entry id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (optional).")] = "",
    as_user: ActAs = None,
) -> None:
    """Bring a removed listening period back into the weekly dose (audited)."""
    from cadenza.cli._db import run_as
    from cadenza.tools.safety import records

    run_as(as_user, lambda db, actor: records.restore_dose_entry(db, actor=actor, entry_id=entry_id, reason=reason))
    typer.echo(f"Dose entry {entry_id} restored.")
