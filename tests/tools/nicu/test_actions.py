"""The NICU workflows both faces call: renders at the infant's calibration within NICU limits, one threshold
rule, PAL refused without auto-play, and one audit trail from the command and the page."""

from __future__ import annotations

import pytest

from cadenza.clinic import listening, service
from cadenza.errors import NotFoundError, ParameterError
from cadenza.io.pressure import load_vital_signs
from cadenza.nicu.limits import check_limits
from cadenza.nicu.pal import simulate_suck_pressure
from cadenza.nicu.stop_rules import InfantThresholds
from cadenza.safety.calibration import Calibration
from cadenza.tools.nicu import actions, records

VITALS_CSV = "time_s,heart_rate_bpm,spo2_pct,respiratory_rate_bpm\n" + "".join(
    f"{t},{150 if t < 20 else 105},96,45\n" for t in range(40))


@pytest.fixture
def infant(db_session, therapist):
    return service.create_client(db_session, actor=therapist, code="N001", safety_flags=["nicu_infant"])


def _vitals(heart_rates_bpm):
    """One reading a second: these heart rates, SpO2 96 %, 45 breaths a minute."""
    return load_vital_signs(("time_s,heart_rate_bpm,spo2_pct,respiratory_rate_bpm\n" + "".join(
        f"{t},{hr},96,45\n" for t, hr in enumerate(heart_rates_bpm))).encode())


def test_the_nicu_listener_is_read_once_and_only_for_an_infant(db_session, therapist, infant, client_record):
    listener = actions.nicu_listener(db_session, actor=therapist, client_id=infant.id)
    assert listener.client is infant and listener.policy.nicu_limits
    with pytest.raises(NotFoundError, match="nicu_infant"):
        actions.nicu_listener(db_session, actor=therapist, client_id=client_record.id)
    assert actions.not_nicu_note(listener) is None
    adult = listening.listener_of(db_session, client=client_record)
    assert "C001 has no nicu_infant flag" in actions.not_nicu_note(adult)


def test_renders_follow_the_listeners_calibration_and_stay_within_limits():
    loud_speaker = listening.listener_from_flags(["nicu_infant"], calibration=Calibration.from_measurement(90.0))
    quiet_speaker = listening.listener_from_flags(["nicu_infant"], calibration=Calibration.from_measurement(60.0))
    loud = actions.lullaby(loud_speaker, minutes=0.2).render
    quiet = actions.lullaby(quiet_speaker, minutes=0.2).render
    assert check_limits(loud.report) == () and check_limits(quiet.report) == ()
    assert loud.gain_db < quiet.gain_db  # a louder speaker is driven less
    strict = actions.womb_sound(quiet_speaker, minutes=0.2, leq_dba=40.0).render
    assert strict.report.leq_dba <= 40.0
    with pytest.raises(ParameterError, match="only lower"):
        actions.limits_for(55.0)


def test_thresholds_stored_then_given_else_defaults():
    stored = InfantThresholds(hr_min_bpm=110.0, monitored=("heart_rate_bpm",))
    assert actions.thresholds_for(None).notes == (actions.DEFAULT_THRESHOLDS_NOTE,)
    assert actions.thresholds_for(None).thresholds == InfantThresholds()
    assert actions.thresholds_for(None, {"hr_min_bpm": 90.0}).notes == ()
    merged = actions.thresholds_for(stored, {"hr_max_bpm": 170.0, "spo2_min_pct": None})
    assert merged.thresholds == InfantThresholds(hr_min_bpm=110.0, hr_max_bpm=170.0, monitored=("heart_rate_bpm",))
    assert merged.notes == ()


