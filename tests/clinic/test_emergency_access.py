"""Emergency ("break-glass") access (reliability anchor T6): reason, time box, read only, audit.

Time is frozen by replacing ``cadenza.clinic.emergency.utcnow``; grants are made at that instant.
"""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from cadenza.clinic import auth, emergency, service
from cadenza.clinic.emergency import EmergencyAccess
from cadenza.clinic.models import AuditEvent, Base, Client, Goal
from cadenza.errors import ConflictError, NotFoundError, ParameterError, PermissionDeniedError

REASON = "Client in acute crisis; therapist ann on sick leave, crisis team needs the care plan."
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(emergency, "utcnow", frozen)
    return frozen


def _enrol(db_session, therapist) -> None:
    enrolment = auth.start_mfa_enrolment(db_session, actor=therapist)
    auth.confirm_mfa_enrolment(db_session, actor=therapist, code=pyotp.TOTP(enrolment.secret).now())


@pytest.fixture
def world(db_session, make_therapist):
    ann, bob = make_therapist("ann"), make_therapist("bob")
    root, sue = make_therapist("root", role="admin"), make_therapist("sue", role="admin")
    for admin in (root, sue):
        _enrol(db_session, admin)
    a = service.create_client(db_session, actor=ann, code="ann.a")
    b = service.create_client(db_session, actor=ann, code="ann.b")
    goal = service.create_goal(db_session, actor=ann, client_id=a.id, instrument_code="vas_anxiety",
                               baseline=60, target=30)
    db_session.commit()
    return {"ann": ann, "bob": bob, "root": root, "sue": sue, "a": a, "b": b, "goal": goal}


def _events(db_session, action: str) -> list[AuditEvent]:
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_migration_matches_the_model(db_engine):
    with db_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert not [d for d in diffs if "emergency_access" in str(d)]


def test_without_a_grant_an_admin_gets_404_like_any_other_therapist(db_session, world, clock):
    for outsider in (world["root"], world["bob"]):
        with pytest.raises(NotFoundError, match="client"):
            service.get_client_for_actor(db_session, actor=outsider, client_id=world["a"].id)
        with pytest.raises(NotFoundError, match="goal"):
            service.get_goal(db_session, actor=outsider, goal_id=world["goal"].id)
    assert _events(db_session, "read_emergency") == []


def test_a_grant_opens_reads_and_each_read_is_audited_with_the_grant(db_session, world, clock):
    grant = emergency.grant_emergency_access(db_session, actor=world["root"], client_id=world["a"].id,
                                             reason=REASON)
    assert grant.expires_at - grant.granted_at == dt.timedelta(hours=4)
    assert [(e.entity_id, e.client_id) for e in _events(db_session, "grant_emergency")] == [(grant.id, world["a"].id)]
    # Each access is its own unit of work (one request each): repeats within one are audited once.
    for expected in (1, 2):
        db_session.commit()
        client = service.get_client_for_actor(db_session, actor=world["root"], client_id=world["a"].id)
        assert client.code == "ann.a"
        events = _events(db_session, "read_emergency")
        assert len(events) == expected
        assert (events[-1].actor_id, events[-1].entity, events[-1].entity_id, events[-1].client_id) == (
            world["root"].id, "emergency_access", grant.id, world["a"].id)
    assert service.get_client_for_actor(db_session, actor=world["root"], client_id=world["a"].id)
    assert len(_events(db_session, "read_emergency")) == 2  # the same access again in the same unit of work
    db_session.commit()
    assert service.get_goal(db_session, actor=world["root"], goal_id=world["goal"].id).id == world["goal"].id
    assert len(_events(db_session, "read_emergency")) == 3
    # The reason is one join away from every break-glass read.
    reasons = db_session.execute(select(EmergencyAccess.reason).join(
        AuditEvent, AuditEvent.entity_id == EmergencyAccess.id).where(AuditEvent.action == "read_emergency")).all()
    assert reasons == [(REASON,)] * 3


def test_a_grant_on_one_client_gives_nothing_on_another(db_session, world, clock):
    emergency.grant_emergency_access(db_session, actor=world["root"], client_id=world["a"].id, reason=REASON)
    with pytest.raises(NotFoundError):
        service.get_client_for_actor(db_session, actor=world["root"], client_id=world["b"].id)
    # ...nor on the same client for another administrator.
    with pytest.raises(NotFoundError):
        service.get_client_for_actor(db_session, actor=world["sue"], client_id=world["a"].id)


