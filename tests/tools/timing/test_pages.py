"""The live rhythm page: calibrate (a raw-PCM loopback capture), prescribe, play a block; stored on a session."""

import datetime as dt
import json

import numpy as np
from sqlalchemy import select

from cadenza.clinic import service
from cadenza.clinic.models import Measurement
from cadenza.timing.latency import make_loopback_signal
from cadenza.tools.timing import records

from .conftest import SAMPLING_RATE_HZ as SR, drum_samples


def _pcm(samples):
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


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

    touch = _post(logged_in, f"{base}/blocks", token, {"cue_times_s": cue.tolist(), "event_times_s": "[1e9]"})
    assert touch.status_code == 422 and "event_times_s" in touch.text
    other = _post(logged_in, f"{base}/blocks", token, {"cue_times_s": cue.tolist(), "event_times_s": [],
                                                       "calibration_id": "999999"})
    assert other.status_code == 422 and "not found" in other.text
    assert logged_in.get("/timing/live.js").headers["content-type"].startswith("text/javascript")
