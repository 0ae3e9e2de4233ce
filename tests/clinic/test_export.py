"""FHIR Bundle (validated with fhir.resources R4B, round-tripped) and CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.clinic import service
from cadenza.clinic.export import CSV_COLUMNS, export_measurements_csv
from cadenza.clinic.fhir import (
    UCUM,
    build_bundle,
    bundle_resource_counts,
    export_client_bundle,
    read_observations,
    validate_bundle,
)
from cadenza.clinic.instruments import Instrument, get_instrument, register_instrument, score_instrument
from cadenza.clinic.models import Client, Measurement, TherapySession
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import NotFoundError, ParameterError, PermissionDeniedError


def assert_references_resolve(bundle: dict) -> None:
    """Every ``reference`` in the bundle names an entry's fullUrl (as ``Type/id``)."""
    targets = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    assert len(targets) == len(bundle["entry"])  # no duplicate ids

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("reference"), str):
                yield node["reference"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    references = list(walk(bundle))
    assert references and set(references) <= targets, set(references) - targets


@pytest.fixture
def documented_client(db_session, therapist, client_record):
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="gait_speed",
                               baseline=0.8, target=1.0, target_date=dt.date(2027, 1, 31),
                               description="walk to the shop")
    service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=dt.date(2026, 11, 2), minutes=45,
        intervention_code="ras_gait_training", setting="clinic", subjective="nervous about falling",
        plan="cue at 100 bpm",
        measurements=[MeasurementInput("gait_speed", value=0.84, goal_id=goal.id),
                      MeasurementInput("cadence", value=101.5),
                      MeasurementInput("phq9", items=[1, 2, 1, 1, 0, 0, 1, 0, 1]),
                      MeasurementInput("nrs_pain", value=3)],
    )
    service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=dt.date(2026, 11, 9), minutes=40,
        intervention_code="receptive_listening",
        measurements=[MeasurementInput("gait_speed", value=0.93, goal_id=goal.id),
                      MeasurementInput("stai6", items={"calm": 3, "tense": 2, "upset": 1, "relaxed": 3,
                                                       "content": 2, "worried": 3})],
    )
    return client_record


def test_bundle_validates_and_holds_every_resource(db_session, therapist, documented_client):
    text = export_client_bundle(db_session, actor=therapist, client_id=documented_client.id)
    validate_bundle(text)
    # the PHQ-9 with item 9 > 0 also travels as a RiskAssessment (clinical review H1) and a Flag (M2)
    assert bundle_resource_counts(text) == {"Patient": 1, "Condition": 1, "Goal": 1, "Encounter": 2, "Procedure": 2,
                                            "Observation": 6, "RiskAssessment": 1, "Practitioner": 1, "Flag": 1,
                                            "Questionnaire": 2, "QuestionnaireResponse": 2}  # M4: the answers
    assert_references_resolve(json.loads(text))
    data = json.loads(text)
    patient = data["entry"][0]["resource"]
    assert patient["identifier"][0]["value"] == "C001" and patient["birthDate"] == "1950"
    goal = next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Goal")
    assert goal["target"][0]["detailQuantity"] == {"value": 1.0, "unit": "m/s", "system": UCUM, "code": "m/s"}
    assert goal["target"][0]["dueDate"] == "2027-01-31"
    assert len(goal["outcomeReference"]) == 2
    procedure = next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Procedure")
    assert procedure["code"]["coding"][0]["code"] == "ras_gait_training"
    assert {"text": "P: cue at 100 bpm"} in procedure["note"]


