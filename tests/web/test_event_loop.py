"""Nothing that touches the database or computes runs on the event loop (security probe C1/H1/H2).

A coroutine route that waits on a row lock, SQLite's busy file or a long analysis stops every other
request, including the commit of the request holding the lock: on PostgreSQL that hung the server for
good. Routes are plain ``def`` (run on worker threads). The coroutines in a request are the ones that
read the body (:func:`cadenza.web.deps.submitted_form`, :func:`cadenza.web.deps.require_csrf`,
:func:`cadenza.web.deps.page_form_sent_with_login`) and a few that only look at what the login already
loaded, or hand their database work to a worker thread themselves (each a thread hand-off saved per
request, issue 23): :data:`NO_DATABASE_ON_THE_LOOP`. The last test sends pages, forms and API calls
through the app and checks that no statement, commit or rollback ran on the event loop's thread.
Timing behaviour under real concurrency is tested against a real server in ``test_live_server.py``.
"""

from __future__ import annotations

import inspect

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from cadenza.settings import Settings
from cadenza.web import deps
from cadenza.web.main import create_app

# Coroutines that only read the request body (no database, no computation).
BODY_READERS = {deps.submitted_form, deps.require_csrf, deps.page_form_sent_with_login}
# Coroutines that read only objects already loaded, or run their database work on a worker thread.
NO_DATABASE_ON_THE_LOOP = {deps.get_db, deps.current_enrolled_page, deps.current_settled_page,
                           deps.current_admin_page, deps.current_admin_api, deps._csrf_page_user,
                           deps._csrf_admin_user, deps._csrf_enrolling_user, deps._csrf_password_user,
                           deps._csrf_person_page}


def _dependency_calls(dependant) -> list:
    calls = []
    for sub in dependant.dependencies:
        calls.append(sub.call)
        calls.extend(_dependency_calls(sub))
    return calls


@pytest.fixture(scope="module")
def routes(tmp_path_factory) -> list[APIRoute]:
    folder = tmp_path_factory.mktemp("event-loop")
    app = create_app(Settings(database_url=f"sqlite:///{folder / 'unused.sqlite3'}", data_dir=folder))
    return [c.original_route for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]


def test_every_route_runs_off_the_event_loop(routes):
    coroutine_routes = [f"{sorted(r.methods)} {r.path} ({r.endpoint.__module__}.{r.endpoint.__name__})"
                        for r in routes if inspect.iscoroutinefunction(r.endpoint)]
    assert coroutine_routes == []


def test_only_listed_coroutine_dependencies(routes):
    offenders = set()
    for route in routes:
        for call in _dependency_calls(route.dependant):
            coroutine = inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
            if coroutine and call not in BODY_READERS | NO_DATABASE_ON_THE_LOOP:
                offenders.add(f"{call.__module__}.{call.__qualname__} (on {route.path})")
    assert offenders == set()


def test_the_route_list_is_not_empty(routes):
    # guards the two tests above against passing on an empty app
    assert len(routes) > 60


def test_no_statement_runs_on_the_event_loop(web_app, db_session, make_therapist, login_as, api_token_for, web):
    """Every statement, commit and rollback of a page view, a form, an API read and write, and an
    administrator's two-factor check runs on a worker thread, never on the thread running the event loop."""
    import asyncio
    import threading

    from sqlalchemy import event

    on_loop: list[str] = []
    sent = [0]

    def _record(_connection, _cursor, statement, *_args) -> None:
        sent[0] += 1
        if threading.current_thread() is threading.main_thread():
            return  # the test's own fixtures; TestClient runs the app's loop on a thread of its own
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread: no loop runs here
        on_loop.append(" ".join(statement.split())[:80])

    engine = db_session.get_bind().engine
    event.listen(engine, "before_cursor_execute", _record)
    try:
        make_therapist("ann")
        make_therapist("root", role="admin")  # not enrolled in two-factor login: every page sends it there
        ann = login_as("ann")
        created = ann.post("/clients/new", data={"csrf_token": web.page_csrf(ann, "/clients/new"), "code": "C101",
                                                 "birth_year": "1950", "conditions": "parkinson's disease"})
        assert created.status_code == 303, created.text
        client_id = int(created.headers["location"].rsplit("/", 1)[1])
        assert ann.get("/").status_code == 200
        assert ann.get(f"/clients/{client_id}").status_code == 200
        api = api_token_for("ann")
        assert ann.get(f"/api/v1/clients/{client_id}", headers=api).status_code == 200
        written = ann.post(f"/api/v1/clients/{client_id}/sessions", headers=api, json={
            "session_date": "2026-03-02", "minutes": 30, "intervention_code": "receptive_listening"})
        assert written.status_code == 201, written.text
        refused = ann.post("/clients/new", data={"csrf_token": "wrong", "code": "C102"})
        assert refused.status_code == 403  # rolled back
        root = login_as("root")
        assert root.get("/clients").headers["location"] == deps.MFA_ENROL_PATH
    finally:
        event.remove(engine, "before_cursor_execute", _record)
    assert sent[0] > 20  # the listener saw the requests' statements
    assert on_loop == []
