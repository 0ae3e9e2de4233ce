"""JSON API operations, exports (FHIR, CSV, printable report), admin and token pages."""

from __future__ import annotations

import csv
import io
import json
import re

import pyotp
from sqlalchemy import select

from cadenza.clinic import dashboard, fhir, service
from cadenza.clinic.auth import ApiToken
from cadenza.clinic.models import AuditEvent, Therapist

STAI = {"calm": 2, "tense": 3, "upset": 2, "relaxed": 2, "content": 2, "worried": 3}


def _seed_via_api(client, headers):
    created = client.post("/api/v1/clients", json={"code": "C001", "birth_year": 1948, "conditions": ["anxiety"],
                                                   "safety_flags": ["seizures"]}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["code_warnings"] == []  # clinical review W15: a plain pseudonym
    client_id = created.json()["id"]
    goal = client.post(f"/api/v1/clients/{client_id}/goals",
                       json={"instrument_code": "stai6", "baseline": 60, "target": 40, "target_date": "2027-02-01"},
                       headers=headers)
    assert goal.status_code == 201, goal.text
    goal_id = goal.json()["id"]
    session = client.post(
        f"/api/v1/clients/{client_id}/sessions",
        json={"session_date": "2026-11-20", "minutes": 45, "intervention_code": "receptive_listening",
              "plan": "repeat", "measurements": [{"instrument_code": "stai6", "items": STAI, "goal_id": goal_id},
                                                 {"instrument_code": "vas_anxiety", "value": 42}]},
        headers=headers,
    )
    assert session.status_code == 201, session.text
    return client_id, goal_id, session.json()


def test_api_round_trip(client, make_therapist, api_token_for):
    make_therapist("ann")
    headers = api_token_for("ann")
    assert client.get("/api/v1/me", headers=headers).json()["username"] == "ann"
    client_id, goal_id, session = _seed_via_api(client, headers)
    stai = next(m for m in session["measurements"] if m["instrument_code"] == "stai6")
    # reversed calm/relaxed/content: 3+3+2+3+3+3 = 17 -> 17 * 20 / 6
    assert stai["value"] == 17 * 20 / 6 and stai["goal_id"] == goal_id
    assert client.get(f"/api/v1/clients/{client_id}", headers=headers).json()["safety_flags"] == ["seizures"]
    progress = client.get(f"/api/v1/clients/{client_id}/goals/{goal_id}", headers=headers).json()
    assert progress["values"] == [stai["value"]] and progress["dates"] == ["2026-11-20"]
    added = client.post(f"/api/v1/clients/{client_id}/sessions/{session['id']}/measurements",
                        json={"instrument_code": "nrs_pain", "value": 4}, headers=headers)
    assert added.status_code == 201 and added.json()["severity_band"] == "mild"
    listed = client.get(f"/api/v1/clients/{client_id}/measurements", params={"instrument_code": "nrs_pain"},
                        headers=headers).json()
    assert [m["value"] for m in listed] == [4.0]
    patched = client.patch(f"/api/v1/clients/{client_id}", json={"safety_flags": []}, headers=headers)
    assert patched.json()["safety_flags"] == [] and patched.json()["conditions"] == ["anxiety"]
    audit = client.get(f"/api/v1/clients/{client_id}/audit", headers=headers).json()
    assert {"create", "read", "update"} <= {e["action"] for e in audit}
    assert all(e["actor_username"] == "ann" for e in audit)


def test_api_errors_name_the_field_and_store_nothing(client, make_therapist, api_token_for, db_session):
    make_therapist("ann")
    headers = api_token_for("ann")
    client_id, goal_id, _ = _seed_via_api(client, headers)
    bad = client.post(
        f"/api/v1/clients/{client_id}/sessions",
        json={"session_date": "2026-11-21", "minutes": 30, "intervention_code": "receptive_listening",
              "measurements": [{"instrument_code": "vas_anxiety", "value": 20},
                               {"instrument_code": "stai6", "items": {**STAI, "calm": 7}}]},
        headers=headers,
    )
    assert bad.status_code == 422 and "calm" in bad.json()["detail"]
    sessions = client.get(f"/api/v1/clients/{client_id}/sessions", headers=headers).json()
    assert len(sessions) == 1
    nul = client.post("/api/v1/clients", json={"code": "C002", "conditions": ["a\x00b"]}, headers=headers)
    assert nul.status_code == 422
    dup = client.post("/api/v1/clients", json={"code": "C001"}, headers=headers)
    assert dup.status_code == 409


def test_fhir_and_csv_exports_download_as_attachments(client, make_therapist, api_token_for, login_as):
    make_therapist("ann")
    headers = api_token_for("ann")
    client_id, _, _ = _seed_via_api(client, headers)
    browser = login_as("ann")
    response = browser.get(f"/clients/{client_id}/export/fhir.json")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = json.loads(response.text)
    assert bundle["resourceType"] == "Bundle"
    fhir.validate_bundle(response.text)
    observations = fhir.read_observations(response.text)
    assert sorted((o.local_code, round(o.value, 3)) for o in observations) == [
        ("stai6", round(17 * 20 / 6, 3)), ("vas_anxiety", 42.0)]
    api_bundle = client.get(f"/api/v1/clients/{client_id}/export/fhir", headers=headers)
    assert api_bundle.status_code == 200 and json.loads(api_bundle.text)["resourceType"] == "Bundle"
    csv_response = browser.get(f"/clients/{client_id}/export/measurements.csv")
    assert csv_response.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert len(rows) == 2


def test_printable_report_has_charts_and_caveats(client, make_therapist, api_token_for, login_as):
    make_therapist("ann")
    client_id, goal_id, _ = _seed_via_api(client, api_token_for("ann"))
    page = login_as("ann").get(f"/clients/{client_id}/report")
    assert page.status_code == 200
    assert f"/clients/{client_id}/goals/{goal_id}/chart.png" in page.text
    assert "Caveat:" in page.text and "adjunct to care" in page.text
    from cadenza.web.templating import STATIC_DIR

    assert "@media print" in (STATIC_DIR / "cadenza.css").read_text()


def test_admin_creates_and_disables_therapists(make_therapist, login_as, web, db_session):
    make_therapist("root", role="admin")
    make_therapist("bob")
    admin = login_as("root")
    # An administrator enrols in two-factor login before anything else opens (docs/web.md).
    assert admin.get("/admin/therapists").headers["location"] == "/account/mfa"
    mfa_csrf = web.page_csrf(admin, "/account/mfa")
    setup = admin.post("/account/mfa/setup", data={"csrf_token": mfa_csrf, "password": web.password})
    secret = re.search(r'id="mfa-secret">(\w+)<', setup.text)[1]
    assert admin.post("/account/mfa/confirm", data={"csrf_token": mfa_csrf, "code": pyotp.TOTP(secret).now()}).is_success
    bob = login_as("bob")
    page = admin.get("/admin/therapists")
    assert page.status_code == 200 and "bob" in page.text
    token = web.page_csrf(admin, "/admin/therapists")
    weak = admin.post("/admin/therapists", data={"csrf_token": token, "username": "eve", "password": "short"})
    assert weak.status_code == 422 and "12 characters" in weak.text and 'value="eve"' in weak.text
    assert "short" not in re.findall(r'value="([^"]*)"', weak.text)
    ok = admin.post("/admin/therapists", data={"csrf_token": token, "username": "eve",
                                               "password": "lute-and-lyre-at-dawn"})
    assert ok.status_code == 303
    assert db_session.scalar(select(Therapist).where(Therapist.username == "eve")).password_hash.startswith("$argon2id$")
    off = admin.post("/admin/therapists/bob/active", data={"csrf_token": token, "active": "false"})
    assert off.status_code == 303
    assert bob.get("/").status_code == 303  # bob's live session ended
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.entity == "therapist")).all()
    assert {e.action for e in events} >= {"create", "update"}


