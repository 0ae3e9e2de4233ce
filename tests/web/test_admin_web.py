"""Issue 16 in the browser: an admin's password reset and the forced change, caseload reassignment, the
audit-log viewer, and removing/restoring the tools' rows (RAS plan, MIT phrase, dose entry) on their pages;
then the same three admin workflows on the JSON API (admins only, audited, in the OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from cadenza.clinic import audit_log, listening, service
from cadenza.clinic.audit import audit
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


# ---- the admin API -------------------------------------------------------------------------------


def _audit_rows(db_session, action: str) -> list[AuditEvent]:
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _follow(client, url, headers, params) -> list[list[int]]:
    """The ids of every page of the trail, following the Link headers."""
    pages = []
    response = client.get(url, headers=headers, params=params)
    while True:
        assert response.status_code == 200, response.text
        pages.append([row["id"] for row in response.json()])
        link = response.headers.get("link")
        if link is None:
            return pages
        response = client.get(re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1), headers=headers)


def test_admin_api_reassigns_lists_the_audit_trail_and_resets_a_password(
        make_therapist, admin_token_for, api_token_for, login_as, client, db_session):
    """The caseload moves all or nothing, the audit listing pages by key, and a reset password is shown once."""
    root = make_therapist("root", role="admin")
    ann, bob = make_therapist("ann"), make_therapist("bob")
    ids = {code: service.create_client(db_session, actor=ann, code=code).id for code in ("A1", "A2", "A3")}
    service.create_client(db_session, actor=bob, code="A3")  # bob already uses A3
    db_session.commit()
    root_api = admin_token_for("root")
    url = "/api/v1/caseload/reassign"

    clash = client.post(url, json={"from_username": "ann", "to_username": "bob"}, headers=root_api)
    assert clash.status_code == 409 and "A3" in clash.json()["detail"]
    unknown = client.post(url, json={"from_username": "ann", "to_username": "bob", "codes": ["A1", "ZZ"]},
                          headers=root_api)
    assert unknown.status_code == 422 and "ZZ" in unknown.json()["detail"]
    assert client.post(url, json={"from_username": "ann", "to_username": "eve"}, headers=root_api).status_code == 404
    assert client.post(url, json={"from_username": "ann", "to_username": "ann"}, headers=root_api).status_code == 422
    for body in ({"from_username": "ann", "to_username": "bob", "codes": []},
                 {"from_username": "ann", "to_username": "bob", "therapist_id": bob.id},
                 {"from_username": "ann"}):
        assert client.post(url, json=body, headers=root_api).status_code == 422, body
    assert client.post(url, json={"from_username": "ann", "to_username": "bob", "codes": ["A1"]},
                       headers=api_token_for("bob")).status_code == 403
    db_session.expire_all()
    assert set(db_session.scalars(select(Client.therapist_id).where(Client.id.in_(ids.values())))) == {ann.id}
    assert _audit_rows(db_session, "reassign") == []

    moved = client.post(url, json={"from_username": "ann", "to_username": "bob", "codes": ["A2", "A1"]},
                        headers=root_api)
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"from_username": "ann", "to_username": "bob", "client_ids": [ids["A1"], ids["A2"]],
                            "codes": ["A1", "A2"]}
    db_session.expire_all()
    holders = dict(db_session.execute(select(Client.code, Client.therapist_id)
                                      .where(Client.id.in_(ids.values()))).all())
    assert holders == {"A1": bob.id, "A2": bob.id, "A3": ann.id}
    rows = _audit_rows(db_session, "reassign")
    assert [(r.actor_id, r.client_id) for r in rows] == [(root.id, ids["A1"]), (root.id, ids["A2"])]
    bob_api = api_token_for("bob")
    assert client.get(f"/api/v1/clients/{ids['A1']}", headers=bob_api).status_code == 200
    assert client.get(f"/api/v1/clients/{ids['A1']}", headers=api_token_for("ann")).status_code == 404

    # ---- the audit trail, with the same filters and keyset pages as /admin/audit and `cadenza audit log`
    patient = service.create_client(db_session, actor=ann, code="AU1")
    other = service.create_client(db_session, actor=ann, code="AU2")
    for n in range(1, 8):  # seven reads of the client's sessions (a repeated read of one row is audited once)
        audit(db_session, ann, "read", "therapy_session", entity_id=n, client_id=patient.id)
    audit(db_session, ann, "read", "therapy_session", entity_id=1, client_id=other.id)
    db_session.commit()
    params = {"username": "ann", "client_id": patient.id, "action": "read", "limit": 3}

    pages = _follow(client, "/api/v1/audit", root_api, params)
    assert [len(p) for p in pages] == [3, 3, 1]
    ids = [i for p in pages for i in p]
    assert ids == sorted(ids, reverse=True)
    # The same filter through the workflow the page and `cadenza audit log` call gives the same rows.
    direct = audit_log.audit_page(db_session, actor=None, limit=500, filters=audit_log.AuditFilter(
        username="ann", client_id=patient.id, action="read"))
    assert [e.id for e in direct.rows] == ids
    first = client.get("/api/v1/audit", headers=root_api, params=params)
    assert {(r["actor_username"], r["client_id"], r["action"]) for r in first.json()} == {("ann", patient.id, "read")}

    # Rows written between two pages never shift the next one.
    link = re.fullmatch(r'<([^>]+)>; rel="next"', first.headers["link"]).group(1)
    for n in range(8, 12):
        audit(db_session, ann, "read", "therapy_session", entity_id=n, client_id=patient.id)
    db_session.commit()
    assert [r["id"] for r in client.get(link, headers=root_api).json()] == pages[1]

    # Reading the trail is audited, by the admin, on the trail itself.
    reads = db_session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.actor_username == "root", AuditEvent.entity == "audit_event"))
    assert reads >= 4

    today = dt.datetime.now(dt.UTC).date()
    none_yet = client.get("/api/v1/audit", headers=root_api, params={"until": str(today - dt.timedelta(days=1))})
    assert none_yet.status_code == 200 and none_yet.json() == []
    for bad in ({"since": "2026-13-01"}, {"since": str(today), "until": str(today - dt.timedelta(days=2))},
                {"limit": audit_log.MAX_PAGE_ROWS + 1}, {"before_id": 0}, {"client_id": "x"},
                {"username": "a" * 65}, {"action": "re\x00ad"}):
        response = client.get("/api/v1/audit", headers=root_api, params=bad)
        assert response.status_code == 422, (bad, response.text)
        assert next(iter(bad)).split("_")[0] in response.text or "since" in response.text, bad
    assert client.get("/api/v1/audit", headers=api_token_for("ann")).status_code == 403

    # The three admin endpoints are described in the OpenAPI schema like the rest of the API.
    schema = client.get("/api/v1/openapi.json").json()
    for path, method in (("/api/v1/therapists/{username}/password-reset", "post"),
                         ("/api/v1/caseload/reassign", "post"), ("/api/v1/audit", "get")):
        operation = schema["paths"][path][method]
        assert operation["tags"] == ["admin"] and "403" in operation["responses"], path
    audit_parameters = {p["name"] for p in schema["paths"]["/api/v1/audit"]["get"]["parameters"]}
    assert audit_parameters == {"username", "client_id", "action", "since", "until", "before_id", "limit"}

    # ---- a password reset: shown once, every session and token ended, a change forced
    ann_api = api_token_for("ann")
    ann_browser = login_as("ann")
    assert client.get("/api/v1/me", headers=ann_api).status_code == 200

    reset = client.post("/api/v1/therapists/ann/password-reset", headers=root_api)
    assert reset.status_code == 200, reset.text
    body = reset.json()
    assert body["username"] == "ann" and body["must_change_password"] and body["sessions_ended"]
    assert len(body["temporary_password"]) >= 12 and reset.headers["cache-control"] == "no-store"
    assert client.get("/api/v1/me", headers=ann_api).status_code == 401  # the old token ended
    assert ann_browser.get("/").status_code == 303  # so did the browser session
    (row,) = _audit_rows(db_session, "password_reset")
    assert (row.actor_id, row.entity, row.entity_id) == (root.id, "therapist", ann.id)

    # The temporary password opens the password change only, on the API as on the pages.
    issued = client.post("/api/v1/auth/token", json={"username": "ann", "password": body["temporary_password"]})
    assert issued.status_code == 200, issued.text
    temporary = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    refused = client.get("/api/v1/clients", headers=temporary)
    assert refused.status_code == 403 and "password" in refused.json()["detail"]

    # A second reset gives another password; one's own account, an unknown one or a therapist's token are refused.
    again = client.post("/api/v1/therapists/ann/password-reset", headers=root_api).json()["temporary_password"]
    assert again != body["temporary_password"]
    own = client.post("/api/v1/therapists/root/password-reset", headers=root_api)
    assert own.status_code == 422 and "your own account" in own.json()["detail"]
    assert client.post("/api/v1/therapists/nobody/password-reset", headers=root_api).status_code == 404
    assert client.post("/api/v1/therapists/x/password-reset", headers=root_api).status_code == 422  # too short
    assert client.post("/api/v1/therapists/ann/password-reset", headers=bob_api).status_code == 403
    assert len(_audit_rows(db_session, "password_reset")) == 2
    ann_row = service.get_therapist_by_username(db_session, "ann")
    db_session.refresh(ann_row)
    assert ann_row.must_change_password


# ---- unsigned notes after a reassignment: the new holder co-signs them ------------------------------------

def _note(db_session, actor, client_id, day: int):
    return service.record_session(db_session, actor=actor, client_id=client_id, session_date=dt.date(2026, 11, day),
                                  minutes=30, intervention_code="receptive_listening", subjective=f"day {day}")


def _to_sign(html: str) -> list[str]:
    """The "notes to sign" entries of a dashboard, as text."""
    section = re.search(r'<section class="card" id="unsigned">(.*?)</section>', html, flags=re.S)
    items = re.findall(r"<li>(.*?)</li>", section[1], re.S) if section else []
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_a_moved_clients_unsigned_notes_are_co_signed_by_the_new_holder(make_therapist, login_as, api_token_for,
                                                                       client, db_session):
    from cadenza.clinic import reassignment

    ann, bob = make_therapist("ann"), make_therapist("bob")
    moved = service.create_client(db_session, actor=ann, code="MV1")
    kept = service.create_client(db_session, actor=ann, code="KP1")
    early, late = _note(db_session, ann, moved.id, 2), _note(db_session, ann, moved.id, 3)
    signed = _note(db_session, ann, moved.id, 1)
    service.sign_session(db_session, actor=ann, session_id=signed.id, expected_version=signed.version)
    own = _note(db_session, ann, kept.id, 4)
    bobs = _note(db_session, bob, service.create_client(db_session, actor=bob, code="B1").id, 5)
    db_session.commit()
    ann_page, bob_page = login_as("ann"), login_as("bob")
    assert [e.split(",")[0] for e in _to_sign(ann_page.get("/").text)] == ["MV1", "MV1", "KP1"]

    reassignment.reassign_caseload(db_session, actor=None, from_username="ann", to_username="bob", codes=["MV1"])
    db_session.commit()
    # The author no longer holds the client: the notes leave her list, and she can neither open nor sign them.
    assert [e.split(",")[0] for e in _to_sign(ann_page.get("/").text)] == ["KP1"]
    ann_api, bob_api = api_token_for("ann"), api_token_for("bob")
    sign_url = f"/api/v1/clients/{moved.id}/sessions/{early.id}/sign"
    assert client.post(sign_url, json={"version": early.version, "cosign": True}, headers=ann_api).status_code == 404
    # They are on the new holder's list, oldest first, marked as another's notes to co-sign; his own stay plain.
    listed = _to_sign(bob_page.get("/").text)
    assert listed == ["MV1, 2026-11-02 draft written by ann: to co-sign",
                      "MV1, 2026-11-03 draft written by ann: to co-sign", "B1, 2026-11-05 draft"]

    # Signing another's note is never implicit: without cosign it is refused, naming the author, and nothing changes.
    refused = client.post(sign_url, json={"version": early.version}, headers=bob_api)
    assert refused.status_code == 409 and "'ann'" in refused.json()["detail"] and "cosign" in refused.json()["detail"]
    db_session.expire_all()
    assert db_session.get(type(early), early.id).signed_at is None
    done = client.post(sign_url, json={"version": early.version, "cosign": True}, headers=bob_api)
    assert done.status_code == 200, done.text
    assert (done.json()["therapist_id"], done.json()["signed_by_id"]) == (ann.id, bob.id)
    verified = client.get(f"/api/v1/clients/{moved.id}/sessions/{early.id}/verification", headers=bob_api).json()
    assert verified["signed"] and verified["ok"]
    cosigns = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "cosign")).all()
    assert [(e.actor_id, e.entity_id, e.client_id) for e in cosigns] == [(bob.id, early.id, moved.id)] * len(cosigns)
    assert len(cosigns) >= 1

    # On the page: the form says whose note it is and co-signs; the signed note names both.
    form = bob_page.get(f"/clients/{moved.id}/sessions/{late.id}")
    assert 'id="cosign-note"' in form.text and "Co-sign note" in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)[1]
    posted = bob_page.post(f"/clients/{moved.id}/sessions/{late.id}/sign",
                           data={"csrf_token": token, "version": str(late.version), "confirm": "yes", "cosign": "yes"})
    assert posted.status_code == 303, posted.text
    shown = bob_page.get(f"/clients/{moved.id}/sessions/{late.id}").text
    assert "Signed</strong> by bob" in shown and "co-signed as the client's new therapist; written by ann" in shown
    assert _to_sign(bob_page.get("/").text) == ["B1, 2026-11-05 draft"]
    # His own notes are signed as before, without cosign; ann's note on the client she kept too.
    assert client.post(f"/api/v1/clients/{bobs.client_id}/sessions/{bobs.id}/sign", json={"version": bobs.version},
                       headers=bob_api).status_code == 200
    assert client.post(f"/api/v1/clients/{kept.id}/sessions/{own.id}/sign", json={"version": own.version},
                       headers=ann_api).status_code == 200
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "cosign")) == 2
