"""``cadenza nicu``: NICU music within sound limits, the infant-led stop rules and pacifier-activated lullaby.

Every render is measured (A-weighted, from its own samples and the calibration) and refused if any
NICU limit fails; the listener's safety flags and calibration come from ``--client`` or ``--flag`` as in
``cadenza safety`` (:mod:`cadenza.cli._listener`). The commands parse and print; the workflows are
:mod:`cadenza.tools.nicu.actions`, shared with the web pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cadenza.cli._db import acting_client, domain_errors, fail, open_db, run_as
from cadenza.cli._listener import ActAs, AsJson, ListenerOptions, emit_json, listener_options, print_warnings

app = typer.Typer(help="NICU music within sound limits.", no_args_is_help=True)

SPEAKER_HELP = "Speaker whose stored calibration to use."
LeqDba = Annotated[float | None, typer.Option(
    "--leq-dba", help="A stricter Leq cap in dB(A) for this infant (never above the 45 dB(A) standard).")]
LogDose = Annotated[bool, typer.Option(help="Record this render in the client's sound-dose ledger.")]
SessionId = Annotated[int | None, typer.Option(
    "--session", help="Therapy session (id) of this client to link the stored run to (with --save).")]
HrMin = Annotated[float | None, typer.Option(
    help="Bradycardia below this heart rate (bpm) [default 100 or the stored value].")]
HrMax = Annotated[float | None, typer.Option(help="Tachycardia above this heart rate (bpm) [default 180 or stored].")]
Spo2Min = Annotated[float | None, typer.Option(help="Desaturation below this SpO2 (%) [default 88 or stored].")]
RrMin = Annotated[float | None, typer.Option(help="Respiratory rate floor (/min) [default 25 or stored].")]
RrMax = Annotated[float | None, typer.Option(help="Respiratory rate ceiling (/min) [default 70 or stored].")]


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


def _nicu_listener(listening: ListenerOptions, db: Any = None):
    """The listener (read in ``db`` if given), with a note when the client has no nicu_infant flag (NICU
    limits apply anyway)."""
    from cadenza.tools.nicu import actions

    listener = listening.resolve(db)
    note = actions.not_nicu_note(listener)
    if note:
        listening.notes.append(note)
    return listener


def _deliver(title: str, source: str, output: Path, render, listener, listening: ListenerOptions, extra: dict, *,
             log_dose: bool) -> None:
    """Write a NICU render, enter it in the dose ledger if asked, and report it."""
    from rich.console import Console

    from cadenza.io.audio import save_audio
    from cadenza.tools.nicu import actions

    with domain_errors():
        save_audio(output, render.samples, sampling_rate_hz=render.sampling_rate_hz)
    if log_dose:
        if listener.client_id is None:
            fail("--log-dose needs --client", code=2)
        run_as(listening.as_user, lambda db, actor: actions.log_render_dose(
            db, actor=actor, client_id=listener.client_id, render=render, source=source))
    payload = {"output": str(output), **extra, **render.as_dict(), **listener.as_dict(),
               "autoplay_allowed": listener.policy.autoplay_allowed}
    if listening.as_json:
        emit_json(payload)
        return
    console = Console()
    console.print(level_table(f"{title}: {output}", render.report, render.limits.as_dict()))
    console.print(f"Within NICU limits ({render.duration_s / 60:.1f} min, gain {render.gain_db:.1f} dB).",
                  highlight=False)
    print_warnings(listener, listening.notes)


@app.command("lullaby")
@listener_options(device_help=SPEAKER_HELP)
def lullaby_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the lullaby (.wav/.flac/.ogg).")],
    listening: ListenerOptions,
    minutes: Annotated[float, typer.Option(help="Length in minutes.")] = 10.0,
    tune: Annotated[str, typer.Option(help="twinkle, brahms or au_clair (public-domain melodies).")] = "twinkle",
    tempo_bpm: Annotated[float, typer.Option(help="Tempo, 40-80 BPM.")] = 60.0,
    transpose: Annotated[int, typer.Option(help="Semitones up (+) or down (-).")] = 0,
    parent_recording: Annotated[Path | None, typer.Option(
        help="The parent's own singing/humming to clean and level instead.")] = None,
    leq_dba: LeqDba = None,
    log_dose: LogDose = False,
) -> None:
    """Render a lullaby (or clean a parent's recording) within NICU sound limits."""
    from cadenza.io.audio import load_audio
    from cadenza.tools.nicu import actions

    listener = _nicu_listener(listening)
    with domain_errors():
        if parent_recording is not None:
            audio = load_audio(parent_recording, mono=True)
            render = actions.parent_recording(audio.samples, sampling_rate_hz=audio.sampling_rate_hz,
                                              listener=listener, leq_dba=leq_dba)
            extra = {"source": "parent_recording", "recording": str(parent_recording)}
        else:
            result = actions.lullaby(listener, tune=tune, minutes=minutes, tempo_bpm=tempo_bpm,
                                     transpose_semitones=transpose, leq_dba=leq_dba)
            render = result.render
            extra = {"source": "tune", "tune": tune, "tempo_bpm": tempo_bpm, "transpose_semitones": transpose,
                     "repeats": result.repeats}
    _deliver("Lullaby", "nicu_lullaby", output, render, listener, listening, extra, log_dose=log_dose)


@app.command("womb")
@listener_options(device_help=SPEAKER_HELP)
def womb_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the womb sound.")],
    listening: ListenerOptions,
    minutes: Annotated[float, typer.Option(help="Length in minutes.")] = 10.0,
    heart_rate_bpm: Annotated[float, typer.Option(help="Maternal heart rate, 50-110 bpm.")] = 72.0,
    breaths_per_min: Annotated[float, typer.Option(help="Breathing rate of the ocean swell, 6-30 per minute.")] = 12.0,
    heartbeat_to_ocean_db: Annotated[float, typer.Option(
        help="Balance: positive makes the heartbeat louder.")] = 0.0,
    leq_dba: LeqDba = None,
    log_dose: LogDose = False,
) -> None:
    """Render heartbeat plus breathing-rate ocean swell within NICU sound limits."""
    from cadenza.tools.nicu import actions

    listener = _nicu_listener(listening)
    with domain_errors():
        result = actions.womb_sound(listener, minutes=minutes, heart_rate_bpm=heart_rate_bpm,
                                    breaths_per_min=breaths_per_min, heartbeat_to_ocean_db=heartbeat_to_ocean_db,
                                    leq_dba=leq_dba)
    from cadenza.nicu.womb import RECORDED_SOUND_CAVEAT

    listening.notes.append(RECORDED_SOUND_CAVEAT)  # review U8, on every render
    _deliver("Womb sound", "nicu_womb", output, result.render, listener, listening,
             {"heart_rate_bpm": heart_rate_bpm, "breaths_per_min": breaths_per_min, "caveat": RECORDED_SOUND_CAVEAT},
             log_dose=log_dose)


