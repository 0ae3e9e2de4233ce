"""The dashboard's lists as plain rows (cadenza.clinic.dashboard_lists, issue 23) against the ORM functions they
stand for (cadenza.clinic.dashboard, cadenza.clinic.schedule), on one seeded caseload that holds every case the
lists tell apart: removed sessions and measurements, drafts of another therapist on a reassigned client,
client-recorded sessions, several interventions, another therapist's clients, cancelled and documented bookings,
and client codes whose order depends on the database's collation. The same rows in the same order, the same
columns, the same pages and cursors, and the same audit events."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from cadenza.clinic import dashboard, dashboard_lists, reassignment, schedule, service
from cadenza.clinic.models import AuditEvent, Measurement, TherapySession
from cadenza.errors import ParameterError, PermissionDeniedError

TODAY = dt.date(2026, 11, 25)


def _seeded(db, make_therapist):
    """(ann, admin): ann's caseload with every case; bob's clients around it."""
    ann, bob, admin = make_therapist("ann"), make_therapist("bob"), make_therapist("root", role="admin")
    codes = ["b.2", "B.1", "a-3", "A.10", "A.9", "Zed", "zz", "a_1"]
    clients = [service.create_client(db, actor=ann, code=code, conditions=["anxiety"] if i % 2 else [],
                                     safety_flags=["nicu_infant"] if i == 3 else []) for i, code in enumerate(codes)]
    moved = service.create_client(db, actor=bob, code="M.1")
    service.create_client(db, actor=bob, code="B.other")
    sessions = []
    for i, client in enumerate(clients * 3):
        day = TODAY - dt.timedelta(days=(i * 5) % 23)
        kwargs = ({"interventions": [("songwriting", 20), ("receptive_listening", 25)]} if i % 4 == 0
                  else {"intervention_code": "receptive_listening"})
        sessions.append(service.record_session(
            db, actor=ann, client_id=client.id, session_date=day, minutes=45,
            measurements=[service.MeasurementInput("vas_anxiety", value=40 + i)], **kwargs))
    # Safety flags (set before the notes are signed): two in the last 14 days, one on a removed measurement, two older.
    flagged = db.scalars(select(Measurement).where(Measurement.session_id.in_([s.id for s in sessions[:4]]))).all()
    for measurement in flagged:
        measurement.safety_followup = True
    flagged[0].removed_at = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
    db.flush()
    for row in sessions[::3]:
        service.sign_session(db, actor=ann, session_id=row.id, expected_version=row.version)
    # Two unsigned drafts by bob on a client then moved to ann (ann co-signs them), one of them today.
    for day in (TODAY - dt.timedelta(days=40), TODAY):
        service.record_session(db, actor=bob, client_id=moved.id, session_date=day, minutes=30,
                               intervention_code="receptive_listening")
    reassignment.reassign_caseload(db, actor=admin, from_username="bob", to_username="ann", codes=["M.1"])
    # A removed draft (today, the oldest and the newest are all candidates), a client-recorded session.
    removed = service.record_session(db, actor=ann, client_id=clients[0].id, session_date=TODAY, minutes=10,
                                     intervention_code="receptive_listening")
    removed.removed_at = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)
    sessions[1].source = "client_recorded"
    old = service.record_session(db, actor=ann, client_id=clients[2].id, session_date=TODAY - dt.timedelta(days=30),
                                 minutes=20, intervention_code="receptive_listening",
                                 measurements=[service.MeasurementInput("vas_anxiety", value=50)])
    old.measurements[0].safety_followup = True
    # Bookings: today (two, one without a time), later, past the week, cancelled, documented, bob's.
    for client, days, time in ((clients[1], 0, dt.time(14, 0)), (clients[2], 0, None), (clients[3], 3, None),
                               (clients[4], 9, None)):
        schedule.plan_session(db, actor=ann, client_id=client.id, planned_date=TODAY + dt.timedelta(days=days),
                              minutes=45, start_time=time, purpose=f"plan {client.code}", today=TODAY)
    cancelled = schedule.plan_session(db, actor=ann, client_id=clients[5].id, planned_date=TODAY, minutes=30,
                                      today=TODAY)
    schedule.cancel_planned(db, actor=ann, client_id=clients[5].id, planned_id=cancelled.id)
    documented = schedule.plan_session(db, actor=ann, client_id=clients[6].id, planned_date=TODAY, minutes=30,
                                       today=TODAY)
    schedule.mark_documented(db, actor=ann, client=clients[6], planned_id=documented.id, session=sessions[6])
    # Goals: due (overdue, soon, one met, one whose value is linked to another goal), later, removed, bob's.
    for client, days, target in ((clients[0], -3, 30), (clients[1], 2, 30), (clients[2], 5, 59), (clients[3], 10, 30),
                                 (clients[4], 40, 30), (clients[5], 1, 30), (clients[6], 0, 30)):
        service.create_goal(db, actor=ann, client_id=client.id, instrument_code="vas_anxiety", baseline=60,
                            target=target, target_date=TODAY + dt.timedelta(days=days))
    other = service.create_goal(db, actor=ann, client_id=clients[3].id, instrument_code="vas_anxiety", baseline=60,
                                target=55, target_date=TODAY + dt.timedelta(days=1))
    service.record_session(db, actor=ann, client_id=clients[3].id, session_date=TODAY, minutes=20,
                           intervention_code="receptive_listening",
                           measurements=[service.MeasurementInput("vas_anxiety", value=10, goal_id=other.id)])
    service.create_goal(db, actor=ann, client_id=clients[5].id, instrument_code="stai6", baseline=60, target=30,
                        target_date=TODAY).removed_at = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    service.create_goal(db, actor=bob, client_id=service.create_client(db, actor=bob, code="B.3").id,
                        instrument_code="vas_anxiety", baseline=60, target=30, target_date=TODAY)
    bobs = service.create_client(db, actor=bob, code="B.2")
    schedule.plan_session(db, actor=bob, client_id=bobs.id, planned_date=TODAY, minutes=30, today=TODAY)
    db.flush()
    return ann


def _session_view(rows) -> list[tuple]:
    return [(r.client_code, r.session.id, r.session.client_id, r.session.therapist_id, r.session.session_date,
             r.session.minutes, r.session.intervention_code, r.session.signed_at, r.session.is_signed,
             r.session.is_client_recorded, r.session.intervention_minutes,
             getattr(r.session, "therapist_username", None) or r.session.therapist.username) for r in rows]


def _audited(db, actor) -> list[tuple]:
    db.flush()
    return [tuple(row) for row in db.execute(select(AuditEvent.action, AuditEvent.entity, AuditEvent.client_id)
                                             .where(AuditEvent.actor_id == actor.id).order_by(AuditEvent.id))]


@pytest.mark.parametrize("limits", [(10, 20, 100), (2, 1, 1), (3, 100, 2)])
def test_the_three_session_lists_are_the_orm_lists(db_session, make_therapist, limits):
    ann = _seeded(db_session, make_therapist)
    recent_limit, unsigned_limit, day_limit = limits
    before = _audited(db_session, ann)
    lists = dashboard_lists.session_lists(db_session, actor=ann, day=TODAY, recent_limit=recent_limit,
                                          unsigned_limit=unsigned_limit, day_limit=day_limit)
    written = _audited(db_session, ann)[len(before):]
    assert written == [("list", "therapy_session", None)]
    assert _session_view(lists.recent) == _session_view(
        dashboard.recent_sessions(db_session, actor=ann, limit=recent_limit))
    assert _session_view(lists.unsigned) == _session_view(
        dashboard.unsigned_sessions(db_session, actor=ann, limit=unsigned_limit))
    assert _session_view(lists.on_day) == _session_view(
        dashboard.sessions_on(db_session, actor=ann, day=TODAY, limit=day_limit))


def test_the_seeded_caseload_holds_every_case_the_lists_tell_apart(db_session, make_therapist):
    ann = _seeded(db_session, make_therapist)
    lists = dashboard_lists.session_lists(db_session, actor=ann, day=TODAY)
    unsigned = _session_view(lists.unsigned)
    assert any(row[3] != ann.id for row in unsigned), "a draft to co-sign"
    assert any(len(row[10]) == 2 for row in _session_view(lists.recent + lists.on_day)), "several interventions"
    assert {row[0] for row in _session_view(lists.on_day)} >= {"M.1", "b.2"}
    removed = db_session.scalars(select(TherapySession.id).where(TherapySession.removed_at.is_not(None))
                                 .execution_options(include_removed=True)).all()
    assert removed and not {row[1] for row in _session_view(lists.recent + lists.unsigned + lists.on_day)} & set(removed)
    flagged = dashboard_lists.flagged_items(db_session, actor=ann, today=TODAY)
    assert len(flagged) == 2 and flagged == dashboard.flagged_safety_items(db_session, actor=ann, today=TODAY)
    assert dashboard_lists.flagged_items(db_session, actor=ann, today=TODAY, within_days=0, limit=1) == \
        dashboard.flagged_safety_items(db_session, actor=ann, today=TODAY, within_days=0, limit=1)


@pytest.mark.parametrize(("within_days", "limit"), [(14, 50), (0, 50), (14, 2), (366, 50)])
def test_the_goals_due_are_the_orm_goals_due(db_session, make_therapist, within_days, limit):
    ann = _seeded(db_session, make_therapist)
    columns = ("id", "client_id", "instrument_code", "description", "baseline", "target", "direction", "target_date")

    def view(statuses):
        return [(tuple(getattr(s.goal, c) for c in columns), s.client_code, s.n_measurements, s.latest_value,
                 s.progress_fraction, s.met, s.change) for s in statuses]

    before = _audited(db_session, ann)
    lines = dashboard_lists.goals_due_lines(db_session, actor=ann, today=TODAY, within_days=within_days, limit=limit)
    assert _audited(db_session, ann)[len(before):] == [("list", "goal", None)]
    orm = dashboard.goals_due(db_session, actor=ann, today=TODAY, within_days=within_days, limit=limit)
    assert view(lines) == view(orm)
    if (within_days, limit) == (14, 50):  # the seeded cases: overdue, soon, later, met, another goal's value
        assert len(lines) == 5 and any(s.goal.target_date < TODAY for s in lines)
        assert all(s.n_measurements > 0 for s in lines) and len({s.client_code for s in lines}) == 5


def test_the_bookings_are_the_orm_bookings(db_session, make_therapist):
    ann = _seeded(db_session, make_therapist)
    columns = ("id", "client_id", "planned_date", "start_time", "minutes", "purpose")
    for days in (0, 7, 30):
        lines = dashboard_lists.upcoming_lines(db_session, actor=ann, today=TODAY, days=days)
        rows = schedule.upcoming(db_session, actor=ann, today=TODAY, days=days)
        assert [(r.client_code, *(getattr(r.planned, c) for c in columns)) for r in lines] == \
               [(r.client_code, *(getattr(r.planned, c) for c in columns)) for r in rows]
    assert len(dashboard_lists.upcoming_lines(db_session, actor=ann, today=TODAY, days=7)) == 3


@pytest.mark.parametrize("limit", [3, 50])
def test_the_client_pages_are_the_orm_pages(db_session, make_therapist, limit):
    ann = _seeded(db_session, make_therapist)
    columns = ("id", "therapist_id", "code", "birth_year", "conditions", "safety_flags", "status")

    def view(page):
        return ([tuple(getattr(c, name) for name in columns) for c in page.items], page.total, page.limit,
                page.offset, page.next_after, page.prev_before)

    cursors = [{}]
    seen = 0
    while True:  # forward through every page, then back from each page's cursor
        kwargs = cursors[-1]
        before = _audited(db_session, ann)
        lines = dashboard_lists.client_lines_page(db_session, actor=ann, limit=limit, **kwargs)
        assert _audited(db_session, ann)[len(before):] == [("list", "client", None)]
        orm = dashboard.clients_page(db_session, actor=ann, limit=limit, **kwargs)
        assert view(lines) == view(orm)
        seen += len(lines.items)
        if lines.prev_before:
            back = {"before": lines.prev_before}
            assert view(dashboard_lists.client_lines_page(db_session, actor=ann, limit=limit, **back)) == \
                view(dashboard.clients_page(db_session, actor=ann, limit=limit, **back))
        if not lines.next_after:
            break
        cursors.append({"after": lines.next_after})
    assert seen == orm.total == 9 and (len(cursors) > 1) == (limit < 9)


def test_bad_arguments_are_refused_by_name(db_session, make_therapist):
    ann = make_therapist("ann")
    with pytest.raises(ParameterError, match="unsigned_limit"):
        dashboard_lists.session_lists(db_session, actor=ann, day=TODAY, unsigned_limit=0)
    with pytest.raises(ParameterError, match="day"):
        dashboard_lists.session_lists(db_session, actor=ann, day=dt.datetime(2026, 11, 25))
    with pytest.raises(ParameterError, match="within_days"):
        dashboard_lists.flagged_items(db_session, actor=ann, today=TODAY, within_days=-1)
    with pytest.raises(ParameterError, match="days"):
        dashboard_lists.upcoming_lines(db_session, actor=ann, today=TODAY, days=400)
    with pytest.raises(ParameterError, match="limit"):
        dashboard_lists.client_lines_page(db_session, actor=ann, limit=101)
    ann.active = False
    with pytest.raises(PermissionDeniedError, match="actor"):
        dashboard_lists.session_lists(db_session, actor=ann, day=TODAY)
    with pytest.raises(PermissionDeniedError, match="actor"):
        dashboard_lists.client_lines_page(db_session, actor=ann)
    with pytest.raises(PermissionDeniedError, match="disabled"):
        dashboard_lists.upcoming_lines(db_session, actor=ann, today=TODAY)
