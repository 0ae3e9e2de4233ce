"""Authorisation matrix generated from the app's routes (reliability anchors T1-T4).

Every client-scoped route is called by the owner (positive control: 2xx/3xx), by another therapist
(404, exactly like a missing record, and nothing changes), and anonymously (401 for the API, a
redirect to the login page for pages). A route without a sample (here for the core routes, in
tests/web/authz/<area>.py for the rest) fails the test, so a new route cannot slip in unchecked.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import func, select

from cadenza.clinic import service
from cadenza.clinic.models import AuditEvent, Goal, Measurement, TherapySession
from cadenza.clinic.service import MeasurementInput
from cadenza.web import deps

# /metrics is not public: it answers a bearer token or a direct local request only (tests/web/test_operations.py).
PUBLIC = {("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics"), ("GET", "/login"), ("POST", "/login"),
          ("POST", "/api/v1/auth/token"), ("GET", "/api/v1/openapi.json"), ("GET", "/login/mfa"), ("POST", "/login/mfa"),
          ("GET", "/live/live.js")}  # the live cueing page's script
ADMIN_ONLY = {("GET", "/admin/therapists"), ("POST", "/admin/therapists"),
              ("POST", "/admin/therapists/{username}/active"), ("GET", "/api/v1/therapists"),
              ("POST", "/api/v1/therapists"), ("PATCH", "/api/v1/therapists/{username}"),
              ("GET", "/admin/emergency"), ("POST", "/admin/emergency"), ("POST", "/admin/emergency/{grant_id}/revoke"),
              ("GET", "/api/v1/emergency-access"), ("POST", "/api/v1/emergency-access"),
              ("POST", "/api/v1/emergency-access/{grant_id}/revoke"),
              ("POST", "/admin/therapists/{username}/password-reset"), ("POST", "/admin/caseload"),
              ("GET", "/admin/audit"), ("POST", "/api/v1/therapists/{username}/password-reset"),
              ("POST", "/api/v1/caseload/reassign"), ("GET", "/api/v1/audit")}
# The person's app: open to anyone (getting in, the app's own files, plain-language help) ...
PERSON_PUBLIC = {("GET", "/me/start"), ("GET", "/me/join/{token}"), ("POST", "/me/join/{token}"), ("GET", "/me/care"),
                 ("POST", "/me/join/{token}/passkey/options"), ("POST", "/me/join/{token}/passkey"),
                 ("GET", "/me/self/{token}"),  # self-care's opening link: 404 on a clinic's server
                 ("GET", "/me/manifest.webmanifest"), ("GET", "/me/sw.js"), ("GET", "/me/app.js"),
                 ("GET", "/me/icon.svg"), ("GET", "/me/recorder.js"),
                 ("GET", "/timing/live.js"), ("GET", "/timing/capture.js"), ("GET", "/timing/sound_check.js"), ("GET", "/timing/microphone.js"),
                 ("GET", "/timing/live.css"),  # the live rhythm page's scripts and styles
                 ("GET", "/me/kinds/{code}.js")}  # a task kind's script (the same for everyone)
# ... and every other /me route needs a device (its own matrix: tests/tools/home/test_person_authz.py).
PERSON_PREFIX = "/me"
OWN_ACCOUNT = {("GET", "/"), ("POST", "/logout"), ("GET", "/library/tap-tempo.js"), ("GET", "/clients/new"), ("POST", "/clients/new"),
               ("GET", "/evidence"), ("GET", "/api/v1/evidence"), ("GET", "/api/v1/interventions"),
               ("GET", "/account/tokens"), ("POST", "/account/tokens"), ("GET", "/account/password"),
               ("POST", "/account/password"), ("POST", "/account/tokens/{token_id}/revoke"),
               ("GET", "/api/v1/me"), ("GET", "/api/v1/instruments"), ("GET", "/api/v1/clients"),
               ("POST", "/api/v1/clients"), ("GET", "/account/mfa"), ("POST", "/account/mfa/setup"),
               ("POST", "/account/mfa/confirm"), ("POST", "/account/mfa/disable"),
               # drafts are the typist's own (tests/web/test_drafts_web.py)
               ("POST", "/drafts"), ("POST", "/drafts/discard"),
               # the clinic day: one's own client list and note templates (tests/web/test_clinic_day.py)
               ("GET", "/clients"), ("GET", "/account/note-templates"), ("POST", "/account/note-templates"),
               ("POST", "/account/note-templates/{template_id}/delete"),
               ("GET", "/improv/capture.js")}  # the improvisation capture page's script

SESSION_BODY = {"session_date": "2026-11-24", "minutes": 30, "intervention_code": "receptive_listening",
                "measurements": [{"instrument_code": "vas_anxiety", "value": 30}]}
# Bodies that succeed for the owner, so a refusal for anyone else is the authorisation at work.
BODIES = {
    ("PATCH", "/api/v1/clients/{client_id}"): {"conditions": ["stroke"]},
    ("POST", "/api/v1/clients/{client_id}/goals"): {"instrument_code": "vas_anxiety", "baseline": 60, "target": 30},
    ("POST", "/api/v1/clients/{client_id}/sessions"): SESSION_BODY,
    ("POST", "/api/v1/clients/{client_id}/sessions/{session_id}/measurements"): {"instrument_code": "nrs_pain", "value": 3},
    ("PATCH", "/api/v1/clients/{client_id}/goals/{goal_id}"): {"target": 25, "description": "calmer"},
    ("PATCH", "/api/v1/clients/{client_id}/sessions/{session_id}"): {"plan": "amended plan", "minutes": 35},
}
FORMS = {
    ("POST", "/clients/{client_id}/edit"): {"birth_year": "1950", "conditions": "stroke"},
    ("POST", "/clients/{client_id}/goals/new"): {"instrument_code": "vas_anxiety", "baseline": "60", "target": "30"},
    ("POST", "/clients/{client_id}/sessions/{session_id}/edit"): {"minutes": "35", "plan": "amended"},
    ("POST", "/clients/{client_id}/sessions/new"): {"session_date": "2026-11-24", "minutes": "30",
                                                     "intervention_code": "receptive_listening",
                                                     "vas_anxiety.value": "25"},
}


@pytest.fixture
def samples(authz_samples) -> dict:
    """Sample requests per (method, path template): the core routes', then those of tests/web/authz/*.py
    (the ``authz_samples`` fixture, which also reads an AUTHZ_SAMPLES left on a route module).

    A sample is a dict with "json" (API body), "form" (page form fields, CSRF added here), "files"
    (uploads as for httpx, or a callable returning them), "query"
    (query parameters, e.g. to keep rendered audio short) and/or
    "setup": ``setup(db, actor, client_id) -> {extra path parameter: value}`` creating the owner's
    records that the route's other ids refer to.
    """
    core = {key: {"json": body} for key, body in BODIES.items()}
    core.update({key: {"form": form} for key, form in FORMS.items()})
    return {**core, **authz_samples}


CORE_IDS = {"client_id", "goal_id", "session_id"}


def _path_params(path: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", path))


def _routes(app) -> list[tuple[str, str, APIRoute]]:
    found = []
    for context in iter_route_contexts(app.routes):
        methods = getattr(context, "methods", None)
        if not methods:
            continue  # the static files mount
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            found.append((method, context.path, context.original_route))
    return found


def _client_scoped(app):
    return [(m, p) for m, p, _ in _routes(app) if "{client_id}" in p]


def _depends_on(route: APIRoute, targets) -> bool:
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if dependant.call in targets:
            return True
        stack.extend(dependant.dependencies)
    return False


@pytest.fixture
def world(db_session, make_therapist):
    """Two therapists, two clients each; ann's first client has a goal and a session."""
    ann, bob = make_therapist("ann"), make_therapist("bob")
    admin = make_therapist("root", role="admin")
    ann_clients = [service.create_client(db_session, actor=ann, code=f"ann.client.{i}") for i in range(2)]
    bob_clients = [service.create_client(db_session, actor=bob, code=f"bob.client.{i}") for i in range(2)]
    goal = service.create_goal(db_session, actor=ann, client_id=ann_clients[0].id, instrument_code="vas_anxiety",
                               baseline=60, target=30)
    row = service.record_session(db_session, actor=ann, client_id=ann_clients[0].id,
                                 session_date=__import__("datetime").date(2026, 11, 20), minutes=40,
                                 intervention_code="receptive_listening",
                                 measurements=[MeasurementInput("vas_anxiety", value=50, goal_id=goal.id)])
    db_session.commit()
    return {"ann": ann, "bob": bob, "admin": admin, "ann_clients": ann_clients, "bob_clients": bob_clients,
            "goal": goal, "session": row}


