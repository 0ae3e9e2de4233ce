"""The caseload numbers' raise (cadenza.clinic.caseload_version): one ``UPDATE therapist`` per flush that
changes a caseload, built once per shape of change and raising exactly the therapists the change names (the
dashboard's tests, tests/web/test_dashboard_cache.py, check which writes move which number)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, select

from cadenza.clinic import caseload_version, service
from cadenza.clinic.models import Therapist


def _numbers(db, *therapists) -> list[tuple[int, int]]:
    rows = db.execute(select(Therapist.id, Therapist.caseload_version, Therapist.roster_version)
                      .where(Therapist.id.in_([t.id for t in therapists])).order_by(Therapist.id)).all()
    return [(caseload, roster) for _, caseload, roster in rows]


def _session(db, therapist, client_id: int, day: int) -> None:
    service.record_session(db, actor=therapist, client_id=client_id, session_date=dt.date(2026, 11, day),
                           minutes=30, intervention_code="receptive_listening")
    db.commit()


def test_a_session_write_raises_its_therapists_caseload_with_a_statement_built_once(make_therapist, db_session,
                                                                                    db_engine):
    ann, bob = make_therapist("ann"), make_therapist("bob")
    mine = service.create_client(db_session, actor=ann, code="A.1")
    service.create_client(db_session, actor=bob, code="B.1")
    db_session.commit()
    _session(db_session, ann, mine.id, 1)  # the shape of a session write is built here (or was already)
    sent: list[str] = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    event.listen(db_engine, "before_cursor_execute", listener)
    built = caseload_version._raise_statement.cache_info().misses
    try:
        for day in (2, 3, 4):
            before = _numbers(db_session, ann, bob)
            _session(db_session, ann, mine.id, day)
            (ann_caseload, ann_roster), bob_numbers = _numbers(db_session, ann, bob)
            assert (ann_caseload, ann_roster) == (before[0][0] + 1, before[0][1])  # a session leaves the roster
            assert bob_numbers == before[1]
    finally:
        event.remove(db_engine, "before_cursor_execute", listener)
    assert caseload_version._raise_statement.cache_info().misses == built
    assert sum(statement.lstrip().upper().startswith("UPDATE THERAPIST") for statement in sent) == 3


def test_a_client_change_raises_both_numbers_of_its_therapist_only(make_therapist, db_session):
    ann, bob = make_therapist("ann"), make_therapist("bob")
    mine = service.create_client(db_session, actor=ann, code="A.1")
    db_session.commit()
    before = _numbers(db_session, ann, bob)
    service.update_client(db_session, actor=ann, client_id=mine.id, conditions=["pain"])
    db_session.commit()
    assert _numbers(db_session, ann, bob) == [(before[0][0] + 1, before[0][1] + 1), before[1]]
