"""Live blocks and device calibration (issue 18): the page's capture or touch events, measured on the server;
the live rhythm page (calibrate, prescribe, play a block stored on a session)."""

import datetime as dt
import json

import numpy as np
import pytest
from sqlalchemy import func, select

from cadenza.clinic import service
from cadenza.clinic.models import Measurement
from cadenza.errors import NotFoundError, ParameterError
from cadenza.timing.latency import make_loopback_signal
from cadenza.tools.timing import actions, records

from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- the page ----------------------------------------------------------------------------------------

def _post(browser, url, token, fields, capture=None):
    files = {"capture": ("capture.pcm", capture, "application/octet-stream")} if capture is not None else None
    return browser.post(url, data={k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()},
                        files=files, headers={"x-csrf-token": token})


def test_calibrate_prescribe_and_play_a_stored_block(logged_in, nurse, db_session):
    client = service.create_client(db_session, actor=nurse, code="drum.1")
    session = service.record_session(db_session, actor=nurse, client_id=client.id, session_date=dt.date(2026, 12, 1),
                                     minutes=30, intervention_code="drumming_improvisation")
    db_session.commit()
    page = logged_in.get(f"/clients/{client.id}/timing?session_id={session.id}")
    assert page.status_code == 200 and "Not calibrated yet" in page.text and "not a" in page.text
    assert '<script src="/timing/live.js"' in page.text and "<script>" not in page.text
    # The test signal's Lmax at full scale is about -11 dBFS: on the default (loud) device, 85 dB(A) allows 0.65.
    assert 'data-gain-cap="0.65' in page.text and "kept within 85 dB(A)" in page.text
    token = logged_in.csrf(f"/clients/{client.id}/timing")
    base = f"/clients/{client.id}/timing"

    wav = logged_in.get(f"{base}/loopback.wav", params={"rate": SR})
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    signal, _, _ = make_loopback_signal(sampling_rate_hz=SR)
    recording = np.zeros(int(1.0 * SR) + signal.size + SR)
    recording[int(0.9 * SR):int(0.9 * SR) + signal.size] += 0.3 * signal  # played at 100.1 s, heard at 100.9 s
    fields = {"sampling_rate_hz": str(SR), "capture_start_s": "100.0", "played_at_s": "100.1", "device": "tablet"}
    shown = _post(logged_in, f"{base}/calibrations", token, fields, _pcm(recording))
    assert shown.status_code == 200 and "800.0 ms" in shown.text and "error left after calibration" in shown.text
    calibration = records.latest_calibration(db_session, client=client, device="tablet")
    weak = _post(logged_in, f"{base}/calibrations", token, fields, _pcm(recording * 1e-4 + 1e-3))
    assert weak.status_code == 422 and "SNR" in weak.text and "Nothing was stored" in weak.text

    made = logged_in.post(f"{base}/exercises", data={"csrf_token": token, "title": "Four, accent on one", "tempo_bpm": "120",
                                                     "beats_per_bar": "4", "accents": "1", "bars": "3",
                                                     "repetitions": "2", "continuation_beats": "0"})
    assert made.status_code == 303
    exercise = records.client_exercises(db_session, client=client)[0]
    bad = logged_in.post(f"{base}/exercises", data={"csrf_token": token, "title": "x", "tempo_bpm": "900",
                                                    "beats_per_bar": "4", "accents": "1, x", "bars": "3",
                                                    "repetitions": "2", "continuation_beats": "0"})
    assert bad.status_code == 422 and "accents must be" in bad.text

    cue = 200.0 + 0.5 * np.arange(12)
    hits = cue + 0.8 - 0.025 - 199.5  # 25 ms ahead of the heard beat; the capture starts at 199.5 s
    block = _post(logged_in, f"{base}/blocks", token, {
        "sampling_rate_hz": str(SR), "capture_start_s": "199.5", "cue_times_s": cue.tolist(),
        "calibration_id": str(calibration.id), "exercise_id": str(exercise.id), "session_id": str(session.id)},
        _pcm(drum_samples(hits, 8.0)))
    assert block.status_code == 200, block.text
    assert block.text.count("hit-on") == 12 and block.text.count("hit-accent") == 3 and "-25 ms on" in block.text
    assert "Stored on the session" in block.text
    stored = {m.instrument_code: m.value for m in db_session.scalars(
        select(Measurement).where(Measurement.session_id == session.id))}
    assert abs(stored["timing_mean_asynchrony_ms"] + 25) < 1 and stored["timing_within_50ms_pct"] == 100

    other_client = service.create_client(db_session, actor=nurse, code="drum.2")
    other_session = service.record_session(db_session, actor=nurse, client_id=other_client.id,
                                           session_date=dt.date(2026, 12, 1), minutes=30,
                                           intervention_code="drumming_improvisation")
    db_session.commit()
    elsewhere = _post(logged_in, f"{base}/blocks", token, {"cue_times_s": cue.tolist(), "event_times_s": cue.tolist(),
                                                           "session_id": str(other_session.id)})
    assert elsewhere.status_code == 422 and "not found" in elsewhere.text  # another client's session
    touch = _post(logged_in, f"{base}/blocks", token, {"cue_times_s": cue.tolist(), "event_times_s": "[1e9]"})
    assert touch.status_code == 422 and "event_times_s" in touch.text
    other = _post(logged_in, f"{base}/blocks", token, {"cue_times_s": cue.tolist(), "event_times_s": [],
                                                       "calibration_id": "999999"})
    assert other.status_code == 422 and "not found" in other.text
    assert logged_in.get("/timing/live.js").headers["content-type"].startswith("text/javascript")


