"""Session notes on the web: versioned edits (T31), signing and addenda (T16), no mass assignment (T5)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import func, select, text

from cadenza.clinic import fhir, service
from cadenza.clinic.models import Measurement, SessionAddendum, TherapySession
from cadenza.clinic.service import MeasurementInput


@pytest.fixture
def ann(make_therapist):
    return make_therapist("ann")


@pytest.fixture
def seeded(db_session, ann):
    client = service.create_client(db_session, actor=ann, code="ann.c1")
    row = service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, 20),
                                 minutes=40, intervention_code="receptive_listening", subjective="tired",
                                 plan="original plan", measurements=[MeasurementInput("vas_anxiety", value=50)])
    db_session.commit()
    return {"client_id": client.id, "session_id": row.id,
            "page": f"/clients/{client.id}/sessions/{row.id}",
            "api": f"/api/v1/clients/{client.id}/sessions/{row.id}"}


def _stored(db_session, session_id: int) -> tuple:
    return tuple(db_session.execute(text(
        "SELECT version, minutes, soap_subjective, soap_plan, signed_at, signed_by_id, content_sha256 "
        "FROM therapy_session WHERE id = :id"), {"id": session_id}).one())


def _counts(db_session, session_id: int) -> tuple[int, int]:
    return (db_session.scalar(select(func.count()).select_from(Measurement).where(Measurement.session_id == session_id)),
            db_session.scalar(select(func.count()).select_from(SessionAddendum)))


def _post(browser, web, path: str, data: dict):
    return browser.post(path, data={"csrf_token": web.page_csrf(browser, "/"), **data})


# --- HTML ----------------------------------------------------------------------------------------------


def test_edit_form_carries_the_version(login_as, ann, seeded):
    page = login_as("ann").get(f"{seeded['page']}/edit")
    assert page.status_code == 200
    assert re.search(r'<input type="hidden" name="version" value="1">', page.text)


def test_stale_html_edit_shows_both_texts_and_overwrites_nothing(login_as, web, ann, seeded, db_session):
    first, second = login_as("ann"), login_as("ann")  # two tabs / two people on one account
    first.get(f"{seeded['page']}/edit")
    second.get(f"{seeded['page']}/edit")
    saved = _post(first, web, f"{seeded['page']}/edit", {"version": "1", "minutes": "40", "subjective": "tired",
                                                             "plan": "FIRST plan"})
    assert saved.status_code == 303
    stale = _post(second, web, f"{seeded['page']}/edit",
                  {"version": "1", "minutes": "45", "subjective": "SECOND view", "plan": "SECOND plan"})
    assert stale.status_code == 409
    assert "changed by someone else" in stale.text
    assert "SECOND plan" in stale.text and "SECOND view" in stale.text  # what this user typed is kept
    theirs = stale.text.split('id="theirs"')[1].split("</section>")[0]
    assert "FIRST plan" in theirs  # and the text saved meanwhile is shown
    assert re.search(r'name="version" value="2"', stale.text)  # a resubmission is a deliberate overwrite
    assert _stored(db_session, seeded["session_id"])[:4] == (2, 40, "tired", "FIRST plan")
    again = _post(second, web, f"{seeded['page']}/edit", {"version": "2", "minutes": "45", "plan": "merged plan"})
    assert again.status_code == 303
    assert _stored(db_session, seeded["session_id"])[:4] == (3, 45, "", "merged plan")


def test_edit_without_a_version_is_refused(login_as, web, ann, seeded, db_session):
    response = _post(login_as("ann"), web, f"{seeded['page']}/edit", {"minutes": "45", "plan": "no version"})
    assert response.status_code == 422
    assert _stored(db_session, seeded["session_id"])[3] == "original plan"


def test_sign_lock_and_addendum_in_the_browser(login_as, web, ann, seeded, db_session):
    browser = login_as("ann")
    page = browser.get(seeded["page"])
    assert "Sign note" in page.text and "Draft (version 1)" in page.text
    signed = _post(browser, web, f"{seeded['page']}/sign", {"version": "1", "confirm": "yes"})
    assert signed.status_code == 303
    page = browser.get(seeded["page"])
    assert "Signed</strong> by ann" in page.text and "Sign note" not in page.text
    assert f"/sessions/{seeded['session_id']}/edit" not in page.text and "Integrity check failed" not in page.text
    before, counts = _stored(db_session, seeded["session_id"]), _counts(db_session, seeded["session_id"])
    assert before[4] is not None and before[5] == ann.id and len(before[6]) == 64

    edit = _post(browser, web, f"{seeded['page']}/edit", {"version": str(before[0]), "minutes": "5", "plan": "x"})
    assert edit.status_code == 409 and "signed by ann" in edit.text
    assert "can no longer be changed" in browser.get(f"{seeded['page']}/edit").text
    again = _post(browser, web, f"{seeded['page']}/sign", {"version": str(before[0]), "confirm": "yes"})
    assert again.status_code == 409
    assert _stored(db_session, seeded["session_id"]) == before and _counts(db_session, seeded["session_id"]) == counts

    added = _post(browser, web, f"{seeded['page']}/addenda", {"text": "VAS was taken <before> the music"})
    assert added.status_code == 303
    page = browser.get(seeded["page"])
    addenda = page.text.split('id="addenda"')[1]
    assert "VAS was taken &lt;before&gt; the music" in addenda and "ann" in addenda
    empty = _post(browser, web, f"{seeded['page']}/addenda", {"text": "   "})
    assert empty.status_code == 422 and "non-empty addendum" in empty.text
    assert _stored(db_session, seeded["session_id"]) == before


def test_sign_with_a_stale_version_is_refused(login_as, web, ann, seeded, db_session):
    browser = login_as("ann")
    service.add_measurement(db_session, actor=ann, session_id=seeded["session_id"],
                            measurement=MeasurementInput("nrs_pain", value=4))
    db_session.commit()
    response = _post(browser, web, f"{seeded['page']}/sign", {"version": "1", "confirm": "yes"})
    assert response.status_code == 409 and "Not signed" in response.text
    assert _stored(db_session, seeded["session_id"])[4] is None


def test_tampered_note_is_flagged_on_the_page(login_as, web, ann, seeded, db_session):
    browser = login_as("ann")
    _post(browser, web, f"{seeded['page']}/sign", {"version": "1", "confirm": "yes"})
    db_session.execute(text("UPDATE therapy_session SET soap_plan = 'rewritten' WHERE id = :id"),
                       {"id": seeded["session_id"]})
    db_session.commit()
    page = browser.get(seeded["page"])
    assert "Integrity check failed" in page.text and "no longer matches its signature" in page.text


def test_forms_ignore_signature_and_version_fields(login_as, web, ann, seeded, db_session):
    """Mass assignment (T5): extra form fields do not reach the row."""
    browser = login_as("ann")
    response = _post(browser, web, f"{seeded['page']}/edit",
                     {"version": "1", "minutes": "41", "plan": "p", "signed_at": "2020-01-01T00:00:00Z",
                      "signed_by_id": "1", "signed_by": "ann", "content_sha256": "0" * 64, "therapist_id": "99"})
    assert response.status_code == 303
    stored = _stored(db_session, seeded["session_id"])
    assert stored[0] == 2 and stored[4:] == (None, None, None)


# --- API -----------------------------------------------------------------------------------------------


def test_api_session_reports_version_and_requires_it(client, api_token_for, ann, seeded, db_session):
    headers = api_token_for("ann")
    got = client.get(seeded["api"], headers=headers).json()
    assert (got["version"], got["signed_at"], got["addenda"]) == (1, None, [])
    missing = client.patch(seeded["api"], json={"plan": "no version"}, headers=headers)
    assert missing.status_code == 422 and "version" in missing.text
    ok = client.patch(seeded["api"], json={"version": 1, "plan": "A"}, headers=headers)
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = client.patch(seeded["api"], json={"version": 1, "plan": "B", "subjective": "B"}, headers=headers)
    assert stale.status_code == 409 and "version 1, the stored note is version 2" in stale.json()["detail"]
    assert _stored(db_session, seeded["session_id"])[:4] == (2, 40, "tired", "A")


@pytest.mark.parametrize("field,value", [("signed_at", "2026-11-20T10:00:00Z"), ("signed_by_id", 1),
                                         ("signed_by", "ann"), ("content_sha256", "0" * 64), ("therapist_id", 2),
                                         ("updated_at", "2026-11-20T10:00:00Z"), ("id", 5)])
def test_api_refuses_signature_fields_in_bodies(client, api_token_for, ann, seeded, db_session, field, value):
    """Mass assignment (T5): 422, and the row is unchanged."""
    headers = api_token_for("ann")
    before = _stored(db_session, seeded["session_id"])
    assert client.patch(seeded["api"], json={"version": 1, "plan": "x", field: value},
                        headers=headers).status_code == 422
    assert client.post(f"{seeded['api']}/sign", json={"version": 1, field: value}, headers=headers).status_code == 422
    body = {"session_date": "2026-11-21", "minutes": 30, "intervention_code": "receptive_listening", field: value}
    assert client.post(f"/api/v1/clients/{seeded['client_id']}/sessions", json=body,
                       headers=headers).status_code == 422
    assert _stored(db_session, seeded["session_id"]) == before


def test_api_version_on_create_is_refused(client, api_token_for, ann, seeded):
    body = {"session_date": "2026-11-21", "minutes": 30, "intervention_code": "receptive_listening", "version": 9}
    response = client.post(f"/api/v1/clients/{seeded['client_id']}/sessions", json=body,
                           headers=api_token_for("ann"))
    assert response.status_code == 422


def test_api_sign_then_every_in_place_path_is_refused(client, api_token_for, ann, seeded, db_session):
    headers = api_token_for("ann")
    signed = client.post(f"{seeded['api']}/sign", json={"version": 1}, headers=headers)
    assert signed.status_code == 200
    body = signed.json()
    assert body["signed_by_id"] == ann.id and body["version"] == 2 and len(body["content_sha256"]) == 64
    before, counts = _stored(db_session, seeded["session_id"]), _counts(db_session, seeded["session_id"])
    refused = [
        client.patch(seeded["api"], json={"version": 2, "plan": "x"}, headers=headers),
        client.patch(seeded["api"], json={"version": 2, "minutes": 10}, headers=headers),
        client.post(f"{seeded['api']}/measurements", json={"instrument_code": "nrs_pain", "value": 2},
                    headers=headers),
        client.post(f"{seeded['api']}/sign", json={"version": 2}, headers=headers),
    ]
    assert [r.status_code for r in refused] == [409] * 4
    assert all("signed" in r.json()["detail"] for r in refused)
    assert _stored(db_session, seeded["session_id"]) == before and _counts(db_session, seeded["session_id"]) == counts

    added = client.post(f"{seeded['api']}/addenda", json={"text": "VAS was before the music"}, headers=headers)
    assert added.status_code == 201 and added.json()["previous_sha256"] == body["content_sha256"]
    got = client.get(seeded["api"], headers=headers).json()
    assert [a["text"] for a in got["addenda"]] == ["VAS was before the music"] and got["version"] == 2
    check = client.get(f"{seeded['api']}/verification", headers=headers).json()
    assert check["signed"] and check["ok"]

    db_session.execute(text("UPDATE measurement SET value = 10 WHERE session_id = :id"),
                       {"id": seeded["session_id"]})
    db_session.commit()
    check = client.get(f"{seeded['api']}/verification", headers=headers).json()
    assert not check["ok"] and not check["note_ok"] and check["computed_sha256"] != check["stored_sha256"]


def test_api_addendum_needs_a_signed_note(client, api_token_for, ann, seeded, db_session):
    response = client.post(f"{seeded['api']}/addenda", json={"text": "early"}, headers=api_token_for("ann"))
    assert response.status_code == 409 and "not signed" in response.json()["detail"]
    assert _counts(db_session, seeded["session_id"])[1] == 0


def test_fhir_export_of_a_signed_note_validates(client, api_token_for, login_as, web, ann, seeded, db_session):
    headers = api_token_for("ann")
    client.post(f"{seeded['api']}/sign", json={"version": 1}, headers=headers)
    client.post(f"{seeded['api']}/addenda", json={"text": "late entry"}, headers=headers)
    bundle_json = fhir.export_client_bundle(db_session, actor=ann, client_id=seeded["client_id"])
    fhir.validate_bundle(bundle_json)
    kinds = fhir.bundle_resource_counts(bundle_json)
    assert kinds["Provenance"] == 1
    procedure = next(e["resource"] for e in json.loads(bundle_json)["entry"]
                     if e["resource"]["resourceType"] == "Procedure")
    assert any(n["text"].endswith("late entry") for n in procedure["note"])
    row = db_session.get(TherapySession, seeded["session_id"])
    assert row.content_sha256 in bundle_json