def test_set_thresholds_merges_and_is_refused_for_a_client_without_the_flag(db_session, therapist, infant,
                                                                           client_record):
    actions.set_thresholds(db_session, actor=therapist, client_id=infant.id, values={"hr_min_bpm": 110.0})
    both = actions.set_thresholds(db_session, actor=therapist, client_id=infant.id,
                                  values={"hr_min_bpm": None, "spo2_min_pct": 90.0})
    assert both == InfantThresholds(hr_min_bpm=110.0, spo2_min_pct=90.0)
    assert records.get_infant_thresholds(db_session, actor=therapist, client_id=infant.id) == both
    with pytest.raises(ParameterError, match="nicu_infant"):
        actions.set_thresholds(db_session, actor=therapist, client_id=client_record.id, values={"hr_min_bpm": 110.0})
    with pytest.raises(ParameterError, match="spo2_min_pct"):
        actions.set_thresholds(db_session, actor=therapist, client_id=infant.id, values={"spo2_min_pct": 0.9})


def test_monitor_uses_the_infants_own_thresholds_and_logs(db_session, therapist, infant):
    observations = _vitals([150] * 20 + [105] * 20)
    plain = actions.monitor_vitals(db_session, actor=therapist, client=infant, observations=observations, save=False)
    assert plain.final_state == "playing" and plain.choice.notes and not plain.logged
    assert records.list_stop_events(db_session, actor=therapist, client_id=infant.id) == []
    actions.set_thresholds(db_session, actor=therapist, client_id=infant.id, values={"hr_min_bpm": 110.0})
    own = actions.monitor_vitals(db_session, actor=therapist, client=infant, observations=observations)
    assert own.final_state == "stopped" and own.choice.notes == () and own.logged
    assert "bradycardia: heart rate 105 < 110" in own.events[-1].reasons[0]
    logged = records.list_stop_events(db_session, actor=therapist, client_id=infant.id)
    assert [(r.action, r.time_s) for r in logged] == [(e.action, e.time_s) for e in own.events]


def test_pal_is_refused_without_auto_play_and_kept_with_its_stop_events_and_m1_below_34_weeks(db_session, therapist,
                                                                                             infant):
    pressure, _ = simulate_suck_pressure(duration_s=60, sampling_rate_hz=100, seed=3)
    seizures = listening.listener_from_flags(["nicu_infant", "seizures"])
    with pytest.raises(ParameterError, match="auto-play"):
        actions.run_pal(pressure, sampling_rate_hz=100, listener=seizures)
    listener = actions.nicu_listener(db_session, actor=therapist, client_id=infant.id)
    stop = actions.run_stop_rules(_vitals([150] * 10 + [80] * 10), actions.thresholds_for(None))
    distress = tuple(e.time_s for e in stop.events if e.action in ("pause", "stop"))[:1]
    pal = actions.run_pal(pressure, sampling_rate_hz=100, listener=listener,
                          options=actions.PalOptions(minutes=1.0, distress_times_s=distress))
    assert pal.summary_.stopped_early and pal.summary_.duration_s == pytest.approx(distress[0])
    row = actions.record_pal(db_session, actor=therapist, client_id=infant.id, summary=pal.summary_,
                             events=stop.events)
    assert row.criterion_sucks == pal.summary_.criterion_sucks
    assert len(records.list_stop_events(db_session, actor=therapist, client_id=infant.id)) == len(stop.events)
    _check_m1_age_gate(db_session, therapist, infant)


