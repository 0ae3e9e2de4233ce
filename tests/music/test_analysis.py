"""analyze_track: one result object for the library, JSON round trip, empty input, real excerpt."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from cadenza.music.analysis import TrackAnalysis, analyze_track

SR = 22050


def test_silence_gives_nan_fields_not_errors():
    a = analyze_track(np.zeros(SR * 6, dtype=np.float32), sampling_rate_hz=SR)
    assert a.duration_s == pytest.approx(6.0)
    assert np.isnan(a.tempo_bpm) and np.isnan(a.integrated_loudness_lufs)
    assert a.beat_times_s.size == 0
    assert a.mode == ""


def test_json_round_trip(rng):
    t = np.arange(SR * 8) / SR
    x = (0.2 * np.sin(2 * np.pi * 330 * t) * (np.mod(t, 0.5) < 0.1)).astype(np.float32)
    x += 0.001 * rng.standard_normal(x.size).astype(np.float32)
    a = analyze_track(x, sampling_rate_hz=SR)
    text = json.dumps(a.to_dict())
    b = TrackAnalysis.from_dict(json.loads(text))
    assert b.tempo_bpm == pytest.approx(a.tempo_bpm)
    np.testing.assert_allclose(b.beat_times_s, a.beat_times_s, atol=1e-4)
    assert b.mode == a.mode and b.key == a.key


def test_real_excerpt(shared_data):
    """dev002 is Mozart K. 80/iii (G major) at 123.4 BPM on piano."""
    from cadenza.io.audio import load_audio

    root = shared_data("music")
    rows = {r["id"]: r for r in csv.DictReader(open(root / "manifest.csv", newline=""))}
    audio = load_audio(root / rows["dev002"]["audio"])
    a = analyze_track(audio.samples, sampling_rate_hz=audio.sampling_rate_hz)
    assert a.tempo_bpm == pytest.approx(float(rows["dev002"]["bpm"]), rel=0.04)
    assert (a.key, a.mode) == ("G", "major")
    assert -30 < a.integrated_loudness_lufs < -8
    assert 0 <= a.energy <= 1