def test_bundle_round_trips_values_codes_and_units(db_session, therapist, documented_client):
    stored = service.list_measurements(db_session, actor=therapist, client_id=documented_client.id)
    text = export_client_bundle(db_session, actor=therapist, client_id=documented_client.id)
    parsed = {o.id: o for o in read_observations(text)}
    assert len(parsed) == len(stored)
    for m in stored:
        o = parsed[f"observation-{m.id}"]
        assert (o.local_code, o.value, o.unit, o.ucum_code) == (m.instrument_code, m.value, m.unit, m.unit)
        assert o.severity_band == m.severity_band
        assert o.safety_followup == m.safety_followup
        assert o.items == (m.item_responses or {})
    by_code = {o.local_code: o for o in parsed.values()}
    assert by_code["phq9"].loinc == "44261-6" and by_code["phq9"].safety_followup
    assert by_code["nrs_pain"].loinc == "72514-3"
    assert by_code["cadence"].loinc is None and by_code["cadence"].unit == "{steps}/min"
    assert by_code["stai6"].value == pytest.approx(13 * 20 / 6)
    # Re-serialising the parsed bundle gives the same observations again.
    again = validate_bundle(text).model_dump_json(exclude_none=True)
    assert read_observations(again) == read_observations(text)


def test_safety_flags_and_conditions_travel_with_the_bundle(db_session, therapist, documented_client):
    service.update_client(db_session, actor=therapist, client_id=documented_client.id,
                          safety_flags=["seizures", "hearing_loss"])
    data = json.loads(export_client_bundle(db_session, actor=therapist, client_id=documented_client.id))
    resources = [e["resource"] for e in data["entry"]]
    flags = sorted(r["code"]["coding"][0]["code"] for r in resources
                   if r["resourceType"] == "Flag" and not r["id"].startswith("flag-risk-"))  # the PHQ-9 risk: M2
    assert flags == ["hearing_loss", "seizures"]
    assert [r["code"]["text"] for r in resources if r["resourceType"] == "Condition"] == ["parkinson's disease"]
    assert all(r["subject"] == {"reference": "Patient/client-%d" % documented_client.id}
               for r in resources if r["resourceType"] in ("Flag", "Condition"))


@pytest.mark.parametrize(
    "resource",
    [{"resourceType": "Observation", "status": "final"},  # code is required
     {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "effectiveDateTime": "yesterday"},
     {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": "lots"}}],
)
def test_invalid_bundle_is_refused(resource):
    # fhir.resources checks structure, cardinality and datatypes (not value-set bindings such as status).
    with pytest.raises(ParameterError, match="FHIR"):
        validate_bundle({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]})


def test_csv_lists_every_measurement(db_session, therapist, documented_client):
    text = export_measurements_csv(db_session, actor=therapist, client_id=documented_client.id)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["instrument_code"] for r in rows] == ["gait_speed", "cadence", "phq9", "nrs_pain", "gait_speed", "stai6"]
    phq = rows[2]
    assert (phq["value"], phq["loinc"], phq["severity_band"], phq["safety_followup"]) == ("7.0", "44261-6", "mild", "yes")
    assert phq["item_responses"].startswith("q1=1;q2=2")
    assert float(rows[5]["value"]) == 13 * 20 / 6


def test_exports_are_owner_only_and_audited(db_session, therapist, documented_client, make_therapist):
    other = make_therapist("other")
    with pytest.raises(NotFoundError):
        export_client_bundle(db_session, actor=other, client_id=documented_client.id)
    with pytest.raises(NotFoundError):
        export_measurements_csv(db_session, actor=other, client_id=documented_client.id)
    export_measurements_csv(db_session, actor=therapist, client_id=documented_client.id)
    events = service.list_audit_events(db_session, actor=therapist, client_id=documented_client.id)
    assert ("export", "measurement_csv") in {(e.action, e.entity) for e in events}


# --- property: any valid measurement survives the FHIR round trip --------------------------------

@st.composite
def valid_score(draw):
    code = draw(st.sampled_from(["vas_anxiety", "stai6", "nrs_pain", "phq9", "gad7", "gait_speed", "cadence",
                                 "stride_length"]))
    instrument = get_instrument(code)
    if instrument.items:
        items = [draw(st.integers(instrument.item_min, instrument.item_max)) for _ in instrument.items]
        return score_instrument(code, items=items)
    if instrument.integer:
        return score_instrument(code, value=draw(st.integers(int(instrument.minimum), int(instrument.maximum))))
    value = draw(st.floats(instrument.minimum, instrument.maximum, allow_nan=False))
    return score_instrument(code, value=value)