def test_a_block_that_starts_with_the_test_signal_calibrates_itself(db_session, client_record):
    row, _ = _calibrate(db_session, client_record, latency_s=0.1)  # the device's calibration: 100 ms
    signal, _, sweep = make_loopback_signal(sampling_rate_hz=SR)
    # The speaker is now 300 ms late (another output): the block's own test signal at 50.2 s says so.
    capture_start, marker_at, latency = 50.0, 50.2, 0.3
    cue = marker_at + signal.size / SR + 0.5 + 0.5 * np.arange(8)
    duration = cue[-1] + 1.0 - capture_start
    x = drum_samples(cue + latency - 0.015 - capture_start, duration)
    i = int((marker_at + latency - capture_start) * SR)
    x[i:i + signal.size] += 0.3 * signal
    capture = actions.parse_capture(_pcm(x), sampling_rate_hz=SR, start_s=capture_start)
    block = actions.analyse_live_block(cue_times_s=list(cue), capture=capture, calibration=row, marker_at_s=marker_at)
    assert block.loopback.latency_ms == pytest.approx(300.0, abs=0.2) and block.latency_ms == block.loopback.latency_ms
    assert block.run.report.block.mean_asynchrony_ms.value == pytest.approx(-15.0, abs=1.0)
    assert block.run.report.alignment.n_extra == 0 and block.run.onset_times_s.size == 8  # the sweeps are no hits
    # The end marker: one sweep after the block, where the start marker's latency puts it; 3 ms later, the
    # capture slipped during the block and the block is refused.
    end_at = cue[-1] + 0.8
    for slip_s, ok in ((0.0, True), (0.003, False)):
        y = x.copy()
        j = int((end_at + latency + slip_s - capture_start) * SR)
        y = np.concatenate([y, np.zeros(SR)])
        y[j:j + sweep.size] += 0.3 * sweep
        marked = actions.parse_capture(_pcm(y), sampling_rate_hz=SR, start_s=capture_start)
        if ok:
            done = actions.analyse_live_block(cue_times_s=list(cue), capture=marked, marker_at_s=marker_at,
                                              end_marker_at_s=end_at)
            assert abs(done.slip_ms) < 0.1 and done.run.onset_times_s.size == 8
        else:
            with pytest.raises(ParameterError, match=r"slipped by \+[23]\.\d ms"):
                actions.analyse_live_block(cue_times_s=list(cue), capture=marked, marker_at_s=marker_at,
                                           end_marker_at_s=end_at)
    quiet = actions.parse_capture(_pcm(drum_samples(cue + latency - 0.015 - capture_start, duration)),
                                  sampling_rate_hz=SR, start_s=capture_start)
    fallback = actions.analyse_live_block(cue_times_s=list(cue), capture=quiet, calibration=row, marker_at_s=marker_at)
    assert fallback.loopback is None and "SNR" in fallback.marker_problem
    assert fallback.latency_ms == pytest.approx(row.loopback_latency_ms)
    with pytest.raises(ParameterError, match="test signal at the start of the block"):
        actions.analyse_live_block(cue_times_s=list(cue), capture=quiet, marker_at_s=marker_at)


_SHIFT_HITS = 2.0 + 0.5 * np.arange(8)


@settings(max_examples=5, deadline=None)
@given(shift_s=st.floats(0.0, 3000.0), latency_ms=st.floats(0.0, 900.0))
def test_a_live_block_is_the_same_wherever_it_sits_on_the_audio_clock(shift_s, latency_ms):
    """Moving the capture, the cue and the calibration along the audio clock changes nothing."""
    from types import SimpleNamespace

    samples = _pcm(drum_samples(_SHIFT_HITS, 7.0))
    calibration = SimpleNamespace(loopback_latency_ms=latency_ms, tap_offset_ms=None)
    cue = _SHIFT_HITS - latency_ms / 1000 + 0.012  # hits 12 ms ahead of the heard beat
    reports = [actions.analyse_live_block(
        cue_times_s=list(cue + t0), capture=actions.parse_capture(samples, sampling_rate_hz=SR, start_s=t0),
        calibration=calibration).run.report for t0 in (1.0, 1.0 + shift_s)]
    a, b = (r.alignment.asynchrony_ms for r in reports)
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert reports[0].block.mean_asynchrony_ms.value == pytest.approx(-12.0, abs=1.0)