def test_expiry_closes_the_record_again(db_session, world, clock):
    emergency.grant_emergency_access(db_session, actor=world["root"], client_id=world["a"].id, reason=REASON,
                                     duration_h=1)
    clock.advance(minutes=59)
    service.get_client_for_actor(db_session, actor=world["root"], client_id=world["a"].id)
    clock.advance(minutes=1)
    with pytest.raises(NotFoundError):
        service.get_client_for_actor(db_session, actor=world["root"], client_id=world["a"].id)


@pytest.mark.parametrize("revoker", ["root", "sue"])
def test_revoking_by_the_granter_or_another_admin_closes_the_record(db_session, world, clock, revoker):
    grant = emergency.grant_emergency_access(db_session, actor=world["root"], client_id=world["a"].id,
                                             reason=REASON)
    clock.advance(minutes=5)
    emergency.revoke_emergency_access(db_session, actor=world[revoker], grant_id=grant.id)
    assert (grant.revoked_at, grant.revoked_by_id) == (clock.now, world[revoker].id)
    assert [e.actor_id for e in _events(db_session, "revoke_emergency")] == [world[revoker].id]
    with pytest.raises(NotFoundError):
        service.get_client_for_actor(db_session, actor=world["root"], client_id=world["a"].id)
    with pytest.raises(ConflictError, match="already ended"):
        emergency.revoke_emergency_access(db_session, actor=world["sue"], grant_id=grant.id)


def test_only_enrolled_admins_grant_or_revoke(db_session, world, make_therapist, clock):
    for actor in (world["ann"], world["bob"]):
        with pytest.raises(PermissionDeniedError, match="only administrators"):
            emergency.grant_emergency_access(db_session, actor=actor, client_id=world["a"].id, reason=REASON)
    novice = make_therapist("novice", role="admin")
    with pytest.raises(PermissionDeniedError, match="two-factor"):
        emergency.grant_emergency_access(db_session, actor=novice, client_id=world["a"].id, reason=REASON)
    grant = emergency.grant_emergency_access(db_session, actor=world["root"], client_id=world["a"].id, reason=REASON)
    with pytest.raises(PermissionDeniedError):
        emergency.revoke_emergency_access(db_session, actor=world["ann"], grant_id=grant.id)
    assert db_session.scalar(select(func.count(EmergencyAccess.id))) == 1


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"reason": "crisis"}, "reason"),
    ({"reason": " " * 40 + "too short" + " " * 40}, "reason"),
    ({"reason": None}, "reason"),
    ({"duration_h": 12.5}, "duration_h"),
    ({"duration_h": 0}, "duration_h"),
    ({"duration_h": float("nan")}, "duration_h"),
    ({"duration_h": True}, "duration_h"),
    ({"client_id": "1"}, "client_id"),
])
def test_bad_grants_are_refused_with_the_argument_named(db_session, world, clock, kwargs, match):
    args = {"client_id": world["a"].id, "reason": REASON, **kwargs}
    with pytest.raises(ParameterError, match=match):
        emergency.grant_emergency_access(db_session, actor=world["root"], **args)
    assert db_session.scalar(select(func.count(EmergencyAccess.id))) == 0


def test_grant_edge_cases(db_session, world, make_therapist, clock):
    with pytest.raises(NotFoundError):
        emergency.grant_emergency_access(db_session, actor=world["root"], client_id=999_999, reason=REASON)
    own = service.create_client(db_session, actor=world["root"], code="root.own")
    with pytest.raises(ParameterError, match="own client"):
        emergency.grant_emergency_access(db_session, actor=world["root"], client_id=own.id, reason=REASON)
    grant = emergency.grant_emergency_access(db_session, actor=world["root"], client_id=world["a"].id,
                                             reason=REASON, duration_h=12)
    assert grant.expires_at == T0 + dt.timedelta(hours=12)
    with pytest.raises(ConflictError, match="already active"):
        emergency.grant_emergency_access(db_session, actor=world["root"], client_id=world["a"].id, reason=REASON)


def test_grants_are_read_only(db_session, world, clock):
    emergency.grant_emergency_access(db_session, actor=world["root"], client_id=world["a"].id, reason=REASON)
    db_session.commit()
    with pytest.raises(PermissionDeniedError, match="read-only"):
        service.update_client(db_session, actor=world["root"], client_id=world["a"].id, conditions=["stroke"])
    db_session.rollback()
    # A write that a service makes after a plain "read" check is refused when the unit of work flushes.
    with pytest.raises(PermissionDeniedError, match="read-only.*goal"):
        service.update_goal(db_session, actor=world["root"], goal_id=world["goal"].id, target=10)
        db_session.flush()
    db_session.rollback()
    db_session.expire_all()
    assert db_session.get(Goal, world["goal"].id).target == 30
    assert db_session.get(Client, world["a"].id).conditions == []
    # The owner's next unit of work is not affected.
    service.update_goal(db_session, actor=world["ann"], goal_id=world["goal"].id, target=20)
    db_session.flush()


