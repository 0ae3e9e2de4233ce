"""The singing workflow: target notes parsed, a file analysed, its figures stored on a session."""

import datetime as dt

import pytest

from cadenza.errors import ParameterError
from cadenza.tools.sing import actions


def test_targets_by_name_or_number():
    assert actions.parse_targets("C4, E4 G#4") == [60.0, 64.0, 68.0]
    assert actions.parse_targets("60 62.5") == [60.0, 62.5]
    assert actions.parse_targets(" ") is None and actions.parse_targets(None) is None
    with pytest.raises(ParameterError, match="note 'X'"):
        actions.parse_targets("C4 X")


def test_a_file_is_analysed_and_stored(db_session, therapist, client_record, sung_wav):
    from cadenza.clinic import service

    run = actions.analyse_singing_file(sung_wav([57, 64]), targets="A3 E4")
    assert run.stored == () and run.report.score.within_50_cents_pct == 100.0
    session = service.record_session(db_session, actor=therapist, client_id=client_record.id,
                                     session_date=dt.date(2026, 12, 6), minutes=30, intervention_code="singing")
    stored = actions.record_singing(db_session, actor=therapist, run=run, session_id=session.id)
    values = {m.instrument_code: m.value for m in stored.stored}
    assert values["sing_within_50_cents_pct"] == 100.0 and values["sing_range_semitones"] == pytest.approx(7, abs=0.05)