def _threshold_overrides(hr_min_bpm, hr_max_bpm, spo2_min_pct, rr_min_bpm, rr_max_bpm) -> dict[str, float | None]:
    return {"hr_min_bpm": hr_min_bpm, "hr_max_bpm": hr_max_bpm, "spo2_min_pct": spo2_min_pct,
            "rr_min_bpm": rr_min_bpm, "rr_max_bpm": rr_max_bpm}


def _thresholds(client: str | None, as_user: str | None, overrides: dict[str, float | None], db: Any = None):
    """The infant's stored thresholds (with --client; read in ``db`` if given), then the command line's, else
    the defaults (said so)."""
    from cadenza.tools.nicu import actions

    with domain_errors():
        if not client:
            return actions.thresholds_for(None, overrides)
        if db is not None:
            return actions.client_thresholds(db, client=acting_client(db, as_user, client)[1], overrides=overrides)
        with open_db() as own:
            return actions.client_thresholds(own, client=acting_client(own, as_user, client)[1], overrides=overrides)


@app.command("thresholds")
def thresholds_command(
    client: Annotated[str, typer.Option("--client", help="Client code of the NICU infant.")],
    hr_min_bpm: HrMin = None,
    hr_max_bpm: HrMax = None,
    spo2_min_pct: Spo2Min = None,
    rr_min_bpm: RrMin = None,
    rr_max_bpm: RrMax = None,
    as_user: ActAs = None,
    as_json: AsJson = False,
) -> None:
    """Set (or show, with no values) this infant's stop-rule thresholds."""
    from dataclasses import asdict

    from cadenza.tools.nicu import actions

    overrides = _threshold_overrides(hr_min_bpm, hr_max_bpm, spo2_min_pct, rr_min_bpm, rr_max_bpm)
    if any(v is not None for v in overrides.values()):
        with domain_errors(), open_db() as db:
            actor, record = acting_client(db, as_user, client)
            thresholds, notes = actions.set_thresholds(db, actor=actor, client_id=record.id, values=overrides), ()
    else:
        choice = _thresholds(client, as_user, overrides)
        thresholds, notes = choice.thresholds, choice.notes
    payload = {"client": client, **asdict(thresholds), "notes": list(notes)}
    if as_json:
        emit_json(payload)
        return
    typer.echo(f"{client}: heart rate {thresholds.hr_min_bpm:g}-{thresholds.hr_max_bpm:g} bpm, "
               f"SpO2 >= {thresholds.spo2_min_pct:g} %, respiratory rate {thresholds.rr_min_bpm:g}-"
               f"{thresholds.rr_max_bpm:g}/min")
    for note in notes:
        typer.echo(note)
    if notes:  # the defaults are in use: say where each comes from (clinical review U6)
        from cadenza.nicu.stop_rules import DEFAULT_THRESHOLD_SOURCES

        typer.echo("Defaults: " + "; ".join(f"{k}: {v}" for k, v in DEFAULT_THRESHOLD_SOURCES.items()))


