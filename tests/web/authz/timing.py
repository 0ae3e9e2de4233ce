"""Authorisation-matrix samples for the live rhythm page (cadenza/tools/timing/pages.py)."""

from __future__ import annotations

import json

import numpy as np

from cadenza.clinic import service
from cadenza.timing.latency import make_loopback_signal
from cadenza.tools.timing import records

RATE = 8000


def _pcm(samples) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def _loopback_capture() -> dict:
    signal, _, _ = make_loopback_signal(sampling_rate_hz=RATE)
    recording = np.zeros(signal.size + RATE)
    recording[int(0.2 * RATE):int(0.2 * RATE) + signal.size] += 0.3 * signal
    return {"capture": ("capture.pcm", _pcm(recording), "application/octet-stream")}


def _taps_capture() -> dict:
    x = np.zeros(4 * RATE)
    for t in (0.5, 1.1, 1.6, 2.3, 2.9):
        i = int(t * RATE)
        x[i:i + 200] += 0.5 * np.exp(-np.arange(200) / 20) * np.sin(np.arange(200))
    return {"capture": ("capture.pcm", _pcm(x), "application/octet-stream")}


def _calibration(db, actor, client_id: int) -> dict:
    from cadenza.timing.latency import LoopbackResult

    client = service.get_client(db, actor=actor, client_id=client_id)
    row = records.store_calibration(db, client=client, device="tablet", result=LoopbackResult(100.0, 0.1, 30.0, ()),
                                    sampling_rate_hz=RATE, measured_by="test", actor=actor)
    return {"calibration_id": row.id}


def _exercise(db, actor, client_id: int) -> dict:
    client = service.get_client(db, actor=actor, client_id=client_id)
    return {"exercise_id": records.add_exercise(db, actor=actor, client=client, title="Steady", tempo_bpm=100).id}


AUTHZ_SAMPLES = {
    ("GET", "/clients/{client_id}/timing/loopback.wav"): {"query": {"rate": RATE}},
    ("POST", "/clients/{client_id}/timing/calibrations"): {
        "form": {"sampling_rate_hz": str(RATE), "capture_start_s": "10.0", "played_at_s": "10.0", "device": "tablet"},
        "files": _loopback_capture},
    ("POST", "/clients/{client_id}/timing/calibrations/{calibration_id}/taps"): {
        "setup": _calibration, "form": {"sampling_rate_hz": str(RATE), "capture_start_s": "10.0",
                                        "event_times_s": json.dumps([10.53, 11.13, 11.63, 12.33, 12.93])},
        "files": _taps_capture},
    ("POST", "/clients/{client_id}/timing/blocks"): {
        "form": {"cue_times_s": json.dumps([1.0, 1.5, 2.0, 2.5]), "event_times_s": json.dumps([1.01, 1.49, 2.0, 2.52])}},
    ("POST", "/clients/{client_id}/timing/exercises"): {
        "form": {"title": "Steady", "tempo_bpm": "100", "beats_per_bar": "4", "accents": "1", "bars": "4",
                 "repetitions": "2", "continuation_beats": "0"}},
    ("POST", "/clients/{client_id}/timing/exercises/{exercise_id}/end"): {"setup": _exercise, "form": {}},
}
