"""Correct anything, with history (walk-through problem 2): amend, remove and restore, each with its reason;
and (issue 16) an admin's password reset with a forced change, caseload reassignment, the audit-log reader,
and the same corrections for RAS plans, MIT phrases and sound-dose entries."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from cadenza.clinic import audit_log, auth, corrections, dashboard, listening, reassignment, service
from cadenza.clinic.corrections import RecordChange
from cadenza.clinic.models import AuditEvent, Base, Measurement, TherapySession
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ConflictError, NotFoundError, ParameterError, PermissionDeniedError
from cadenza.ras.plan import plan_ras_sessions
from cadenza.tools.mit import records as mit_records
from cadenza.tools.ras import records as ras_records
from cadenza.tools.safety import records as safety_records

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
    # removed_* also covers ras_plan, mit_phrase and sound_dose_entry (0024_admin_corrections).
    assert [d for d in diffs if "record_change" in repr(d) or "removed_" in repr(d)
            or "must_change_password" in repr(d)] == []


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


# === Issue 16: administration, and the tools' rows (RAS plans, MIT phrases, sound-dose entries) ===

NEW_PASSWORD = "a fresh passphrase of mine"


def _actions(db, entity: str, entity_id: int | None = None) -> list[str]:
    query = select(AuditEvent.action).where(AuditEvent.entity == entity).order_by(AuditEvent.id)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    return list(db.scalars(query))


# --- password reset and the forced change ---------------------------------------------------------


def test_reset_gives_a_one_time_password_ends_sessions_and_forces_a_change(db_session, make_therapist):
    admin, ana = make_therapist("root", role="admin"), make_therapist("ana")
    grant = auth.login(db_session, username="ana", password="correct horse battery")
    temporary = auth.reset_password(db_session, actor=admin, username="ana")
    assert len(temporary) == 23 and temporary.count("-") == 3
    assert auth.resolve_session(db_session, grant.token) is None  # the old login ended
    assert ana.must_change_password
    assert _actions(db_session, "therapist", ana.id)[-1] == "password_reset"
    with pytest.raises(PermissionDeniedError):
        auth.authenticate(db_session, username="ana", password="correct horse battery")
    assert auth.authenticate(db_session, username="ana", password=temporary).id == ana.id
    with pytest.raises(ParameterError, match="new_password must differ"):
        auth.change_password(db_session, actor=ana, current_password=temporary, new_password=temporary)
    auth.change_password(db_session, actor=ana, current_password=temporary, new_password=NEW_PASSWORD)
    assert not ana.must_change_password
    assert auth.reset_password(db_session, actor=None, username="ana") != temporary  # local command line


def test_only_admins_reset_and_never_their_own_password(db_session, make_therapist):
    admin, ana = make_therapist("root", role="admin"), make_therapist("ana")
    with pytest.raises(PermissionDeniedError, match="only admins"):
        auth.reset_password(db_session, actor=ana, username="root")
    with pytest.raises(ParameterError, match="your own account"):
        auth.reset_password(db_session, actor=admin, username="root")
    with pytest.raises(NotFoundError, match="'nobody'"):
        auth.reset_password(db_session, actor=admin, username="nobody")


# --- caseload reassignment ------------------------------------------------------------------------


def test_reassigning_a_caseload_moves_access_keeps_authorship_and_audits_each_client(db_session, make_therapist):
    admin, ana, bo = make_therapist("root", role="admin"), make_therapist("ana"), make_therapist("bo")
    c1 = service.create_client(db_session, actor=ana, code="C001")
    c2 = service.create_client(db_session, actor=ana, code="C002")
    row = service.record_session(db_session, actor=ana, client_id=c1.id, session_date=dt.date(2026, 11, 29),
                                 minutes=30, intervention_code="receptive_listening")
    assert reassignment.caseload_codes(db_session, actor=admin, username="ana") == ["C001", "C002"]
    with pytest.raises(ParameterError, match=r"codes \['C009'\]"):
        reassignment.reassign_caseload(db_session, actor=admin, from_username="ana", to_username="bo", codes=["C009"])
    moved = reassignment.reassign_caseload(db_session, actor=admin, from_username="ana", to_username="bo", codes=["C001"])
    assert moved.codes == ("C001",)
    with pytest.raises(NotFoundError):
        service.get_client(db_session, actor=ana, client_id=c1.id)
    assert service.get_client(db_session, actor=bo, client_id=c1.id).code == "C001"
    assert service.get_session(db_session, actor=bo, session_id=row.id).therapist_id == ana.id  # who wrote it
    assert service.get_client(db_session, actor=ana, client_id=c2.id).code == "C002"
    assert list(db_session.scalars(select(AuditEvent.client_id).where(AuditEvent.action == "reassign"))) == [c1.id]
    assert reassignment.caseload_sizes(db_session, actor=admin) == {ana.id: 1, bo.id: 1}


def test_reassignment_refuses_clashing_codes_disabled_targets_and_non_admins(db_session, make_therapist):
    admin, ana, bo = make_therapist("root", role="admin"), make_therapist("ana"), make_therapist("bo")
    service.create_client(db_session, actor=ana, code="C001")
    service.create_client(db_session, actor=bo, code="C001")
    with pytest.raises(ConflictError, match=r"codes \['C001'\]"):
        reassignment.reassign_caseload(db_session, actor=admin, from_username="ana", to_username="bo")
    with pytest.raises(PermissionDeniedError):
        reassignment.reassign_caseload(db_session, actor=ana, from_username="ana", to_username="bo")
    with pytest.raises(ParameterError, match="to_username must differ"):
        reassignment.reassign_caseload(db_session, actor=admin, from_username="ana", to_username="ana")
    auth.set_therapist_active(db_session, actor=admin, username="bo", active=False)
    with pytest.raises(ConflictError, match="disabled"):
        reassignment.reassign_caseload(db_session, actor=admin, from_username="ana", to_username="bo")


# --- the audit-log reader -------------------------------------------------------------------------


def test_audit_pages_filter_and_page_by_keyset_without_overlap(db_session, make_therapist):
    admin, ana = make_therapist("root", role="admin"), make_therapist("ana")
    client = service.create_client(db_session, actor=ana, code="C001")
    for _ in range(3):
        service.get_client(db_session, actor=ana, client_id=client.id)
        db_session.commit()  # a new unit of work: each read is audited again
    only_ana = audit_log.AuditFilter(username="ana", client_id=client.id)
    first = audit_log.audit_page(db_session, actor=admin, filters=only_ana, limit=2)
    second = audit_log.audit_page(db_session, actor=admin, filters=only_ana, before_id=first.next_before_id, limit=2)
    ids = [e.id for e in first.rows + second.rows]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids)) == 4  # create + 3 reads
    assert second.next_before_id is None
    assert {e.actor_username for e in first.rows + second.rows} == {"ana"}
    reads = audit_log.audit_page(db_session, actor=admin, filters=audit_log.AuditFilter(action="read", username="ana"))
    assert len(reads.rows) == 3
    today = dt.datetime.now(dt.UTC).date()
    future = audit_log.AuditFilter(since_date=today + dt.timedelta(days=1))
    assert audit_log.audit_page(db_session, actor=admin, filters=future).rows == []
    assert audit_log.audit_page(db_session, actor=admin, filters=audit_log.AuditFilter(until_date=today)).rows
    assert "read" in audit_log.known_actions(db_session, actor=admin)
    with pytest.raises(PermissionDeniedError):
        audit_log.audit_page(db_session, actor=ana)
    with pytest.raises(ParameterError, match="since_date"):
        audit_log.audit_page(db_session, actor=admin, filters=audit_log.AuditFilter(since_date=today, until_date=today
                                                                                    - dt.timedelta(days=1)))
    with pytest.raises(ParameterError, match="limit"):
        audit_log.audit_page(db_session, actor=admin, limit=0)


# --- the tools' rows ------------------------------------------------------------------------------


def test_a_removed_ras_plan_is_hidden_kept_audited_and_restorable(db_session, therapist, client_record,
                                                                   make_therapist):
    plan = ras_records.store_ras_plan(db_session, actor=therapist, client_id=client_record.id,
                                      plan=plan_ras_sessions(100, condition="other"))
    with pytest.raises(ParameterError, match="reason"):
        ras_records.remove_ras_plan(db_session, actor=therapist, plan_id=plan.id, reason="")
    other = make_therapist("other")
    with pytest.raises(NotFoundError):
        ras_records.remove_ras_plan(db_session, actor=other, plan_id=plan.id, reason="not mine")
    ras_records.remove_ras_plan(db_session, actor=therapist, plan_id=plan.id, reason="wrong baseline cadence")
    assert ras_records.list_ras_plans(db_session, actor=therapist, client_id=client_record.id) == []
    with pytest.raises(NotFoundError):
        ras_records.get_ras_plan(db_session, actor=therapist, client_id=client_record.id, plan_id=plan.id)
    assert [p.id for p in ras_records.removed_ras_plans(db_session, client=client_record)] == [plan.id]
    with pytest.raises(ConflictError, match="already removed"):
        ras_records.remove_ras_plan(db_session, actor=therapist, plan_id=plan.id, reason="again")
    ras_records.restore_ras_plan(db_session, actor=therapist, plan_id=plan.id)
    assert [p.id for p in ras_records.list_ras_plans(db_session, actor=therapist, client_id=client_record.id)] == [plan.id]
    assert _actions(db_session, "ras_plan", plan.id) == ["create", "delete", "restore"]
    changes = corrections.history(db_session, client=client_record, entity="ras_plan", entity_id=plan.id)
    assert [(c.action, c.reason) for c in changes] == [("remove", "wrong baseline cadence"), ("restore", "")]


def test_a_removed_mit_phrase_leaves_the_bank_and_cannot_be_added_twice(db_session, therapist, client_record):
    phrase = mit_records.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="I want water")
    mit_records.remove_phrase(db_session, actor=therapist, phrase_id=phrase.id, reason="typed for the wrong client",
                              client_id=client_record.id)
    assert mit_records.list_phrases(db_session, actor=therapist, client_id=client_record.id, active_only=False) == []
    with pytest.raises(ConflictError, match="restore it"):
        mit_records.add_phrase(db_session, actor=therapist, client_id=client_record.id, text="I want water")
    other_client = service.create_client(db_session, actor=therapist, code="C002")
    with pytest.raises(NotFoundError):  # reached through another client's page
        mit_records.restore_phrase(db_session, actor=therapist, phrase_id=phrase.id, client_id=other_client.id)
    mit_records.restore_phrase(db_session, actor=therapist, phrase_id=phrase.id, client_id=client_record.id)
    assert [p.text for p in mit_records.list_phrases(db_session, actor=therapist, client_id=client_record.id)] == [
        "I want water"]


def test_a_removed_dose_entry_no_longer_counts_toward_the_week(db_session, therapist, client_record):
    now = dt.datetime.now(dt.UTC)
    typo = listening.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=95,
                                    duration_s=7200, started_at=now - dt.timedelta(hours=3))
    listening.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=70, duration_s=1800,
                             started_at=now - dt.timedelta(hours=1))
    before = listening.weekly_dose(db_session, actor=therapist, client_id=client_record.id).fraction
    assert before > 1  # the typo's warning
    safety_records.remove_dose_entry(db_session, actor=therapist, entry_id=typo.id, reason="95 typed for 65")
    after = listening.weekly_dose(db_session, actor=therapist, client_id=client_record.id).fraction
    assert 0 < after < 0.01
    overview = safety_records.safety_overview(db_session, actor=therapist, client_id=client_record.id)
    assert typo.id not in [w.entry.id for w in overview.entries]
    safety_records.restore_dose_entry(db_session, actor=therapist, entry_id=typo.id)
    assert listening.weekly_dose(db_session, actor=therapist, client_id=client_record.id).fraction == pytest.approx(before)
