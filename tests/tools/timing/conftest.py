"""A synthetic drum recording with known hits, written as a WAV file."""

from __future__ import annotations

import numpy as np
import pytest

SAMPLING_RATE_HZ = 16_000


def drum_samples(hit_times_s, duration_s, *, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=int(duration_s * SAMPLING_RATE_HZ)) * 1e-3
    t = np.arange(int(0.1 * SAMPLING_RATE_HZ)) / SAMPLING_RATE_HZ
    for hit_s in hit_times_s:
        sound = (np.sin(2 * np.pi * 180 * t) * np.exp(-t / 0.02) + 0.4 * rng.normal(size=t.size) * np.exp(-t / 0.003))
        sound *= np.minimum(t / 0.0005, 1) * np.exp(-((t / t[-1]) ** 8)) * rng.uniform(0.4, 0.9)
        i = int(round(hit_s * SAMPLING_RATE_HZ))
        x[i:i + t.size] += sound[: x.size - i]
    return x


@pytest.fixture
def drum_wav(tmp_path):
    """``drum_wav(hits)``: the path of a WAV with a drum hit at each time (s)."""
    from cadenza.io.audio import save_audio

    def _make(hit_times_s, duration_s=None, name="drum.wav"):
        duration_s = duration_s or max(hit_times_s) + 1.0
        return save_audio(tmp_path / name, drum_samples(hit_times_s, duration_s), sampling_rate_hz=SAMPLING_RATE_HZ,
                          subtype="FLOAT")

    return _make
