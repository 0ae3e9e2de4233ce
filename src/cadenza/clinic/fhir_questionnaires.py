"""Questionnaire answers in FHIR R4 (clinical review M4): each questionnaire the record scores from items
(PHQ-9, GAD-7, STAI-6, and any other item-scored instrument) is exported as a ``Questionnaire`` (its
items, with their LOINC question and answer codes where the instrument has them, and its licence as
``copyright``), each set of answers as a ``QuestionnaireResponse``, and the scored total's Observation
names the response in ``derivedFrom`` (the HL7 PACIO / US Core screening pattern).

Pure: plain JSON-ready dicts from loaded rows; :mod:`cadenza.clinic.fhir` puts them in the Bundle.
A licensed instrument's Questionnaire carries only the item names the record already stores (e.g.
STAI-6 "calm"), never the publisher's item texts.
"""

from __future__ import annotations

from typing import Any

from cadenza.clinic.instruments import Instrument, get_instrument

BASE = "https://cadenza.example.org/fhir"
ITEM_SYSTEM = f"{BASE}/CodeSystem/instrument-item"
LOINC = "http://loinc.org"
ORDINAL_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
MIN_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/maxValue"


def questionnaire_id(code: str) -> str:
    return f"questionnaire-{code.replace('_', '-')}"


def questionnaire_url(code: str) -> str:
    """The canonical URL a QuestionnaireResponse names; it is also the Questionnaire's ``fullUrl``."""
    return f"{BASE}/Questionnaire/{questionnaire_id(code)}"


def _answer_coding(instrument: Instrument, answer: int) -> dict[str, Any]:
    la_code, display = instrument.answer_loinc[answer - instrument.item_min]
    return {"system": LOINC, "code": la_code, "display": display,
            "extension": [{"url": ORDINAL_VALUE_URL, "valueDecimal": answer}]}


def _item_text(instrument: Instrument, index: int, item: str) -> str:
    if instrument.item_texts:
        return instrument.item_texts[index]
    return item.replace("_", " ")


def questionnaire(code: str) -> dict[str, Any]:
    """The Questionnaire of an item-scored instrument.

    >>> q = questionnaire("phq9")
    >>> q["code"][0]["code"], q["item"][8]["code"][0]["code"], q["item"][0]["answerOption"][3]["valueCoding"]["code"]
    ('44249-1', '44260-8', 'LA6571-9')
    >>> [i["text"] for i in questionnaire("stai6")["item"]][:2]
    ['calm', 'tense']
    """
    instrument = get_instrument(code)
    if not instrument.items:
        raise ValueError(f"instrument {code!r} has no items; it has no Questionnaire")
    items = []
    for index, item in enumerate(instrument.items):
        entry: dict[str, Any] = {"linkId": item, "text": _item_text(instrument, index, item), "required": True}
        if instrument.item_loinc:
            entry["code"] = [{"system": LOINC, "code": instrument.item_loinc[index]}]
        else:
            entry["code"] = [{"system": ITEM_SYSTEM, "code": f"{instrument.code}.{item}"}]
        if instrument.answer_loinc:
            entry["type"] = "choice"
            entry["answerOption"] = [{"valueCoding": _answer_coding(instrument, answer)}
                                     for answer in range(instrument.item_min, instrument.item_max + 1)]
        else:
            entry["type"] = "integer"
            entry["extension"] = [{"url": MIN_VALUE_URL, "valueInteger": instrument.item_min},
                                  {"url": MAX_VALUE_URL, "valueInteger": instrument.item_max}]
        items.append(entry)
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": questionnaire_id(code),
        "url": questionnaire_url(code),
        "name": "".join(ch for ch in instrument.code.title() if ch.isalnum()),
        "title": instrument.name,
        "status": "active",
        "subjectType": ["Patient"],
        "item": items,
    }
    if instrument.loinc_panel is not None:
        panel, display = instrument.loinc_panel
        resource["code"] = [{"system": LOINC, "code": panel, "display": display}]
    if instrument.licence:
        resource["copyright"] = instrument.licence
    if instrument.source:
        resource["description"] = f"Scoring: {instrument.source}"
    return resource


def questionnaire_response(measurement_id: int, code: str, answers: dict[str, Any], *, patient_id: str,
                           encounter_id: str | None, authored: str, author: dict[str, str] | None) -> dict[str, Any]:
    """The answers behind one scored total (``authored`` is when it was measured, as the Observation's
    ``effectiveDateTime``)."""
    instrument = get_instrument(code)
    items = []
    for index, item in enumerate(instrument.items or ()):
        if item not in answers:
            continue
        answer = int(answers[item])
        value = ({"valueCoding": _answer_coding(instrument, answer)}
                 if instrument.answer_loinc and instrument.item_min <= answer <= instrument.item_max
                 else {"valueInteger": answer})
        items.append({"linkId": item, "text": _item_text(instrument, index, item), "answer": [value]})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"qr-{measurement_id}",
        "questionnaire": questionnaire_url(code),
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        **({"encounter": {"reference": f"Encounter/{encounter_id}"}} if encounter_id else {}),
        "authored": authored,
        "item": items,
    }
    if author is not None:
        resource["author"] = author
    return resource
