"""CLI group: NICU music within sound limits.

Every render is measured (A-weighted, from its own samples and the calibration) and refused if any
NICU limit fails; the listener's safety flags come from ``--client`` or ``--flag`` as in
``cadenza safety``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cadenza.cli._db import acting_client, acting_user, domain_errors, fail, open_db
from cadenza.cli.safety import (
    AS_OPTION,
    CAL_OPTION,
    CLIENT_OPTION,
    FLAG_OPTION,
    JSON_OPTION,
    Listener,
    emit_json,
    level_table,
    print_warnings,
    resolve_listener,
)

app = typer.Typer(help="NICU music within sound limits.", no_args_is_help=True)

LEQ_OPTION = typer.Option(None, "--leq-dba",
                          help="A stricter Leq cap in dB(A) for this infant (never above the 45 dB(A) standard).")
SPEAKER_OPTION = typer.Option(None, help="Speaker whose stored calibration to use.")
LOG_DOSE_OPTION = typer.Option(False, help="Record this render in the client's sound-dose ledger.")


def _limits(leq_dba: float | None):
    from cadenza.nicu.limits import NICU_LIMITS

    return NICU_LIMITS if leq_dba is None else NICU_LIMITS.with_target(leq_dba=leq_dba)


def _not_nicu_note(listener: Listener) -> None:
    if listener.code and not listener.policy.nicu_limits:
        listener.notes.append(f"Client {listener.code} has no nicu_infant flag; NICU limits applied anyway.")


def _log_dose(listener: Listener, as_user: str | None, *, level_dba: float, duration_s: float, source: str) -> None:
    import datetime as dt

    from cadenza.clinic import safety_records

    if listener.client_id is None:
        fail("--log-dose needs --client", code=2)
    with domain_errors(), open_db() as db:
        actor = acting_user(db, as_user)
        safety_records.add_dose_entry(db, actor=actor, client_id=listener.client_id, level_dba=level_dba,
                                      duration_s=duration_s, started_at=dt.datetime.now(dt.UTC), source=source)


def _report(title: str, output: Path, render, listener: Listener, extra: dict, as_json: bool) -> None:
    from rich.console import Console

    payload = {"output": str(output), **extra, **render.as_dict(), **listener.safety_dict(),
               "autoplay_allowed": listener.policy.autoplay_allowed}
    if as_json:
        emit_json(payload)
        return
    console = Console()
    console.print(level_table(f"{title}: {output}", render.report, render.limits.as_dict()))
    console.print(f"Within NICU limits ({render.duration_s / 60:.1f} min, gain {render.gain_db:.1f} dB).",
                  highlight=False)
    print_warnings(listener)


def _deliver(title: str, source: str, output: Path, render, listener: Listener, extra: dict, *,
             as_user: str | None, log_dose: bool, as_json: bool) -> None:
    """Write a NICU render, enter it in the dose ledger if asked, and report it."""
    from cadenza.io.audio import save_audio

    with domain_errors():
        save_audio(output, render.samples, sampling_rate_hz=render.sampling_rate_hz)
    if log_dose:
        _log_dose(listener, as_user, level_dba=render.report.leq_dba, duration_s=render.duration_s, source=source)
    _report(title, output, render, listener, extra, as_json)


@app.command("lullaby")
def lullaby_command(
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the lullaby (.wav/.flac/.ogg)."),
    minutes: float = typer.Option(10.0, help="Length in minutes."),
    tune: str = typer.Option("twinkle", help="twinkle, brahms or au_clair (public-domain melodies)."),
    tempo_bpm: float = typer.Option(60.0, help="Tempo, 40-80 BPM."),
    transpose: int = typer.Option(0, help="Semitones up (+) or down (-)."),
    parent_recording: Path = typer.Option(None, help="The parent's own singing/humming to clean and level instead."),
    leq_dba: float = LEQ_OPTION,
    client: str = CLIENT_OPTION,
    flag: list[str] = FLAG_OPTION,
    calibration_dba: float = CAL_OPTION,
    device: str = SPEAKER_OPTION,
    log_dose: bool = LOG_DOSE_OPTION,
    as_user: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Render a lullaby (or clean a parent's recording) within NICU sound limits."""
    from cadenza.io.audio import load_audio
    from cadenza.nicu.lullaby import prepare_parent_recording, render_lullaby

    listener = resolve_listener(client, flag, as_user, calibration_dba=calibration_dba, device=device)
    _not_nicu_note(listener)
    with domain_errors():
        limits = _limits(leq_dba)
        if parent_recording is not None:
            audio = load_audio(parent_recording, mono=True)
            render = prepare_parent_recording(audio.samples, sampling_rate_hz=audio.sampling_rate_hz,
                                              calibration=listener.calibration, limits=limits)
            extra = {"source": "parent_recording", "recording": str(parent_recording)}
        else:
            result = render_lullaby(tune=tune, minutes=minutes, tempo_bpm=tempo_bpm, transpose_semitones=transpose,
                                    calibration=listener.calibration, limits=limits)
            render = result.render
            extra = {"source": "tune", "tune": tune, "tempo_bpm": tempo_bpm, "transpose_semitones": transpose,
                     "repeats": result.repeats}
    _deliver("Lullaby", "nicu_lullaby", output, render, listener, extra, as_user=as_user, log_dose=log_dose,
             as_json=as_json)


