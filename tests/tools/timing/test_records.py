import datetime as dt

import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.timing import measure_block


@pytest.fixture
def therapy_session(db_session, therapist, client_record):
    from cadenza.clinic import service

    return service.record_session(db_session, actor=therapist, client_id=client_record.id,
                                  session_date=dt.date(2026, 12, 6), minutes=30,
                                  intervention_code="drumming_improvisation")


def test_instruments_are_in_the_catalogue():
    from cadenza.clinic.instruments import get_instrument

    assert get_instrument("timing_mean_asynchrony_ms").unit == "ms"
    assert get_instrument("timing_circular_r").better == "increase"
    assert get_instrument("timing_asynchrony_sd_ms").better == "decrease"


def test_a_block_is_stored_as_measurements(db_session, therapist, client_record, therapy_session):
    from cadenza.clinic import service
    from cadenza.tools.timing.records import store_timing_block

    block = measure_block([-40.0, -30.0, -50.0, np.nan, -20.0], cue_interval_s=0.6)
    stored = store_timing_block(db_session, actor=therapist, session_id=therapy_session.id, block=block)
    values = {m.instrument_code: m.value for m in stored}
    assert values["timing_mean_asynchrony_ms"] == -35.0 and values["timing_within_50ms_pct"] == 100.0
    listed = service.list_measurements(db_session, actor=therapist, client_id=client_record.id)
    assert {m.instrument_code for m in listed} == set(values)


def test_a_block_without_hits_is_refused_before_anything_is_stored(db_session, therapist, client_record,
                                                                   therapy_session):
    from cadenza.clinic import service
    from cadenza.tools.timing.records import store_timing_block

    with pytest.raises(ParameterError, match="hit"):
        store_timing_block(db_session, actor=therapist, session_id=therapy_session.id,
                           block=measure_block([np.nan, 12.0], cue_interval_s=0.6))
    assert service.list_measurements(db_session, actor=therapist, client_id=client_record.id) == []
