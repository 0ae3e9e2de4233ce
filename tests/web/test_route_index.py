"""The route path check (cadenza.web.route_index, issue 23): with it, every path and method the app serves
reaches the same route as without it, and a router is skipped only for paths none of its routes fits."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import Match

from cadenza.web import route_index


def _winner(routes, path: str, method: str):
    """What the app's router picks for the request: (index of the first full match, else of the first partial)."""
    scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": [], "query_string": b""}
    partial = None
    for index, route in enumerate(routes):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return "full", index
        if match is Match.PARTIAL and partial is None:
            partial = index
    return ("partial", partial) if partial is not None else ("none", None)


def _example_paths(app) -> list[tuple[str, str]]:
    """A concrete path and method for every route the app includes, plus near misses (a wrong method, a trailing
    slash, an unknown path)."""
    paths = set()
    for route in app.router.routes:
        for context in getattr(route, "effective_route_contexts", lambda: [])():
            path = getattr(context.starlette_route, "path_format", None) or context.path_format
            paths.add(re.sub(r"\{[^}]+\}", "7", path))
    examples = [(path, method) for path in sorted(paths) for method in ("GET", "POST", "PUT")]
    examples += [(path + "/", "GET") for path in sorted(paths)]
    return examples + [("/no/such/page", "GET"), ("/", "DELETE"), ("/static/app.css", "GET")]


def test_every_route_is_reached_as_without_the_check(web_app):
    if web_app.state.session_factory.kw["bind"].dialect.name != "sqlite":
        pytest.skip("routing does not depend on the database: checked once, on SQLite")
    app = web_app
    examples = _example_paths(app)
    assert len(examples) > 250
    checked = list(app.router.routes)  # create_app installed the check on the included routers
    assert sum(getattr(r, "matches", None) is not type(r).matches.__get__(r) for r in checked) >= 20
    plain = []
    for route in checked:  # the same routers without the check: the class's own matches
        plain.append(type("Plain", (), {"matches": staticmethod(type(route).matches.__get__(route))})())
    for path, method in examples:
        assert _winner(checked, path, method) == _winner(plain, path, method), (path, method)


def test_a_router_is_skipped_only_for_paths_none_of_its_routes_fits():
    f = route_index.PathFilter.of(["/clients/{client_id}", "/clients/new", "/", "/api/v1/clients/{client_id}/x"])
    assert f.admits("/") and f.admits("/clients/new") and f.admits("/clients/9") and f.admits("/api/v1/clients/3/x")
    assert not f.admits("/clients") and not f.admits("/api/v1/therapists") and not f.admits("/static/a.css")
    assert f.prefixes == ("/api/v1/clients/", "/clients/")
    # A route without a path (a host route) or with one the check cannot read: the router is always asked.
    assert route_index.PathFilter.of(["/a", None]).admits("/anything")


@settings(max_examples=20, deadline=None)
@given(fixed=st.lists(st.from_regex(r"/[a-z]{1,4}(/[a-z]{1,3}){0,2}(/\{p\})?", fullmatch=True), min_size=1, max_size=6),
       path=st.from_regex(r"/[a-z]{0,4}(/[a-z0-9]{1,3}){0,3}", fullmatch=True))
def test_the_filter_never_refuses_a_path_a_route_matches(fixed, path):
    f = route_index.PathFilter.of(fixed)
    for route in fixed:
        pattern = "^" + re.escape(route).replace(r"\{p\}", "[^/]+") + "$"
        if re.match(pattern, path):
            assert f.admits(path), (route, path)
