"""Clinical review H2: the 10-metre walk test times only the middle 6 m (from the 2-m to the 8-m mark),
so gait speed = 6 m / time; the distance timed is stored with every speed and shown next to it.

Protocol: Rehabilitation Measures Database, "10 Meter Walk Test", and Physiopedia ("time is measured for
the intermediate 6 meters"). The review's case: 7 s over the 10MWT is 0.86 m/s, not 1.43 m/s.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from cadenza.clinic import fhir, service
from cadenza.clinic.export import export_measurements_csv
from cadenza.clinic.instruments import (
    TEN_METRE_WALK_TIMED_DISTANCE_M,
    gait_speed_from_walk_time,
    score_instrument,
    timed_distance_note,
)
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ParameterError


def test_h2_ten_metre_walk_times_middle_six_metres():
    assert TEN_METRE_WALK_TIMED_DISTANCE_M == 6.0
    assert gait_speed_from_walk_time(7.0) == pytest.approx(6 / 7)  # 0.86 m/s: a limited community ambulator
    assert gait_speed_from_walk_time(7.0, distance_m=10.0) == pytest.approx(10 / 7)  # another protocol, named
    score = score_instrument("gait_speed", value=0.86)
    assert score.timed_distance_m == 6.0
    assert score_instrument("gait_speed", value=1.0, timed_distance_m=10).timed_distance_m == 10.0


@pytest.mark.parametrize("distance", [0, -6, float("nan"), 101, True, "6"])
def test_h2_a_timed_distance_must_be_a_plausible_length(distance):
    with pytest.raises(ParameterError, match="timed_distance_m"):
        score_instrument("gait_speed", value=0.9, timed_distance_m=distance)


def test_h2_only_timed_walks_take_a_distance():
    with pytest.raises(ParameterError, match="timed_distance_m is only for timed walks"):
        score_instrument("cadence", value=100, timed_distance_m=6)
    assert score_instrument("cadence", value=100).timed_distance_m is None


def test_h2_distance_is_stored_exported_and_shown(db_session, therapist, client_record):
    row = service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=dt.date(2026, 11, 2), minutes=30,
        intervention_code="ras_gait_training",
        measurements=[MeasurementInput("gait_speed", value=0.86),
                      MeasurementInput("gait_speed", value=1.2, timed_distance_m=10),
                      MeasurementInput("cadence", value=101)])
    speeds = [m for m in row.measurements if m.instrument_code == "gait_speed"]
    assert [m.timed_distance_m for m in speeds] == [6.0, 10.0]
    assert [m.timed_distance_m for m in row.measurements if m.instrument_code == "cadence"] == [None]
    assert timed_distance_note("gait_speed", speeds[0].timed_distance_m) == "timed over 6 m"

    text = fhir.export_client_bundle(db_session, actor=therapist, client_id=client_record.id)
    observations = {o.id: o for o in fhir.read_observations(text)}
    assert [observations[f"observation-{m.id}"].timed_distance_m for m in speeds] == [6.0, 10.0]
    resources = {e["resource"]["id"]: e["resource"] for e in json.loads(text)["entry"]}
    first = resources[f"observation-{speeds[0].id}"]
    assert first["component"][0]["valueQuantity"] == {"value": 6.0, "unit": "m", "system": fhir.UCUM, "code": "m"}
    assert "6 m" in first["method"]["text"]

    rows = list(csv.DictReader(io.StringIO(export_measurements_csv(db_session, actor=therapist,
                                                                   client_id=client_record.id))))
    assert [r["timed_distance_m"] for r in rows] == ["6.0", "10.0", ""]


def test_h2_a_speed_stored_before_the_distance_was_kept_says_so():
    assert timed_distance_note("gait_speed", None) == "timed distance not recorded"
    assert timed_distance_note("nrs_pain", None) == ""


def test_h2_signed_note_covers_the_distance(db_session, therapist, client_record):
    row = service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=dt.date(2026, 11, 2), minutes=30,
        intervention_code="ras_gait_training", measurements=[MeasurementInput("gait_speed", value=0.86)])
    content = service.note_content(row, signed_by_username=None)
    assert content["measurements"][0]["timed_distance_m"] == 6.0
    # A measurement without a distance hashes exactly as before the column existed.
    cadence = service.record_session(
        db_session, actor=therapist, client_id=client_record.id, session_date=dt.date(2026, 11, 3), minutes=30,
        intervention_code="ras_gait_training", measurements=[MeasurementInput("cadence", value=100)])
    assert "timed_distance_m" not in service.note_content(cadence, signed_by_username=None)["measurements"][0]
