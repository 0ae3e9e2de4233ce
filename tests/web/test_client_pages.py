"""Client pages end to end through HTTP: create, goals, sessions with instruments, charts, errors."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from cadenza.clinic.models import AuditEvent, Client, Measurement, TherapySession
from cadenza.evidence import query as evidence

STAI_CALM = {"stai6.calm": "3", "stai6.tense": "2", "stai6.upset": "1", "stai6.relaxed": "3",
             "stai6.content": "3", "stai6.worried": "2"}


def _post(browser, web, path, data):
    return browser.post(path, data={"csrf_token": web.page_csrf(browser, path), **data})


def _new_client(browser, web, code="C001", flags=()):
    response = browser.post(
        "/clients/new",
        data={"csrf_token": web.page_csrf(browser, "/clients/new"), "code": code, "birth_year": "1950",
              "conditions": "parkinson's disease, anxiety", "safety_flags": list(flags)},
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_dashboard_lists_my_clients_only(make_therapist, login_as, web):
    make_therapist("ann"), make_therapist("bob")
    ann, bob = login_as("ann"), login_as("bob")
    _new_client(ann, web, "ANN-1")
    _new_client(bob, web, "BOB-1")
    page = ann.get("/")
    assert page.status_code == 200 and "ANN-1" in page.text and "BOB-1" not in page.text


def test_create_client_and_see_safety_flags_prominently(make_therapist, login_as, web, db_session):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client(ann, web, flags=["seizures", "hearing_loss"])
    page = ann.get(f"/clients/{client_id}")
    assert page.status_code == 200
    safety = re.search(r'<section class="safety".*?</section>', page.text, re.S).group(0)
    assert "Seizures" in safety and "Hearing loss" in safety
    assert "never starts by itself" in safety
    assert "autoplay" not in page.text.lower()
    assert db_session.get(Client, client_id).safety_flags == ["hearing_loss", "seizures"]


def test_client_form_keeps_input_and_names_the_field(make_therapist, login_as, web):
    make_therapist("ann")
    ann = login_as("ann")
    response = _post(ann, web, "/clients/new", {"code": "has spaces", "birth_year": "1850", "conditions": "x"})
    assert response.status_code == 422
    assert 'value="has spaces"' in response.text
    assert "field-error" in response.text


def test_duplicate_client_code_is_a_field_error(make_therapist, login_as, web):
    make_therapist("ann")
    ann = login_as("ann")
    _new_client(ann, web, "C001")
    response = _post(ann, web, "/clients/new", {"code": "C001"})
    assert response.status_code == 422 and "already have a client" in response.text


def test_goal_session_chart_flow(make_therapist, login_as, web, db_session):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client(ann, web)
    response = _post(ann, web, f"/clients/{client_id}/goals/new",
                     {"instrument_code": "stai6", "baseline": "55", "target": "40", "target_date": "2027-01-31",
                      "description": "Less anxious before gait practice"})
    assert response.status_code == 303, response.text
    form = ann.get(f"/clients/{client_id}/sessions/new")
    assert form.status_code == 200
    for intervention in evidence.list_interventions():
        assert f'value="{intervention.code}"' in form.text
    assert "Active music-making" in form.text and "Receptive (listening)" in form.text
    assert "Caveat:" in form.text
    # The goal measured with STAI-6 is preselected, as a browser would submit it.
    goal_id = re.search(r'name="stai6.goal_id">\s*<option value="">every goal on this measure</option>\s*<option value="(\d+)" selected', form.text).group(1)
    data = {"session_date": "2026-11-20", "minutes": "45", "intervention_code": "receptive_listening",
            "subjective": "tired", "vas_anxiety.value": "35", "stai6.goal_id": goal_id, **STAI_CALM}
    response = _post(ann, web, f"/clients/{client_id}/sessions/new", data)
    assert response.status_code == 303, response.text
    session_id = int(response.headers["location"].rsplit("/", 1)[1])
    detail = ann.get(response.headers["location"])
    assert detail.status_code == 200 and "tired" in detail.text
    stored = db_session.scalars(select(Measurement).where(Measurement.session_id == session_id)).all()
    assert sorted(m.instrument_code for m in stored) == ["stai6", "vas_anxiety"]
    stai = next(m for m in stored if m.instrument_code == "stai6")
    # Items 3,2,1,3,3,2 with calm/relaxed/content reversed (5-x): 2+2+1+2+2+2 = 11 -> 11*20/6
    assert stai.value == 11 * 20 / 6 and stai.goal_id == int(goal_id)
    page = ann.get(f"/clients/{client_id}")
    chart_src = re.search(r'<img class="chart" src="([^"]+)"', page.text).group(1)
    chart = ann.get(chart_src)
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    assert chart.content[:8] == b"\x89PNG\r\n\x1a\n"
    dash = ann.get("/")
    assert "2026-11-20" in dash.text  # recent sessions
    assert "2027-01-31" not in dash.text  # not due within two weeks


def test_session_form_errors_are_inline_and_keep_what_was_typed(make_therapist, login_as, web, db_session):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client(ann, web)
    before = db_session.scalar(select(TherapySession.id).where(TherapySession.client_id == client_id))
    data = {"session_date": "2026-11-20", "minutes": "45", "intervention_code": "receptive_listening",
            "plan": "keep this plan text", "vas_anxiety.value": "350", **{**STAI_CALM, "stai6.calm": "9"}}
    response = _post(ann, web, f"/clients/{client_id}/sessions/new", data)
    assert response.status_code == 422
    assert "keep this plan text" in response.text
    assert re.search(r'id="f-stai6.calm" name="stai6.calm" class="invalid"', response.text)
    assert "calm" in re.search(r'<p class="field-error">([^<]*calm[^<]*)</p>', response.text).group(1)
    assert '<option value="2" selected>2 · Somewhat</option>' in response.text  # the other items kept
    assert db_session.scalar(select(TherapySession.id).where(TherapySession.client_id == client_id)) == before
    # Fix STAI-6; the VAS error in mm is now reported with its unit hint.
    data["stai6.calm"] = "3"
    response = _post(ann, web, f"/clients/{client_id}/sessions/new", data)
    assert response.status_code == 422
    assert 'value="350"' in response.text and "mm" in response.text
    data["minutes"] = "abc"
    response = _post(ann, web, f"/clients/{client_id}/sessions/new", data)
    assert "minutes must be a whole number" in response.text


def test_half_filled_questionnaire_names_missing_items(make_therapist, login_as, web):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client(ann, web)
    data = {"session_date": "2026-11-20", "minutes": "30", "intervention_code": "receptive_listening",
            "stai6.calm": "2"}
    response = _post(ann, web, f"/clients/{client_id}/sessions/new", data)
    assert response.status_code == 422 and "missing" in response.text


def test_goal_form_errors(make_therapist, login_as, web):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client(ann, web)
    response = _post(ann, web, f"/clients/{client_id}/goals/new",
                     {"instrument_code": "stai6", "baseline": "40", "target": "55", "description": "wrong way"})
    assert response.status_code == 422 and "must be below baseline" in response.text
    assert 'value="55"' in response.text


def test_edit_client_flags(make_therapist, login_as, web, db_session):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client(ann, web)
    assert "checked" not in ann.get(f"/clients/{client_id}/edit").text.split("Safety flags")[1].split("</fieldset>")[0]
    response = _post(ann, web, f"/clients/{client_id}/edit",
                     {"birth_year": "1951", "conditions": "stroke", "safety_flags": "trauma_history"})
    assert response.status_code == 303
    db_session.expire_all()
    client = db_session.get(Client, client_id)
    assert client.safety_flags == ["trauma_history"] and client.conditions == ["stroke"]


def test_client_page_reads_are_audited(make_therapist, login_as, web, db_session):
    ann_row = make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client(ann, web)
    ann.get(f"/clients/{client_id}")
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.client_id == client_id)).all()
    assert [(e.action, e.entity) for e in events][-1] == ("read", "client")
    assert all(e.actor_id == ann_row.id for e in events)
    assert events[-1].at > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)


def test_amend_session_keeps_measurements_and_reports_errors(make_therapist, login_as, web, db_session):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client(ann, web)
    response = _post(ann, web, f"/clients/{client_id}/sessions/new",
                     {"session_date": "2026-11-20", "minutes": "45", "intervention_code": "receptive_listening",
                      "plan": "first plan", "vas_anxiety.value": "40"})
    session_path = response.headers["location"]
    edit = ann.get(f"{session_path}/edit")
    assert edit.status_code == 200 and "first plan" in edit.text
    bad = _post(ann, web, f"{session_path}/edit", {"version": "1", "minutes": "900", "plan": "second plan"})
    assert bad.status_code == 422 and "second plan" in bad.text and "minutes" in bad.text
    ok = _post(ann, web, f"{session_path}/edit", {"version": "1", "minutes": "50", "plan": "second plan"})
    assert ok.status_code == 303
    db_session.expire_all()
    row = db_session.get(TherapySession, int(session_path.rsplit("/", 1)[1]))
    assert (row.minutes, row.soap_plan, len(row.measurements)) == (50, "second plan", 1)


def test_w15_a_name_like_code_needs_a_confirmation(make_therapist, login_as, web, db_session):
    make_therapist("ann")
    ann = login_as("ann")
    data = {"code": "JohnSmith1950", "birth_year": "1950", "conditions": "stroke"}
    warned = _post(ann, web, "/clients/new", data)
    assert warned.status_code == 422
    assert "may contain a name" in warned.text and 'name="code_confirmed"' in warned.text
    assert db_session.scalar(select(Client.id).where(Client.code == "JohnSmith1950")) is None
    kept = _post(ann, web, "/clients/new", {**data, "code_confirmed": "yes"})
    assert kept.status_code == 303, kept.text
    assert _post(ann, web, "/clients/new", {**data, "code": "C777"}).status_code == 303  # no warning, no question


def test_m12_forms_show_the_stai_licence(make_therapist, login_as, web):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client(ann, web)
    for path in (f"/clients/{client_id}/sessions/new", f"/clients/{client_id}/goals/new"):
        page = ann.get(path)
        assert "Mind Garden" in page.text and "licence" in page.text.lower()
