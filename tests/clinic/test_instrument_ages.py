"""Clinical review M13: each instrument has an age range, and a client certainly outside it is refused
(a NICU infant born in 2026 was given the PHQ-9, the STAI-6 and a gait speed, and all were stored).

Sources of the ranges: PHQ-9 validated in adolescents 13-17 (Richardson et al. 2010, Pediatrics 126:1117)
and adults; STAI Form Y is the adult form; self-report intensity scales from age 6 (Birnie et al. 2019,
Pain 160:5); the GAD-7 floor and the gait measures' floor are labelled project conventions.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cadenza.clinic import service
from cadenza.clinic.instruments import check_age, get_instrument
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ParameterError

DAY = dt.date(2026, 11, 2)
PHQ9 = [1, 1, 1, 1, 1, 0, 0, 0, 1]
STAI = [3, 2, 1, 3, 2, 3]


@pytest.fixture
def infant(db_session, therapist):
    return service.create_client(db_session, actor=therapist, code="RVW-002", birth_year=2026,
                                 safety_flags=["nicu_infant"])


@pytest.mark.parametrize("entry", [MeasurementInput("phq9", items=PHQ9), MeasurementInput("stai6", items=STAI),
                                   MeasurementInput("gait_speed", value=1.2), MeasurementInput("gad7", items=[0] * 7),
                                   MeasurementInput("nrs_pain", value=3)])
def test_m13_an_infant_is_refused_adult_instruments(db_session, therapist, infant, entry):
    pattern = rf"measurements\[0\]: .*{entry.instrument_code}.* is for ages .*born 2026, is 0"
    with pytest.raises(ParameterError, match=pattern):
        service.record_session(db_session, actor=therapist, client_id=infant.id, session_date=DAY, minutes=20,
                               intervention_code="receptive_listening", measurements=[entry])
    row = service.record_session(db_session, actor=therapist, client_id=infant.id, session_date=DAY, minutes=20,
                                 intervention_code="receptive_listening")
    with pytest.raises(ParameterError, match="is for ages"):
        service.add_measurement(db_session, actor=therapist, session_id=row.id, measurement=entry)
    instrument = get_instrument(entry.instrument_code)
    with pytest.raises(ParameterError, match="is for ages"):
        service.create_goal(db_session, actor=therapist, client_id=infant.id, instrument_code=instrument.code,
                            baseline=instrument.maximum, target=instrument.minimum + 1, direction="decrease")


def test_m13_phq9_boundary_uses_the_older_possible_age():
    # Born 2013: 12 or 13 on 2026-11-02 (only the year is known), so the PHQ-9 is allowed; born 2014: 11 or 12.
    check_age("phq9", birth_year=2013, on_date=DAY)
    with pytest.raises(ParameterError, match="11 or 12"):
        check_age("phq9", birth_year=2014, on_date=DAY)
    check_age("stai6", birth_year=2008, on_date=DAY)
    with pytest.raises(ParameterError, match="ages 18 and over"):
        check_age("stai6", birth_year=2009, on_date=DAY)
    check_age("nrs_pain", birth_year=2020, on_date=DAY)
    with pytest.raises(ParameterError, match="ages 6 and over"):
        check_age("nrs_pain", birth_year=2021, on_date=DAY)


def test_m13_no_birth_year_no_check_and_every_core_range_is_sourced():
    check_age("phq9", birth_year=None, on_date=DAY)
    for code in ("vas_anxiety", "stai6", "nrs_pain", "phq9", "gad7", "gait_speed", "cadence", "stride_length"):
        instrument = get_instrument(code)
        assert instrument.min_age_years is not None and instrument.age_note, code
    with pytest.raises(ParameterError, match="before the client's birth year"):
        check_age("nrs_pain", birth_year=2027, on_date=DAY)


def test_m13_an_adult_is_unaffected(db_session, therapist, client_record):
    row = service.record_session(db_session, actor=therapist, client_id=client_record.id, session_date=DAY,
                                 minutes=20, intervention_code="receptive_listening",
                                 measurements=[MeasurementInput("phq9", items=PHQ9), MeasurementInput("stai6", items=STAI)])
    assert len(row.measurements) == 2