def test_api_token_page_shows_a_token_once_and_revokes(make_therapist, login_as, web, client, db_session):
    make_therapist("ann")
    browser = login_as("ann")
    token = web.page_csrf(browser, "/account/tokens")
    created = browser.post("/account/tokens", data={"csrf_token": token, "label": "script", "password": web.password})
    value = re.search(r'<code id="new-token">([^<]+)</code>', created.text).group(1)
    headers = {"Authorization": f"Bearer {value}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert value not in browser.get("/account/tokens").text
    row = db_session.scalars(select(ApiToken).where(ApiToken.label == "script")).one()
    assert browser.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": token}).status_code == 303
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_oversize_upload_gets_413_with_a_clear_message(make_therapist, login_as, web, client):
    make_therapist("ann")
    browser = login_as("ann")
    big = b"x" * (1100 * 1024)
    response = browser.post("/clients/new", files={"f": ("a.wav", big, "audio/wav")})
    assert response.status_code == 413 and "Upload too large" in response.text and "MiB" in response.text

    def chunks():
        for _ in range(1100):
            yield b"y" * 1024

    streamed = client.post("/api/v1/clients", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_error_pages_hide_internals(make_therapist, login_as, api_token_for, client):
    make_therapist("ann")
    browser = login_as("ann")
    page = browser.get("/clients/999999")
    assert page.status_code == 404 and "Traceback" not in page.text and "sqlalchemy" not in page.text.lower()
    assert client.get("/api/v1/clients/abc", headers=api_token_for("ann")).status_code == 422


def test_unexpected_errors_are_a_plain_500(web_app, make_therapist, api_token_for, monkeypatch):
    from fastapi.testclient import TestClient

    make_therapist("ann")
    headers = api_token_for("ann")

    def boom(*args, **kwargs):
        raise RuntimeError("SELECT secret FROM internals")

    monkeypatch.setattr(dashboard, "clients_page", boom)
    with TestClient(web_app, raise_server_exceptions=False) as plain:
        response = plain.get("/api/v1/clients", headers=headers)
    assert response.status_code == 500
    assert "SELECT" not in response.text and "Traceback" not in response.text


def test_api_patch_goal_and_session(client, make_therapist, api_token_for):
    make_therapist("ann")
    headers = api_token_for("ann")
    client_id, goal_id, session = _seed_via_api(client, headers)
    goal = client.patch(f"/api/v1/clients/{client_id}/goals/{goal_id}", json={"target": 35}, headers=headers)
    assert goal.status_code == 200 and goal.json()["target"] == 35 and goal.json()["baseline"] == 60
    wrong_way = client.patch(f"/api/v1/clients/{client_id}/goals/{goal_id}", json={"target": 70}, headers=headers)
    assert wrong_way.status_code == 422 and "below baseline" in wrong_way.json()["detail"]
    fixed = client.patch(f"/api/v1/clients/{client_id}/goals/{goal_id}", json={"baseline": 50}, headers=headers)
    assert fixed.status_code == 422  # baseline is not editable: a different baseline is a new goal
    amended = client.patch(f"/api/v1/clients/{client_id}/sessions/{session['id']}",
                           json={"version": session["version"], "subjective": "slept well"}, headers=headers)
    assert amended.status_code == 200 and amended.json()["soap_subjective"] == "slept well"
    assert amended.json()["soap_plan"] == "repeat" and len(amended.json()["measurements"]) == 2


def test_audit_trail_is_paged_newest_first(client, make_therapist, api_token_for):
    make_therapist("ann")
    headers = api_token_for("ann")
    client_id, _, _ = _seed_via_api(client, headers)
    for _ in range(5):
        client.get(f"/api/v1/clients/{client_id}", headers=headers)
    page = client.get(f"/api/v1/clients/{client_id}/audit", params={"limit": 3}, headers=headers).json()
    assert len(page) == 3 and page[0]["id"] > page[1]["id"] > page[2]["id"]
    # Reading the trail adds two events on top (the access check and "read audit_event"), so the next
    # offset page starts two further down (offset 3 + 2, less the one read already on the first page).
    assert {(e["action"], e["entity"]) for e in page[:2]} == {("read", "client"), ("read", "audit_event")}
    nxt = client.get(f"/api/v1/clients/{client_id}/audit", params={"limit": 3, "offset": 4}, headers=headers).json()
    assert nxt[0]["id"] == page[2]["id"]
    assert client.get(f"/api/v1/clients/{client_id}/audit", params={"limit": 1000}, headers=headers).status_code == 422


def test_api_token_page_needs_the_password_and_a_label_that_fits(make_therapist, login_as, web, db_session):
    """L2: minting a 90-day token asks for the password again (a wrong one counts as a failed login);
    a label is cleaned of NUL and refused, not cut, past 64 characters."""
    from sqlalchemy import func

    from cadenza.clinic.auth import LoginAttempt

    make_therapist("ann")
    browser = login_as("ann")
    page = browser.get("/account/tokens")
    assert 'name="password"' in page.text
    token = web.page_csrf(browser, "/account/tokens")
    for password in ("", "not-the-password-1"):
        refused = browser.post("/account/tokens", data={"csrf_token": token, "label": "script", "password": password})
        assert refused.status_code == 422 and "password is not correct" in refused.text
        assert 'id="new-token"' not in refused.text and 'value="script"' in refused.text
    db_session.expire_all()
    assert db_session.scalar(select(func.count(ApiToken.id))) == 0
    assert db_session.scalar(select(func.count(LoginAttempt.id)).where(LoginAttempt.username == "ann",
                                                                       LoginAttempt.succeeded.is_(False))) == 2
    long = browser.post("/account/tokens", data={"csrf_token": token, "label": "x" * 65, "password": web.password})
    assert long.status_code == 422 and "label must have at most 64 characters, got 65" in long.text
    ok = browser.post("/account/tokens", data={"csrf_token": token, "label": "lap\x00top " + "y" * 56,
                                               "password": web.password})
    assert ok.status_code == 200 and 'id="new-token"' in ok.text
    db_session.expire_all()
    assert db_session.scalars(select(ApiToken.label)).all() == ["laptop " + "y" * 56]


def test_w15_api_reports_a_name_like_code(client, make_therapist, api_token_for):
    make_therapist("ann")
    created = client.post("/api/v1/clients", json={"code": "JohnSmith1950"}, headers=api_token_for("ann"))
    assert created.status_code == 201, created.text
    (warning,) = created.json()["code_warnings"]
    assert "may contain a name" in warning and "'1950'" in warning


def test_m12_api_lists_each_instruments_licence(client, make_therapist, api_token_for):
    make_therapist("ann")
    listed = {i["code"]: i for i in client.get("/api/v1/instruments", headers=api_token_for("ann")).json()}
    assert "Mind Garden" in listed["stai6"]["licence"] and listed["nrs_pain"]["licence"] == ""
