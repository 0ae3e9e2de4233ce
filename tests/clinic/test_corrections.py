"""Correct anything, with history (walk-through problem 2): amend, remove and restore, each with its reason."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from cadenza.clinic import corrections, dashboard, service
from cadenza.clinic.corrections import RecordChange
from cadenza.clinic.models import AuditEvent, Base, Measurement, TherapySession
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ConflictError, NotFoundError, ParameterError

DAY = dt.date(2026, 11, 29)


def _session(db, therapist, client, **extra):
    return service.record_session(db, actor=therapist, client_id=client.id, session_date=DAY, minutes=40,
                                  intervention_code="receptive_listening",
                                  measurements=[MeasurementInput("vas_anxiety", value=35)], **extra)


def _audit(db, action: str, entity: str) -> list[int]:
    return list(db.scalars(select(AuditEvent.entity_id).where(AuditEvent.action == action, AuditEvent.entity == entity)))


def test_migration_matches_the_models(db_engine):
    with db_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diffs if "record_change" in repr(d) or "removed_" in repr(d)] == []


def test_walkthrough_p2_a_removed_session_is_hidden_kept_audited_and_restorable(db_session, therapist, client_record):
    row = _session(db_session, therapist, client_record)
    measurement_id = row.measurements[0].id
    with pytest.raises(ParameterError, match="reason"):
        corrections.remove_session(db_session, actor=therapist, session_id=row.id, expected_version=row.version,
                                   reason=" ")
    corrections.remove_session(db_session, actor=therapist, session_id=row.id, expected_version=row.version,
                               reason="entered on the wrong client")
    db_session.expire_all()
    assert service.list_sessions(db_session, actor=therapist, client_id=client_record.id) == []
    assert service.list_measurements(db_session, actor=therapist, client_id=client_record.id) == []
    assert dashboard.recent_sessions(db_session, actor=therapist, limit=10) == []
    with pytest.raises(NotFoundError):
        service.get_session(db_session, actor=therapist, session_id=row.id)
    db_session.expunge_all()
    assert db_session.get(TherapySession, row.id) is None  # hidden, yet the row is there:
    kept = db_session.scalars(select(TherapySession).execution_options(include_removed=True)).one()
    assert (kept.removed_reason, kept.removed_by_id) == ("entered on the wrong client", therapist.id)
    assert _audit(db_session, "delete", "therapy_session") == [row.id]
    assert _audit(db_session, "delete", "measurement") == [measurement_id]
    removed = corrections.removed_records(db_session, client=client_record)
    assert [s.id for s in removed.sessions] == [row.id]

    corrections.restore_session(db_session, actor=therapist, session_id=row.id, reason="it was the right client")
    db_session.expire_all()
    back = service.get_session(db_session, actor=therapist, session_id=row.id)
    assert [m.id for m in back.measurements] == [measurement_id] and not back.is_removed
    assert _audit(db_session, "restore", "therapy_session") == [row.id]
    changes = corrections.history(db_session, client=client_record, entity="therapy_session", entity_id=row.id)
    assert [(c.action, c.reason) for c in changes] == [("remove", "entered on the wrong client"),
                                                       ("restore", "it was the right client")]


def test_walkthrough_p2_a_signed_note_stays_as_signed(db_session, therapist, client_record):
    row = _session(db_session, therapist, client_record)
    service.sign_session(db_session, actor=therapist, session_id=row.id, expected_version=row.version)
    with pytest.raises(ConflictError, match="addendum"):
        corrections.remove_session(db_session, actor=therapist, session_id=row.id, expected_version=row.version,
                                   reason="wrong day")
    with pytest.raises(ConflictError, match="addendum"):
        corrections.remove_measurement(db_session, actor=therapist, measurement_id=row.measurements[0].id,
                                       reason="typo")
    with pytest.raises(ConflictError, match="addendum"):
        corrections.amend_session(db_session, actor=therapist, session_id=row.id, expected_version=row.version,
                                  session_date=DAY - dt.timedelta(days=1))


def test_walkthrough_p2_date_intervention_and_measurements_can_be_corrected(db_session, therapist, client_record):
    row = _session(db_session, therapist, client_record)
    corrections.amend_session(db_session, actor=therapist, session_id=row.id, expected_version=row.version,
                              session_date=DAY - dt.timedelta(days=7), intervention_code="songwriting",
                              minutes=40, reason="copied from last week's sheet")
    change = corrections.history(db_session, client=client_record)[-1]
    assert change.changes == {"session_date": ["2026-11-29", "2026-11-22"],
                              "intervention_code": ["receptive_listening", "songwriting"]}
    assert change.reason == "copied from last week's sheet"

    wrong = row.measurements[0]
    corrections.remove_measurement(db_session, actor=therapist, measurement_id=wrong.id, reason="typed 35 for 53")
    service.add_measurement(db_session, actor=therapist, session_id=row.id,
                            measurement=MeasurementInput("vas_anxiety", value=53))
    values = [m.value for m in service.list_measurements(db_session, actor=therapist, client_id=client_record.id)]
    assert values == [53]
    db_session.expunge_all()
    assert db_session.get(Measurement, wrong.id) is None


def test_walkthrough_p2_future_session_dates_are_refused(db_session, therapist, client_record):
    tomorrow_plus = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    with pytest.raises(ParameterError, match="session_date .* is in the future"):
        service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=tomorrow_plus,
                               minutes=30, intervention_code="receptive_listening")
    row = _session(db_session, therapist, client_record)
    with pytest.raises(ParameterError, match="in the future"):
        corrections.amend_session(db_session, actor=therapist, session_id=row.id, expected_version=row.version,
                                  session_date=tomorrow_plus)
    # One day of grace for clinics ahead of UTC.
    service.record_session(db_session, actor=therapist, client_id=client_record.id,
                           session_date=dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1), minutes=30,
                           intervention_code="receptive_listening")


def test_walkthrough_p2_goals_are_amended_removed_and_restored(db_session, therapist, client_record):
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="vas_anxiety",
                               baseline=65, target=30)
    corrections.amend_goal(db_session, actor=therapist, goal_id=goal.id, target=40, description="calmer on the ward",
                           reason="30 mm was not realistic")
    corrections.remove_goal(db_session, actor=therapist, goal_id=goal.id, reason="duplicate of goal 2")
    assert service.list_goals(db_session, actor=therapist, client_id=client_record.id) == []
    assert [g.id for g in corrections.removed_records(db_session, client=client_record).goals] == [goal.id]
    corrections.restore_goal(db_session, actor=therapist, goal_id=goal.id)
    assert [g.target for g in service.list_goals(db_session, actor=therapist, client_id=client_record.id)] == [40]
    actions = [(c.action, c.changes) for c in corrections.history(db_session, client=client_record, entity="goal")]
    assert actions == [("amend", {"target": [30.0, 40.0], "description": ["", "calmer on the ward"]}),
                       ("remove", {}), ("restore", {})]
    assert _audit(db_session, "delete", "goal") == [goal.id] and _audit(db_session, "restore", "goal") == [goal.id]


def test_another_therapists_records_are_not_found(db_session, therapist, client_record, make_therapist):
    other = make_therapist("other")
    row = _session(db_session, therapist, client_record)
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="vas_anxiety",
                               baseline=65, target=30)
    with pytest.raises(NotFoundError):
        corrections.remove_session(db_session, actor=other, session_id=row.id, expected_version=row.version,
                                   reason="not mine")
    with pytest.raises(NotFoundError):
        corrections.remove_goal(db_session, actor=other, goal_id=goal.id, reason="not mine")
    with pytest.raises(NotFoundError):
        corrections.remove_measurement(db_session, actor=other, measurement_id=row.measurements[0].id, reason="x y z")
    assert db_session.scalars(select(RecordChange)).all() == []