@given(scores=st.lists(valid_score(), min_size=1, max_size=6))
@settings(max_examples=30, deadline=None)
def test_any_valid_measurement_round_trips_through_fhir(scores):
    client = Client(id=1, therapist_id=1, code="P1", birth_year=1960, conditions=[], safety_flags=[])
    row = TherapySession(id=1, client_id=1, therapist_id=1, session_date=dt.date(2026, 11, 25), minutes=30,
                         intervention_code="singing", setting="", soap_subjective="", soap_objective="",
                         soap_assessment="", soap_plan="")
    row.measurements = [
        Measurement(id=i + 1, client_id=1, instrument_code=s.instrument_code, value=s.value, unit=s.unit,
                    item_responses=s.item_responses, severity_band=s.severity_band, safety_followup=s.safety_followup,
                    timed_distance_m=s.timed_distance_m, measured_at=dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC))
        for i, s in enumerate(scores)
    ]
    text = json.dumps(build_bundle(client, [], [row], timestamp=dt.datetime(2026, 11, 25, tzinfo=dt.UTC)))
    parsed = read_observations(text)
    assert [(o.local_code, o.value, o.unit, o.severity_band, o.safety_followup, o.items or None) for o in parsed] == [
        (s.instrument_code, s.value, s.unit, s.severity_band, s.safety_followup, s.item_responses) for s in scores]
    assert [o.loinc for o in parsed] == [get_instrument(s.instrument_code).loinc for s in scores]
    assert [o.timed_distance_m for o in parsed] == [s.timed_distance_m for s in scores]


# --- clinical review W2: Encounter.class from the setting ------------------------------------------


@pytest.mark.parametrize(("setting", "flags", "code"), [
    ("inpatient ward 4B", [], "IMP"), ("NICU", [], "IMP"), ("", ["nicu_infant"], "IMP"),
    ("outpatient clinic", [], "AMB"), ("", [], "AMB"), ("home", [], "HH"), ("nursing home", [], "NONAC"),
    ("telehealth", [], "VR"),
])
def test_w2_encounter_class_follows_the_setting(db_session, therapist, setting, flags, code):
    patient = service.create_client(db_session, actor=therapist, code=f"W2-{code}-{len(flags)}",
                                    safety_flags=flags)
    row = service.record_session(db_session, actor=therapist, client_id=patient.id, session_date=dt.date(2026, 11, 2),
                                 minutes=20, intervention_code="receptive_listening", setting=setting)
    bundle = build_bundle(patient, [], [row])
    encounter = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter")
    assert encounter["class"]["code"] == code
    assert encounter["class"]["system"] == "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    assert encounter["class"]["display"] == {"IMP": "inpatient encounter", "AMB": "ambulatory", "HH": "home health",
                                             "NONAC": "inpatient non-acute", "VR": "virtual"}[code]
    validate_bundle(bundle)


# --- clinical review W3: official LOINC displays ----------------------------------------------------


def test_w3_loinc_codings_carry_the_official_display(db_session, therapist, documented_client):
    data = json.loads(export_client_bundle(db_session, actor=therapist, client_id=documented_client.id))
    displays = {c["code"]: c.get("display") for e in data["entry"] if e["resource"]["resourceType"] == "Observation"
                for c in e["resource"]["code"]["coding"] if c["system"] == "http://loinc.org"}
    assert displays == {
        "44261-6": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
        "72514-3": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
    }
    gad7 = get_instrument("gad7")
    assert (gad7.loinc, gad7.loinc_display) == (
        "70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]")
    # Our own name stays for people: the concept's text and the local coding.
    phq9 = next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Observation"
                and e["resource"]["code"]["coding"][0]["code"] == "44261-6")
    assert phq9["code"]["text"] == "Patient Health Questionnaire-9"


# --- clinical review W4: PHQ-9 and GAD-7 items and answers with LOINC codes, panels used ---------------

PHQ9_ITEM_LOINC = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]
GAD7_ITEM_LOINC = ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"]
LL358_3 = {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"}


def _observation_of(bundle: dict, loinc: str) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
                and any(c["code"] == loinc for c in e["resource"]["code"]["coding"]))


