"""Clinical review W1: every measurement carries the time it was measured. Without a recorded time it is
dated by its session (FHIR ``effectiveDateTime`` = the Encounter's date, CSV, charts), never by the
moment it was typed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from cadenza.clinic import fhir, service
from cadenza.clinic.export import export_measurements_csv
from cadenza.clinic.progress import goal_progress
from cadenza.clinic.service import MeasurementInput

SESSION_DAY = dt.date(2026, 11, 2)  # weeks before "today": an entry-time default would show up


def _resources(text: str) -> dict[str, dict]:
    return {e["resource"]["id"]: e["resource"] for e in json.loads(text)["entry"]}


def test_w1_a_measurement_without_a_time_is_dated_by_its_session(db_session, therapist, client_record):
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="nrs_pain",
                               baseline=6, target=3)
    row = service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=SESSION_DAY, minutes=30,
        intervention_code="receptive_listening",
        measurements=[MeasurementInput("nrs_pain", value=4, goal_id=goal.id),
                      MeasurementInput("phq9", items=[1, 1, 1, 1, 1, 0, 0, 0, 1])])
    assert [m.measured_at for m in row.measurements] == [None, None]
    assert [m.effective_at for m in row.measurements] == [SESSION_DAY, SESSION_DAY]

    resources = _resources(fhir.export_client_bundle(db_session, actor=therapist, client_id=client_record.id))
    encounter = resources[f"encounter-{row.id}"]
    for m in row.measurements:
        observation = resources[f"observation-{m.id}"]
        assert observation["effectiveDateTime"] == encounter["period"]["start"] == "2026-11-02"
    risk = next(r for r in resources.values() if r["resourceType"] == "RiskAssessment")
    assert risk["occurrenceDateTime"] == "2026-11-02"

    rows = list(csv.DictReader(io.StringIO(export_measurements_csv(db_session, actor=therapist,
                                                                   client_id=client_record.id))))
    assert [r["measured_at"] for r in rows] == ["2026-11-02", "2026-11-02"]
    assert [p.session_date for p in goal_progress(db_session, actor=therapist, goal_id=goal.id).points] == [SESSION_DAY]


def test_w1_a_recorded_time_is_kept_and_orders_the_session(db_session, therapist, client_record):
    before = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    after = dt.datetime(2026, 11, 2, 9, 25, tzinfo=dt.UTC)
    row = service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=SESSION_DAY, minutes=30,
        intervention_code="receptive_listening",
        measurements=[MeasurementInput("vas_anxiety", value=30, measured_at=after),
                      MeasurementInput("vas_anxiety", value=70, measured_at=before),
                      MeasurementInput("nrs_pain", value=2)])
    resources = _resources(fhir.export_client_bundle(db_session, actor=therapist, client_id=client_record.id))
    by_id = {m.id: m for m in row.measurements}
    assert [resources[f"observation-{i}"]["effectiveDateTime"] for i in sorted(by_id)] == [
        "2026-11-02T09:25:00Z", "2026-11-02T09:00:00Z", "2026-11-02"]
    listed = service.list_measurements(db_session, actor=therapist, client_id=client_record.id)
    # In session order: the untimed value first (the same on SQLite and PostgreSQL), then by time.
    assert [m.value for m in listed] == [2, 70, 30]


def test_w1_a_measurement_added_later_is_still_dated_by_its_session(db_session, therapist, client_record):
    row = service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=SESSION_DAY,
                                 minutes=30, intervention_code="ras_gait_training")
    added = service.add_measurement(db_session, actor=therapist, session_id=row.id,
                                    measurement=MeasurementInput("cadence", value=104))
    assert added.measured_at is None and added.effective_at == SESSION_DAY
