"""The timing workflow: a file's hits by its kind, the cue, the report; storage on a session."""

import datetime as dt

import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.tools.timing import actions


def test_make_cue_adds_the_output_latency(tmp_path):
    times, spec = actions.make_cue(cue_bpm=120, cue_times_file=None, cue_start_s=1.0, cue_beats=3, latency_ms=200)
    np.testing.assert_allclose(times, [1.2, 1.7, 2.2])
    assert spec == {"source": "tempo", "tempo_bpm": 120, "start_s": 1.0, "n_beats": 3, "latency_ms": 200}
    assert actions.make_cue(cue_bpm=None, cue_times_file=None) == (None, {})
    cue = tmp_path / "cue.txt"
    cue.write_text("1.0\n1.5\n")
    np.testing.assert_allclose(actions.make_cue(cue_bpm=None, cue_times_file=cue)[0], [1.0, 1.5])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"cue_bpm": 100, "cue_times_file": "cue.txt"}, "not both"),
    ({"cue_bpm": 100, "cue_times_file": None}, "number of beats"),
    ({"cue_bpm": 100, "cue_times_file": None, "cue_beats": 4, "latency_ms": 9000}, "latency_ms"),
])
def test_bad_cues_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        actions.make_cue(**kwargs)


def test_an_audio_file_is_analysed_and_nothing_is_stored(drum_wav):
    cue = 1.0 + 0.5 * np.arange(10)
    run = actions.analyse_timing_file(drum_wav(cue - 0.02), cue_bpm=120, cue_start_s=1.0, cue_beats=10)
    assert run.source == "audio" and run.stored == ()
    assert run.report.block.mean_asynchrony_ms.value == pytest.approx(-20.0, abs=0.5)
    assert run.to_dict()["cue_spec"]["n_beats"] == 10


def test_record_timing_stores_the_block(db_session, therapist, client_record, drum_wav):
    from cadenza.clinic import service

    session = service.record_session(db_session, actor=therapist, client_id=client_record.id,
                                     session_date=dt.date(2026, 12, 6), minutes=30,
                                     intervention_code="drumming_improvisation")
    cue = 1.0 + 0.5 * np.arange(10)
    run = actions.analyse_timing_file(drum_wav(cue - 0.02), cue_bpm=120, cue_start_s=1.0, cue_beats=10)
    stored = actions.record_timing(db_session, actor=therapist, run=run, session_id=session.id)
    assert {m.instrument_code for m in stored.stored} == {"timing_mean_asynchrony_ms", "timing_asynchrony_sd_ms",
                                                          "timing_circular_r", "timing_within_50ms_pct"}
    unpaced = actions.analyse_timing_file(drum_wav(cue))
    with pytest.raises(ParameterError, match="no cue"):
        actions.record_timing(db_session, actor=therapist, run=unpaced, session_id=session.id)
