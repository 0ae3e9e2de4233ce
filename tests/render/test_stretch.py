"""Time-stretching along a time map: length, no drift, identity, validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.render.stretch import (
    PhaseVocoderStretcher,
    TimeMap,
    WsolaStretcher,
    beat_time_map,
    constant_rate_time_map,
    time_stretch,
)

RATE_HZ = 22_050


def _pulse_train(period_s: float, seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Short decaying noise bursts on a grid, over quiet noise: percussive, with exact onsets."""
    n = int(seconds * RATE_HZ)
    x = 0.01 * rng.standard_normal(n).astype(np.float32)
    onsets_s = np.arange(0.25, seconds - 0.25, period_s)
    burst = (rng.standard_normal(400) * np.exp(-np.arange(400) / 60)).astype(np.float32)
    for t in onsets_s:
        i = int(round(t * RATE_HZ))
        x[i:i + 400] += burst
    return x, onsets_s


def _onsets_near(y: np.ndarray, expected_s: np.ndarray, reach_s: float = 0.04) -> np.ndarray:
    """Onset time near each expected time: the first sample whose energy rises above half the local max."""
    found = []
    energy = np.convolve(y.astype(float) ** 2, np.ones(32) / 32, mode="same")
    for t in expected_s:
        a, b = int((t - reach_s) * RATE_HZ), int((t + reach_s) * RATE_HZ)
        seg = energy[a:b]
        found.append((a + int(np.argmax(seg > 0.5 * seg.max()))) / RATE_HZ)
    return np.asarray(found)


@pytest.mark.parametrize("rate", [0.9, 1.1])
@pytest.mark.parametrize("method", ["wsola", "phase_vocoder"])
def test_no_drift_over_three_minutes(rate, method, rng):
    x, onsets_s = _pulse_train(0.5, 180.0, rng)
    y = time_stretch(x, sampling_rate_hz=RATE_HZ, rate=rate, method=method)
    assert y.size == round(x.size / rate)
    expected = onsets_s / rate
    expected = expected[expected < y.size / RATE_HZ - 0.1]
    err = _onsets_near(y, expected) - expected
    # Bounded everywhere, and the last minute is no worse than the first: nothing accumulates.
    assert np.max(np.abs(err)) < 0.015
    first, last = err[: len(err) // 3], err[-len(err) // 3:]
    assert abs(np.mean(last) - np.mean(first)) < 0.003


def test_wsola_identity_at_rate_one(rng):
    x = rng.standard_normal(RATE_HZ * 3).astype(np.float32)
    y = time_stretch(x, sampling_rate_hz=RATE_HZ, rate=1.0)
    np.testing.assert_allclose(y, x, atol=1e-5)


def test_piecewise_map_puts_each_beat_on_its_target(rng):
    x, onsets_s = _pulse_train(0.5, 20.0, rng)
    # A drifting target grid: intervals alternate between 0.45 and 0.56 s.
    target = np.concatenate([[onsets_s[0]], onsets_s[0] + np.cumsum(np.tile([0.45, 0.56], onsets_s.size)[: onsets_s.size - 1])])
    st_ = WsolaStretcher().stretch(x, sampling_rate_hz=RATE_HZ, time_map=beat_time_map(onsets_s, target))
    err = _onsets_near(st_.samples_, target[1:-1]) - target[1:-1]
    assert np.max(np.abs(err)) < 0.012
    assert np.max(np.abs(st_.frame_error_s_)) <= 0.0061


def test_stereo_keeps_channels(rng):
    x = rng.standard_normal((2, RATE_HZ)).astype(np.float32)
    y = PhaseVocoderStretcher().stretch(x, sampling_rate_hz=RATE_HZ, time_map=constant_rate_time_map(rate=0.8)).samples_
    assert y.shape == (2, round(RATE_HZ / 0.8))


@settings(max_examples=15, deadline=None)
@given(rate=st.floats(0.7, 1.4), seconds=st.floats(0.5, 4.0))
def test_output_length_is_input_over_rate(rate, seconds):
    x = np.random.default_rng(1).standard_normal(int(seconds * RATE_HZ)).astype(np.float32)
    y = time_stretch(x, sampling_rate_hz=RATE_HZ, rate=rate)
    assert y.size == round(x.size / rate)
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) < 10


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.2, 2.0), min_size=2, max_size=20), st.floats(0.8, 1.25))
def test_time_map_round_trip(intervals, scale):
    src = np.concatenate([[0.0], np.cumsum(intervals)])
    tgt = src * scale
    m = beat_time_map(src, tgt)
    probe = np.linspace(-1, src[-1] * 1.5, 50)
    np.testing.assert_allclose(m.in_time_s(m.out_time_s(probe)), probe, atol=1e-9)


def test_bad_maps_and_rates_are_named():
    with pytest.raises(ParameterError, match="rate"):
        constant_rate_time_map(rate=0.0)
    with pytest.raises(ParameterError, match="increasing"):
        TimeMap(out_times_s=np.array([0.0, 1.0, 0.5]), in_times_s=np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ParameterError, match="local rate"):
        beat_time_map(np.array([0.0, 10.0]), np.array([0.0, 1.0]))
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        time_stretch(np.zeros(100), sampling_rate_hz=44.1, rate=1.0)
    with pytest.raises(ParameterError, match="method"):
        time_stretch(np.zeros(100), sampling_rate_hz=8000, rate=1.0, method="rubberband")
