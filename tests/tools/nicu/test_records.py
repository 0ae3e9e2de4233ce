"""Storage of the NICU tool: each infant's stop-rule thresholds, the stop log and PAL summaries (SQLite and
PostgreSQL)."""

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cadenza.clinic import service
from cadenza.clinic.models import Base
from cadenza.errors import NotFoundError, ParameterError
from cadenza.nicu.pal import PalController, simulate_suck_pressure
from cadenza.nicu.stop_rules import InfantThresholds, StopEvent
from cadenza.tools.nicu import records

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
NICU_TABLES = {"infant_threshold", "nicu_stop_log", "pal_session_summary"}


def test_migration_matches_models(db_engine):
    with db_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    mine = [d for d in diffs if any(t in repr(d) for t in NICU_TABLES)]
    assert mine == []


@pytest.fixture
def infant(db_session, therapist):
    return service.create_client(db_session, actor=therapist, code="N001", safety_flags=["nicu_infant"])


def test_stop_log_round_trip(db_session, therapist, infant):
    events = [StopEvent(0.0, "start", ()), StopEvent(25.0, "pause", ("desaturation: SpO2 82 % < 88 %",))]
    records.log_stop_events(db_session, actor=therapist, client_id=infant.id, events=events, run_started_at=NOW)
    rows = records.list_stop_events(db_session, actor=therapist, client_id=infant.id)
    assert [(r.action, r.time_s) for r in rows] == [("start", 0.0), ("pause", 25.0)]
    assert rows[1].reasons == ["desaturation: SpO2 82 % < 88 %"]
    assert rows[0].run_started_at == NOW


def test_pal_summary_stored_and_measured(db_session, therapist, infant):
    p, _ = simulate_suck_pressure(duration_s=300, sampling_rate_hz=100, seed=2)
    summary = PalController(session_s=300).run(p, sampling_rate_hz=100).summary_
    session = service.record_session(db_session, actor=therapist, client_id=infant.id,
                                     session_date=dt.date(2026, 11, 25), minutes=15, intervention_code="nicu_pal")
    records.record_pal_summary(db_session, actor=therapist, client_id=infant.id, summary=summary, started_at=NOW,
                               session_id=session.id)
    (row,) = records.list_pal_summaries(db_session, actor=therapist, client_id=infant.id)
    assert row.criterion_sucks == summary.criterion_sucks and row.sucks_per_minute == list(summary.sucks_per_minute)
    (m,) = service.list_measurements(db_session, actor=therapist, client_id=infant.id,
                                     instrument_code="pal_sucks_per_min")
    assert m.value == pytest.approx(summary.criterion_sucks / 5.0, abs=0.01)


def test_pal_refused_for_non_nicu_client(db_session, therapist, client_record):
    p, _ = simulate_suck_pressure(duration_s=30, sampling_rate_hz=100)
    summary = PalController(session_s=30).run(p, sampling_rate_hz=100).summary_
    with pytest.raises(ParameterError, match="nicu_infant"):
        records.record_pal_summary(db_session, actor=therapist, client_id=client_record.id, summary=summary)


def test_infant_thresholds_set_replace_and_read(db_session, therapist, infant, client_record):
    assert records.get_infant_thresholds(db_session, actor=therapist, client_id=infant.id) is None
    records.set_infant_thresholds(db_session, actor=therapist, client_id=infant.id,
                                  thresholds=InfantThresholds(hr_min_bpm=110.0, spo2_min_pct=90.0))
    monitored = ("heart_rate_bpm", "spo2_pct")
    records.set_infant_thresholds(db_session, actor=therapist, client_id=infant.id,
                                  thresholds=InfantThresholds(hr_min_bpm=105.0, monitored=monitored))
    got = records.get_infant_thresholds(db_session, actor=therapist, client_id=infant.id)
    assert got == InfantThresholds(hr_min_bpm=105.0, monitored=("heart_rate_bpm", "spo2_pct"))
    with pytest.raises(ParameterError, match="nicu_infant"):
        records.set_infant_thresholds(db_session, actor=therapist, client_id=client_record.id,
                                      thresholds=InfantThresholds())


def test_client_readers_match_the_audited_ones(db_session, therapist, infant):
    """The readers a page uses after reading its client once return what the audited services return."""
    records.set_infant_thresholds(db_session, actor=therapist, client_id=infant.id,
                                  thresholds=InfantThresholds(hr_min_bpm=110.0))
    records.log_stop_events(db_session, actor=therapist, client_id=infant.id, run_started_at=NOW,
                            events=[StopEvent(0.0, "start", ())])
    p, _ = simulate_suck_pressure(duration_s=30, sampling_rate_hz=100)
    records.record_pal_summary(db_session, actor=therapist, client_id=infant.id, started_at=NOW,
                               summary=PalController(session_s=30).run(p, sampling_rate_hz=100).summary_)
    assert records.client_thresholds(db_session, client=infant) == records.get_infant_thresholds(
        db_session, actor=therapist, client_id=infant.id)
    assert records.client_stop_events(db_session, client=infant) == records.list_stop_events(
        db_session, actor=therapist, client_id=infant.id)
    assert records.client_pal_summaries(db_session, client=infant) == records.list_pal_summaries(
        db_session, actor=therapist, client_id=infant.id)


def test_a_run_on_a_session_of_another_client_is_not_found(db_session, therapist, infant, client_record):
    other = service.record_session(db_session, actor=therapist, client_id=client_record.id,
                                   session_date=dt.date(2026, 11, 25), minutes=15, intervention_code="nicu_pal")
    with pytest.raises(NotFoundError, match="session"):
        records.log_stop_events(db_session, actor=therapist, client_id=infant.id, session_id=other.id,
                                events=[StopEvent(0.0, "start", ())])
    assert records.list_stop_events(db_session, actor=therapist, client_id=infant.id) == []
