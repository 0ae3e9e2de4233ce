"""Idempotent creates (T30): claim/replay/conflict, per-actor keys, expiry, and the 20-way race."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from cadenza.clinic import idempotency, service
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.clinic.idempotency import IdempotencyKey, StoredResponse
from cadenza.clinic.models import Base, TherapySession
from cadenza.errors import ParameterError

ROUTE = "/api/v1/clients/1/sessions"
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def _count(db, model=IdempotencyKey) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _record(db, actor, client_id, *, key, body=None, now=T0):
    """What a route does: claim, create, complete; or the stored response."""
    body = body or {"minutes": 30}
    found = idempotency.claim(db, actor=actor, key=key, route=ROUTE, body_sha256=idempotency.request_sha256(body),
                              now=now)
    if isinstance(found, StoredResponse):
        return found
    row = service.record_session(db, actor=actor, client_id=client_id, session_date=dt.date(2026, 11, 25),
                                 minutes=body["minutes"], intervention_code="receptive_listening")
    idempotency.complete(db, found, status_code=201, body=f'{{"id": {row.id}}}')
    return StoredResponse(201, f'{{"id": {row.id}}}')


def test_migration_matches_the_model(db_engine):
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert [d for d in diffs if "idempotency_key" in repr(d)] == []


def test_repeat_returns_the_stored_response_and_writes_nothing(db_session, therapist, client_record):
    first = _record(db_session, therapist, client_record.id, key="k-1")
    sessions = _count(db_session, TherapySession)
    again = _record(db_session, therapist, client_record.id, key="k-1")
    assert again == first
    assert _count(db_session, TherapySession) == sessions == 1
    assert _count(db_session) == 1


def test_same_key_other_body_is_refused_naming_the_key(db_session, therapist, client_record):
    _record(db_session, therapist, client_record.id, key="k-2", body={"minutes": 30})
    with pytest.raises(ParameterError, match=r"Idempotency-Key 'k-2'.*different request body"):
        _record(db_session, therapist, client_record.id, key="k-2", body={"minutes": 45})
    assert _count(db_session, TherapySession) == 1


def test_same_key_other_route_is_refused(db_session, therapist, client_record):
    _record(db_session, therapist, client_record.id, key="k-3")
    with pytest.raises(ParameterError, match="already used for"):
        idempotency.claim(db_session, actor=therapist, key="k-3", route="/api/v1/clients",
                          body_sha256=idempotency.request_sha256({"minutes": 30}), now=T0)


def test_keys_are_per_actor(db_session, therapist, client_record, make_therapist):
    other = make_therapist("therapist2")
    theirs = service.create_client(db_session, actor=other, code="B001")
    mine = _record(db_session, therapist, client_record.id, key="shared")
    their_response = _record(db_session, other, theirs.id, key="shared")
    assert their_response != mine
    assert _count(db_session, TherapySession) == 2
    assert _count(db_session) == 2


def test_keys_expire_after_a_day(db_session, therapist, client_record):
    first = _record(db_session, therapist, client_record.id, key="k-4", now=T0)
    just_before = T0 + dt.timedelta(hours=idempotency.KEY_TTL_H) - dt.timedelta(seconds=1)
    assert _record(db_session, therapist, client_record.id, key="k-4", now=just_before) == first
    after = T0 + dt.timedelta(hours=idempotency.KEY_TTL_H, seconds=1)
    fresh = _record(db_session, therapist, client_record.id, key="k-4", body={"minutes": 50}, now=after)
    assert fresh != first
    assert _count(db_session, TherapySession) == 2
    assert _count(db_session) == 1  # the expired key was cleaned up by the write


def test_a_failed_create_leaves_the_key_free(db_session, therapist, client_record):
    with pytest.raises(ParameterError):
        with db_session.begin_nested():
            found = idempotency.claim(db_session, actor=therapist, key="k-5", route=ROUTE, body_sha256="0" * 64, now=T0)
            assert isinstance(found, IdempotencyKey)
            service.record_session(db_session, actor=therapist, client_id=client_record.id,
                                   session_date=dt.date(2026, 11, 25), minutes=30, intervention_code="no_such_code")
    assert _count(db_session) == 0
    assert isinstance(_record(db_session, therapist, client_record.id, key="k-5"), StoredResponse)


@pytest.mark.parametrize("bad", ["", "x" * 201, "tab\there", "caf\u00e9", "nul\x00"])
def test_malformed_keys_are_refused(db_session, therapist, bad):
    with pytest.raises(ParameterError, match="Idempotency-Key"):
        idempotency.claim(db_session, actor=therapist, key=bad, route=ROUTE, body_sha256="0" * 64)


def test_naive_clock_is_refused(db_session, therapist):
    with pytest.raises(ParameterError, match="now"):
        idempotency.claim(db_session, actor=therapist, key="k", route=ROUTE, body_sha256="0" * 64,
                          now=dt.datetime(2026, 11, 25))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=200))
def test_every_printable_key_is_accepted(key):
    assert idempotency.validate_key(key) == key


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8)), max_size=6))
def test_body_hash_ignores_key_order(payload):
    reordered = dict(reversed(list(payload.items())))
    assert idempotency.request_sha256(payload) == idempotency.request_sha256(reordered)


PARALLEL = 20


def test_parallel_identical_creates_store_one_row(database_url):
    """T30: 20 threads, each on its own connection, send the same key at once; one creates, 19 replay."""
    engine = make_engine(database_url, pool_size=PARALLEL + 2, max_overflow=2)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as db:
            actor = service.create_therapist(db, actor=None, username="racer", password="correct horse battery")
            client_id = service.create_client(db, actor=actor, code="RACE1").id
        barrier = threading.Barrier(PARALLEL)

        def attempt(_: int) -> StoredResponse:
            barrier.wait()
            with session_scope(factory) as db:
                me = service.get_therapist_by_username(db, "racer")
                return _record(db, me, client_id, key="race-key", now=idempotency.utcnow())

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            responses = list(pool.map(attempt, range(PARALLEL)))
        assert len(set(responses)) == 1
        with session_scope(factory) as db:
            me = service.get_therapist_by_username(db, "racer")
            sessions = db.scalar(select(func.count()).select_from(TherapySession)
                                 .where(TherapySession.client_id == client_id))
            keys = db.scalar(select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.actor_id == me.id))
        assert (sessions, keys) == (1, 1)
    finally:
        engine.dispose()
