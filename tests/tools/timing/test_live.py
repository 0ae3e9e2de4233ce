"""Live blocks and device calibration (issue 18): the page's capture or touch events, measured on the server."""

import numpy as np
import pytest
from sqlalchemy import func, select

from cadenza.errors import NotFoundError, ParameterError
from cadenza.timing.latency import make_loopback_signal
from cadenza.tools.timing import actions, records

from .conftest import SAMPLING_RATE_HZ as SR, drum_samples


def _pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def _capture_of_loopback(latency_s: float, *, gain: float = 0.3, noise: float = 1e-3, seed: int = 0) -> bytes:
    signal, _, _ = make_loopback_signal(sampling_rate_hz=SR)
    shift = int(round(latency_s * SR))
    out = np.random.default_rng(seed).normal(size=signal.size + shift + SR) * noise
    out[shift:shift + signal.size] += gain * signal
    return _pcm(out)


def _calibrate(db_session, client_record, latency_s=0.8, **kw):
    # The capture started at 10.0 s on the audio clock; the signal was scheduled at 10.5 s.
    capture = actions.parse_capture(_capture_of_loopback(0.5 + latency_s, **kw), sampling_rate_hz=SR, start_s=10.0)
    return actions.calibrate_device(db_session, client=client_record, device="clinic tablet", capture=capture,
                                    played_at_s=10.5, measured_by="therapist:test")


def test_a_bluetooth_sized_latency_is_calibrated_stored_and_a_weak_signal_stores_nothing(db_session, client_record):
    row, result = _calibrate(db_session, client_record, latency_s=0.8)
    assert result.latency_ms == pytest.approx(800.0, abs=0.1) and result.residual_ms < 0.1
    assert records.latest_calibration(db_session, client=client_record, device="clinic tablet").id == row.id
    assert row.loopback_latency_ms == pytest.approx(800.0, abs=0.1)
    count = db_session.scalar(select(func.count()).select_from(records.TimingCalibration))
    with pytest.raises(ParameterError, match="SNR"):
        _calibrate(db_session, client_record, gain=0.0005, noise=0.01)
    assert db_session.scalar(select(func.count()).select_from(records.TimingCalibration)) == count


def test_a_microphone_block_is_measured_against_the_heard_cue(db_session, client_record):
    row, _ = _calibrate(db_session, client_record, latency_s=0.25)
    # Beats scheduled at 20 s + 0.5 k on the audio clock are heard by the microphone 250 ms later;
    # the person plays 20 ms ahead of what they hear. The capture starts at 19.6 s.
    cue = 20.0 + 0.5 * np.arange(12)
    hits_in_capture = cue + 0.25 - 0.02 - 19.6
    capture = actions.parse_capture(_pcm(drum_samples(hits_in_capture, 7.0)), sampling_rate_hz=SR, start_s=19.6)
    block = actions.analyse_live_block(cue_times_s=list(cue), capture=capture, calibration=row)
    assert block.run.report.block.mean_asynchrony_ms.value == pytest.approx(-20.0, abs=1.0)
    assert block.run.report.block.n_hits == 12 and block.calibrated
    np.testing.assert_allclose(block.hit_clock_times_s, hits_in_capture + 19.6, atol=0.002)
    assert {b["verdict"] for b in block.per_beat()} == {"on"}
    uncalibrated = actions.analyse_live_block(cue_times_s=list(cue), capture=capture)
    assert uncalibrated.run.report.block.mean_asynchrony_ms.value == pytest.approx(230.0, abs=1.0)


def test_touch_events_move_by_the_tap_offset(db_session, client_record):
    row, _ = _calibrate(db_session, client_record, latency_s=0.1)
    sounds = 5.0 + np.array([0.0, 0.55, 1.2, 1.7, 2.4, 3.0])
    capture = actions.parse_capture(_pcm(drum_samples(sounds - 4.5, 4.0)), sampling_rate_hz=SR, start_s=4.5)
    row, offset = actions.calibrate_taps(db_session, client=client_record, calibration_id=row.id, capture=capture,
                                         event_times_s=list(sounds + 0.06))
    assert offset.offset_ms == pytest.approx(60.0, abs=1.0) and row.tap_offset_ms == pytest.approx(60.0, abs=1.0)
    cue = 30.0 + 0.6 * np.arange(8)
    events = cue + 0.1 + 0.06 - 0.02  # 20 ms ahead of the heard beat, stamped 60 ms after the tap's sound
    block = actions.analyse_live_block(cue_times_s=list(cue), event_times_s=list(events),
                                       event_sides=["R", "L"] * 4, calibration=row)
    assert block.run.report.block.mean_asynchrony_ms.value == pytest.approx(-20.0, abs=1.0)
    assert block.run.report.alternation.alternating_pct == 100.0
    with pytest.raises(NotFoundError):
        actions.calibrate_taps(db_session, client=client_record, calibration_id=999999, capture=capture,
                               event_times_s=list(sounds))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"data": b"\x00", "sampling_rate_hz": SR, "start_s": 0.0}, "even number"),
    ({"data": b"", "sampling_rate_hz": 16, "start_s": 0.0}, "sampling_rate_hz"),
    ({"data": b"", "sampling_rate_hz": SR, "start_s": float("nan")}, "capture_start_s"),
    ({"data": b"\x00\x00" * (SR * 200), "sampling_rate_hz": SR, "start_s": 0.0}, "at most 180 s"),
])
def test_bad_captures_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        actions.parse_capture(kwargs.pop("data"), **kwargs)


def test_bad_blocks_are_named():
    capture = actions.parse_capture(b"\x00\x00" * SR, sampling_rate_hz=SR, start_s=1.0)
    with pytest.raises(ParameterError, match="one of them"):
        actions.analyse_live_block(cue_times_s=[1.0, 1.5], capture=capture, event_times_s=[1.0])
    with pytest.raises(ParameterError, match="cue_times_s"):
        actions.analyse_live_block(cue_times_s=[], capture=capture)
    with pytest.raises(ParameterError, match="cue_times_s"):
        actions.analyse_live_block(cue_times_s=["<script>"], capture=capture)
    with pytest.raises(ParameterError, match="event_sides"):
        actions.analyse_live_block(cue_times_s=[1.0, 1.5], event_times_s=[1.0], event_sides=["X"])


def test_an_exercise_is_prescribed_and_its_pattern_follows(db_session, therapist, client_record):
    ex = records.add_exercise(db_session, actor=therapist, client=client_record, title="Waltz, both hands",
                              tempo_bpm=90, beats_per_bar=3, accents=[1], bilateral=True, bars=2, repetitions=3,
                              continuation_beats=4)
    accents, sides = actions.exercise_pattern(ex)
    assert accents == (True, False, False, True, False, False) and sides == ("R", "L", "R", "L", "R", "L")
    assert records.client_exercises(db_session, client=client_record) == [ex]
    records.end_exercise(db_session, actor=therapist, client=client_record, exercise_id=ex.id)
    assert records.client_exercises(db_session, client=client_record) == []
    for kwargs, match in [({"tempo_bpm": 500}, "tempo_bpm"), ({"accents": [5]}, "accents"),
                          ({"bars": 0}, "bars"), ({"title": ""}, "title"), ({"title": "a\x00b"}, "title")]:
        with pytest.raises(ParameterError, match=match):
            records.add_exercise(db_session, actor=therapist, client=client_record,
                                 **{"title": "x", "tempo_bpm": 100, **kwargs})