@app.command("womb")
def womb_command(
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the womb sound."),
    minutes: float = typer.Option(10.0, help="Length in minutes."),
    heart_rate_bpm: float = typer.Option(72.0, help="Maternal heart rate, 50-110 bpm."),
    breaths_per_min: float = typer.Option(12.0, help="Breathing rate of the ocean swell, 6-30 per minute."),
    heartbeat_to_ocean_db: float = typer.Option(0.0, help="Balance: positive makes the heartbeat louder."),
    leq_dba: float = LEQ_OPTION,
    client: str = CLIENT_OPTION,
    flag: list[str] = FLAG_OPTION,
    calibration_dba: float = CAL_OPTION,
    device: str = SPEAKER_OPTION,
    log_dose: bool = LOG_DOSE_OPTION,
    as_user: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Render heartbeat plus breathing-rate ocean swell within NICU sound limits."""
    from cadenza.nicu.womb import render_womb_sound

    listener = resolve_listener(client, flag, as_user, calibration_dba=calibration_dba, device=device)
    _not_nicu_note(listener)
    with domain_errors():
        result = render_womb_sound(minutes=minutes, heart_rate_bpm=heart_rate_bpm, breaths_per_min=breaths_per_min,
                                   heartbeat_to_ocean_db=heartbeat_to_ocean_db, calibration=listener.calibration,
                                   limits=_limits(leq_dba))
    _deliver("Womb sound", "nicu_womb", output, result.render, listener,
             {"heart_rate_bpm": heart_rate_bpm, "breaths_per_min": breaths_per_min}, as_user=as_user,
             log_dose=log_dose, as_json=as_json)


THRESHOLD_OPTIONS = ("hr_min_bpm", "hr_max_bpm", "spo2_min_pct", "rr_min_bpm", "rr_max_bpm")
HR_MIN = typer.Option(None, help="Bradycardia below this heart rate (bpm) [default 100 or the stored value].")
HR_MAX = typer.Option(None, help="Tachycardia above this heart rate (bpm) [default 180 or stored].")
SPO2_MIN = typer.Option(None, help="Desaturation below this SpO2 (%) [default 88 or stored].")
RR_MIN = typer.Option(None, help="Respiratory rate floor (/min) [default 25 or stored].")
RR_MAX = typer.Option(None, help="Respiratory rate ceiling (/min) [default 70 or stored].")


def _resolve_thresholds(client: str | None, as_user: str | None, overrides: dict[str, float | None],
                        notes: list[str]):
    """Stored per-infant thresholds (with --client), then command-line overrides, else defaults (said so)."""
    from dataclasses import replace

    from cadenza.nicu.stop_rules import InfantThresholds

    stored = None
    if client:
        from cadenza.clinic import safety_records

        with domain_errors(), open_db() as db:
            actor, record = acting_client(db, as_user, client)
            stored = safety_records.get_infant_thresholds(db, actor=actor, client_id=record.id)
    given = {k: v for k, v in overrides.items() if v is not None}
    if stored is None and not given:
        notes.append("Using default stop-rule thresholds; have the clinician set this infant's own "
                     "(`cadenza nicu thresholds --client CODE ...`).")
    with domain_errors():
        return replace(stored or InfantThresholds(), **given)


@app.command("thresholds")
def thresholds_command(
    client: str = typer.Option(..., "--client", help="Client code of the NICU infant."),
    hr_min_bpm: float = HR_MIN,
    hr_max_bpm: float = HR_MAX,
    spo2_min_pct: float = SPO2_MIN,
    rr_min_bpm: float = RR_MIN,
    rr_max_bpm: float = RR_MAX,
    as_user: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Set (or show, with no values) this infant's stop-rule thresholds."""
    from dataclasses import asdict

    from cadenza.clinic import safety_records

    notes: list[str] = []
    overrides = {"hr_min_bpm": hr_min_bpm, "hr_max_bpm": hr_max_bpm, "spo2_min_pct": spo2_min_pct,
                 "rr_min_bpm": rr_min_bpm, "rr_max_bpm": rr_max_bpm}
    thresholds = _resolve_thresholds(client, as_user, overrides, notes)
    if any(v is not None for v in overrides.values()):
        with domain_errors(), open_db() as db:
            actor, record = acting_client(db, as_user, client)
            safety_records.set_infant_thresholds(db, actor=actor, client_id=record.id, thresholds=thresholds)
    payload = {"client": client, **asdict(thresholds), "notes": notes}
    if as_json:
        emit_json(payload)
        return
    typer.echo(f"{client}: heart rate {thresholds.hr_min_bpm:g}-{thresholds.hr_max_bpm:g} bpm, "
               f"SpO2 >= {thresholds.spo2_min_pct:g} %, respiratory rate {thresholds.rr_min_bpm:g}-"
               f"{thresholds.rr_max_bpm:g}/min")
    for note in notes:
        typer.echo(note)


@app.command("monitor")
def monitor_command(
    vitals: Path = typer.Argument(..., help="CSV of time_s + heart_rate_bpm, spo2_pct, respiratory_rate_bpm, cue."),
    hr_min_bpm: float = HR_MIN,
    hr_max_bpm: float = HR_MAX,
    spo2_min_pct: float = SPO2_MIN,
    rr_min_bpm: float = RR_MIN,
    rr_max_bpm: float = RR_MAX,
    client: str = typer.Option(None, "--client", help="Client code: uses the infant's stored thresholds."),
    save: bool = typer.Option(False, help="Store the decisions in the client's NICU stop log."),
    as_user: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the infant-led stop rules over a vital-sign stream: when music may play, pauses, stops, why."""
    from dataclasses import asdict

    from cadenza.io.pressure import load_vital_signs
    from cadenza.nicu.stop_rules import StopRuleEngine

    notes: list[str] = []
    thresholds = _resolve_thresholds(client, as_user, {"hr_min_bpm": hr_min_bpm, "hr_max_bpm": hr_max_bpm,
                                                       "spo2_min_pct": spo2_min_pct, "rr_min_bpm": rr_min_bpm,
                                                       "rr_max_bpm": rr_max_bpm}, notes)
    with domain_errors():
        observations = load_vital_signs(vitals)
        engine = StopRuleEngine(thresholds)
        engine.run(observations)
    if save:
        _save_stop_log(client, as_user, engine.events_)
    payload = {"vitals": str(vitals), "final_state": engine.final_state_, "playing_s": round(engine.playing_s_, 1),
               "events": [e.as_dict() for e in engine.events_], "thresholds": asdict(thresholds), "notes": notes}
    if as_json:
        emit_json(payload)
        return
    for e in engine.events_:
        typer.echo(f"{e.time_s:8.1f} s  {e.action:<6}  {'; '.join(e.reasons)}")
    typer.echo(f"final state: {engine.final_state_}; music allowed for {engine.playing_s_:.0f} s")
    for note in notes:
        typer.echo(note)


def _save_stop_log(client: str | None, as_user: str | None, events) -> None:
    from cadenza.clinic import safety_records

    if not client:
        fail("--save needs --client", code=2)
    with domain_errors(), open_db() as db:
        actor, record = acting_client(db, as_user, client)
        safety_records.log_stop_events(db, actor=actor, client_id=record.id, events=events)


@app.command("pal")
def pal_command(
    pressure: Path = typer.Option(None, help="Suck-pressure CSV (time_s, pressure_<unit>)."),
    simulate: bool = typer.Option(False, help="Use a simulated infant instead of a recording."),
    no_sucking: bool = typer.Option(False, help="Simulated infant does not suck (checks contingency)."),
    seed: int = typer.Option(0, help="Seed of the simulation."),
    minutes: float = typer.Option(15.0, help="Session length (PAL sessions are 15 min)."),
    criterion_mmhg: float = typer.Option(20.0, help="Pressure a suck must reach to play music."),
    adapt: bool = typer.Option(False, help="Raise the criterion as sucking strengthens (up to 35 mmHg)."),
    vitals: Path = typer.Option(None, help="Vital-sign/cue CSV; the session stops at the first pause or stop."),
    output: Path = typer.Option(None, "-o", "--output", help="Also write the session audio as heard."),
    tune: str = typer.Option("brahms", help="Lullaby to play (looped, unchanged)."),
    client: str = CLIENT_OPTION,
    flag: list[str] = FLAG_OPTION,
    calibration_dba: float = CAL_OPTION,
    save: bool = typer.Option(False, help="Store the session summary (and stop log) for --client."),
    as_user: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Pacifier-activated lullaby: ~10 s of music per criterion suck, 15-min session, stop on distress."""
    import numpy as np

    from cadenza.io.audio import save_audio
    from cadenza.io.pressure import load_suck_pressure, load_vital_signs
    from cadenza.nicu.lullaby import render_lullaby
    from cadenza.nicu.pal import PalController, render_pal_audio, simulate_suck_pressure
    from cadenza.nicu.stop_rules import StopRuleEngine

    if (pressure is None) == (not simulate):
        fail("give exactly one of --pressure FILE or --simulate", code=2)
    listener = resolve_listener(client, flag, as_user, calibration_dba=calibration_dba)
    _not_nicu_note(listener)
    events = []
    with domain_errors():
        if simulate:
            p, _ = simulate_suck_pressure(duration_s=minutes * 60.0, sampling_rate_hz=100.0, sucking=not no_sucking,
                                          seed=seed)
            rate = 100.0
        else:
            rec = load_suck_pressure(pressure)
            p, rate = rec.pressure_mmhg, rec.sampling_rate_hz
        distress = np.empty(0)
        if vitals is not None:
            thresholds = _resolve_thresholds(client, as_user, {}, listener.notes)
            engine = StopRuleEngine(thresholds).run(load_vital_signs(vitals))
            events = engine.events_
            distress = np.array([e.time_s for e in events if e.action in ("pause", "stop")][:1])
        pal = PalController(criterion_mmhg=criterion_mmhg, session_s=minutes * 60.0, adapt=adapt).run(
            p, sampling_rate_hz=rate, distress_times_s=distress, policy=listener.policy)
        if output is not None:
            music = render_lullaby(tune=tune, minutes=max(pal.summary_.duration_s, 1.0) / 60.0,
                                   calibration=listener.calibration, fades=False)
            heard = render_pal_audio(music.render.samples, pal, sampling_rate_hz=music.render.sampling_rate_hz,
                                     calibration=listener.calibration)
            save_audio(output, heard.samples, sampling_rate_hz=heard.sampling_rate_hz)
    if save:
        _save_pal(client, as_user, pal.summary_, events)
    payload = {"source": "simulation" if simulate else str(pressure), **pal.summary_.as_dict(),
               "criterion_history": [{"from_s": t, "criterion_mmhg": c} for t, c in pal.criterion_history_],
               "stop_events": [e.as_dict() for e in events], **listener.safety_dict()}
    if output is not None:
        payload["output"] = str(output)
        payload["levels"] = heard.report.as_dict()
    if as_json:
        emit_json(payload)
        return
    s = pal.summary_
    typer.echo(f"PAL session {s.duration_s / 60:.1f} min: {s.sucks} sucks, {s.criterion_sucks} at criterion, "
               f"music {s.playback_s:.0f} s; criterion {s.start_criterion_mmhg:g} -> {s.end_criterion_mmhg:g} mmHg")
    typer.echo("sucks per minute: " + " ".join(str(v) for v in s.sucks_per_minute))
    if s.stopped_early:
        typer.echo(f"stopped early: {s.stop_reason}")
    print_warnings(listener)


def _save_pal(client: str | None, as_user: str | None, summary, events) -> None:
    from cadenza.clinic import safety_records

    if not client:
        fail("--save needs --client", code=2)
    with domain_errors(), open_db() as db:
        actor, record = acting_client(db, as_user, client)
        safety_records.record_pal_summary(db, actor=actor, client_id=record.id, summary=summary)
        if events:
            safety_records.log_stop_events(db, actor=actor, client_id=record.id, events=events)