@app.command("age")
def age_command(
    client: Annotated[str, typer.Option("--client", help="Client code of the NICU infant.")],
    gestational_age: Annotated[str | None, typer.Option(
        "--ga", help="Gestational age at birth, weeks+days, e.g. 29+3.")] = None,
    postmenstrual_age: Annotated[str | None, typer.Option(
        "--pma", help="Postmenstrual age on --on (default today), weeks+days, e.g. 32+1.")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Date the PMA was assessed, YYYY-MM-DD.")] = None,
    as_user: ActAs = None,
    as_json: AsJson = False,
) -> None:
    """Record (with --ga and --pma) or show an NICU infant's gestational and postmenstrual age, and whether PAL
    suits it today (below 34 weeks PMA it needs a clinician's override)."""
    import datetime as dt

    from cadenza.nicu.age import format_weeks_days
    from cadenza.tools.nicu import actions

    if (gestational_age is None) != (postmenstrual_age is None):
        fail("give both --ga and --pma to record the ages, or neither to show them", code=2)
    with domain_errors(), open_db() as db:
        assessed_on = None
        if on is not None:
            try:
                assessed_on = dt.date.fromisoformat(on)
            except ValueError:
                fail(f"--on must be a date YYYY-MM-DD, got {on[:20]!r}", code=2)
        actor, record = acting_client(db, as_user, client)
        if gestational_age is not None:
            actions.set_age(db, actor=actor, client_id=record.id, gestational_age_at_birth=gestational_age,
                            postmenstrual_age=postmenstrual_age, assessed_on=assessed_on)
        age = actions.client_age(db, client=record)
        check = actions.pal_age_check(db, client=record)
    payload = {"client": client, "pal_allowed_without_override": check.allowed, "pal_note": check.message,
               **({"gestational_age_at_birth": format_weeks_days(age.gestational_age_at_birth_days),
                   "postmenstrual_age_today": format_weeks_days(check.pma_days)} if age is not None else {})}
    if as_json:
        emit_json(payload)
        return
    if age is not None:
        typer.echo(f"{client}: born at {payload['gestational_age_at_birth']} weeks; postmenstrual age today "
                   f"{payload['postmenstrual_age_today']} weeks")
    typer.echo(f"PAL: {check.message}")


@app.command("monitor")
def monitor_command(
    vitals: Annotated[Path, typer.Argument(
        help="CSV of time_s + heart_rate_bpm, spo2_pct, respiratory_rate_bpm, cue.")],
    hr_min_bpm: HrMin = None,
    hr_max_bpm: HrMax = None,
    spo2_min_pct: Spo2Min = None,
    rr_min_bpm: RrMin = None,
    rr_max_bpm: RrMax = None,
    client: Annotated[str | None, typer.Option("--client", help="Client code: uses the infant's stored thresholds.")
                      ] = None,
    save: Annotated[bool, typer.Option(help="Store the decisions in the client's NICU stop log.")] = False,
    session: SessionId = None,
    as_user: ActAs = None,
    as_json: AsJson = False,
) -> None:
    """Run the infant-led stop rules over a vital-sign stream: when music may play, pauses, stops, why."""
    from dataclasses import asdict

    from cadenza.io.pressure import load_vital_signs
    from cadenza.tools.nicu import actions

    if save and not client:
        fail("--save needs --client", code=2)
    if session is not None and not save:
        fail("--session needs --save (the run is stored on the session)", code=2)
    overrides = _threshold_overrides(hr_min_bpm, hr_max_bpm, spo2_min_pct, rr_min_bpm, rr_max_bpm)
    with domain_errors():
        observations = load_vital_signs(vitals)
        if client:
            with open_db() as db:
                actor, record = acting_client(db, as_user, client)
                run = actions.monitor_vitals(db, actor=actor, client=record, observations=observations,
                                             overrides=overrides, save=save, session_id=session)
        else:
            run = actions.run_stop_rules(observations, actions.thresholds_for(None, overrides))
    payload = {"vitals": str(vitals), "final_state": run.final_state, "playing_s": round(run.playing_s, 1),
               "events": [e.as_dict() for e in run.events], "thresholds": asdict(run.thresholds),
               "notes": list(run.choice.notes)}
    if as_json:
        emit_json(payload)
        return
    for e in run.events:
        typer.echo(f"{e.time_s:8.1f} s  {e.action:<6}  {'; '.join(e.reasons)}")
    typer.echo(f"final state: {run.final_state}; music allowed for {run.playing_s:.0f} s")
    for note in run.choice.notes:
        typer.echo(note)


@app.command("pal")
@listener_options(device_help=None)
def pal_command(
    listening: ListenerOptions,
    pressure: Annotated[Path | None, typer.Option(help="Suck-pressure CSV (time_s, pressure_<unit>).")] = None,
    simulate: Annotated[bool, typer.Option(help="Use a simulated infant instead of a recording.")] = False,
    no_sucking: Annotated[bool, typer.Option(help="Simulated infant does not suck (checks contingency).")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 0,
    minutes: Annotated[float, typer.Option(help="Session length (PAL sessions are 15 min).")] = 15.0,
    criterion_mmhg: Annotated[float, typer.Option(help="Pressure a suck must reach to play music.")] = 20.0,
    adapt: Annotated[bool, typer.Option(help="Raise the criterion as sucking strengthens (up to 35 mmHg).")] = False,
    vitals: Annotated[Path | None, typer.Option(
        help="Vital-sign/cue CSV; the session stops at the first pause or stop.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Also write the session audio as heard.")
                      ] = None,
    tune: Annotated[str, typer.Option(help="Lullaby to play (looped, unchanged).")] = "brahms",
    save: Annotated[bool, typer.Option(help="Store the session summary (and stop log) for --client.")] = False,
    session: SessionId = None,
    override_reason: Annotated[str | None, typer.Option(
        "--override-reason", help="A clinician's reason for PAL below 34 weeks postmenstrual age (kept and audited).")
    ] = None,
) -> None:
    """Pacifier-activated lullaby: ~10 s of music per criterion suck, 15-min session, stop on distress.

    With --client, PAL below 34 weeks postmenstrual age is refused unless --override-reason says why
    (Standley 2010: PAL lengthened tube feeding at 32 weeks)."""
    from contextlib import nullcontext

    from cadenza.io.audio import save_audio
    from cadenza.io.pressure import load_suck_pressure, load_vital_signs
    from cadenza.nicu.pal import render_pal_audio, simulate_suck_pressure
    from cadenza.tools.nicu import actions

    if (pressure is None) == (not simulate):
        fail("give exactly one of --pressure FILE or --simulate", code=2)
    if save and not listening.client:
        fail("--save needs --client", code=2)
    if session is not None and not save:
        fail("--session needs --save (the session is stored on it)", code=2)
    # With --save the listener is read, and the session kept, in one unit of work (as on the page).
    with domain_errors(), (open_db() if save else nullcontext()) as db:
        listener = _nicu_listener(listening, db)
        age_note = None
        if listening.client:
            if db is not None:
                age_note = actions.pal_age_gate(db, client=acting_client(db, listening.as_user, listening.client)[1],
                                                override_reason=override_reason).message
            else:
                with open_db() as own:
                    age_note = actions.pal_age_gate(
                        own, client=acting_client(own, listening.as_user, listening.client)[1],
                        override_reason=override_reason).message
        else:
            from cadenza.nicu.age import STANDLEY_2010

            age_note = "No --client: the infant's postmenstrual age was not checked. " + STANDLEY_2010
        listening.notes.append(age_note)
        events = []
        if simulate:
            p, _ = simulate_suck_pressure(duration_s=minutes * 60.0, sampling_rate_hz=100.0, sucking=not no_sucking,
                                          seed=seed)
            rate = 100.0
        else:
            rec = load_suck_pressure(pressure)
            p, rate = rec.pressure_mmhg, rec.sampling_rate_hz
        distress: tuple[float, ...] = ()
        if vitals is not None:
            choice = _thresholds(listening.client, listening.as_user, {}, db)
            listening.notes.extend(choice.notes)
            events = actions.run_stop_rules(load_vital_signs(vitals), choice).events
            distress = tuple(e.time_s for e in events if e.action in ("pause", "stop"))[:1]
        pal = actions.run_pal(p, sampling_rate_hz=rate, listener=listener, options=actions.PalOptions(
            criterion_mmhg=criterion_mmhg, adapt=adapt, minutes=minutes, distress_times_s=distress))
        if output is not None:
            music = actions.lullaby(listener, tune=tune, minutes=max(pal.summary_.duration_s, 1.0) / 60.0, fades=False)
            heard = render_pal_audio(music.render.samples, pal, sampling_rate_hz=music.render.sampling_rate_hz,
                                     calibration=listener.calibration)
            save_audio(output, heard.samples, sampling_rate_hz=heard.sampling_rate_hz)
        if save:
            actor, record = acting_client(db, listening.as_user, listening.client)
            actions.record_pal(db, actor=actor, client_id=record.id, summary=pal.summary_, events=events,
                               session_id=session, override_reason=override_reason)
    payload = {"source": "simulation" if simulate else str(pressure), **pal.summary_.as_dict(),
               "criterion_history": [{"from_s": t, "criterion_mmhg": c} for t, c in pal.criterion_history_],
               "stop_events": [e.as_dict() for e in events], "pal_age_note": age_note, **listener.as_dict()}
    if output is not None:
        payload["output"] = str(output)
        payload["levels"] = heard.report.as_dict()
    if listening.as_json:
        emit_json(payload)
        return
    s = pal.summary_
    typer.echo(f"PAL session {s.duration_s / 60:.1f} min: {s.sucks} sucks, {s.criterion_sucks} at criterion, "
               f"music {s.playback_s:.0f} s; criterion {s.start_criterion_mmhg:g} -> {s.end_criterion_mmhg:g} mmHg")
    typer.echo("sucks per minute: " + " ".join(str(v) for v in s.sucks_per_minute))
    if s.stopped_early:
        typer.echo(f"stopped early: {s.stop_reason}")
    print_warnings(listener, listening.notes)
