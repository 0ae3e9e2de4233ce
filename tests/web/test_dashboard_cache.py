"""The dashboard's kept lists (cadenza.web.dashboard_cache) and the caseload version they follow
(cadenza.clinic.caseload_version), issue 23: a view from the kept copy sends a handful of statements and writes
the same audit events; any change to the therapist's clients' records, made by any session (another worker's
too), shows on the next view; changes elsewhere keep the copy."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, event, func, select

from cadenza.clinic import reassignment, service
from cadenza.clinic.db import make_session_factory
from cadenza.clinic.drafts import FormDraft
from cadenza.clinic.models import AuditEvent, Goal, Therapist
from cadenza.web.dashboard_cache import DashboardCache

# A kept view: the login, the three audit events of its lists, the emergency notices and the seal (plus the
# test's savepoints). Computing the lists takes 20.
KEPT_VIEW_BUDGET = 11


def _version(db, therapist_id: int) -> int:
    return db.scalar(select(Therapist.caseload_version).where(Therapist.id == therapist_id).execution_options(
        populate_existing=True))


def _statements(db_engine, browser, path: str = "/") -> tuple[str, int]:
    sent: list[str] = []

    def count(*_args) -> None:
        sent.append(_args[2])

    event.listen(db_engine, "before_cursor_execute", count)
    try:
        response = browser.get(path)
    finally:
        event.remove(db_engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.text[:300]
    return response.text, len(sent)


def _session(db, therapist, client_id: int, day: int, minutes: int) -> None:
    service.record_session(db, actor=therapist, client_id=client_id, session_date=dt.date(2026, 11, day),
                           minutes=minutes, intervention_code="receptive_listening")
    db.commit()


def test_a_kept_view_is_cheap_audited_and_follows_every_change(make_therapist, login_as, db_session, db_engine,
                                                                web_app):
    ann, bob = make_therapist("ann"), make_therapist("bob")
    mine = service.create_client(db_session, actor=ann, code="A.1")
    theirs = service.create_client(db_session, actor=bob, code="B.1")
    _session(db_session, ann, mine.id, 2, 41)
    browser = login_as("ann")
    cache: DashboardCache = web_app.state.dashboard_cache
    first, computed = _statements(db_engine, browser)
    audited = db_session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.actor_id == ann.id,
                                                                                   AuditEvent.action == "list"))
    hits = cache.hits
    second, kept = _statements(db_engine, browser)
    assert cache.hits == hits + 1 and kept <= KEPT_VIEW_BUDGET < computed
    assert second.split("<h1>Dashboard</h1>")[1] == first.split("<h1>Dashboard</h1>")[1]
    assert "41 min" in second or ">41<" in second
    # The kept view is audited as the lists are: client, goal and session lists, once each.
    assert db_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.actor_id == ann.id, AuditEvent.action == "list")) == audited + 3

    # Another therapist's change (on its own session, as another worker would write it) keeps ann's copy.
    other_worker = make_session_factory(db_session.connection(), join_transaction_mode="create_savepoint")
    with other_worker() as db:
        _session(db, db.get(Therapist, bob.id), theirs.id, 3, 52)
    _statements(db_engine, browser)
    assert cache.hits == hits + 2

    # Ann's own record changed elsewhere: the next view is computed again and shows it.
    version = _version(db_session, ann.id)
    with other_worker() as db:
        _session(db, db.get(Therapist, ann.id), mine.id, 4, 63)
    assert _version(db_session, ann.id) == version + 1
    third, recomputed = _statements(db_engine, browser)
    assert recomputed == computed and "63" in third and cache.hits == hits + 2

    # A client moved to ann by an administrator raises both caseloads; bob's list loses it, ann's gains it.
    admin = make_therapist("root", role="admin")
    before = (_version(db_session, ann.id), _version(db_session, bob.id))
    reassignment.reassign_caseload(db_session, actor=admin, from_username="bob", to_username="ann")
    db_session.commit()
    assert (_version(db_session, ann.id), _version(db_session, bob.id)) == (before[0] + 1, before[1] + 1)
    assert "B.1" in browser.get("/").text


def test_rows_no_caseload_page_shows_move_no_version_and_a_rolled_back_change_is_raised_again(make_therapist,
                                                                                             db_session):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="A.1")
    db_session.commit()
    start = _version(db_session, ann.id)
    service.audit(db_session, ann, "read", "client", client_id=client.id)  # every request writes these
    db_session.add(FormDraft(therapist_id=ann.id, form_key="x", fields_json="{}", saved_at=dt.datetime.now(dt.UTC)))
    db_session.commit()
    assert _version(db_session, ann.id) == start

    # A change inside a savepoint that is rolled back takes its raise with it; the same change made again
    # raises the number again (nothing remembers the rolled-back raise).
    savepoint = db_session.begin_nested()
    service.update_client(db_session, actor=ann, client_id=client.id, conditions=["pain"])
    db_session.flush()
    savepoint.rollback()
    assert _version(db_session, ann.id) == start
    service.update_client(db_session, actor=ann, client_id=client.id, conditions=["anxiety"])
    db_session.commit()
    assert _version(db_session, ann.id) == start + 1

    # A bulk statement this module cannot place raises every therapist's number.
    bob = make_therapist("bob")  # a new account (no client of its own) raises everyone's: it is not placed
    others, mine = _version(db_session, bob.id), _version(db_session, ann.id)
    db_session.execute(delete(FormDraft).where(FormDraft.therapist_id == ann.id))  # ignored: drafts
    db_session.commit()
    assert _version(db_session, bob.id) == others
    db_session.execute(delete(Goal).where(Goal.id == -1))
    db_session.commit()
    assert _version(db_session, bob.id) == others + 1 and _version(db_session, ann.id) == mine + 1


def test_the_cache_keeps_its_most_recent_pages():
    cache = DashboardCache(max_entries=2)
    for key in ("a", "b"):
        cache.put(key, key.upper())
    assert cache.get("a") == "A"  # "b" is now the least recently used
    cache.put("c", "C")
    assert cache.get("b") is None and cache.get("a") == "A" and cache.get("c") == "C" and len(cache) == 2
    with pytest.raises(ValueError, match="max_entries"):
        DashboardCache(max_entries=0)
