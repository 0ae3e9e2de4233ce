import datetime as dt

import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.singing import analyze_singing


@pytest.fixture
def therapy_session(db_session, therapist, client_record):
    from cadenza.clinic import service

    return service.record_session(db_session, actor=therapist, client_id=client_record.id,
                                  session_date=dt.date(2026, 12, 6), minutes=30, intervention_code="singing")


def test_instruments_are_in_the_catalogue():
    from cadenza.clinic.instruments import get_instrument

    assert get_instrument("sing_within_50_cents_pct").unit == "%"
    assert get_instrument("sing_max_phonation_s").better == "increase"


def test_silence_is_refused_before_anything_is_stored(db_session, therapist, client_record, therapy_session):
    from cadenza.clinic import service
    from cadenza.tools.sing.records import store_singing

    report = analyze_singing(np.zeros(22_050), sampling_rate_hz=22_050, target_midi=[60])
    with pytest.raises(ParameterError, match="voiced"):
        store_singing(db_session, actor=therapist, session_id=therapy_session.id, report=report)
    assert service.list_measurements(db_session, actor=therapist, client_id=client_record.id) == []
