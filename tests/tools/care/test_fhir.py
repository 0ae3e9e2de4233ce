"""Care documents and questionnaire answers in the FHIR export (clinical review M4, M11). The official R4
JSON-schema check of the same resources is tests/clinic/test_fhir_json_schema.py."""

from __future__ import annotations

import base64
import datetime as dt
import json

from cadenza.clinic import service
from cadenza.clinic.fhir import export_client_bundle
from cadenza.clinic.service import MeasurementInput
from cadenza.tools.care import actions as care

DAY = dt.date(2026, 11, 2)


def _bundle(db, therapist, client) -> dict:
    return json.loads(export_client_bundle(db, actor=therapist, client_id=client.id))


def _by_id(bundle: dict) -> dict[str, dict]:
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in bundle["entry"]}


def _references(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for value in node.values() for r in _references(value)]
    if isinstance(node, list):
        return [r for value in node for r in _references(value)]
    return []


def test_m4_questionnaire_answers_travel_as_a_response_the_observation_is_derived_from(db_session, therapist,
                                                                                       client_record):
    service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=DAY, minutes=30,
                           intervention_code="receptive_listening",
                           measurements=[MeasurementInput("phq9", items=[1, 2, 1, 1, 0, 0, 1, 0, 3]),
                                         MeasurementInput("stai6", items=[3, 2, 1, 3, 2, 3]),
                                         MeasurementInput("nrs_pain", value=4)])
    bundle = _bundle(db_session, therapist, client_record)
    resources = _by_id(bundle)
    assert set(_references(bundle)) <= set(resources)
    observations = [r for r in resources.values() if r["resourceType"] == "Observation"]
    phq9 = next(o for o in observations if o["code"]["coding"][0]["code"] == "44261-6")
    response = resources[phq9["derivedFrom"][0]["reference"]]
    assert response["questionnaire"].endswith("/Questionnaire/questionnaire-phq9")
    answers = {i["linkId"]: i["answer"][0]["valueCoding"] for i in response["item"]}
    assert answers["q9"]["code"] == "LA6571-9" and answers["q9"]["extension"][0]["valueDecimal"] == 3
    assert response["authored"] == "2026-11-02"  # when it was measured, as the Observation (W1)
    questionnaire = resources["Questionnaire/questionnaire-phq9"]
    assert questionnaire["code"][0]["code"] == "44249-1" and questionnaire["item"][8]["code"][0]["code"] == "44260-8"
    # The licensed STAI-6: item names only, with its licence as copyright; no response for a single value.
    stai = resources["Questionnaire/questionnaire-stai6"]
    assert [i["text"] for i in stai["item"]] == ["calm", "tense", "upset", "relaxed", "content", "worried"]
    assert "Mind Garden" in stai["copyright"]
    nrs = next(o for o in observations if o["code"]["coding"][0]["code"] == "72514-3")
    assert "derivedFrom" not in nrs
    assert sum(r["resourceType"] == "QuestionnaireResponse" for r in resources.values()) == 2


def test_m4_m11_every_care_document_is_exported_and_every_reference_resolves(db_session, therapist, client_record):
    from cadenza.tools.home import actions as home

    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="phq9",
                               baseline=14, target=7)
    write = dict(actor=therapist, client=client_record)
    referral = care.write_document(db_session, **write, kind="referral", document_date=DAY,
                                   content={"referred_by": "psychiatrist", "reason": "depression", "decision": "accepted"})
    consent = care.write_document(db_session, **write, kind="consent", document_date=DAY,
                                  content={"explained": "aims and risks", "consented_by": "client"})
    care.sign_document(db_session, **write, document_id=consent.id)
    plan = care.write_document(db_session, **write, kind="plan", document_date=DAY, content={
        "goal_ids": [goal.id], "interventions": ["songwriting"], "sessions_per_week": 1, "minutes_per_session": 60})
    home.assign_task(db_session, actor=therapist, client=client_record, kind="ras_walk", title="Walk",
                     days_per_week=3, minutes=10, ratings=[], tempo_bpm=100)
    resources = _by_id(bundle := _bundle(db_session, therapist, client_record))
    assert set(_references(bundle)) <= set(resources)
    request = resources[f"ServiceRequest/referral-{referral.id}"]
    assert request["status"] == "active" and request["requester"] == {"display": "psychiatrist"}
    given = resources[f"Consent/consent-{consent.id}"]
    assert given["status"] == "active" and given["performer"] == [{"reference": f"Patient/client-{client_record.id}"}]
    assert given["extension"][0]["extension"][2]["valueString"] == consent.content_sha256
    care_plan = resources[f"CarePlan/care-plan-{plan.id}"]
    assert care_plan["status"] == "active" and care_plan["goal"] == [{"reference": f"Goal/goal-{goal.id}"}]
    assert care_plan["supportingInfo"] == [{"reference": f"ServiceRequest/referral-{referral.id}"}]
    assert care_plan["activity"][0]["detail"]["scheduledTiming"]["repeat"]["frequency"] == 1
    assert f"CarePlan/home-programme-{client_record.id}" in resources  # the home programme's, apart

    discharge = care.write_document(db_session, **write, kind="discharge", document_date=dt.date(2026, 12, 1),
                                    content={"reason": "goals_met", "criteria": "PHQ-9 under 5", "summary": "well"})
    care.withdraw_consent(db_session, **write, document_id=consent.id, withdrawn_date=dt.date(2026, 12, 1))
    resources = _by_id(_bundle(db_session, therapist, client_record))
    assert resources[f"ServiceRequest/referral-{referral.id}"]["status"] == "completed"
    assert resources[f"Consent/consent-{consent.id}"]["status"] == "inactive"
    assert resources[f"Consent/consent-{consent.id}"]["provision"]["period"]["end"] == "2026-12-01"
    closed = resources[f"CarePlan/care-plan-{plan.id}"]
    assert closed["status"] == "completed" and closed["period"]["end"] == "2026-12-01"
    summary = resources[f"DocumentReference/discharge-{discharge.id}"]
    assert summary["type"]["coding"][0]["code"] == "18842-5" and summary["docStatus"] == "preliminary"
    text = base64.b64decode(summary["content"][0]["attachment"]["data"]).decode()
    assert "Discharge criteria: PHQ-9 under 5" in text and "Reason: goals met" in text
