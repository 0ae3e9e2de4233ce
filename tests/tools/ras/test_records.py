"""RAS records: stored plans, plan from the latest cadence, synchronisation measurements."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cadenza.tools.ras import records as rr
from cadenza.clinic import service
from cadenza.clinic.models import Base
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import NotFoundError, ParameterError
from cadenza.ras.plan import plan_ras_sessions
from cadenza.ras.sync import analyze_synchronization


def _session(db, therapist, client, day=25, measurements=()):
    return service.record_session(db, actor=therapist, client_id=client.id, session_date=dt.date(2026, 11, day),
                                  minutes=30, intervention_code="ras_gait_training", measurements=measurements)


def test_migration_matches_the_models(db_engine):
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert [d for d in diffs if "ras_plan" in repr(d)] == []


def test_plan_round_trip(db_session, therapist, client_record):
    plan = plan_ras_sessions(np.float64(96.0), condition="stroke", max_increase_percent=10, symmetry_checked=True)
    row = rr.store_ras_plan(db_session, actor=therapist, client_id=client_record.id, plan=plan)
    db_session.commit()
    db_session.expire_all()
    [back] = rr.list_ras_plans(db_session, actor=therapist, client_id=client_record.id)
    assert back.id == row.id and back.condition == "stroke" and back.baseline_cadence_spm == 96.0
    assert [s["tempo_bpm"] for s in back.plan["stages"]] == [96.0, 100.8, 105.6]
    assert any("symmetry" in w for w in back.plan["warnings"])
    assert back.plan["figures"][0]["evidence_ids"] == ["thaut1996_parkinson_ras"]
    assert back.created_at.tzinfo is not None


def test_other_therapists_cannot_see_or_store(db_session, make_therapist, client_record):
    other = make_therapist("someone_else")
    with pytest.raises(NotFoundError):
        rr.store_ras_plan(db_session, actor=other, client_id=client_record.id,
                          plan=plan_ras_sessions(100, condition="other"))
    with pytest.raises(NotFoundError):
        rr.list_ras_plans(db_session, actor=other, client_id=client_record.id)


def test_plan_from_latest_cadence(db_session, therapist, client_record):
    with pytest.raises(ParameterError, match="no cadence"):
        rr.plan_from_latest_cadence(db_session, actor=therapist, client_id=client_record.id)
    _session(db_session, therapist, client_record, 20, [MeasurementInput("cadence", value=90.0)])
    _session(db_session, therapist, client_record, 24, [MeasurementInput("cadence", value=98.0)])
    plan = rr.plan_from_latest_cadence(db_session, actor=therapist, client_id=client_record.id, condition="other")
    assert plan.baseline_cadence_spm == 98.0


def test_sync_figures_stored_as_measurements(db_session, therapist, client_record):
    session_row = _session(db_session, therapist, client_record)
    beats = np.arange(0, 60, 0.6)
    report = analyze_synchronization(beats[2:80] - 0.03, beats)
    rows = rr.store_sync_measurements(db_session, actor=therapist, session_id=session_row.id, report=report)
    values = {r.instrument_code: r.value for r in rows}
    assert values["ras_sync_r"] == pytest.approx(1.0)
    assert values["ras_mean_asynchrony_ms"] == pytest.approx(-30.0)
    assert values["ras_steps_in_window_pct"] == 100.0
    listed = service.list_measurements(db_session, actor=therapist, client_id=client_record.id,
                                       instrument_code="ras_sync_r")
    assert len(listed) == 1


def test_too_few_steps_store_nothing(db_session, therapist, client_record):
    session_row = _session(db_session, therapist, client_record)
    report = analyze_synchronization(np.array([1.0, 1.6, 2.2]), np.arange(0, 5, 0.6))
    with pytest.raises(ParameterError, match="at least 8"):
        rr.store_sync_measurements(db_session, actor=therapist, session_id=session_row.id, report=report)


def test_sync_analysis_is_audited_and_only_stored_on_this_clients_session(db_session, therapist, client_record):
    other_client = service.create_client(db_session, actor=therapist, code="C002")
    foreign_session = _session(db_session, therapist, other_client)
    beats = np.arange(0, 30, 0.6)
    report = analyze_synchronization(beats[2:40] - 0.02, beats)
    assert rr.record_sync_analysis(db_session, actor=therapist, client_id=client_record.id, report=report) == []
    events = service.list_audit_events(db_session, actor=therapist, client_id=client_record.id)
    assert any(e.entity == "ras_sync_report" and e.action == "create" for e in events)
    with pytest.raises(NotFoundError):
        rr.record_sync_analysis(db_session, actor=therapist, client_id=client_record.id, report=report,
                                session_id=foreign_session.id)
