"""Storage of calibrations, dose ledger, NICU stop logs and PAL summaries (SQLite and PostgreSQL)."""

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cadenza.clinic import safety_records as sr
from cadenza.clinic import service
from cadenza.clinic.models import Base
from cadenza.errors import NotFoundError, ParameterError
from cadenza.nicu.pal import PalController, simulate_suck_pressure
from cadenza.nicu.stop_rules import InfantThresholds, StopEvent
from cadenza.safety.calibration import DEFAULT_CALIBRATION

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
SAFETY_TABLES = {"listening_calibration", "sound_dose_entry", "nicu_stop_log", "pal_session_summary",
                 "infant_threshold"}


def test_migration_matches_models(db_engine):
    with db_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    mine = [d for d in diffs if any(t in repr(d) for t in SAFETY_TABLES)]
    assert mine == []


def test_calibration_latest_per_device_and_default(db_session, therapist, client_record):
    cid = client_record.id
    assert sr.latest_calibration(db_session, actor=therapist, client_id=cid) == DEFAULT_CALIBRATION
    sr.record_calibration(db_session, actor=therapist, client_id=cid, measured_level_dba=70.0, device="tablet",
                          measured_at=NOW - dt.timedelta(days=2))
    sr.record_calibration(db_session, actor=therapist, client_id=cid, measured_level_dba=74.0, device="tablet",
                          measured_at=NOW)
    sr.record_calibration(db_session, actor=therapist, client_id=cid, measured_level_dba=60.0, device="speaker",
                          measured_at=NOW - dt.timedelta(days=1))
    cal = sr.latest_calibration(db_session, actor=therapist, client_id=cid, device="tablet")
    assert cal.tone_level_dba == 74.0 and not cal.is_default
    assert sr.latest_calibration(db_session, actor=therapist, client_id=cid, device="speaker").tone_level_dba == 60
    with pytest.raises(ParameterError, match="measured_level_dba"):
        sr.record_calibration(db_session, actor=therapist, client_id=cid, measured_level_dba=0.5)


def test_weekly_dose_known_answer_and_warning(db_session, therapist, client_record):
    cid = client_record.id
    sr.add_dose_entry(db_session, actor=therapist, client_id=cid, level_dba=80.0, duration_s=30 * 3600,
                      started_at=NOW - dt.timedelta(days=3), source="playlist")
    sr.add_dose_entry(db_session, actor=therapist, client_id=cid, level_dba=95.0, duration_s=3600,
                      started_at=NOW - dt.timedelta(days=9))
    week = sr.weekly_dose(db_session, actor=therapist, client_id=cid, now=NOW)
    assert week.fraction == pytest.approx(0.75) and week.mode == "adult" and week.warning is None
    preview = sr.preview_session_dose(db_session, actor=therapist, client_id=cid, level_dba=80.0,
                                      duration_s=10 * 3600, now=NOW)
    assert preview.fraction_after == pytest.approx(1.0) and "100 %" in preview.warning


def test_hearing_loss_flag_switches_ledger_to_sensitive(db_session, therapist, client_record):
    cid = client_record.id
    sr.add_dose_entry(db_session, actor=therapist, client_id=cid, level_dba=75.0, duration_s=20 * 3600,
                      started_at=NOW - dt.timedelta(days=1))
    assert sr.weekly_dose(db_session, actor=therapist, client_id=cid, now=NOW).fraction == pytest.approx(
        20 / 40 * 10 ** -0.5)
    service.update_client(db_session, actor=therapist, client_id=cid, safety_flags=["hearing_loss"])
    week = sr.weekly_dose(db_session, actor=therapist, client_id=cid, now=NOW)
    assert week.mode == "sensitive" and week.fraction == pytest.approx(0.5)


def test_other_therapist_cannot_see_or_write(db_session, make_therapist, client_record):
    other = make_therapist("other")
    with pytest.raises(NotFoundError):
        sr.weekly_dose(db_session, actor=other, client_id=client_record.id, now=NOW)
    with pytest.raises(NotFoundError):
        sr.add_dose_entry(db_session, actor=other, client_id=client_record.id, level_dba=70, duration_s=60)