def _fill(path: str, **ids) -> str:
    return path.format(**ids)


def _row_counts(db_session) -> tuple[int, ...]:
    db_session.expire_all()
    return tuple(db_session.scalar(select(func.count()).select_from(m)) for m in (Goal, TherapySession, Measurement))


def _call(browser, web, samples, method, template, url, *, api_headers=None, ids=None):
    sample = samples.get((method, template), {})
    if template.startswith("/api/"):
        return browser.request(method, url, json=sample.get("json"), headers=api_headers or {})
    if method == "GET":
        return browser.get(url, params=sample.get("query"))
    # The CSRF token belongs to the login session: read from a page once per browser, not once per POST (a
    # route that rotated it would make every later POST fail, not pass).
    if getattr(browser, "page_csrf_token", None) is None:
        browser.page_csrf_token = web.page_csrf(browser, "/")
    token = browser.page_csrf_token
    files = sample.get("files")
    files = files() if callable(files) else files
    # Form values may name ids the sample's setup created, e.g. {"phrase_id": "{phrase_id}"}.
    form = {key: value.format(**ids) if ids and isinstance(value, str) else value
            for key, value in sample.get("form", {}).items()}
    return browser.request(method, url, data={"csrf_token": token, **form}, files=files)


def _ids_for(template: str, base: dict, samples: dict, db_session, owner, client_id: int) -> dict:
    """Core ids plus whatever the route's sample setup creates for the owner's client."""
    ids = dict(base)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        setup = samples.get((method, template), {}).get("setup")
        if setup is not None:
            ids.update(setup(db_session, owner, client_id))
            db_session.commit()
            break
    return ids


