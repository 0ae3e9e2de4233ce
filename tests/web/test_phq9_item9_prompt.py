"""Clinical review H1: a PHQ-9 item 9 answer above "not at all" asks for a structured suicide-risk
assessment *before the person leaves this session*, where the therapist cannot miss it (session page
right after saving, client page, CLI), and travels in FHIR as a RiskAssessment based on the Observation."""

from __future__ import annotations

import datetime as dt
import json

from cadenza.clinic import fhir, service
from cadenza.clinic.instruments import PHQ9_ITEM9_PROMPT, safety_prompt

PHQ9_ITEMS = {f"q{i}": 1 for i in range(1, 9)}


def _session_with_phq9(db_session, therapist, client_record, item9: int, session_date: dt.date = dt.date(2026, 12, 1)):
    return service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=session_date, minutes=45,
        intervention_code="receptive_listening",
        measurements=[service.MeasurementInput("phq9", items={**PHQ9_ITEMS, "q9": item9})])


def _check_m2_flag_and_interpretation(bundle, measurement):
    """Clinical review M2: an active safety Flag pointing at the Observation, and a coded "Positive"
    interpretation on the Observation and on its item-9 component only."""
    resources = {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in bundle["entry"]}
    [flag] = [r for r in resources.values() if r["resourceType"] == "Flag"]
    assert flag["status"] == "active" and flag["category"][0]["coding"][0]["code"] == "safety"
    detail = flag["extension"][0]
    assert detail["url"] == "http://hl7.org/fhir/StructureDefinition/flag-detail"
    assert detail["valueReference"]["reference"] == f"Observation/observation-{measurement.id}" in resources
    assert flag["encounter"]["reference"] in resources and "before the person leaves this session" in flag["code"]["text"]
    observation = resources[f"Observation/observation-{measurement.id}"]
    positive = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "POS",
                "display": "Positive"}
    assert any(positive in i.get("coding", []) for i in observation["interpretation"])
    item9 = next(c for c in observation["component"] if c["code"]["coding"][0]["code"] == "44260-8")
    assert item9["interpretation"][0]["coding"] == [positive]
    assert all("interpretation" not in c for c in observation["component"] if c is not item9)


def test_h1_prompt_says_before_the_person_leaves():
    assert "before the person leaves this session" in PHQ9_ITEM9_PROMPT
    assert "next session" not in PHQ9_ITEM9_PROMPT
    assert safety_prompt("phq9") == PHQ9_ITEM9_PROMPT


def test_h1_m2_fhir_carries_the_risk_as_a_risk_assessment_a_flag_and_a_coded_interpretation(db_session, therapist,
                                                                                           client_record):
    row = _session_with_phq9(db_session, therapist, client_record, item9=2)
    measurement = row.measurements[0]
    assert measurement.safety_followup
    bundle = fhir.build_bundle(client_record, [], [row])
    risks = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment"]
    assert len(risks) == 1
    assert risks[0]["basis"] == [{"reference": f"Observation/observation-{measurement.id}"}]
    assert "before the person leaves this session" in risks[0]["mitigation"]
    ids = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    assert risks[0]["basis"][0]["reference"] in ids and risks[0]["encounter"]["reference"] in ids
    observation = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == f"observation-{measurement.id}")
    assert "next session" not in json.dumps(observation)
    _check_m2_flag_and_interpretation(bundle, measurement)
    fhir.validate_bundle(bundle)  # fhir.resources accepts the RiskAssessment and the Flag


def test_h1_no_risk_assessment_when_item9_is_zero(db_session, therapist, client_record):
    row = _session_with_phq9(db_session, therapist, client_record, item9=0)
    bundle = fhir.build_bundle(client_record, [], [row])
    assert not any(e["resource"]["resourceType"] == "RiskAssessment" for e in bundle["entry"])
    assert not any(e["resource"]["resourceType"] == "Flag" for e in bundle["entry"])  # M2: no risk flag either
    observation = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    assert "POS" not in json.dumps(observation)




def test_h1_session_and_client_pages_show_the_prompt(web_browser, web, therapist, client_record, db_session):
    row = _session_with_phq9(db_session, therapist, client_record, item9=1)
    db_session.commit()
    assert web_browser.log_in(therapist.username, web.password).status_code == 303
    session_page = web_browser.get(f"/clients/{client_record.id}/sessions/{row.id}")
    assert session_page.status_code == 200
    assert 'role="alert"' in session_page.text and "before the person leaves this session" in session_page.text
    client_page = web_browser.get(f"/clients/{client_record.id}")
    assert "Safety item flagged" in client_page.text and "before the person leaves this session" in client_page.text


def test_h1_pages_stay_quiet_without_a_flag(web_browser, web, therapist, client_record, db_session):
    row = _session_with_phq9(db_session, therapist, client_record, item9=0)
    db_session.commit()
    assert web_browser.log_in(therapist.username, web.password).status_code == 303
    assert "before the person leaves" not in web_browser.get(f"/clients/{client_record.id}/sessions/{row.id}").text
    assert "Safety item flagged" not in web_browser.get(f"/clients/{client_record.id}").text


def test_h1_dashboard_lists_recent_flags_only_for_the_owner(web_browser, web, therapist, client_record, db_session,
                                                        make_therapist):
    _session_with_phq9(db_session, therapist, client_record, item9=3, session_date=dt.datetime.now(dt.UTC).date())
    make_therapist("other_therapist")
    db_session.commit()
    assert web_browser.log_in(therapist.username, web.password).status_code == 303
    page = web_browser.get("/").text
    assert "Safety items flagged" in page and client_record.code in page
    assert "before the person leaves this session" in page
    web_browser.post("/logout", data={"csrf_token": web_browser.csrf("/")})
    web_browser.cookies.clear()
    assert web_browser.log_in("other_therapist", web.password).status_code == 303
    assert "Safety items flagged" not in web_browser.get("/").text


def test_h1_old_flags_leave_the_dashboard(db_session, therapist, client_record):
    from cadenza.clinic import dashboard

    _session_with_phq9(db_session, therapist, client_record, item9=1)  # dated 2026-12-01
    assert len(dashboard.flagged_safety_items(db_session, actor=therapist, today=dt.date(2026, 12, 6))) == 1
    assert dashboard.flagged_safety_items(db_session, actor=therapist, today=dt.date(2027, 1, 6)) == []