def test_bad_dose_entries(db_session, therapist, client_record):
    with pytest.raises(ParameterError, match="source"):
        sr.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=70, duration_s=1,
                          source="radio")
    with pytest.raises(ParameterError, match="duration_s"):
        sr.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=70, duration_s=-1)
    with pytest.raises(ParameterError, match="started_at"):
        sr.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=70, duration_s=1,
                          started_at=dt.datetime(2026, 1, 1))


@pytest.fixture
def infant(db_session, therapist):
    return service.create_client(db_session, actor=therapist, code="N001", safety_flags=["nicu_infant"])


def test_stop_log_round_trip(db_session, therapist, infant):
    events = [StopEvent(0.0, "start", ()), StopEvent(25.0, "pause", ("desaturation: SpO2 82 % < 88 %",))]
    sr.log_stop_events(db_session, actor=therapist, client_id=infant.id, events=events, run_started_at=NOW)
    rows = sr.list_stop_events(db_session, actor=therapist, client_id=infant.id)
    assert [(r.action, r.time_s) for r in rows] == [("start", 0.0), ("pause", 25.0)]
    assert rows[1].reasons == ["desaturation: SpO2 82 % < 88 %"]
    assert rows[0].run_started_at == NOW


def test_pal_summary_stored_and_measured(db_session, therapist, infant):
    p, _ = simulate_suck_pressure(duration_s=300, sampling_rate_hz=100, seed=2)
    summary = PalController(session_s=300).run(p, sampling_rate_hz=100).summary_
    session = service.record_session(db_session, actor=therapist, client_id=infant.id,
                                     session_date=dt.date(2026, 11, 25), minutes=15, intervention_code="nicu_pal")
    sr.record_pal_summary(db_session, actor=therapist, client_id=infant.id, summary=summary, started_at=NOW,
                          session_id=session.id)
    (row,) = sr.list_pal_summaries(db_session, actor=therapist, client_id=infant.id)
    assert row.criterion_sucks == summary.criterion_sucks and row.sucks_per_minute == list(summary.sucks_per_minute)
    (m,) = service.list_measurements(db_session, actor=therapist, client_id=infant.id,
                                     instrument_code="pal_sucks_per_min")
    assert m.value == pytest.approx(summary.criterion_sucks / 5.0, abs=0.01)


def test_pal_refused_for_non_nicu_client(db_session, therapist, client_record):
    p, _ = simulate_suck_pressure(duration_s=30, sampling_rate_hz=100)
    summary = PalController(session_s=30).run(p, sampling_rate_hz=100).summary_
    with pytest.raises(ParameterError, match="nicu_infant"):
        sr.record_pal_summary(db_session, actor=therapist, client_id=client_record.id, summary=summary)


def test_infant_thresholds_set_replace_and_read(db_session, therapist, infant, client_record):
    assert sr.get_infant_thresholds(db_session, actor=therapist, client_id=infant.id) is None
    sr.set_infant_thresholds(db_session, actor=therapist, client_id=infant.id,
                             thresholds=InfantThresholds(hr_min_bpm=110.0, spo2_min_pct=90.0))
    sr.set_infant_thresholds(db_session, actor=therapist, client_id=infant.id,
                             thresholds=InfantThresholds(hr_min_bpm=105.0, monitored=("heart_rate_bpm", "spo2_pct")))
    got = sr.get_infant_thresholds(db_session, actor=therapist, client_id=infant.id)
    assert got == InfantThresholds(hr_min_bpm=105.0, monitored=("heart_rate_bpm", "spo2_pct"))
    with pytest.raises(ParameterError, match="nicu_infant"):
        sr.set_infant_thresholds(db_session, actor=therapist, client_id=client_record.id,
                                 thresholds=InfantThresholds())