def _unclassified(app, samples: dict) -> list[tuple[str, str]]:
    unknown = []
    for method, path, _ in _routes(app):
        key = (method, path)
        if key in PUBLIC or key in ADMIN_ONLY or key in OWN_ACCOUNT or key in PERSON_PUBLIC:
            continue
        if path == PERSON_PREFIX or path.startswith(PERSON_PREFIX + "/"):
            continue  # the device matrix checks every one of these
        if "{client_id}" in path:
            sample = samples.get(key, {})
            needs_body = method != "GET" and not ({"json", "form", "files"} & set(sample))
            needs_setup = bool(_path_params(path) - CORE_IDS) and "setup" not in sample
            if needs_body or needs_setup:
                unknown.append(key)
            continue
        unknown.append(key)
    return unknown


def test_every_route_is_classified(web_app, samples):
    """A new route must be added to this matrix (public, admin, own-account or client-scoped)."""
    unknown = _unclassified(web_app, samples)
    assert not unknown, (
        f"routes missing from the authorisation matrix: {unknown}; declare a sample in AUTHZ_SAMPLES of "
        "tests/web/authz/<area>.py (a valid form/json for the owner, a setup for ids other than "
        "client/goal/session), or classify the route in tests/web/test_authorization.py: docs/web.md"
    )


def test_a_route_without_a_sample_is_caught(web_app, samples):
    """The matrix has teeth: an unlisted POST, or a GET with an unknown id, is reported."""
    from fastapi import APIRouter

    extra = APIRouter()
    extra.add_api_route("/clients/{client_id}/unlisted", lambda client_id: {}, methods=["POST"])
    extra.add_api_route("/clients/{client_id}/things/{thing_id}", lambda client_id, thing_id: {}, methods=["GET"])
    extra.add_api_route("/somewhere-new", lambda: {}, methods=["GET"])
    web_app.include_router(extra)
    assert set(_unclassified(web_app, samples)) == {("POST", "/clients/{client_id}/unlisted"),
                                                    ("GET", "/clients/{client_id}/things/{thing_id}"),
                                                    ("GET", "/somewhere-new")}


def test_gait_safety_and_nicu_declare_their_own_samples(authz_samples):
    """Tool samples are loaded from outside this file (tests/web/authz/<area>.py)."""
    for module, key in [("gait", ("POST", "/clients/{client_id}/gait")),
                        ("safety", ("POST", "/clients/{client_id}/safety/listening")),
                        ("nicu", ("GET", "/clients/{client_id}/nicu/lullaby.wav"))]:
        assert key in authz_samples, module


