"""Loudness, brightness, onset rate, energy and key/mode: known answers and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.music.features import (
    PITCH_CLASS_NAMES,
    chroma_vector,
    energy_score,
    estimate_key,
    measure_loudness,
    onset_rate_hz,
    spectral_centroid_hz,
)
from cadenza.music.onset import compute_onset_envelope, compute_spectrogram

SR = 22050


def tone(freq_hz, duration_s, amp=0.1, sr=SR):
    t = np.arange(int(duration_s * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def chord(midi_notes, duration_s=4.0, sr=SR):
    """Harmonic tones (3 partials) for each MIDI note, summed."""
    t = np.arange(int(duration_s * sr)) / sr
    out = np.zeros_like(t)
    for m in midi_notes:
        f = 440.0 * 2 ** ((m - 69) / 12)
        for h, a in ((1, 1.0), (2, 0.4), (3, 0.2)):
            out += a * np.sin(2 * np.pi * f * h * t)
    return (0.05 * out).astype(np.float32)


def test_loudness_scales_with_level_and_channels():
    base, _ = measure_loudness(tone(1000, 5.0, 0.1), sampling_rate_hz=SR)
    louder, _ = measure_loudness(tone(1000, 5.0, 0.2), sampling_rate_hz=SR)
    assert louder - base == pytest.approx(20 * np.log10(2), abs=0.05)
    stereo, _ = measure_loudness(np.stack([tone(1000, 5.0, 0.1)] * 2), sampling_rate_hz=SR)
    assert stereo - base == pytest.approx(10 * np.log10(2), abs=0.05)  # BS.1770 sums channel power
    # A 1 kHz sine of peak 0.1 (mean square -23.0 dBFS) reads about -23 LUFS (K-weighting ~0 dB at 1 kHz).
    assert base == pytest.approx(-23.0, abs=0.8)


def test_loudness_range_of_a_level_step():
    steady = tone(1000, 20.0, 0.1)
    _, lra_steady = measure_loudness(steady, sampling_rate_hz=SR)
    assert lra_steady < 0.5
    step = np.concatenate([tone(1000, 20.0, 0.1), tone(1000, 20.0, 0.1 * 10 ** (10 / 20))])
    _, lra_step = measure_loudness(step, sampling_rate_hz=SR)
    assert 8.0 < lra_step < 11.0


def test_loudness_of_silence_and_short_input_is_nan():
    assert all(np.isnan(measure_loudness(np.zeros(SR * 5), sampling_rate_hz=SR)))
    assert all(np.isnan(measure_loudness(tone(1000, 0.1), sampling_rate_hz=SR)))
    with pytest.raises(ParameterError, match="samples"):
        measure_loudness(np.zeros((2, 2, 2)), sampling_rate_hz=SR)


@pytest.mark.parametrize("freq_hz", [300.0, 1000.0, 2500.0])
def test_centroid_of_pure_tone(freq_hz):
    spec = compute_spectrogram(tone(freq_hz, 3.0), sampling_rate_hz=SR)
    assert spectral_centroid_hz(spec) == pytest.approx(freq_hz, rel=0.05)


def test_onset_rate_counts_notes():
    x = np.zeros(SR * 10, dtype=np.float32)
    burst = tone(800, 0.05, 0.5) * np.exp(-np.arange(int(0.05 * SR)) / (0.01 * SR)).astype(np.float32)
    for start_s in np.arange(0.2, 9.8, 0.25):  # 4 onsets per second
        i = int(start_s * SR)
        x[i:i + burst.size] += burst
    rate = onset_rate_hz(compute_onset_envelope(x, sampling_rate_hz=SR))
    assert rate == pytest.approx(4.0, rel=0.15)


@pytest.mark.parametrize(("notes", "tonic", "mode"), [
    ([60, 64, 67, 72], "C", "major"),
    ([57, 60, 64, 69], "A", "minor"),
    ([62, 66, 69, 74], "D", "major"),
    ([64, 67, 71, 76], "E", "minor"),
])
def test_key_of_tonic_triads(notes, tonic, mode):
    key = estimate_key(chroma_vector(compute_spectrogram(chord(notes), sampling_rate_hz=SR)))
    assert (key.tonic, key.mode) == (tonic, mode)
    assert 0.0 < key.confidence <= 1.0


@settings(max_examples=24, deadline=None)
@given(shift=st.integers(0, 11), seed=st.integers(0, 10_000))
def test_key_is_transposition_equivariant(shift, seed):
    chroma = np.random.default_rng(seed).random(12) + 0.01
    a, b = estimate_key(chroma), estimate_key(np.roll(chroma, shift))
    assert b.mode == a.mode
    assert PITCH_CLASS_NAMES.index(b.tonic) == (PITCH_CLASS_NAMES.index(a.tonic) + shift) % 12


def test_key_of_flat_chroma_is_unknown():
    assert estimate_key(np.ones(12)).mode == ""
    with pytest.raises(ParameterError, match="chroma"):
        estimate_key(np.ones(5))


@settings(max_examples=30, deadline=None)
@given(l1=st.floats(-40, 0), l2=st.floats(-40, 0), r=st.floats(0.1, 10), b=st.floats(100, 8000))
def test_energy_is_monotone_in_loudness(l1, l2, r, b):
    lo, hi = sorted((l1, l2))
    e_lo = energy_score(loudness_lufs=lo, onset_rate_hz=r, brightness_hz=b)
    e_hi = energy_score(loudness_lufs=hi, onset_rate_hz=r, brightness_hz=b)
    assert 0.0 <= e_lo <= e_hi <= 1.0


def test_energy_skips_missing_parts():
    assert energy_score(loudness_lufs=float("nan"), onset_rate_hz=8.0, brightness_hz=4000.0) == 1.0
    assert np.isnan(energy_score(loudness_lufs=float("nan"), onset_rate_hz=float("nan"),
                                 brightness_hz=float("nan")))