def test_the_command_and_the_page_write_the_same_audit_rows(audit_trail, db_session, nurse, logged_in, clinic, tmp_path):
    """Thresholds, a stop-rule run and a PAL session, from ``cadenza nicu`` and from the page: the same rows."""
    infant = service.create_client(db_session, actor=nurse, code="N001", safety_flags=["nicu_infant"])
    db_session.commit()
    base = f"/clients/{infant.id}/nicu"
    token = logged_in.csrf(base)
    pressure_csv = "time_s,pressure_mmhg\n" + "".join(
        f"{i / 100:.2f},{v:.3f}\n" for i, v in enumerate(simulate_suck_pressure(duration_s=30, sampling_rate_hz=100,
                                                                                 seed=1)[0]))
    (tmp_path / "vitals.csv").write_text(VITALS_CSV)
    (tmp_path / "pressure.csv").write_text(pressure_csv)
    steps = {
        "thresholds": ({"hr_min_bpm": "110", "hr_max_bpm": "180", "spo2_min_pct": "88", "rr_min_bpm": "25",
                        "rr_max_bpm": "70"},
                       ["nicu", "thresholds", "--client", "N001", "--hr-min-bpm", "110", "--hr-max-bpm", "180",
                        "--spo2-min-pct", "88", "--rr-min-bpm", "25", "--rr-max-bpm", "70"]),
        "monitor": ({"vitals_text": VITALS_CSV},
                    ["nicu", "monitor", tmp_path / "vitals.csv", "--client", "N001", "--save"]),
        "pal": ({"pressure_text": pressure_csv, "criterion_mmhg": "20"},
                ["nicu", "pal", "--pressure", tmp_path / "pressure.csv", "--minutes", "0.5", "--client", "N001",
                 "--save"]),
    }
    for path, (form, command) in steps.items():
        last = audit_trail.last_id(db_session)
        response = logged_in.post(f"{base}/{path}", data={**form, "csrf_token": token})
        assert response.status_code == 303, response.text[-500:]
        page_rows = audit_trail.rows_after(db_session, last)

        last = audit_trail.in_command_record(audit_trail.last_id)
        result = clinic(*command)
        assert result.exit_code == 0, result.output
        command_rows = audit_trail.in_command_record(lambda db, last=last: audit_trail.rows_after(db, last))
        assert command_rows == page_rows, path
        assert page_rows[0] == ("read", "client")



def _check_m1_age_gate(db_session, therapist, infant):
    """Clinical review M1: PAL below 34 weeks PMA is refused unless a clinician overrides; the override is
    kept and audited."""
    import datetime as dt

    from sqlalchemy import select

    from cadenza.clinic.models import AuditEvent

    pressure, _ = simulate_suck_pressure(duration_s=30, sampling_rate_hz=100, seed=4)
    listener = actions.nicu_listener(db_session, actor=therapist, client_id=infant.id)
    summary = actions.run_pal(pressure, sampling_rate_hz=100, listener=listener,
                              options=actions.PalOptions(minutes=0.5)).summary_
    # Not recorded: allowed, with the reason to record it; the row says the age was unknown.
    unknown = actions.record_pal(db_session, actor=therapist, client_id=infant.id, summary=summary)
    assert unknown.pma_days is None and unknown.age_override_reason is None
    actions.set_age(db_session, actor=therapist, client_id=infant.id, gestational_age_at_birth="29+3",
                    postmenstrual_age="32+0", assessed_on=dt.date(2026, 11, 1))
    day = dt.date(2026, 11, 3)  # 32+2
    with pytest.raises(ParameterError, match="override_reason.*32\\+2.*Standley"):
        actions.record_pal(db_session, actor=therapist, client_id=infant.id, summary=summary, on_date=day)
    row = actions.record_pal(db_session, actor=therapist, client_id=infant.id, summary=summary, on_date=day,
                             override_reason="neonatologist asked for a trial; feeds monitored")
    assert row.pma_days == 32 * 7 + 2 and row.age_override_reason.startswith("neonatologist")
    overrides = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "override")).all()
    assert [(a.entity, a.entity_id, a.client_id) for a in overrides] == [("pal_age_gate", row.id, infant.id)]
    at_34 = actions.record_pal(db_session, actor=therapist, client_id=infant.id, summary=summary,
                               on_date=dt.date(2026, 11, 15))
    assert at_34.pma_days == 34 * 7 and at_34.age_override_reason is None
    with pytest.raises(ParameterError, match="nicu_infant"):
        other = service.create_client(db_session, actor=therapist, code="A009")
        actions.set_age(db_session, actor=therapist, client_id=other.id, gestational_age_at_birth="30+0",
                        postmenstrual_age="31+0")
