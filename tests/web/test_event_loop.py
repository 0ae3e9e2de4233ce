"""Nothing that touches the database or computes runs on the event loop (security probe C1/H1/H2).

A coroutine route that waits on a row lock, SQLite's busy file or a long analysis stops every other
request, including the commit of the request holding the lock: on PostgreSQL that hung the server for
good. Routes are plain ``def`` (run on worker threads); the only coroutines in a request are the ones
that read the body (:func:`cadenza.web.deps.submitted_form`, :func:`cadenza.web.deps.require_csrf`,
:func:`cadenza.web.deps.page_form_sent_with_login`).
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


def test_only_body_readers_are_coroutine_dependencies(routes):
    offenders = set()
    for route in routes:
        for call in _dependency_calls(route.dependant):
            if inspect.iscoroutinefunction(call) and call not in BODY_READERS:
                offenders.add(f"{call.__module__}.{call.__qualname__} (on {route.path})")
    assert offenders == set()


def test_the_route_list_is_not_empty(routes):
    # guards the two tests above against passing on an empty app
    assert len(routes) > 60