def test_w4_questionnaire_items_and_answers_carry_loinc_codes(db_session, therapist, client_record):
    phq_answers, gad_answers = [0, 1, 2, 3, 0, 1, 2, 3, 1], [3, 2, 1, 0, 1, 2, 3]
    row = service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=dt.date(2026, 11, 2), minutes=30,
        intervention_code="receptive_listening",
        measurements=[MeasurementInput("phq9", items=phq_answers), MeasurementInput("gad7", items=gad_answers),
                      MeasurementInput("stai6", items=[3, 2, 1, 3, 2, 3])])
    bundle = json.loads(export_client_bundle(db_session, actor=therapist, client_id=client_record.id))
    for total, panel, item_codes, answers in (("44261-6", "44249-1", PHQ9_ITEM_LOINC, phq_answers),
                                               ("70274-6", "69737-5", GAD7_ITEM_LOINC, gad_answers)):
        observation = _observation_of(bundle, total)
        assert observation["method"]["coding"][0]["system"] == "http://loinc.org"
        assert observation["method"]["coding"][0]["code"] == panel
        components = observation["component"]
        assert [c["code"]["coding"][0]["code"] for c in components] == item_codes
        assert all(c["code"]["coding"][0]["system"] == "http://loinc.org" for c in components)
        # the local item code stays as a second coding
        assert [c["code"]["coding"][1]["code"].split(".")[1] for c in components] == [
            f"q{i}" for i in range(1, len(item_codes) + 1)]
        for component, answer in zip(components, answers, strict=True):
            coding = component["valueCodeableConcept"]["coding"][0]
            assert (coding["system"], coding["code"]) == ("http://loinc.org", LL358_3[answer])
            assert coding["extension"] == [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue",
                                            "valueDecimal": answer}]
    assert _observation_of(bundle, "phq9")["component"][8]["code"]["text"].startswith("Thoughts that you would be")
    # Round trip: a receiver reads the same item scores back.
    parsed = {o.local_code: o for o in read_observations(json.dumps(bundle))}
    assert list(parsed["phq9"].items.values()) == phq_answers and list(parsed["gad7"].items.values()) == gad_answers
    # STAI-6 has no LOINC item codes confirmed: local codes and integer answers, as before.
    stai = _observation_of(bundle, "stai6")
    assert all("valueInteger" in c and len(c["code"]["coding"]) == 1 for c in stai["component"])
    assert "method" not in stai
    validate_bundle(bundle)


def test_w4_item_codes_must_match_the_items():
    with pytest.raises(ParameterError, match="item_loinc"):
        register_instrument(Instrument(code="w4_bad", name="bad", unit="{score}", minimum=0, maximum=6, better=None,
                                       items=("a", "b"), item_loinc=("1-1",)))
    with pytest.raises(ParameterError, match="answer_loinc"):
        register_instrument(Instrument(code="w4_bad", name="bad", unit="{score}", minimum=0, maximum=6, better=None,
                                       items=("a", "b"), answer_loinc=(("LA1-1", "x"),)))


# --- clinical review W5: SNOMED CT only where its id is confirmed ---------------------------------------


def test_w5_procedure_is_classed_as_arts_based_therapy_and_keeps_the_local_code(db_session, therapist,
                                                                                documented_client):
    text = export_client_bundle(db_session, actor=therapist, client_id=documented_client.id)
    assert "226211001" not in text  # "Pureed diet (regime/therapy)", not music therapy
    procedures = [e["resource"] for e in json.loads(text)["entry"] if e["resource"]["resourceType"] == "Procedure"]
    for procedure in procedures:
        assert procedure["category"]["coding"] == [
            {"system": "http://snomed.info/sct", "code": "302257006", "display": "Arts-based therapy"}]
        # The music-therapy concept's own SCTID is unconfirmed: the code stays local, with no SNOMED guess.
        assert [c["system"] for c in procedure["code"]["coding"]] == [
            "https://cadenza.example.org/fhir/CodeSystem/intervention"]


# --- clinical review W6: Goal.achievementStatus from progress --------------------------------------------


