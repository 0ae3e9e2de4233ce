"""The care-documents page: write, sign, add to and withdraw documents; status; group sessions; the card."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from cadenza.clinic import service
from cadenza.clinic.models import AuditEvent, Client
from cadenza.tools.care import records


def _post(browser, path, data, page):
    return browser.post(path, data={"csrf_token": browser.csrf(page), **data})


def test_m11_documents_are_written_signed_and_amended_from_the_page(logged_in, db_session, nurse):
    client = service.create_client(db_session, actor=nurse, code="C010", birth_year=1947)
    goal = service.create_goal(db_session, actor=nurse, client_id=client.id, instrument_code="gds15", baseline=9,
                               target=4, description="fewer low days")
    db_session.commit()
    page = f"/clients/{client.id}/care"
    shown = logged_in.get(page)
    assert shown.status_code == 200 and "No informed consent in force" in shown.text
    assert "adjunct to care, not a cure" in shown.text
    made = _post(logged_in, f"{page}/documents", {
        "kind": "plan", "document_date": "2026-11-02", "goal_ids": str(goal.id), "objectives": "sing one verse\nname a feeling",
        "sessions_per_week": "2", "minutes_per_session": "45", "interventions": ["songwriting", "singing"]}, page)
    assert made.status_code == 303, made.text
    doc = records.client_documents(db_session, db_session.get(Client, client.id))[-1]
    assert doc.content["goal_ids"] == [goal.id] and doc.content["objectives"] == ["sing one verse", "name a feeling"]
    assert "fewer low days" in (shown := logged_in.get(page)).text and "Songwriting" in shown.text
    # Each planned intervention names its evidence: the catalog's entries with their caveat, or why there are none.
    from cadenza.evidence.query import evidence_for_intervention, get_intervention

    assert get_intervention("songwriting").evidence_note in shown.text
    supporting, _ = evidence_for_intervention("singing")
    assert supporting and all(e.caveat in shown.text.replace("&#39;", "'") for e in supporting)
    assert _post(logged_in, f"{page}/documents/{doc.id}/sign", {}, page).status_code == 303
    assert _post(logged_in, f"{page}/documents/{doc.id}/addenda", {"text": "Review moved to March."}, page).status_code == 303
    assert "Review moved to March." in logged_in.get(page).text
    # A signed document cannot be signed again; the page says why.
    again = _post(logged_in, f"{page}/documents/{doc.id}/sign", {}, page)
    assert again.status_code == 422 and "already signed" in again.text
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.entity.in_(("care_document", "care_addendum")),
                                                                  AuditEvent.client_id == client.id)).all()
    assert sorted(actions) == ["create", "create", "sign"]


def test_m11_a_refused_form_names_the_field_and_stores_nothing(logged_in, db_session, nurse):
    client = service.create_client(db_session, actor=nurse, code="C011")
    db_session.commit()
    page = f"/clients/{client.id}/care"
    refused = _post(logged_in, f"{page}/documents", {"kind": "consent", "document_date": "2026-11-02",
                                                     "explained": "aims", "consented_by": "legal_representative"}, page)
    assert refused.status_code == 422 and "representative_role must not be empty" in refused.text
    assert 'id="new-consent" open' in refused.text  # the form stays open with what was typed
    hostile = _post(logged_in, f"{page}/documents", {"kind": "referral", "document_date": "yesterday",
                                                     "referred_by": "<script>x</script>", "reason": "r"}, page)
    assert hostile.status_code == 422 and "document_date must be a date" in hostile.text
    assert "<script>x</script>" not in hostile.text
    assert records.client_documents(db_session, db_session.get(Client, client.id)) == []


def test_m11_discharge_and_status_from_the_page_and_the_card(logged_in, db_session, nurse):
    client = service.create_client(db_session, actor=nurse, code="C012")
    db_session.commit()
    page = f"/clients/{client.id}/care"
    assert _post(logged_in, f"{page}/status", {"status": "on_hold"}, page).status_code == 303
    assert "Status: on hold" in logged_in.get(f"/clients/{client.id}").text  # the tool's card on the client page
    assert _post(logged_in, f"{page}/status", {"status": "gone"}, page).status_code == 422
    done = _post(logged_in, f"{page}/documents", {"kind": "discharge", "document_date": "2026-11-30",
                                                  "reason": "plateau", "criteria": "no change in 8 weeks",
                                                  "summary": "stable mood"}, page)
    assert done.status_code == 303
    db_session.expire_all()
    assert db_session.get(Client, client.id).status == "discharged"
    # The PDF itself is rendered once, by the command line's test; here the page it is made from.
    from cadenza.tools.care import report

    doc = records.client_documents(db_session, db_session.get(Client, client.id))[-1]
    html = report.render_html(report.build_report(db_session, db_session.get(Client, client.id), doc.id))
    assert "Discharge criteria: no change in 8 weeks" in html and "adjunct to care, not a cure" in html
    assert f"/care/documents/{doc.id}/summary.pdf" in logged_in.get(page).text


def test_m11_a_group_session_from_a_clients_page(logged_in, db_session, nurse, make_therapist):
    first = service.create_client(db_session, actor=nurse, code="G1")
    second = service.create_client(db_session, actor=nurse, code="G2")
    theirs = service.create_client(db_session, actor=make_therapist("other"), code="X1")
    db_session.commit()
    page = f"/clients/{first.id}/care"
    form = {"title": "Drum circle", "session_date": "2026-11-03", "minutes": "40",
            "intervention_code": "drumming_improvisation", "note": "kept the pulse",
            f"member.{second.id}.presence": "absent", f"member.{second.id}.note": "unwell"}
    before = db_session.scalar(select(func.max(AuditEvent.id)))
    made = _post(logged_in, f"{page}/groups", form, page)
    assert made.status_code == 303, made.text
    db_session.expire_all()
    rows = db_session.execute(select(AuditEvent.action, AuditEvent.entity, AuditEvent.client_id)
                              .where(AuditEvent.client_id.in_((first.id, second.id)), AuditEvent.id > before,
                                     AuditEvent.action != "read")).all()
    assert sorted(rows) == sorted([("update", "client", first.id), ("update", "client", second.id),
                                   ("create", "therapy_session", first.id), ("create", "group_member", first.id),
                                   ("create", "group_member", second.id)])  # the page's client authorised once
    shown = logged_in.get(made.headers["location"])
    assert shown.status_code == 200 and "kept the pulse" in shown.text and "unwell" in shown.text
    assert re.search(r"G1</a></td><td>attended", shown.text) and re.search(r"G2</a></td><td>absent", shown.text)
    # Another therapist's client in the form is the same 404 as a missing one, and nothing is stored.
    foreign = _post(logged_in, f"{page}/groups", {**form, f"member.{theirs.id}.presence": "attended"}, page)
    assert foreign.status_code == 422 and f"client {theirs.id} not found" in foreign.text
    group_id = int(made.headers["location"].rsplit("/", 1)[1])
    assert logged_in.get(f"/clients/{theirs.id}/care/groups/{group_id}").status_code == 404
