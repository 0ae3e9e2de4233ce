"""Issue 16 in the browser: an admin's password reset and the forced change, caseload reassignment, the
audit-log viewer, and removing/restoring the tools' rows (RAS plan, MIT phrase, dose entry) on their pages."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from cadenza.clinic import listening, service
from cadenza.clinic.models import AuditEvent, Client
from cadenza.ras.plan import plan_ras_sessions
from cadenza.tools.ras import records as ras_records

NEW_PASSWORD = "my own long passphrase 9"


def _csrf(browser, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', browser.get(path).text).group(1)


def test_reset_password_forces_a_change_before_any_other_page(make_therapist, admin_browser, client, web, db_session):
    make_therapist("root", role="admin")
    ann = make_therapist("ann")
    root = admin_browser("root")
    reset = root.post("/admin/therapists/ann/password-reset", data={"csrf_token": _csrf(root, "/admin/therapists")})
    assert reset.status_code == 200
    temporary = re.search(r"<code>([^<]+)</code>", reset.text).group(1)
    assert "must change password" in reset.text
    assert root.post("/admin/therapists/root/password-reset",
                     data={"csrf_token": _csrf(root, "/admin/therapists")}).status_code == 422  # never one's own

    assert web.log_in(client, "ann").status_code != 303  # the old password is gone
    assert web.log_in(client, "ann", temporary).status_code == 303
    for path in ("/", f"/clients/new", "/account/tokens"):
        answer = client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/account/password"), path
    page = client.get("/account/password")
    assert page.status_code == 200 and 'id="forced"' in page.text
    token = _csrf(client, "/account/password")
    same = client.post("/account/password", data={"csrf_token": token, "current_password": temporary,
                                                  "new_password": temporary, "confirm_password": temporary})
    assert same.status_code == 422 and "must differ" in same.text
    done = client.post("/account/password", data={"csrf_token": token, "current_password": temporary,
                                                  "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert (done.status_code, done.headers["location"]) == (303, "/")
    assert client.get("/").status_code == 200
    db_session.refresh(ann)
    assert not ann.must_change_password
    actions = list(db_session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "therapist",
                                                                      AuditEvent.entity_id == ann.id)))
    assert "password_reset" in actions and actions[-1] == "update"


def test_an_initial_password_chosen_by_the_admin_must_be_changed(make_therapist, admin_browser, client, web):
    make_therapist("root", role="admin")
    root = admin_browser("root")
    created = root.post("/admin/therapists", data={"csrf_token": _csrf(root, "/admin/therapists"), "username": "eve",
                                                   "password": "initial passphrase 12", "role": "therapist",
                                                   "must_change": "on"})
    assert created.status_code == 303
    assert web.log_in(client, "eve", "initial passphrase 12").status_code == 303
    assert client.get("/").headers["location"] == "/account/password"
    # An admin account enrols in two-factor login first: the password page sits behind that gate.
    root.post("/admin/therapists", data={"csrf_token": _csrf(root, "/admin/therapists"), "username": "max",
                                         "password": "initial passphrase 34", "role": "admin", "must_change": "on"})
    client.cookies.clear()
    assert web.log_in(client, "max", "initial passphrase 34").status_code == 303
    assert client.get("/account/password").headers["location"] == "/account/mfa"


def test_caseload_moves_from_the_admin_page_and_the_audit_viewer_shows_it(make_therapist, admin_browser, login_as,
                                                                          db_session):
    make_therapist("root", role="admin")
    ann, bob = make_therapist("ann"), make_therapist("bob")
    c1 = service.create_client(db_session, actor=ann, code="C001")
    service.create_client(db_session, actor=ann, code="C002")
    db_session.commit()
    root = admin_browser("root")
    page = root.get("/admin/therapists")
    assert 'id="f-from_username"' in page.text
    refused = root.post("/admin/caseload", data={"csrf_token": _csrf(root, "/admin/therapists"),
                                                 "from_username": "ann", "to_username": "bob", "codes": "C009"})
    assert refused.status_code == 422 and "C009" in refused.text
    moved = root.post("/admin/caseload", data={"csrf_token": _csrf(root, "/admin/therapists"),
                                               "from_username": "ann", "to_username": "bob", "codes": "C001"})
    assert moved.status_code == 200 and 'id="moved"' in moved.text
    db_session.expire_all()
    assert db_session.get(Client, c1.id).therapist_id == bob.id
    assert login_as("ann").get(f"/clients/{c1.id}").status_code == 404
    assert login_as("bob").get(f"/clients/{c1.id}").status_code == 200

    log = root.get("/admin/audit", params={"action": "reassign"})
    assert log.status_code == 200
    assert 'id="chain"' in log.text and "audit chain OK" in log.text
    rows = re.findall(r"<tr><td>(\d+)</td>", log.text)
    assert len(rows) == 1 and "reassign" in log.text
    by_ann = root.get("/admin/audit", params={"username": "ann", "client_id": str(c1.id)})
    assert by_ann.status_code == 200 and "reassign" not in re.sub(r"<select.*?</select>", "", by_ann.text, flags=re.S)
    assert root.get("/admin/audit", params={"since": "not a date"}).status_code == 422
    assert login_as("bob").get("/admin/audit").status_code == 403


def test_audit_viewer_pages_older_rows_by_keyset(make_therapist, admin_browser, db_session):
    make_therapist("root", role="admin")
    ann = make_therapist("ann")
    client_row = service.create_client(db_session, actor=ann, code="C001")
    for _ in range(60):
        db_session.add(AuditEvent(actor_id=ann.id, actor_username="ann", action="read", entity="client",
                                  entity_id=client_row.id, client_id=client_row.id, at=dt.datetime.now(dt.UTC)))
    db_session.commit()
    root = admin_browser("root")
    first = root.get("/admin/audit", params={"username": "ann", "action": "read"})
    ids = [int(i) for i in re.findall(r"<tr><td>(\d+)</td>", first.text)]
    assert len(ids) == 50
    older = re.search(r'href="/admin/audit\?([^"]+)">Older', first.text).group(1).replace("&amp;", "&")
    second = root.get(f"/admin/audit?{older}")
    more = [int(i) for i in re.findall(r"<tr><td>(\d+)</td>", second.text)]
    assert len(more) == 10 and max(more) < min(ids) and "Older" not in second.text


def test_a_ras_plan_removed_and_restored_on_its_page(make_therapist, login_as, db_session):
    ann = make_therapist("ann")
    c = service.create_client(db_session, actor=ann, code="C001")
    plan = ras_records.store_ras_plan(db_session, actor=ann, client_id=c.id, plan=plan_ras_sessions(100, condition="other"))
    entry = listening.add_dose_entry(db_session, actor=ann, client_id=c.id, level_dba=95, duration_s=3600)
    db_session.commit()
    browser = login_as("ann")
    token = _csrf(browser, f"/clients/{c.id}/ras")
    refused = browser.post(f"/clients/{c.id}/ras/plans/{plan.id}/remove", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 422 and 'id="correction-error"' in refused.text
    removed = browser.post(f"/clients/{c.id}/ras/plans/{plan.id}/remove",
                           data={"csrf_token": token, "reason": "wrong cadence typed"})
    assert removed.status_code == 303
    page = browser.get(f"/clients/{c.id}/ras").text
    assert "Removed plans" in page and "wrong cadence typed" in page and f'id="plan-{plan.id}"' not in page
    assert browser.post(f"/clients/{c.id}/ras/plans/{plan.id}/restore", data={"csrf_token": token}).status_code == 303
    assert f'id="plan-{plan.id}"' in browser.get(f"/clients/{c.id}/ras").text

    safety = browser.get(f"/clients/{c.id}/safety").text
    assert f'id="remove-entry-{entry.id}"' in safety
    assert browser.post(f"/clients/{c.id}/safety/entries/{entry.id}/remove",
                        data={"csrf_token": token, "reason": "95 typed for 65"}).status_code == 303
    after = browser.get(f"/clients/{c.id}/safety").text
    assert "Removed listening entries" in after and f'id="remove-entry-{entry.id}"' not in after


def test_api_removes_and_restores_a_session_and_a_dose_entry(make_therapist, api_token_for, client, db_session):
    ann = make_therapist("ann")
    c = service.create_client(db_session, actor=ann, code="C001")
    row = service.record_session(db_session, actor=ann, client_id=c.id, session_date=dt.date(2026, 11, 29),
                                 minutes=30, intervention_code="receptive_listening")
    db_session.commit()
    headers = api_token_for("ann")
    base = f"/api/v1/clients/{c.id}"
    assert client.post(f"{base}/sessions/{row.id}/remove", json={"version": 1, "reason": "no"},
                       headers=headers).status_code == 422
    removed = client.post(f"{base}/sessions/{row.id}/remove", json={"version": 1, "reason": "wrong client"},
                          headers=headers)
    assert removed.json() == {"entity": "therapy_session", "id": row.id, "removed": True,
                              "removed_reason": "wrong client"}
    assert client.get(f"{base}/sessions/{row.id}", headers=headers).status_code == 404
    assert client.post(f"{base}/sessions/{row.id}/restore", json={}, headers=headers).json()["removed"] is False
    dose = client.post(f"{base}/sound-dose", json={"level_dba": 95, "duration_s": 7200}, headers=headers).json()
    (entry,) = dose["entries"]
    after = client.post(f"{base}/sound-dose/entries/{entry['id']}/remove", json={"reason": "95 typed for 65"},
                        headers=headers)
    assert after.status_code == 200 and after.json()["entries"] == [] and after.json()["warning"] is None
    again = client.post(f"{base}/sound-dose/entries/{entry['id']}/remove", json={"reason": "twice"}, headers=headers)
    assert again.status_code == 409