def test_the_owner_path_never_queries_grants(db_session, world, clock):
    statements: list[str] = []

    def _record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db_session.get_bind().engine
    event.listen(engine, "before_cursor_execute", _record)
    try:
        service.get_client_for_actor(db_session, actor=world["ann"], client_id=world["a"].id)
        with pytest.raises(NotFoundError):
            service.get_client_for_actor(db_session, actor=world["bob"], client_id=world["a"].id)
        db_session.flush()
    finally:
        event.remove(engine, "before_cursor_execute", _record)
    assert statements and not [s for s in statements if "emergency_access" in s]


def test_notices_and_listing(db_session, world, clock):
    grant = emergency.grant_emergency_access(db_session, actor=world["root"], client_id=world["a"].id,
                                             reason=REASON)
    clock.advance(hours=1)
    notices = emergency.notices_for_therapist(db_session, therapist_id=world["ann"].id)
    assert [(n.id, n.client_code, n.admin_username, n.reason, n.active) for n in notices] == [
        (grant.id, "ann.a", "root", REASON, True)]
    assert emergency.notices_for_therapist(db_session, therapist_id=world["bob"].id) == []
    assert [n.id for n in emergency.notices_for_client(db_session, client=world["a"])] == [grant.id]
    assert emergency.notices_for_client(db_session, client=world["b"]) == []
    assert [n.id for n in emergency.list_grants(db_session, actor=world["sue"])] == [grant.id]
    with pytest.raises(PermissionDeniedError):
        emergency.list_grants(db_session, actor=world["ann"])
    clock.advance(days=31)
    assert emergency.notices_for_therapist(db_session, therapist_id=world["ann"].id) == []
    assert emergency.notices_for_client(db_session, client=world["a"])[0].active is False


def test_notices_show_each_grant_as_the_administrators_see_it_and_leave_the_page_unflushed(db_session, world,
                                                                                          clock):
    revoked = emergency.grant_emergency_access(db_session, actor=world["root"], client_id=world["a"].id,
                                               reason=REASON)
    clock.advance(hours=1)
    emergency.revoke_emergency_access(db_session, actor=world["sue"], grant_id=revoked.id)
    clock.advance(hours=1)
    active = emergency.grant_emergency_access(db_session, actor=world["sue"], client_id=world["a"].id,
                                              reason=REASON + " Again.")
    clock.advance(minutes=5)
    now = emergency.utcnow()
    expected = [emergency.get_grant(db_session, actor=world["root"], grant_id=g.id, now=now) for g in (active, revoked)]
    assert [(v.admin_username, v.revoked_by_username, v.active) for v in expected] == [
        ("sue", None, True), ("root", "sue", False)]
    pending = service.audit(db_session, world["ann"], "list", "client")  # a page's audit row, not flushed yet
    assert emergency.notices_for_therapist(db_session, therapist_id=world["ann"].id, now=now) == expected
    assert emergency.notices_for_client(db_session, client=world["a"], now=now) == expected
    assert pending in db_session.new  # the notices did not flush it: it goes with the page's commit


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(duration_h=st.floats(min_value=0.01, max_value=12), probe_h=st.floats(min_value=-1, max_value=13))
def test_access_holds_exactly_inside_the_window(db_session, world, clock, duration_h, probe_h):
    clock.now = T0
    grant = emergency.grant_emergency_access(db_session, actor=world["root"], client_id=world["a"].id,
                                             reason=REASON, duration_h=duration_h)
    probe = T0 + dt.timedelta(hours=probe_h)
    found = emergency.active_grant(db_session, admin_id=world["root"].id, client_id=world["a"].id, now=probe)
    assert (found is not None) == (grant.granted_at <= probe < grant.expires_at)
    db_session.rollback()


def test_a_grant_dies_with_the_admin_role_or_the_account(db_session, world, clock):
    emergency.grant_emergency_access(db_session, actor=world["root"], client_id=world["a"].id, reason=REASON)
    world["root"].role = "therapist"
    with pytest.raises(NotFoundError):
        service.get_client_for_actor(db_session, actor=world["root"], client_id=world["a"].id)
    world["root"].role = "admin"
    service.get_client_for_actor(db_session, actor=world["root"], client_id=world["a"].id)
    world["root"].active = False
    with pytest.raises(PermissionDeniedError, match="disabled"):
        service.get_client_for_actor(db_session, actor=world["root"], client_id=world["a"].id)
    db_session.rollback()
