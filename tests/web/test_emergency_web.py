"""Emergency ("break-glass") access in the web app (reliability anchor T6): the admin page, grants,
read-only pages under a grant, the owner's banner, revoking, CSRF and the 404s around it."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from sqlalchemy import func, select

from cadenza.clinic import auth, emergency, service
from cadenza.clinic.emergency import EmergencyAccess
from cadenza.clinic.models import AuditEvent, Client

REASON = "Crisis call from the ward; ann is on sick leave and the care plan is needed now."


def _admin_browser(web_app, db_session, web, username: str):
    """A browser logged in as an enrolled administrator (password, then a TOTP code)."""
    from fastapi.testclient import TestClient

    admin = db_session.scalar(select(service.Therapist).where(service.Therapist.username == username))
    enrolment = auth.start_mfa_enrolment(db_session, actor=admin)
    totp = pyotp.TOTP(enrolment.secret)
    now = dt.datetime.now(dt.UTC)
    auth.confirm_mfa_enrolment(db_session, actor=admin, code=totp.at(now))
    db_session.commit()
    browser = TestClient(web_app, follow_redirects=False)
    browser.__enter__()
    browser.post("/login", data={"username": username, "password": web.password,
                                 "csrf_token": web.login_csrf(browser), "next": "/"})
    page = browser.get("/login/mfa", params={"next": "/"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    # The enrolment used this step's code; the next step's is within the accepted drift and unused.
    done = browser.post("/login/mfa", data={"code": totp.at(now, counter_offset=1), "csrf_token": token, "next": "/"})
    assert done.status_code == 303, done.text
    return browser


@pytest.fixture
def world(db_session, make_therapist, web_app, web):
    ann, bob = make_therapist("ann"), make_therapist("bob")
    root, sue = make_therapist("root", role="admin"), make_therapist("sue", role="admin")
    a = service.create_client(db_session, actor=ann, code="ann.a")
    b = service.create_client(db_session, actor=ann, code="ann.b")
    goal = service.create_goal(db_session, actor=ann, client_id=a.id, instrument_code="vas_anxiety",
                               baseline=60, target=30)
    db_session.commit()
    browsers = {"as_root": _admin_browser(web_app, db_session, web, "root"),
                "as_sue": _admin_browser(web_app, db_session, web, "sue")}
    yield {"ann": ann, "bob": bob, "root": root, "sue": sue, "a": a, "b": b, "goal": goal, **browsers}
    for browser in browsers.values():
        browser.__exit__(None, None, None)


def _grant(browser, web, *, therapist="ann", code="ann.a", reason=REASON, duration_h="4"):
    return browser.post("/admin/emergency", data={"csrf_token": web.page_csrf(browser, "/admin/emergency"),
                                                  "therapist": therapist, "client_code": code,
                                                  "reason": reason, "duration_h": duration_h})


def _events(db_session, action: str) -> list[AuditEvent]:
    db_session.expire_all()
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_without_a_grant_the_admin_gets_the_same_404_as_anyone(world, db_session):
    root = world["as_root"]
    for path in (f"/clients/{world['a'].id}", f"/clients/{world['a'].id}/goals/new"):
        assert root.get(path).status_code == 404
    missing = root.get("/clients/999999")
    assert root.get(f"/clients/{world['a'].id}").text == missing.text.replace("999999", str(world["a"].id))


def test_grant_from_the_admin_page_opens_the_record_read_only_and_audits_each_read(world, db_session, web):
    root, a = world["as_root"], world["a"]
    page = root.get("/admin/emergency")
    assert page.status_code == 200 and 'name="reason"' in page.text
    response = _grant(root, web)
    assert response.status_code == 303 and response.headers["location"] == f"/clients/{a.id}"
    grant = db_session.scalar(select(EmergencyAccess))
    assert (grant.admin_id, grant.client_id, grant.reason) == (world["root"].id, a.id, REASON)
    assert grant.expires_at - grant.granted_at == dt.timedelta(hours=4)
    before = len(_events(db_session, "read_emergency"))
    opened = root.get(f"/clients/{a.id}")
    assert opened.status_code == 200 and "ann.a" in opened.text
    assert "You are reading this record under emergency access" in opened.text
    reads = _events(db_session, "read_emergency")[before:]
    assert reads and all((e.actor_id, e.entity_id, e.client_id) == (world["root"].id, grant.id, a.id) for e in reads)
    # Every audited read of the record by the admin is matched by a break-glass row carrying the grant.
    plain = [e for e in _events(db_session, "read") if e.actor_id == world["root"].id and e.client_id == a.id]
    assert len(plain) == len(reads)
    # The other client stays closed.
    assert root.get(f"/clients/{world['b'].id}").status_code == 404
    # Writes are refused, and nothing changes.
    count = db_session.scalar(select(func.count()).select_from(service.Goal))
    refused = root.post(f"/clients/{a.id}/goals/new", data={"csrf_token": web.page_csrf(root, "/"),
                                                            "instrument_code": "vas_anxiety", "baseline": "60",
                                                            "target": "30"})
    assert refused.status_code == 404
    refused = root.post(f"/clients/{a.id}/edit", data={"csrf_token": web.page_csrf(root, "/"),
                                                       "birth_year": "1950", "conditions": "stroke"})
    assert refused.status_code == 404
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(service.Goal)) == count
    assert db_session.get(Client, a.id).conditions == []


def test_short_reasons_and_bad_inputs_are_refused_on_the_form(world, db_session, web):
    root = world["as_root"]
    short = _grant(root, web, reason="urgent")
    assert short.status_code == 422 and "reason must be" in short.text
    too_long = _grant(root, web, duration_h="13")
    assert too_long.status_code == 422 and "duration_h must be" in too_long.text
    unknown = _grant(root, web, code="nobody")
    assert unknown.status_code == 422 and "has no client with code" in unknown.text
    assert db_session.scalar(select(func.count(EmergencyAccess.id))) == 0
    assert root.get(f"/clients/{world['a'].id}").status_code == 404


def test_therapists_cannot_grant_or_see_the_admin_page(world, login_as, web, db_session):
    bob = login_as("bob")
    assert bob.get("/admin/emergency").status_code == 403
    assert _grant(bob, web).status_code == 403
    assert db_session.scalar(select(func.count(EmergencyAccess.id))) == 0


def test_every_post_needs_the_csrf_token(world, db_session, web):
    root = world["as_root"]
    for data in ({}, {"csrf_token": "forged"}):
        form = {**data, "therapist": "ann", "client_code": "ann.a", "reason": REASON, "duration_h": "4"}
        assert root.post("/admin/emergency", data=form).status_code == 403
    assert db_session.scalar(select(func.count(EmergencyAccess.id))) == 0
    _grant(root, web)
    grant_id = db_session.scalar(select(EmergencyAccess.id))
    for data in ({}, {"csrf_token": "forged"}):
        assert root.post(f"/admin/emergency/{grant_id}/revoke", data=data).status_code == 403
    db_session.expire_all()
    assert db_session.get(EmergencyAccess, grant_id).revoked_at is None


def test_the_owner_sees_who_opened_the_record_when_and_why(world, login_as, web, db_session):
    _grant(world["as_root"], web)
    ann = login_as("ann")
    for page in (ann.get(f"/clients/{world['a'].id}"), ann.get("/")):
        assert page.status_code == 200
        banner = re.search(r'<section[^>]*id="emergency-notices".*?</section>', page.text, re.S)
        assert banner, page.text[:500]
        assert "root" in banner[0] and REASON in banner[0] and "active until" in banner[0]
    assert 'id="emergency-notices"' not in ann.get(f"/clients/{world['b'].id}").text
    assert 'id="emergency-notices"' not in login_as("bob").get("/").text


def test_the_reason_is_escaped_in_every_banner(world, login_as, web):
    payload = "<script>alert('x')</script> crisis with a long enough reason"
    _grant(world["as_root"], web, reason=payload)
    ann = login_as("ann")
    for page in (ann.get(f"/clients/{world['a'].id}"), ann.get("/"), world["as_sue"].get("/admin/emergency")):
        assert payload not in page.text and "&lt;script&gt;" in page.text


@pytest.mark.parametrize("revoker", ["root", "sue"])
def test_any_admin_revokes_and_the_record_closes(world, web, db_session, revoker):
    _grant(world["as_root"], web)
    grant_id = db_session.scalar(select(EmergencyAccess.id))
    listing = world["as_sue"].get("/admin/emergency")
    assert REASON in listing.text and f"/admin/emergency/{grant_id}/revoke" in listing.text
    browser = world["as_" + revoker]
    done = browser.post(f"/admin/emergency/{grant_id}/revoke", data={"csrf_token": web.page_csrf(browser, "/")})
    assert done.status_code == 303
    assert world["as_root"].get(f"/clients/{world['a'].id}").status_code == 404
    assert [e.actor_id for e in _events(db_session, "revoke_emergency")] == [world[revoker].id]
    assert "revoked by " + revoker in world["as_sue"].get("/admin/emergency").text
    # Revoking again is harmless.
    again = browser.post(f"/admin/emergency/{grant_id}/revoke", data={"csrf_token": web.page_csrf(browser, "/")})
    assert again.status_code == 303


def test_expired_grants_give_404(world, web, db_session, monkeypatch):
    _grant(world["as_root"], web, duration_h="1")
    assert world["as_root"].get(f"/clients/{world['a'].id}").status_code == 200
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, seconds=1)
    monkeypatch.setattr(emergency, "utcnow", lambda: later)
    assert world["as_root"].get(f"/clients/{world['a'].id}").status_code == 404
    assert "expired" in world["as_root"].get("/admin/emergency").text


def test_a_grant_by_one_admin_opens_nothing_for_another(world, web):
    _grant(world["as_root"], web)
    assert world["as_sue"].get(f"/clients/{world['a'].id}").status_code == 404


def test_the_api_grants_lists_and_revokes_for_admins_only(world, web, api_token_for, client):
    root = world["as_root"]
    created = root.post("/account/tokens", data={"csrf_token": web.page_csrf(root, "/account/tokens"),
                                              "password": web.password})
    token = re.search(r'id="new-token">([^<]+)<', created.text)[1]
    headers = {"Authorization": f"Bearer {token}"}
    body = {"client_id": world["a"].id, "reason": REASON}
    assert client.post("/api/v1/emergency-access", json={**body, "reason": "short"}, headers=headers).status_code == 422
    assert client.post("/api/v1/emergency-access", json={**body, "duration_h": 24}, headers=headers).status_code == 422
    assert client.post("/api/v1/emergency-access", json={**body, "admin_id": 1}, headers=headers).status_code == 422
    bob = api_token_for("bob")
    assert client.post("/api/v1/emergency-access", json=body, headers=bob).status_code == 403
    assert client.get("/api/v1/emergency-access", headers=bob).status_code == 403
    assert client.get(f"/api/v1/clients/{world['a'].id}", headers=headers).status_code == 404
    made = client.post("/api/v1/emergency-access", json=body, headers=headers)
    assert made.status_code == 201, made.text
    grant = made.json()
    assert (grant["admin_username"], grant["client_code"], grant["active"]) == ("root", "ann.a", True)
    assert client.post("/api/v1/emergency-access", json=body, headers=headers).status_code == 409
    opened = client.get(f"/api/v1/clients/{world['a'].id}", headers=headers)
    assert opened.status_code == 200 and opened.json()["code"] == "ann.a"
    assert client.patch(f"/api/v1/clients/{world['a'].id}", json={"conditions": ["stroke"]},
                        headers=headers).status_code == 404
    assert [g["id"] for g in client.get("/api/v1/emergency-access", headers=headers).json()] == [grant["id"]]
    assert client.post(f"/api/v1/emergency-access/{grant['id']}/revoke", headers=bob).status_code == 403
    revoked = client.post(f"/api/v1/emergency-access/{grant['id']}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert client.get(f"/api/v1/clients/{world['a'].id}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/emergency-access/{grant['id']}/revoke", headers=headers).status_code == 409
    assert client.post("/api/v1/emergency-access/999999/revoke", headers=headers).status_code == 404


# Exports copy the record out of Cadenza; an emergency grant is for reading it here.
EXPORT_ROUTES = {"/clients/{client_id}/export/fhir.json", "/clients/{client_id}/export/measurements.csv",
                 "/clients/{client_id}/export/sessions.csv", "/clients/{client_id}/care/documents/{document_id}/summary.pdf"}
# A group session shows the other attendees' notes too, which a grant for one client does not cover.
OTHER_CLIENTS_ROUTES = {"/clients/{client_id}/care/groups/{group_id}"}


def test_every_client_page_under_a_grant_is_read_with_a_break_glass_audit_row(web_app, world, web, db_session,
                                                                              authz_samples):
    """T6 over the whole app: each client-scoped GET page either works, audits only reads and writes
    read_emergency rows carrying the grant, or (exports, and pages with other clients' notes) is refused."""
    from fastapi.routing import iter_route_contexts

    from cadenza.clinic.service import MeasurementInput

    samples = authz_samples  # tests/web/authz/*.py: setups for ids other than client/goal/session
    a = world["a"]
    row = service.record_session(db_session, actor=world["ann"], client_id=a.id, session_date=dt.date(2026, 11, 20),
                                 minutes=30, intervention_code="receptive_listening",
                                 measurements=[MeasurementInput("vas_anxiety", value=50, goal_id=world["goal"].id)])
    db_session.commit()
    ids = {"client_id": a.id, "goal_id": world["goal"].id, "session_id": row.id}
    _grant(world["as_root"], web, duration_h="12")
    grant_id = db_session.scalar(select(EmergencyAccess.id))
    pages = sorted({c.path for c in iter_route_contexts(web_app.routes)
                    if "GET" in (getattr(c, "methods", None) or ()) and "{client_id}" in c.path
                    and not c.path.startswith("/api/")})
    assert len(pages) >= 10
    refused, read = [], []
    for template in pages:
        sample = samples.get(("GET", template), {})
        route_ids = dict(ids)
        if "setup" in sample:
            route_ids.update(sample["setup"](db_session, world["ann"], a.id))
            db_session.commit()
        missing = set(re.findall(r"\{(\w+)\}", template)) - set(route_ids)
        if missing:
            continue  # an id this test cannot make; the authorisation matrix still covers the route
        db_session.expire_all()
        last = db_session.scalar(select(func.max(AuditEvent.id))) or 0
        response = world["as_root"].get(template.format(**route_ids), params=sample.get("query"))
        events = list(db_session.scalars(select(AuditEvent).where(AuditEvent.id > last,
                                                                  AuditEvent.actor_id == world["root"].id)))
        if response.status_code == 404:
            refused.append(template)
            continue
        assert response.status_code == 200, (template, response.status_code, response.text[:300])
        emergency_rows = [e for e in events if e.action == "read_emergency"]
        assert emergency_rows and all((e.entity_id, e.client_id) == (grant_id, a.id) for e in emergency_rows), template
        # Nothing but reads: no create/update/delete audited under the grant.
        assert {e.action for e in events} <= {"read", "list", "read_emergency"}, (template, [e.action for e in events])
        read.append(template)
    assert set(refused) == EXPORT_ROUTES | OTHER_CLIENTS_ROUTES, refused
    assert sorted(read + refused) == pages