def test_default_deny_every_non_public_route_requires_login(web_app):
    guards = {deps.current_user_page, deps.current_user_api, deps.current_person_device}
    unguarded = [(m, p) for m, p, route in _routes(web_app)
                 if (m, p) not in PUBLIC | PERSON_PUBLIC and isinstance(route, APIRoute) and not _depends_on(route, guards)]
    assert not unguarded, f"routes reachable without login: {unguarded}"


def test_openapi_paths_are_all_in_the_matrix(client, web_app):
    schema = client.get("/api/v1/openapi.json").json()
    known = {(m, p) for m, p, _ in _routes(web_app)}
    for path, operations in schema["paths"].items():
        for method in operations:
            assert (method.upper(), path) in known


def _enrolled_admin(web_app, db_session, web, admin):
    """An administrator past two-factor login, as a browser and as API headers (T6: no grant, no access)."""
    import datetime as dt

    import pyotp
    from fastapi.testclient import TestClient

    from cadenza.clinic import auth

    enrolment = auth.start_mfa_enrolment(db_session, actor=admin)
    totp, now = pyotp.TOTP(enrolment.secret), dt.datetime.now(dt.UTC)
    auth.confirm_mfa_enrolment(db_session, actor=admin, code=totp.at(now))
    token, _ = auth.create_api_token(db_session, therapist_id=admin.id)
    db_session.commit()
    browser = TestClient(web_app, follow_redirects=False)
    browser.post("/login", data={"username": admin.username, "password": web.password,
                                 "csrf_token": web.login_csrf(browser), "next": "/"})
    page = browser.get("/login/mfa", params={"next": "/"})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    assert browser.post("/login/mfa", data={"code": totp.at(now, counter_offset=1), "csrf_token": csrf,
                                            "next": "/"}).status_code == 303
    return browser, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("outsider", ["bob", "admin"])
def test_other_therapist_gets_404_on_every_client_scoped_route(web_app, world, login_as, web, client,
                                                               api_token_for, db_session, samples, outsider):
    ann_client = world["ann_clients"][0]
    ids = {"client_id": ann_client.id, "goal_id": world["goal"].id, "session_id": world["session"].id}
    if outsider == "admin":  # an administrator without an emergency grant is an outsider too
        bob_browser, bob_api = _enrolled_admin(web_app, db_session, web, world["admin"])
    else:
        bob_browser, bob_api = login_as("bob"), api_token_for("bob")
    scoped = _client_scoped(web_app)
    assert len(scoped) >= 20
    for method, template in scoped:
        route_ids = _ids_for(template, ids, samples, db_session, world["ann"], ann_client.id)
        before = _row_counts(db_session)
        url = _fill(template, **route_ids)
        response = _call(bob_browser, web, samples, method, template, url, api_headers=bob_api, ids=route_ids)
        assert response.status_code == 404, (method, template, response.status_code, response.text[:200])
        assert ann_client.code not in response.text  # "." never occurs in random tokens
        assert _row_counts(db_session) == before, (method, template)
        # Bob's own client id with Ann's goal/session ids: still nothing of Ann's.
        if any(name.endswith("_id") for name in _path_params(template) - {"client_id"}):  # ids, not formats
            mixed = _fill(template, **{**route_ids, "client_id": world["bob_clients"][0].id})
            response = _call(bob_browser, web, samples, method, template, mixed, api_headers=bob_api,
                             ids=route_ids)
            assert response.status_code == 404, ("mixed", method, template, response.status_code)


def test_refused_access_is_audited(world, login_as, api_token_for, client, db_session):
    ann_client_id = world["ann_clients"][0].id
    login_as("bob").get(f"/clients/{ann_client_id}")
    client.get(f"/api/v1/clients/{ann_client_id}/sessions", headers=api_token_for("bob"))
    db_session.expire_all()
    refused = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "not_found")).all()
    assert [(e.actor_id, e.client_id) for e in refused] == [(world["bob"].id, ann_client_id)] * 2


