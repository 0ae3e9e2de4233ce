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


def _version(db, therapist_id: int, column: str = "caseload_version") -> int:
    return db.scalar(select(getattr(Therapist, column)).where(Therapist.id == therapist_id).execution_options(
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

    # Ann's own record changed elsewhere: the next view is computed again and shows it (from the kept client
    # list, bookings and alerts: a documented session leaves them alone).
    version, roster = _version(db_session, ann.id), _version(db_session, ann.id, "roster_version")
    with other_worker() as db:
        _session(db, db.get(Therapist, ann.id), mine.id, 4, 63)
    assert _version(db_session, ann.id) == version + 1
    assert _version(db_session, ann.id, "roster_version") == roster
    third, recomputed = _statements(db_engine, browser)
    assert kept < recomputed < computed and "63" in third and cache.hits == hits + 3

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


def _body(text: str) -> str:
    return text.split("<h1>Dashboard</h1>")[1]


def test_the_kept_lists_equal_fresh_ones_after_every_kind_of_write_in_two_workers(
        make_therapist, login_as, db_session, web_app, tmp_path, web):
    """Two app instances (two workers, each with its own kept lists) on one database: after each kind of write,
    made by either worker's API or by another session, each worker's view equals the view computed afresh,
    shows the write, and a documented session leaves the client list, bookings and alerts kept."""
    from fastapi.testclient import TestClient

    from cadenza.clinic import schedule
    from cadenza.clinic.models import Client
    from cadenza.settings import Settings
    from cadenza.tools.care import actions as care
    from cadenza.web.main import create_app

    ann, bob, admin = make_therapist("ann"), make_therapist("bob"), make_therapist("root", role="admin")
    first = service.create_client(db_session, actor=ann, code="A.1")
    second = service.create_client(db_session, actor=ann, code="A.2")
    moving = service.create_client(db_session, actor=bob, code="B.1")
    db_session.commit()
    other_app = create_app(Settings(database_url="sqlite://", data_dir=tmp_path), session_factory=make_session_factory(
        db_session.bind, join_transaction_mode="create_savepoint"))
    workers = [(login_as("ann"), web_app)]
    with TestClient(other_app, follow_redirects=False) as other:
        assert web.log_in(other, "ann").status_code == 303
        workers.append((other, other_app))
        token = other.post("/api/v1/auth/token", json={"username": "ann", "password": web.password}).json()
        api = {"Authorization": f"Bearer {token['access_token']}"}
        writer = make_session_factory(db_session.connection(), join_transaction_mode="create_savepoint")
        today = dt.datetime.now(dt.UTC).date()

        def views() -> list[str]:
            """Each worker's view from what it keeps, checked against its view computed afresh."""
            shown = []
            for browser, app in workers:
                kept = _body(browser.get("/").text)
                app.state.dashboard_cache.clear()
                assert kept == _body(browser.get("/").text)
                shown.append(kept)
            return shown

        def write(change) -> None:
            with writer() as db:
                change(db, db.get(Therapist, ann.id))
                db.commit()

        views()
        # A session through the other worker's API: the first worker shows it, from its kept client list.
        roster = _version(db_session, ann.id, "roster_version")
        hits = web_app.state.dashboard_cache.hits
        response = other.post(f"/api/v1/clients/{first.id}/sessions", headers=api, json={
            "session_date": today.isoformat(), "minutes": 47, "intervention_code": "receptive_listening"})
        assert response.status_code == 201, response.text
        assert _version(db_session, ann.id, "roster_version") == roster
        shown, _ = views()
        assert web_app.state.dashboard_cache.hits == hits + 1 and "47 min" in shown  # the client list was kept

        # A client edit, a booking, a booking documented, a consent (the care tool's alert goes), a reassignment.
        write(lambda db, me: service.update_client(db, actor=me, client_id=second.id, conditions=["aphasia"]))
        assert all("aphasia" in view for view in views())
        planned = []
        write(lambda db, me: planned.append(schedule.plan_session(db, actor=me, client_id=second.id, planned_date=today,
                                                                  minutes=38, purpose="rhythm").id))
        assert all("38 min: rhythm" in view for view in views())

        def document(db, me):
            session = service.record_session(db, actor=me, client_id=second.id, session_date=today, minutes=39,
                                             intervention_code="receptive_listening")
            schedule.mark_documented(db, actor=me, client=db.get(Client, second.id), planned_id=planned[0],
                                     session=session)

        write(document)
        assert all("38 min: rhythm" not in view and "39 min" in view for view in views())
        alerts = views()[0].count("no informed consent recorded")
        write(lambda db, me: care.write_document(db, actor=me, client=db.get(Client, first.id), kind="consent",
                                                 document_date=today,
                                                 content={"explained": "aims", "consented_by": "client"}))
        assert all(view.count("no informed consent recorded") == alerts - 1 for view in views())
        assert all("B.1" not in view for view in views())
        with writer() as db:
            reassignment.reassign_caseload(db, actor=db.get(Therapist, admin.id), from_username="bob",
                                           to_username="ann")
            db.commit()
        assert all("B.1" in view for view in views())
        assert db_session.get(Client, moving.id) is not None


def test_the_roster_version_moves_with_the_lists_it_keeps_and_not_with_session_records(make_therapist, db_session):
    """A session, its measurements and a goal raise the caseload number only; a client edit, a booking and a
    deleted session (its booking would list again) raise both."""
    from cadenza.clinic import schedule

    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="A.1")
    db_session.commit()

    def versions() -> tuple[int, int]:
        return _version(db_session, ann.id), _version(db_session, ann.id, "roster_version")

    start = versions()
    session = service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, 2),
                                     minutes=30, intervention_code="receptive_listening",
                                     measurements=[service.MeasurementInput("vas_anxiety", value=40)])
    service.create_goal(db_session, actor=ann, client_id=client.id, instrument_code="vas_anxiety", baseline=60,
                        target=20)
    db_session.commit()
    assert versions() == (start[0] + 1, start[1])

    service.update_client(db_session, actor=ann, client_id=client.id, conditions=["pain"])
    schedule.plan_session(db_session, actor=ann, client_id=client.id, planned_date=dt.datetime.now(dt.UTC).date(),
                          minutes=30)
    db_session.commit()
    edited = versions()  # the client row and the booking are placed apart: each may raise the numbers once
    assert edited[0] > start[0] + 1 and edited[1] > start[1]

    service.delete_session(db_session, actor=ann, session_id=session.id, expected_version=session.version)
    db_session.commit()
    assert versions() == (edited[0] + 1, edited[1] + 1)
