"""Loudness normalisation: BS.1770 target, hard caps, silence."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.render.loudness import (
    MAX_TARGET_LUFS,
    loudness_cap_lufs,
    measure_loudness_lufs,
    normalize_loudness,
)

RATE_HZ = 48_000


def _tone(amplitude: float, seconds: float = 5.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    return (amplitude * np.sin(2 * np.pi * 997 * t)).astype(np.float32)


def test_full_scale_sine_known_answer():
    # BS.1770: a 997 Hz full-scale sine in one channel reads about -3.01 LUFS.
    assert measure_loudness_lufs(_tone(1.0), sampling_rate_hz=RATE_HZ) == pytest.approx(-3.01, abs=0.1)


def test_normalises_to_target():
    out = normalize_loudness(_tone(0.05), sampling_rate_hz=RATE_HZ, target_lufs=-23.0)
    assert measure_loudness_lufs(out.samples, sampling_rate_hz=RATE_HZ) == pytest.approx(-23.0, abs=0.1)
    assert not out.peak_limited


def test_target_is_capped_and_peak_never_exceeds_ceiling():
    out = normalize_loudness(_tone(0.01), sampling_rate_hz=RATE_HZ, target_lufs=-3.0)
    assert out.target_lufs == MAX_TARGET_LUFS
    assert np.max(np.abs(out.samples)) <= 10 ** (-1 / 20) + 1e-6
    assert measure_loudness_lufs(out.samples, sampling_rate_hz=RATE_HZ) <= MAX_TARGET_LUFS + 0.1


def test_peaky_signal_is_limited_not_clipped():
    y = np.zeros(5 * RATE_HZ, dtype=np.float32)
    y[:: RATE_HZ // 2] = 0.5  # sparse clicks: tiny loudness, large peak
    out = normalize_loudness(y, sampling_rate_hz=RATE_HZ, target_lufs=-14.0)
    assert out.peak_limited
    assert np.max(np.abs(out.samples)) == pytest.approx(10 ** (-1 / 20), rel=1e-4)


def test_hearing_loss_policy_lowers_the_cap():
    assert loudness_cap_lufs(max_level_dba=80.0) == MAX_TARGET_LUFS - 5
    out = normalize_loudness(_tone(0.2), sampling_rate_hz=RATE_HZ, target_lufs=-14.0, max_level_dba=80.0)
    assert out.output_lufs == pytest.approx(-19.0, abs=0.1)


def test_silence_is_returned_unchanged():
    out = normalize_loudness(np.zeros(RATE_HZ, dtype=np.float32), sampling_rate_hz=RATE_HZ)
    assert np.isnan(out.measured_lufs) and not np.any(out.samples)


def test_bad_target():
    with pytest.raises(ParameterError, match="target_lufs"):
        normalize_loudness(_tone(0.1), sampling_rate_hz=RATE_HZ, target_lufs=5.0)