def test_foreign_id_looks_exactly_like_a_missing_id(world, api_token_for, client):
    headers = api_token_for("bob")
    foreign = client.get(f"/api/v1/clients/{world['ann_clients'][0].id}", headers=headers)
    missing = client.get("/api/v1/clients/999999", headers=headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


def test_owner_succeeds_on_every_client_scoped_route_and_each_access_is_audited(
    web_app, world, login_as, web, api_token_for, db_session, samples
):
    ann_client = world["ann_clients"][0]
    ids = {"client_id": ann_client.id, "goal_id": world["goal"].id, "session_id": world["session"].id}
    ann_browser = login_as("ann")
    ann_api = api_token_for("ann")
    for method, template in _client_scoped(web_app):
        db_session.expire_all()
        last = db_session.scalar(select(func.max(AuditEvent.id))) or 0
        route_ids = _ids_for(template, ids, samples, db_session, world["ann"], ann_client.id)
        last = db_session.scalar(select(func.max(AuditEvent.id))) or 0
        response = _call(ann_browser, web, samples, method, template, _fill(template, **route_ids), api_headers=ann_api,
                         ids=route_ids)
        assert response.status_code in (200, 201, 303), (method, template, response.status_code, re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", response.text))[-600:])
        new_events = db_session.scalars(select(AuditEvent).where(AuditEvent.id > last)).all()
        mine = [e for e in new_events if e.client_id == ann_client.id and e.actor_id == world["ann"].id]
        assert mine, f"{method} {template} left no audit event"
        if (method, template) in BODIES or (method, template) in FORMS:  # core writes; a tool's POST may only analyse
            assert any(e.action in ("create", "update") for e in mine), (method, template)


def test_anonymous_requests_get_401_or_the_login_page(web_app, world, client):
    ids = {"client_id": world["ann_clients"][0].id, "goal_id": world["goal"].id, "session_id": world["session"].id}
    for method, path, _ in _routes(web_app):
        if (method, path) in PUBLIC:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), "1")) if m.group(1) != "username" else "ann", path)
        response = client.request(method, url)
        if (method, path) in PERSON_PUBLIC:
            continue
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["www-authenticate"] == "Bearer"
        elif path == PERSON_PREFIX or path.startswith(PERSON_PREFIX + "/"):
            # No device here: the person's app sends them to the page that explains how to get in.
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"] == "/me/start"
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login")


def test_admin_routes_refuse_therapists(web_app, world, login_as, web, api_token_for):
    bob_browser = login_as("bob")
    bob_api = api_token_for("bob")
    for method, path in sorted(ADMIN_ONLY):
        url = path.replace("{username}", "ann").replace("{grant_id}", "1")
        if path.startswith("/api/"):
            body = {"active": False} if method == "PATCH" else (
                {"username": "eve", "password": "long-enough-passphrase-1"} if method == "POST" else None)
            response = bob_api and _api(bob_browser, method, url, body, bob_api)
        elif method == "GET":
            response = bob_browser.get(url)
        else:
            response = bob_browser.post(url, data={"csrf_token": web.page_csrf(bob_browser, "/"), "active": "false",
                                                   "username": "eve", "password": "long-enough-passphrase-1"})
        assert response.status_code == 403, (method, path, response.status_code)


def _api(browser, method, url, body, headers):
    return browser.request(method, url, json=body, headers=headers)


def test_api_bodies_refuse_extra_fields(world, api_token_for, client, db_session):
    """Mass assignment (T5): therapist_id, id or created_at in a body are refused, not applied."""
    headers = api_token_for("bob")
    response = client.post("/api/v1/clients", json={"code": "X1", "therapist_id": world["ann"].id}, headers=headers)
    assert response.status_code == 422
    response = client.patch(f"/api/v1/clients/{world['bob_clients'][0].id}",
                            json={"conditions": [], "id": world["ann_clients"][0].id}, headers=headers)
    assert response.status_code == 422


def test_csrf_is_required_on_every_page_form(web_app, world, login_as, web, samples):
    ann = login_as("ann")
    ids = {"client_id": world["ann_clients"][0].id, "goal_id": world["goal"].id, "session_id": world["session"].id}
    posts = [(m, p) for m, p, _ in _routes(web_app)
             if m == "POST" and not p.startswith("/api/") and (m, p) not in PUBLIC
             and not p.startswith(PERSON_PREFIX + "/")]  # the device's CSRF: tests/tools/home/test_person_authz.py
    assert len(posts) >= 8
    for method, path in posts:
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), "1")) if m.group(1) != "username" else "bob", path)
        data = dict(samples.get((method, path), {}).get("form", {}))
        assert ann.post(url, data=data).status_code == 403, path
        assert ann.post(url, data={**data, "csrf_token": "forged"}).status_code == 403, path
