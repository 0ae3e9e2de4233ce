"""The care documents in FHIR R4 (clinical review M4): a referral is a ``ServiceRequest``, an informed
consent a ``Consent``, a music-therapy assessment a ``ClinicalImpression``, a treatment plan a ``CarePlan``
(its goals the record's Goals; id ``care-plan-<id>``, apart from the home programme's
``home-programme-<client>``) and a discharge summary a ``DocumentReference`` (LOINC 18842-5) whose text
is attached. Called by the record's export through the manifest's ``fhir`` hook; the client is already
authorised. References point only at resources in the same Bundle (a clinician is named by display).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadenza.clinic.models import Client, Goal
from cadenza.tools.care import records
from cadenza.tools.care.records import CareDocument

BASE = "https://cadenza.example.org/fhir"
INTERVENTION_SYSTEM = f"{BASE}/CodeSystem/intervention"
DOMAIN_SYSTEM = f"{BASE}/CodeSystem/care-assessment-domain"
RATING_SYSTEM = f"{BASE}/CodeSystem/care-assessment-rating"
DISCHARGE_REASON_SYSTEM = f"{BASE}/CodeSystem/discharge-reason"
SIGNATURE_URL = f"{BASE}/StructureDefinition/care-document-signature"
LOINC = "http://loinc.org"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# LOINC 59284-0 "Patient Consent" (the FHIR R4 Consent examples' category); 18842-5 "Discharge summary".
CONSENT_CATEGORY = {"system": LOINC, "code": "59284-0", "display": "Patient Consent"}
DISCHARGE_SUMMARY = {"system": LOINC, "code": "18842-5", "display": "Discharge summary"}
MUSIC_THERAPY = {"text": "Music therapy"}


def _ref(kind: str, rid: str) -> dict[str, str]:
    return {"reference": f"{kind}/{rid}"}


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _signature(doc: CareDocument) -> list[dict[str, Any]]:
    if doc.signed_at is None:
        return []
    signer = doc.signed_by.username if doc.signed_by is not None else f"therapist-{doc.signed_by_id}"
    return [{"url": SIGNATURE_URL, "extension": [
        {"url": "signedAt", "valueDateTime": _instant(doc.signed_at)},
        {"url": "signedBy", "valueString": signer},
        {"url": "sha256", "valueString": doc.content_sha256 or ""}]}]


def _addenda(doc: CareDocument) -> list[dict[str, Any]]:
    return [{"authorString": a.author.username if a.author is not None else f"therapist-{a.author_id}",
             "time": _instant(a.created_at), "text": f"Addendum: {a.text}"} for a in doc.addenda]


def _author(doc: CareDocument) -> dict[str, str]:
    return {"display": doc.author.username if doc.author is not None else f"therapist-{doc.author_id}"}


def _common(doc: CareDocument, resource_type: str, rid: str) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": resource_type, "id": rid}
    if doc.signed_at is not None:
        resource["extension"] = _signature(doc)
    return resource


def _service_request(doc: CareDocument, pid: str, discharged: bool) -> dict[str, Any]:
    c = doc.content
    status = {"pending": "active", "accepted": "active", "declined": "revoked"}[c["decision"]]
    if discharged and c["decision"] == "accepted":
        status = "completed"
    resource = _common(doc, "ServiceRequest", f"referral-{doc.id}")
    resource.update({
        "status": status, "intent": "order", "code": MUSIC_THERAPY, "subject": _ref("Patient", pid),
        "authoredOn": doc.document_date.isoformat(), "requester": {"display": c["referred_by"]},
        "reasonCode": [{"text": c["reason"]}],
    })
    notes = ([{"text": f"Decision: {c['decision']}" + (f". {c['note']}" if c["note"] else "")}] + _addenda(doc))
    resource["note"] = notes
    return resource


def _consent(doc: CareDocument, pid: str) -> dict[str, Any]:
    c = doc.content
    if c["agreed"]:
        status = "inactive" if doc.withdrawn_date is not None else "active"
    else:
        status = "rejected"
    performer = (_ref("Patient", pid) if c["consented_by"] == "client"
                 else {"display": f"legal representative ({c['representative_role']})"})
    provision: dict[str, Any] = {"type": "permit" if c["agreed"] else "deny",
                                 "period": {"start": doc.document_date.isoformat()}}
    if doc.withdrawn_date is not None:
        provision["period"]["end"] = doc.withdrawn_date.isoformat()
    resource = _common(doc, "Consent", f"consent-{doc.id}")
    resource.update({
        "status": status,
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "treatment", "display": "Treatment"}]},
        "category": [{"coding": [CONSENT_CATEGORY]}],
        "patient": _ref("Patient", pid), "dateTime": doc.document_date.isoformat(), "performer": [performer],
        "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTIN", "display": "opt-in"}],
                       "text": "Informed consent to music therapy: " + c["explained"]},
        "provision": provision,
    })
    return resource


def _clinical_impression(doc: CareDocument, pid: str) -> dict[str, Any]:
    c = doc.content
    resource = _common(doc, "ClinicalImpression", f"assessment-{doc.id}")
    findings = [{"itemCodeableConcept": {
        "coding": [{"system": DOMAIN_SYSTEM, "code": domain}, {"system": RATING_SYSTEM, "code": entry["rating"]}],
        "text": f"{domain.replace('_', ' ')}: {entry['rating'].replace('_', ' ')}"},
        **({"basis": entry["note"]} if entry["note"] else {})} for domain, entry in c["domains"].items()]
    notes = [{"text": f"Music preference: {item}"} for item in c["music_preferences"]]
    if c["recommendation"]:
        notes.append({"text": f"Recommendation: {c['recommendation']}"})
    resource.update({
        "status": "completed", "code": {"text": "Music therapy assessment"}, "subject": _ref("Patient", pid),
        "effectiveDateTime": doc.document_date.isoformat(), "date": doc.document_date.isoformat(),
        "assessor": _author(doc), "summary": c["summary"],
        **({"finding": findings} if findings else {}),
        **({"note": notes + _addenda(doc)} if notes or doc.addenda else {}),
    })
    return resource


def _evidence_text(code: str) -> str:
    """The intervention's evidence in words: its supporting entries with DOI and caveat, or the catalog's
    note saying why there are none, and what it was tested for without benefit."""
    from cadenza.evidence.query import evidence_for_intervention, get_intervention

    supporting, without = evidence_for_intervention(code)
    parts = [f"{e.design} on {e.condition} ({e.year}, doi {e.doi}); caveat: {e.caveat}" for e in supporting]
    text = "Evidence: " + " | ".join(parts) if parts else get_intervention(code).evidence_note
    if without:
        text += " Tested without benefit: " + "; ".join(f"{e.condition} ({e.year})" for e in without) + "."
    return text


def _care_plan(doc: CareDocument, pid: str, *, status: str, goal_ids: set[int], end: dt.date | None,
               referral_ids: list[str]) -> dict[str, Any]:
    from cadenza.evidence.query import get_intervention

    c = doc.content
    activities = []
    for code in c["interventions"]:
        intervention = get_intervention(code)
        activities.append({"detail": {
            "kind": "ServiceRequest",
            "code": {"coding": [{"system": INTERVENTION_SYSTEM, "code": code, "display": intervention.name}],
                     "text": intervention.name},
            "status": "in-progress" if status == "active" else "completed" if status == "completed" else "stopped",
            "scheduledTiming": {"repeat": {"frequency": c["sessions_per_week"], "period": 1, "periodUnit": "wk",
                                           "duration": c["minutes_per_session"], "durationUnit": "min"}},
            "description": f"{intervention.name}. {_evidence_text(code)}",
        }})
    period: dict[str, Any] = {"start": doc.document_date.isoformat()}
    if end is not None:
        period["end"] = end.isoformat()
    resource = _common(doc, "CarePlan", f"care-plan-{doc.id}")
    linked = [g for g in c["goal_ids"] if g in goal_ids]
    notes = [{"text": f"Objective: {o}"} for o in c["objectives"]]
    if c["review_date"]:
        notes.append({"text": f"Review by {c['review_date']}"})
    resource.update({
        "status": status, "intent": "plan", "category": [{"text": "Music therapy treatment plan"}],
        "title": "Music therapy treatment plan", "subject": _ref("Patient", pid), "period": period,
        "created": doc.document_date.isoformat(), "author": _author(doc),
        "description": "Music therapy is an adjunct to care, not a cure.",
        **({"goal": [_ref("Goal", f"goal-{g}") for g in linked]} if linked else {}),
        "activity": activities,
        **({"note": notes + _addenda(doc)} if notes or doc.addenda else {}),
    })
    if referral_ids:
        resource["supportingInfo"] = [_ref("ServiceRequest", r) for r in referral_ids]
    return resource


def _discharge(doc: CareDocument, pid: str, plan_ids: list[str]) -> dict[str, Any]:
    c = doc.content
    lines = [f"Discharge summary ({doc.document_date.isoformat()})", f"Reason: {c['reason'].replace('_', ' ')}",
             f"Discharge criteria: {c['criteria']}", f"Summary: {c['summary']}"]
    if c["recommendations"]:
        lines.append(f"Recommendations: {c['recommendations']}")
    lines += [f"Addendum ({_instant(a.created_at)}): {a.text}" for a in doc.addenda]
    text = "\n".join(lines)
    resource = _common(doc, "DocumentReference", f"discharge-{doc.id}")
    resource.update({
        "status": "current", "docStatus": "final" if doc.is_signed else "preliminary",
        "type": {"coding": [DISCHARGE_SUMMARY], "text": "Music therapy discharge summary"},
        "subject": _ref("Patient", pid), "date": _instant(doc.signed_at or doc.created_at),
        "author": [_author(doc)], "description": c["summary"][:1000],
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "language": "en",
                                    "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                                    "title": "Music therapy discharge summary",
                                    "creation": doc.document_date.isoformat()}}],
        "context": {"period": {"end": doc.document_date.isoformat()},
                    **({"related": [_ref("CarePlan", p) for p in plan_ids]} if plan_ids else {})},
    })
    return resource


def resources(db: Session, client: Client, patient_id: str) -> list[dict[str, Any]]:
    documents = records.client_documents(db, client)
    if not documents:
        return []
    discharged = client.status == "discharged"
    goal_ids = set(db.scalars(select(Goal.id).where(Goal.client_id == client.id)))
    discharge = records.latest(documents, "discharge")
    referral_ids = [f"referral-{d.id}" for d in documents if d.kind == "referral"]
    plans = [d for d in documents if d.kind == "plan"]
    out: list[dict[str, Any]] = []
    plan_ids = []
    for doc in documents:
        if doc.kind == "referral":
            out.append(_service_request(doc, patient_id, discharged))
        elif doc.kind == "consent":
            out.append(_consent(doc, patient_id))
        elif doc.kind == "assessment":
            out.append(_clinical_impression(doc, patient_id))
        elif doc.kind == "plan":
            later = [p for p in plans if (p.document_date, p.id) > (doc.document_date, doc.id)]
            if later:  # superseded by the next plan
                status, end = "revoked", later[0].document_date
            elif discharged:
                status, end = "completed", discharge.document_date if discharge is not None else None
            elif client.status == "on_hold":
                status, end = "on-hold", None
            else:
                status, end = "active", None
            out.append(_care_plan(doc, patient_id, status=status, goal_ids=goal_ids, end=end,
                                  referral_ids=referral_ids))
            plan_ids.append(f"care-plan-{doc.id}")
    for doc in documents:
        if doc.kind == "discharge":
            out.append(_discharge(doc, patient_id, plan_ids))
    return out
