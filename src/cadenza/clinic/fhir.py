"""FHIR export of a client's record: a ``collection`` Bundle of Patient, Flag (safety flags), Condition,
Goal, Practitioner (the clinicians, with their qualification), Encounter, Procedure (the SOAP note; a
signed note's signature and addenda), Provenance (who signed a note, when), Observation,
Questionnaire and QuestionnaireResponse (questionnaire answers, :mod:`~cadenza.clinic.fhir_questionnaires`;
the Observation is ``derivedFrom`` them), and RiskAssessment plus Flag for a positive safety item (PHQ-9
item 9), with LOINC codes where an instrument has one and UCUM units.

Validation uses ``fhir.resources.R4B`` (FHIR 4.3): the ``fhir.resources`` package defaults to R5, which
R4-era servers reject, while the R4B models of the resources used here have the same elements as R4
(4.0.1). Every resource is built as plain JSON-ready dicts and validated as a whole Bundle.

Codes without a standard (Cadenza's local instrument and intervention codes) use the code systems
under :data:`CADENZA_FHIR_BASE`; every Observation also carries the local instrument code, so a round
trip recovers the instrument even when a LOINC code is present.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadenza.clinic import fhir_questionnaires
from cadenza.clinic.instruments import LOCAL_CODE_SYSTEM, get_instrument, safety_prompt
from cadenza.clinic.models import Client, Goal, Measurement, Therapist, TherapySession, utcnow
from cadenza.clinic.access import get_client_for_actor
from cadenza.clinic.audit import audit
from cadenza.errors import ParameterError

CADENZA_FHIR_BASE = "https://cadenza.example.org/fhir"
INTERVENTION_SYSTEM = f"{CADENZA_FHIR_BASE}/CodeSystem/intervention"
ITEM_SYSTEM = f"{CADENZA_FHIR_BASE}/CodeSystem/instrument-item"
# Context recorded with a value (not an item answer), e.g. the distance a timed walk was timed over.
CONTEXT_SYSTEM = f"{CADENZA_FHIR_BASE}/CodeSystem/measurement-context"
TIMED_DISTANCE_CODE = "timed-distance"
GOAL_BASELINE_URL = f"{CADENZA_FHIR_BASE}/StructureDefinition/goal-baseline"
GOAL_DIRECTION_URL = f"{CADENZA_FHIR_BASE}/StructureDefinition/goal-direction"
SAFETY_FOLLOWUP_URL = f"{CADENZA_FHIR_BASE}/StructureDefinition/safety-followup"
NOTE_SIGNATURE_URL = f"{CADENZA_FHIR_BASE}/StructureDefinition/note-signature"
ADDENDUM_SHA256_URL = f"{CADENZA_FHIR_BASE}/StructureDefinition/addendum-sha256"
INTERVENTION_MINUTES_URL = f"{CADENZA_FHIR_BASE}/StructureDefinition/intervention-minutes"
# ASTM E1762-95 signature type "Author's Signature", the code FHIR's signature-type value set uses.
SIGNATURE_TYPE = {"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1",
                  "display": "Author's Signature"}
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
# Clinical review W5. The SNOMED CT concept "Music therapy (regime/therapy)" exists as a child of
# 302257006 "Arts-based therapy" (tx-dev.fhir.org, SNOMED CT core module), but its own SCTID could not be
# confirmed from a public source, so Procedure.code keeps the local intervention code alone and the
# confirmed parent classifies the procedure in Procedure.category. (Beware 226211001: "Pureed diet".)
ARTS_BASED_THERAPY = {"system": SNOMED, "code": "302257006", "display": "Arts-based therapy"}
# FHIR's core extension for the score of a coded answer (R4: ordinalValue).
ORDINAL_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
# FHIR core extension on Flag pointing at the record that supports it (clinical review M2).
FLAG_DETAIL_URL = "http://hl7.org/fhir/StructureDefinition/flag-detail"
OBSERVATION_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
POSITIVE = {"system": OBSERVATION_INTERPRETATION, "code": "POS", "display": "Positive"}
SAFETY_FLAG_SYSTEM = f"{CADENZA_FHIR_BASE}/CodeSystem/safety-flag"
THERAPIST_ID_SYSTEM = f"{CADENZA_FHIR_BASE}/therapist"
QUALIFICATION_SYSTEM = f"{CADENZA_FHIR_BASE}/CodeSystem/qualification"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
PRIMARY_PERFORMER = {"system": PARTICIPATION_TYPE, "code": "PPRF", "display": "primary performer"}
PROVENANCE_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
# Credentials we can name in full, with the body that grants them; any other is exported as its text.
KNOWN_QUALIFICATIONS = {
    "MT-BC": ("Music Therapist-Board Certified", "Certification Board for Music Therapists"),
}
FHIR_VERSION = "4.3.0 (R4B; R4-compatible for these resources)"


def _ref(kind: str, rid: str) -> dict[str, str]:
    return {"reference": f"{kind}/{rid}"}


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _instrument_concept(code: str) -> dict[str, Any]:
    instrument = get_instrument(code)
    codings = []
    if instrument.loinc:
        # LOINC's own display (clinical review W3); without a confirmed one, no display rather than ours.
        loinc = {"system": LOINC, "code": instrument.loinc}
        if instrument.loinc_display:
            loinc["display"] = instrument.loinc_display
        codings.append(loinc)
    codings.append({"system": LOCAL_CODE_SYSTEM, "code": instrument.code, "display": instrument.name})
    return {"coding": codings, "text": instrument.name}


def _patient(client: Client) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": f"client-{client.id}",
        "identifier": [{"system": f"{CADENZA_FHIR_BASE}/client-code/therapist-{client.therapist_id}",
                        "value": client.code}],
    }
    if client.birth_year is not None:
        patient["birthDate"] = f"{client.birth_year:04d}"
    return patient


def _conditions(client: Client, patient_id: str) -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "Condition",
            "id": f"condition-{client.id}-{index}",
            "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
            "code": {"text": condition},
            "subject": _ref("Patient", patient_id),
        }
        for index, condition in enumerate(client.conditions or [], start=1)
    ]


def _flags(client: Client, patient_id: str) -> list[dict[str, Any]]:
    # Safety flags travel as FHIR Flags so a receiving system shows them before anyone plays music.
    return [
        {
            "resourceType": "Flag",
            "id": f"flag-{client.id}-{flag.replace('_', '-')}",
            "status": "active",
            "category": [{"coding": [{"system": FLAG_CATEGORY, "code": "safety"}]}],
            "code": {"coding": [{"system": SAFETY_FLAG_SYSTEM, "code": flag}], "text": flag.replace("_", " ")},
            "subject": _ref("Patient", patient_id),
        }
        for flag in client.safety_flags or []
    ]


GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
_ACHIEVEMENT_DISPLAYS = {"in-progress": "In Progress", "improving": "Improving", "worsening": "Worsening",
                         "no-change": "No Change", "achieved": "Achieved"}


def goal_achievement(goal: Goal, values: Sequence[tuple[dt.date, float]]) -> dict[str, Any]:
    """``Goal.achievementStatus`` from the measurements towards the goal (clinical review W6): ``achieved``
    when the latest value meets the target (the progress page's rule), else ``improving``/``worsening``/
    ``no-change`` by the latest value against the baseline in the goal's direction, and ``in-progress``
    before the first measurement."""
    from cadenza.clinic.progress import compute_progress

    progress = compute_progress(goal, values)
    if not progress.points:
        code = "in-progress"
    elif progress.target_met:
        code = "achieved"
    elif progress.improvement > 0:
        code = "improving"
    elif progress.improvement < 0:
        code = "worsening"
    else:
        code = "no-change"
    return {"coding": [{"system": GOAL_ACHIEVEMENT, "code": code, "display": _ACHIEVEMENT_DISPLAYS[code]}]}


def _goal(goal: Goal, patient_id: str, observation_ids: list[str],
          values: Sequence[tuple[dt.date, float]] = ()) -> dict[str, Any]:
    instrument = get_instrument(goal.instrument_code)
    target: dict[str, Any] = {
        "measure": _instrument_concept(goal.instrument_code),
        "detailQuantity": _quantity(goal.target, instrument.unit),
    }
    if goal.target_date is not None:
        target["dueDate"] = goal.target_date.isoformat()
    resource: dict[str, Any] = {
        "resourceType": "Goal",
        "id": f"goal-{goal.id}",
        "lifecycleStatus": "active",  # the therapist closes a goal, not a measurement
        "achievementStatus": goal_achievement(goal, values),
        "description": {"text": goal.description or f"{instrument.name}: {goal.direction} to {goal.target:g}"},
        "subject": _ref("Patient", patient_id),
        "target": [target],
        "extension": [
            {"url": GOAL_BASELINE_URL, "valueQuantity": _quantity(goal.baseline, instrument.unit)},
            {"url": GOAL_DIRECTION_URL, "valueCode": goal.direction},
        ],
    }
    if goal.created_at is not None:
        resource["startDate"] = goal.created_at.date().isoformat()
    if observation_ids:
        resource["outcomeReference"] = [_ref("Observation", oid) for oid in observation_ids]
    return resource


# v3-ActCode encounter classes (official displays) and the words of a session's setting that choose them,
# tried in this order (clinical review W2: NICU and ward sessions are inpatient encounters, not AMB).
ENCOUNTER_CLASSES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("IMP", "inpatient encounter",
     ("nicu", "neonatal", "intensive care", "icu", "picu", "inpatient", "ward", "bedside")),
    ("AMB", "ambulatory", ("outpatient", "clinic", "day centre", "day center", "school", "community")),
    ("VR", "virtual", ("telehealth", "telemedicine", "video", "virtual", "online", "remote", "phone")),
    ("NONAC", "inpatient non-acute",
     ("nursing home", "care home", "residential", "long-term care", "rehabilitation unit")),
    ("HH", "home health", ("home",)),
    ("IMP", "inpatient encounter", ("hospital",)),
)
NICU_FLAG = "nicu_infant"


def encounter_class(setting: str, *, safety_flags: Sequence[str] = ()) -> dict[str, str]:
    """The v3-ActCode class of a session from its setting: a NICU infant's sessions, and NICU, ward or
    other inpatient settings, are ``IMP``; home ``HH``; telehealth ``VR``; care homes ``NONAC``;
    everything else (clinic, unknown) ``AMB``.

    >>> encounter_class("Ward 4B")["code"], encounter_class("home")["code"], encounter_class("")["code"]
    ('IMP', 'HH', 'AMB')
    >>> encounter_class("", safety_flags=["nicu_infant"])["code"]
    'IMP'
    """
    text = " ".join(setting.lower().split())
    if NICU_FLAG in safety_flags:
        code, display = "IMP", "inpatient encounter"
    else:
        code, display = next(((c, d) for c, d, words in ENCOUNTER_CLASSES
                              if any(re.search(rf"\b{re.escape(w)}", text) for w in words)), ("AMB", "ambulatory"))
    return {"system": ACT_CODE, "code": code, "display": display}


def _practitioner_ref(therapist_id: int, therapist: Therapist | None = None) -> dict[str, str]:
    ref = _ref("Practitioner", f"practitioner-{therapist_id}")
    if therapist is not None:
        ref["display"] = therapist.username
    return ref


def _practitioner(therapist: Therapist) -> dict[str, Any]:
    """The clinician as a Practitioner (clinical review M3): the account name as identifier, and the
    recorded credential (e.g. MT-BC) as qualification. No personal name: the export names accounts."""
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": f"practitioner-{therapist.id}",
        "identifier": [{"system": THERAPIST_ID_SYSTEM, "value": therapist.username}],
        "active": bool(therapist.active),
    }
    if therapist.qualification:
        code: dict[str, Any] = {"text": therapist.qualification}
        qualification: dict[str, Any] = {"code": code}
        if therapist.qualification in KNOWN_QUALIFICATIONS:
            display, issuer = KNOWN_QUALIFICATIONS[therapist.qualification]
            code["coding"] = [{"system": QUALIFICATION_SYSTEM, "code": therapist.qualification, "display": display}]
            qualification["issuer"] = {"display": issuer}
        resource["qualification"] = [qualification]
    return resource


def _held_by(row: TherapySession) -> dict[str, str] | None:
    """The Practitioner who held the session (None for a row built without its therapist loaded, and for a
    client-recorded session, which no practitioner held: :func:`_performer`)."""
    if row.is_client_recorded:
        return None
    return None if row.therapist is None else _practitioner_ref(row.therapist.id, row.therapist)


def _performer(row: TherapySession, patient_id: str) -> dict[str, str] | None:
    """Who did what the session records: the practitioner who held it, or for a client-recorded session the
    patient themself (patient-reported; a caregiver may have helped on the device)."""
    return _ref("Patient", patient_id) if row.is_client_recorded else _held_by(row)


def _encounter_ref(row: TherapySession) -> dict[str, str] | None:
    """The session's Encounter; a client-recorded session has none (no one met the patient)."""
    return None if row.is_client_recorded else _ref("Encounter", f"encounter-{row.id}")


def _encounter(row: TherapySession, patient_id: str, client: Client) -> dict[str, Any]:
    held_by = _held_by(row)
    return {
        "resourceType": "Encounter",
        "id": f"encounter-{row.id}",
        "status": "finished",
        "class": encounter_class(row.setting or "", safety_flags=client.safety_flags or ()),
        **({"participant": [{"type": [{"coding": [PRIMARY_PERFORMER]}], "individual": held_by}]} if held_by else {}),
        "subject": _ref("Patient", patient_id),
        "period": {"start": row.session_date.isoformat(), "end": row.session_date.isoformat()},
        "length": {"value": row.minutes, "unit": "min", "system": UCUM, "code": "min"},
        **({"serviceType": {"text": row.setting}} if row.setting else {}),
    }


def _procedure_id(row: TherapySession, position: int) -> str:
    # The first intervention keeps the id every session's Procedure had before sessions held several.
    return f"procedure-{row.id}" if position == 0 else f"procedure-{row.id}-{position}"


def _procedures(row: TherapySession, patient_id: str) -> list[dict[str, Any]]:
    """One Procedure per intervention of the session, each with its minutes. The first carries the note,
    the signature and the addenda; the others are ``partOf`` it."""
    listed = row.intervention_minutes
    first = _procedure(row, patient_id, *listed[0])
    others = []
    for position, (code, minutes) in enumerate(listed[1:], start=1):
        resource = _intervention_procedure(row, patient_id, code, minutes, position)
        resource["partOf"] = [_ref("Procedure", first["id"])]
        others.append(resource)
    return [first, *others]


def _intervention_procedure(row: TherapySession, patient_id: str, code: str, minutes: int,
                            position: int) -> dict[str, Any]:
    from cadenza.evidence.query import get_intervention

    intervention = get_intervention(code)
    return {
        "resourceType": "Procedure",
        "id": _procedure_id(row, position),
        "meta": {"versionId": str(row.version)},  # the note's version, as the API reports it
        "extension": [{"url": INTERVENTION_MINUTES_URL,
                       "valueDuration": {"value": minutes, "unit": "min", "system": UCUM, "code": "min"}}],
        "status": "completed",
        "category": {"coding": [ARTS_BASED_THERAPY], "text": "Music therapy"},
        "code": {"coding": [{"system": INTERVENTION_SYSTEM, "code": intervention.code, "display": intervention.name}],
                 "text": f"Music therapy ({intervention.mode}): {intervention.name}"},
        "subject": _ref("Patient", patient_id),
        **({"encounter": encounter} if (encounter := _encounter_ref(row)) else {}),
        "performedDateTime": row.session_date.isoformat(),
        **({"performer": [{"actor": performer}]} if (performer := _performer(row, patient_id)) else {}),
        # patient-reported: the patient recorded it and stands behind it (Procedure.recorder, .asserter)
        **({"recorder": performer, "asserter": performer} if row.is_client_recorded else {}),
    }


def _procedure(row: TherapySession, patient_id: str, code: str, minutes: int) -> dict[str, Any]:
    resource = _intervention_procedure(row, patient_id, code, minutes, 0)
    soap = [("S", row.soap_subjective), ("O", row.soap_objective), ("A", row.soap_assessment), ("P", row.soap_plan)]
    notes: list[dict[str, Any]] = [{"text": f"{letter}: {text}"} for letter, text in soap if text]
    if row.signed_at is not None:
        # The signature travels with the note it covers; addenda follow as dated, attributed notes
        # carrying their own chained hash, so a receiver can tell the signed note from later corrections.
        resource["extension"].append({"url": NOTE_SIGNATURE_URL, "extension": [
            {"url": "signedAt", "valueDateTime": _instant(row.signed_at)},
            {"url": "signedBy", "valueString": _signer(row)},
            {"url": "sha256", "valueString": row.content_sha256 or ""},
        ]})
        for addendum in row.addenda:
            notes.append({
                **({"authorReference": _practitioner_ref(addendum.author.id, addendum.author)} if addendum.author
                   else {"authorString": f"therapist-{addendum.author_id}"}),
                "time": _instant(addendum.created_at),
                "text": f"Addendum ({_instant(addendum.created_at)}): {addendum.text}",
                "extension": [{"url": ADDENDUM_SHA256_URL, "valueString": addendum.content_sha256}],
            })
    if notes:
        resource["note"] = notes
    return resource


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _signer(row: TherapySession) -> str:
    return row.signed_by.username if row.signed_by is not None else f"therapist-{row.signed_by_id}"


def _provenance(row: TherapySession) -> dict[str, Any]:
    """Who signed the session note and when, as FHIR Provenance with an author's signature."""
    who = {"display": _signer(row)}
    if row.signed_by is not None:
        who = {**_practitioner_ref(row.signed_by.id), **who}
    return {
        "resourceType": "Provenance",
        "id": f"provenance-{row.id}",
        "target": [_ref("Procedure", f"procedure-{row.id}")],
        "recorded": _instant(row.signed_at),
        "agent": [{"who": who}],
        "signature": [{"type": [SIGNATURE_TYPE], "when": _instant(row.signed_at), "who": who}],
    }


def _patient_reported(row: TherapySession, patient_id: str, procedures: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A client-recorded session as patient-reported: a Provenance whose author is the patient, over its
    Procedures and Observations (recorded on the patient's own device for a home task; no practitioner held
    it, so it carries no Encounter and no practitioner as performer)."""
    return {
        "resourceType": "Provenance",
        "id": f"provenance-client-recorded-{row.id}",
        "target": [_ref("Procedure", p["id"]) for p in procedures]
                  + [_ref("Observation", f"observation-{m.id}") for m in row.measurements],
        "recorded": _instant(row.created_at),
        "activity": {"coding": [{"system": DATA_OPERATION, "code": "CREATE", "display": "create"}],
                     "text": "recorded by the client on their own device (home task)"},
        "agent": [{"type": {"coding": [{"system": PROVENANCE_PARTICIPANT, "code": "author", "display": "Author"}],
                            "text": "client-recorded (patient-reported)"},
                   "who": _ref("Patient", patient_id)}],
    }


def _item_component(instrument: Any, item: str, answer: int) -> dict[str, Any]:
    """One item answer: the LOINC question code and LOINC answer code where the instrument has them
    (clinical review W4), always with the local item code; the score travels as the answer's
    ``ordinalValue`` (or as ``valueInteger`` without LOINC answers)."""
    local = {"system": ITEM_SYSTEM, "code": f"{instrument.code}.{item}"}
    index = instrument.items.index(item) if instrument.items and item in instrument.items else None
    code: dict[str, Any] = {"coding": [local]}
    if index is not None and instrument.item_loinc:
        code["coding"].insert(0, {"system": LOINC, "code": instrument.item_loinc[index]})
    if index is not None and instrument.item_texts:
        code["text"] = instrument.item_texts[index]
    if instrument.answer_loinc and instrument.item_min <= answer <= instrument.item_max:
        la_code, display = instrument.answer_loinc[answer - instrument.item_min]
        value = {"coding": [{"system": LOINC, "code": la_code, "display": display,
                             "extension": [{"url": ORDINAL_VALUE_URL, "valueDecimal": answer}]}],
                 "text": display}
        return {"code": code, "valueCodeableConcept": value}
    return {"code": code, "valueInteger": answer}


def _effective(m: Measurement, row: TherapySession) -> str:
    """When the value was measured (clinical review W1): its own time when one was recorded, else the
    session's date, the Encounter's period. Never the moment it was typed."""
    if m.measured_at is not None:
        return m.measured_at.astimezone(dt.UTC).isoformat()
    return row.session_date.isoformat()


def _observation(m: Measurement, row: TherapySession, patient_id: str) -> dict[str, Any]:
    instrument = get_instrument(m.instrument_code)
    category = "survey" if instrument.unit in ("{score}", "mm") else "exam"
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"observation-{m.id}",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}],
        "code": _instrument_concept(m.instrument_code),
        "subject": _ref("Patient", patient_id),
        **({"encounter": encounter} if (encounter := _encounter_ref(row)) else {}),
        "effectiveDateTime": _effective(m, row),
        **({"performer": [performer]} if (performer := _performer(row, patient_id)) else {}),
        "valueQuantity": _quantity(m.value, m.unit),
    }
    if m.severity_band:
        resource["interpretation"] = [{"text": m.severity_band}]
    if m.item_responses:
        resource["component"] = [_item_component(instrument, item, int(answer))
                                 for item, answer in m.item_responses.items()]
        # The answers themselves travel as a QuestionnaireResponse (clinical review M4).
        resource["derivedFrom"] = [_ref("QuestionnaireResponse", f"qr-{m.id}")]
        if m.safety_followup and instrument.safety_item:
            # The flagged item itself carries a coded interpretation, "Positive" (clinical review M2).
            for item, component in zip(m.item_responses, resource["component"], strict=True):
                if item == instrument.safety_item:
                    component["interpretation"] = [{"coding": [POSITIVE], "text": "safety item positive"}]
    if instrument.loinc_panel is not None:
        # The questionnaire the total was scored from (the MII PRO profiles' pattern: the panel as method).
        code, display = instrument.loinc_panel
        resource["method"] = {"coding": [{"system": LOINC, "code": code, "display": display}], "text": instrument.name}
    if m.timed_distance_m is not None:
        # A timed-walk speed travels with the distance it was timed over (clinical review H2).
        resource["method"] = {"text": f"timed walk: speed = {m.timed_distance_m:g} m / time"}
        resource.setdefault("component", []).append({
            "code": {"coding": [{"system": CONTEXT_SYSTEM, "code": TIMED_DISTANCE_CODE, "display": "Timed distance"}],
                     "text": "Distance timed"},
            "valueQuantity": _quantity(m.timed_distance_m, "m"),
        })
    if m.safety_followup:
        resource["extension"] = [{"url": SAFETY_FOLLOWUP_URL, "valueBoolean": True}]
        resource["note"] = [{"text": safety_prompt(m.instrument_code)}]
        # Coded, so a receiver that ignores our extension still sees a positive risk screen (review M2).
        resource.setdefault("interpretation", []).append(
            {"coding": [POSITIVE], "text": "safety item positive: structured risk assessment needed now"})
    return resource


def _risk_flag(m: Measurement, row: TherapySession, patient_id: str) -> dict[str, Any]:
    """The flagged safety item as an active safety Flag (clinical review M2), the resource receiving systems
    show as an alert; its core ``flag-detail`` extension and the RiskAssessment's ``basis`` point at the
    Observation."""
    return {
        "resourceType": "Flag",
        "id": f"flag-risk-{m.id}",
        "extension": [{"url": FLAG_DETAIL_URL, "valueReference": _ref("Observation", f"observation-{m.id}")}],
        "status": "active",
        "category": [{"coding": [{"system": FLAG_CATEGORY, "code": "safety", "display": "Safety"}]}],
        "code": {"coding": [{"system": SAFETY_FLAG_SYSTEM, "code": f"{m.instrument_code}-safety-item"}],
                 "text": safety_prompt(m.instrument_code)},
        "subject": _ref("Patient", patient_id),
        "period": {"start": _effective(m, row)},
        **({"encounter": encounter} if (encounter := _encounter_ref(row)) else {}),
    }


def _risk_assessment(m: Measurement, row: TherapySession, patient_id: str) -> dict[str, Any]:
    """The flagged safety item as a RiskAssessment whose basis is the Observation (clinical review H1/M2):
    a receiving system sees the risk as a resource of its own, not only as an extension."""
    return {
        "resourceType": "RiskAssessment",
        "id": f"risk-{m.id}",
        "status": "preliminary",  # screening result; the structured assessment it calls for is still to come
        "subject": _ref("Patient", patient_id),
        **({"encounter": encounter} if (encounter := _encounter_ref(row)) else {}),
        "occurrenceDateTime": _effective(m, row),
        "basis": [_ref("Observation", f"observation-{m.id}")],
        "prediction": [{"outcome": {"text": "Suicide or self-harm risk (screening item positive)"},
                        "qualitativeRisk": {"text": "needs structured assessment"}}],
        "mitigation": safety_prompt(m.instrument_code),
    }


def _clinicians(sessions: Sequence[TherapySession]) -> list[Therapist]:
    """Every account the sessions refer to (who held them, signed them, wrote addenda), by id."""
    found: dict[int, Therapist] = {}
    for row in sessions:
        people = [None if row.is_client_recorded else row.therapist, row.signed_by if row.signed_at is not None else None]
        people += [a.author for a in row.addenda] if row.signed_at is not None else []
        for person in people:
            if person is not None:
                found.setdefault(person.id, person)
    return [found[k] for k in sorted(found)]


def build_bundle(
    client: Client,
    goals: Sequence[Goal],
    sessions: Sequence[TherapySession],
    *,
    timestamp: dt.datetime | None = None,
    tool_resources: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A FHIR Bundle (as a dict) of one client's record; pure, from loaded rows (and the installed tools'
    own resources, e.g. the home programme's CarePlan, made by their manifests' ``fhir`` hooks)."""
    patient = _patient(client)
    pid = patient["id"]
    resources: list[dict[str, Any]] = [patient, *_flags(client, pid), *_conditions(client, pid)]
    by_goal: dict[int, list[str]] = {}
    goal_values: dict[int, list[tuple[dt.date, float]]] = {}
    clinical: list[dict[str, Any]] = []
    used_questionnaires: dict[str, None] = {}
    for row in sessions:
        if not row.is_client_recorded:
            clinical.append(_encounter(row, pid, client))
        procedures = _procedures(row, pid)
        clinical.extend(procedures)
        if row.signed_at is not None:
            clinical.append(_provenance(row))
        if row.is_client_recorded:
            clinical.append(_patient_reported(row, pid, procedures))
        for m in row.measurements:
            clinical.append(_observation(m, row, pid))
            if m.item_responses:
                used_questionnaires.setdefault(m.instrument_code, None)
                clinical.append(fhir_questionnaires.questionnaire_response(
                    m.id, m.instrument_code, m.item_responses, patient_id=pid,
                    encounter_id=None if row.is_client_recorded else f"encounter-{row.id}",
                    authored=_effective(m, row), author=_performer(row, pid)))
            if m.safety_followup:
                clinical.append(_risk_assessment(m, row, pid))
                clinical.append(_risk_flag(m, row, pid))
            if m.goal_id is not None:
                by_goal.setdefault(m.goal_id, []).append(f"observation-{m.id}")
                goal_values.setdefault(m.goal_id, []).append((row.session_date, m.value))
    resources += [_goal(g, pid, by_goal.get(g.id, []), goal_values.get(g.id, [])) for g in goals]
    resources += [_practitioner(t) for t in _clinicians(sessions)]
    resources += [fhir_questionnaires.questionnaire(code) for code in used_questionnaires]
    resources += clinical
    resources += list(tool_resources)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": (timestamp or utcnow()).astimezone(dt.UTC).isoformat(),
        "entry": [{"fullUrl": f"{CADENZA_FHIR_BASE}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }


def tool_fhir_resources(db: Session, client: Client) -> list[dict[str, Any]]:
    """Each installed tool's own resources about ``client`` (already authorised), by manifest."""
    from cadenza.plugins import installed_tools

    patient_id = _patient(client)["id"]
    return [resource for tool in installed_tools() if tool.fhir for resource in tool.load("fhir")(db, client, patient_id)]


def validate_bundle(bundle: dict[str, Any] | str) -> Any:
    """Parse and validate with ``fhir.resources.R4B``; a violation raises :class:`ParameterError`."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        if isinstance(bundle, str):
            return Bundle.model_validate_json(bundle)
        return Bundle.model_validate(bundle)
    except ValidationError as exc:
        raise ParameterError(f"bundle is not valid FHIR R4B: {exc}") from None


def export_client_bundle(db: Session, *, actor: Therapist, client_id: int) -> str:
    """The validated Bundle of one client as FHIR JSON text (audited as an export)."""
    client = get_client_for_actor(db, actor=actor, client_id=client_id, action="export")
    goals = db.scalars(select(Goal).where(Goal.client_id == client.id).order_by(Goal.id)).all()
    sessions = db.scalars(select(TherapySession).where(TherapySession.client_id == client.id)
                          .order_by(TherapySession.session_date, TherapySession.id)).all()
    bundle = build_bundle(client, goals, sessions, tool_resources=tool_fhir_resources(db, client))
    validated = validate_bundle(bundle)
    audit(db, actor, "export", "fhir_bundle", entity_id=client.id, client_id=client.id)
    return validated.model_dump_json(exclude_none=True, indent=2)


@dataclass(frozen=True)
class ObservationValue:
    """What a receiving system reads back from one Observation."""

    id: str
    local_code: str
    loinc: str | None
    value: float
    unit: str
    ucum_code: str
    severity_band: str | None
    items: dict[str, int]
    safety_followup: bool
    timed_distance_m: float | None = None


def read_observations(bundle_json: str) -> list[ObservationValue]:
    """Parse a Bundle (validating it) and return its Observations' codes, values and units."""
    bundle = validate_bundle(bundle_json)
    values = []
    for entry in bundle.entry or []:
        resource = entry.resource
        if resource.get_resource_type() != "Observation":
            continue
        codings = {c.system: c.code for c in resource.code.coding}
        items = {}
        timed_distance_m = None
        for component in resource.component or []:
            coding = component.code.coding[0]
            if coding.system == CONTEXT_SYSTEM and coding.code == TIMED_DISTANCE_CODE:
                timed_distance_m = float(component.valueQuantity.value)
            elif local := next((c for c in component.code.coding if c.system == ITEM_SYSTEM), None):
                items[local.code.split(".", 1)[1]] = _item_score(component)
        values.append(ObservationValue(
            id=resource.id,
            local_code=codings[LOCAL_CODE_SYSTEM],
            loinc=codings.get(LOINC),
            value=float(resource.valueQuantity.value),
            unit=resource.valueQuantity.unit,
            ucum_code=resource.valueQuantity.code,
            severity_band=resource.interpretation[0].text if resource.interpretation else None,
            items=items,
            safety_followup=any(e.url == SAFETY_FOLLOWUP_URL and e.valueBoolean for e in resource.extension or []),
            timed_distance_m=timed_distance_m,
        ))
    return values


def _item_score(component: Any) -> int:
    if component.valueInteger is not None:
        return int(component.valueInteger)
    for coding in component.valueCodeableConcept.coding:
        for extension in coding.extension or []:
            if extension.url == ORDINAL_VALUE_URL:
                return int(extension.valueDecimal)
    raise ParameterError(f"item component {component.code.coding!r} has no score (valueInteger or ordinalValue)")


def bundle_resource_counts(bundle_json: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in json.loads(bundle_json).get("entry", []):
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    return counts