@pytest.mark.parametrize(("values", "status"), [
    ([], "in-progress"), ([14, 9, 8], "achieved"), ([14, 12], "improving"), ([16], "worsening"), ([14], "no-change"),
    ([8, 12], "improving"),  # met once, not any more: the latest value decides, as on the progress page
])
def test_w6_goal_achievement_status_follows_progress(db_session, therapist, client_record, values, status):
    goal = service.create_goal(db_session, actor=therapist, client_id=client_record.id, instrument_code="phq9",
                               baseline=14, target=9)
    sessions = []
    for day, total in enumerate(values, start=1):
        answers = [min(3, max(0, total - 3 * i)) for i in range(9)]  # item 9 stays 0
        assert sum(answers) == total and answers[8] == 0
        sessions.append(service.record_session(
            db_session, actor=therapist, client_id=client_record.id, session_date=dt.date(2026, 11, day), minutes=30,
            intervention_code="receptive_listening",
            measurements=[MeasurementInput("phq9", items=answers, goal_id=goal.id)]))
    bundle = build_bundle(client_record, [goal], sessions)
    exported = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Goal")
    coding = exported["achievementStatus"]["coding"][0]
    assert (coding["system"], coding["code"]) == ("http://terminology.hl7.org/CodeSystem/goal-achievement", status)
    assert exported["lifecycleStatus"] == "active"
    validate_bundle(bundle)


# --- clinical review M3: the clinician in FHIR -----------------------------------------------------------


def test_m3_clinician_is_a_practitioner_with_qualification(db_session, therapist, client_record, make_therapist):
    service.set_qualification(db_session, actor=therapist, username=therapist.username, qualification="MT-BC")
    row = service.record_session(db_session, actor=therapist, client_id=client_record.id,
                                 session_date=dt.date(2026, 11, 2), minutes=30, intervention_code="singing",
                                 measurements=[MeasurementInput("nrs_pain", value=3)])
    service.sign_session(db_session, actor=therapist, session_id=row.id, expected_version=1)
    service.add_addendum(db_session, actor=therapist, session_id=row.id, text="late entry")
    bundle = json.loads(export_client_bundle(db_session, actor=therapist, client_id=client_record.id))
    assert_references_resolve(bundle)
    resources = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}
    practitioner = resources[f"practitioner-{therapist.id}"]
    assert practitioner["identifier"][0]["value"] == therapist.username
    (qualification,) = practitioner["qualification"]
    assert qualification["code"]["coding"][0]["code"] == "MT-BC"
    assert qualification["code"]["coding"][0]["display"] == "Music Therapist-Board Certified"
    assert qualification["issuer"]["display"] == "Certification Board for Music Therapists"
    ref = f"Practitioner/practitioner-{therapist.id}"
    assert resources[f"procedure-{row.id}"]["performer"][0]["actor"]["reference"] == ref
    participant = resources[f"encounter-{row.id}"]["participant"][0]
    assert participant["individual"]["reference"] == ref and participant["type"][0]["coding"][0]["code"] == "PPRF"
    assert resources[f"provenance-{row.id}"]["agent"][0]["who"]["reference"] == ref
    assert resources[f"provenance-{row.id}"]["signature"][0]["who"]["reference"] == ref
    observation = resources[f"observation-{row.measurements[0].id}"]
    assert observation["performer"] == [{"reference": ref, "display": therapist.username}]
    validate_bundle(bundle)


def test_m3_qualification_is_one_line_and_only_the_account_or_an_admin_sets_it(db_session, therapist, make_therapist):
    other = make_therapist("other")
    with pytest.raises(PermissionDeniedError):
        service.set_qualification(db_session, actor=other, username=therapist.username, qualification="MT-BC")
    with pytest.raises(ParameterError, match="qualification"):
        service.set_qualification(db_session, actor=therapist, username=therapist.username, qualification="MT\nBC")
    admin = make_therapist("boss", role="admin")
    assert service.set_qualification(db_session, actor=admin, username=therapist.username,
                                     qualification=" NMT ").qualification == "NMT"
