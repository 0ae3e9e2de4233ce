"""No dead ends (walk-through problem 8): hints that work as printed, errors that lead back, and a
read-only record that offers nothing that could only fail."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
from fastapi.testclient import TestClient

from cadenza.clinic import auth, emergency, service


def test_walkthrough_p8_the_library_hint_works_as_printed(db_session, make_therapist, login_as):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="C001")
    db_session.commit()
    page = login_as("ann").get(f"/clients/{client.id}/library").text
    assert "<code>cadenza library scan FOLDER --client C001 --as ann</code>" in page


def test_walkthrough_p8_an_error_page_leads_back_to_the_page_it_came_from(db_session, make_therapist, login_as):
    make_therapist("ann")
    browser = login_as("ann")
    here = "http://testserver/clients/new"
    refused = browser.get("/clients/999999", headers={"Referer": here})
    assert refused.status_code == 404 and 'href="/clients/new">Back to the page you came from' in refused.text
    elsewhere = browser.get("/clients/999999", headers={"Referer": "https://evil.example/clients/new"})
    assert "Back to the page you came from" not in elsewhere.text


def _admin_browser(web_app, db_session, web, admin) -> TestClient:
    enrolment = auth.start_mfa_enrolment(db_session, actor=admin)
    totp, now = pyotp.TOTP(enrolment.secret), dt.datetime.now(dt.UTC)
    auth.confirm_mfa_enrolment(db_session, actor=admin, code=totp.at(now))
    db_session.commit()
    browser = TestClient(web_app, follow_redirects=False)
    browser.post("/login", data={"username": admin.username, "password": web.password,
                                 "csrf_token": web.login_csrf(browser), "next": "/"})
    page = browser.get("/login/mfa", params={"next": "/"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    assert browser.post("/login/mfa", data={"code": totp.at(now, counter_offset=1), "csrf_token": token,
                                            "next": "/"}).status_code == 303
    return browser


def test_walkthrough_p8_a_record_opened_in_an_emergency_offers_no_writes(db_session, make_therapist, web_app, web):
    ann, root = make_therapist("ann"), make_therapist("root", role="admin")
    client = service.create_client(db_session, actor=ann, code="C001")
    row = service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, 29),
                                 minutes=40, intervention_code="receptive_listening")
    browser = _admin_browser(web_app, db_session, web, root)
    emergency.grant_emergency_access(db_session, actor=root, client_id=client.id,
                                     reason="Crisis call from the ward; the care plan is needed now.")
    db_session.commit()
    with browser:
        hub = browser.get(f"/clients/{client.id}").text
        assert "Read only" in hub
        assert "Record a session" not in hub and "Add a goal" not in hub and f"/clients/{client.id}/edit" not in hub
        page = browser.get(f"/clients/{client.id}/sessions/{row.id}").text
        assert "Sign note" not in page and "Remove session" not in page and "/edit" not in page
