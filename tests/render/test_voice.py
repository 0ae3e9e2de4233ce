"""TD-PSOLA intoning, YIN pitch tracking, syllable segmentation, hum and taps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import lfilter

from cadenza.errors import ParameterError
from cadenza.render.voice import (
    analyse_source,
    fill_voicing_gaps,
    render_hum,
    render_intoned,
    render_taps,
    segment_syllables,
    track_pitch,
)

SR = 16_000


def _vowel(duration_s: float, f0_start_hz: float, f0_end_hz: float, formants_hz=(700, 1200, 2600)) -> np.ndarray:
    """A synthetic vowel: a glottal pulse train with gliding pitch through three formant resonators."""
    n = int(duration_s * SR)
    f0 = np.linspace(f0_start_hz, f0_end_hz, n)
    phase = np.cumsum(f0 / SR)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    y = lfilter([1.0], [1.0, -0.95], pulses)  # glottal roll-off
    for f in formants_hz:
        r = np.exp(-np.pi * 90 / SR)
        y = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / SR), r * r], y)
    env = np.minimum(1, np.minimum(np.arange(n), n - np.arange(n)) / (0.02 * SR))
    return y / np.abs(y).max() * env


def _noise(duration_s: float, rng, level: float = 0.05) -> np.ndarray:
    return level * rng.standard_normal(int(duration_s * SR))


def _word(rng) -> np.ndarray:
    """'s' + vowel + short closure + vowel: two syllables, the second quieter."""
    return np.concatenate([
        np.zeros(int(0.05 * SR)), _noise(0.08, rng), _vowel(0.22, 105, 98),
        np.zeros(int(0.06 * SR)), 0.5 * _vowel(0.2, 96, 88, (500, 1500, 2500)), np.zeros(int(0.05 * SR)),
    ])


@settings(max_examples=25, deadline=None)
@given(f0_hz=st.floats(70, 450))
def test_yin_tracks_a_harmonic_tone(f0_hz):
    t = np.arange(int(0.4 * SR)) / SR
    y = np.sin(2 * np.pi * f0_hz * t) + 0.5 * np.sin(4 * np.pi * f0_hz * t)
    _, f0 = track_pitch(y, sampling_rate_hz=SR)
    assert abs(1200 * np.log2(np.nanmedian(f0) / f0_hz)) < 5
    assert np.mean(np.isfinite(f0[10:-10])) > 0.95


def test_yin_silence_noise_and_empty(rng):
    _, f0 = track_pitch(np.zeros(SR), sampling_rate_hz=SR)
    assert np.all(np.isnan(f0))
    _, f0 = track_pitch(rng.standard_normal(SR), sampling_rate_hz=SR)
    assert np.mean(np.isfinite(f0)) < 0.1
    times, f0 = track_pitch(np.zeros(0), sampling_rate_hz=SR)
    assert times.size == 0 and f0.size == 0


def test_bad_input():
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        track_pitch(np.zeros(100), sampling_rate_hz=16)
    with pytest.raises(ParameterError, match="mono"):
        track_pitch(np.zeros((2, 100)), sampling_rate_hz=SR)
    with pytest.raises(ParameterError, match="n_syllables"):
        segment_syllables(np.zeros(100), sampling_rate_hz=SR, n_syllables=0)
    with pytest.raises(ParameterError, match="pitches_hz"):
        render_hum(np.array([0.0]), np.array([1.0]), np.array([60.0 * 1000]), sampling_rate_hz=SR)
    with pytest.raises(ParameterError, match="onset_times_s"):
        render_hum(np.array([1.0, 0.5]), np.array([1.0, 1.0]), np.array([110.0, 110.0]), sampling_rate_hz=SR)


def test_fill_voicing_gaps_bridges_only_short_gaps():
    f0 = np.array([100.0] + [np.nan] * 3 + [100.0] + [np.nan] * 20 + [100.0])
    filled = fill_voicing_gaps(f0, max_gap_s=0.02)
    assert np.all(np.isfinite(filled[:5])) and np.all(np.isnan(filled[5:25]))


def test_segments_two_syllables_at_the_closure(rng):
    y = _word(rng)
    segs = segment_syllables(y, sampling_rate_hz=SR, n_syllables=2)
    assert len(segs) == 2
    closure = (0.05 + 0.08 + 0.22, 0.05 + 0.08 + 0.22 + 0.06)
    assert closure[0] - 0.02 <= segs[1].start_s <= closure[1] + 0.02
    assert segs[0].voiced_onset_s == pytest.approx(0.13, abs=0.03)  # after the noise onset
    assert segs[0].start_s < segs[0].voiced_onset_s


def test_intoned_pitch_and_onsets_follow_the_plan(rng):
    src = analyse_source(_word(rng), sampling_rate_hz=SR, n_syllables=2)
    onsets = np.array([0.5, 1.5])
    pitches = np.array([130.81, 110.0])
    y = render_intoned([src], sampling_rate_hz=SR, onset_times_s=onsets, durations_s=np.array([1.0, 1.0]),
                       pitches_hz=pitches)
    assert y.shape == (int(np.ceil(2.5 * SR)) + 1,)
    times, f0 = track_pitch(y, sampling_rate_hz=SR)
    for g, p in zip(onsets, pitches):
        sel = (times > g + 0.05) & (times < g + 0.7)
        assert np.mean(np.isfinite(f0[sel])) > 0.9  # the vowel is held
        assert abs(1200 * np.log2(np.nanmedian(f0[sel]) / p)) < 25
        voiced = np.isfinite(f0)
        starts = times[1:][voiced[1:] & ~voiced[:-1]]
        assert np.min(np.abs(starts - g)) < 0.03
    # nothing sounds in the gap before the second syllable's noise onset
    gap = y[int(1.35 * SR):int(1.38 * SR)]
    assert np.max(np.abs(gap)) < 1e-3


def test_intoned_needs_one_segment_per_note(rng):
    src = analyse_source(_word(rng), sampling_rate_hz=SR, n_syllables=2)
    with pytest.raises(ParameterError, match="2 syllables"):
        render_intoned([src], sampling_rate_hz=SR, onset_times_s=np.array([0.5]), durations_s=np.array([1.0]),
                       pitches_hz=np.array([110.0]))


def test_hum_pitch_exact():
    onsets, durs, pitches = np.array([0.2, 1.2]), np.array([1.0, 1.0]), np.array([110.0, 130.81])
    y = render_hum(onsets, durs, pitches, sampling_rate_hz=SR)
    times, f0 = track_pitch(y, sampling_rate_hz=SR)
    for g, p in zip(onsets, pitches):
        sel = (times > g + 0.1) & (times < g + 0.8)
        assert abs(1200 * np.log2(np.nanmedian(f0[sel]) / p)) < 5


@settings(max_examples=30, deadline=None)
@given(st.floats(0, 1), st.lists(st.floats(0.02, 1.2), min_size=0, max_size=7))
def test_taps_start_on_the_onset_sample(first, gaps):
    onsets = first + np.cumsum([0.0, *gaps])  # taps at least a click apart
    y = render_taps(onsets, duration_s=10.0, sampling_rate_hz=SR)
    starts = np.flatnonzero(np.abs(y) > 0.5)
    for g in onsets:
        idx = int(round(g * SR))
        if idx < y.size:
            assert idx in starts or abs(y[idx]) > 0.5


@settings(max_examples=8, deadline=None)
@given(pitches=st.lists(st.floats(80, 400), min_size=2, max_size=2), seed=st.integers(0, 10))
def test_any_target_pitch_is_reached(pitches, seed):
    src = analyse_source(_word(np.random.default_rng(seed)), sampling_rate_hz=SR, n_syllables=2)
    onsets = np.array([0.4, 1.2])
    y = render_intoned([src], sampling_rate_hz=SR, onset_times_s=onsets, durations_s=np.array([0.8, 0.8]),
                       pitches_hz=np.array(pitches))
    times, f0 = track_pitch(y, sampling_rate_hz=SR)
    for g, p in zip(onsets, pitches):
        sel = (times > g + 0.05) & (times < g + 0.5)
        assert abs(1200 * np.log2(np.nanmedian(f0[sel]) / p)) < 25


@settings(max_examples=10, deadline=None)
@given(lead_s=st.floats(0.0, 0.5))
def test_segments_shift_with_the_signal(lead_s):
    word = _word(np.random.default_rng(1))
    base = segment_syllables(word, sampling_rate_hz=SR, n_syllables=2)
    shifted = segment_syllables(np.concatenate([np.zeros(int(round(lead_s * SR))), word]), sampling_rate_hz=SR,
                                n_syllables=2)
    for a, b in zip(base, shifted):
        assert b.voiced_onset_s - a.voiced_onset_s == pytest.approx(lead_s, abs=0.011)
        assert b.start_s - a.start_s == pytest.approx(lead_s, abs=0.011)


def test_weak_voicing_extends_a_run_only_at_a_continuous_pitch():
    from cadenza.render.voice import _extend_voicing_backwards

    nan = np.nan
    f0 = np.array([nan, nan, nan, nan, 200.0, 201.0])
    weak = np.array([61.0, 61.0, 195.0, 198.0, nan, nan])  # a 61 Hz noise blip, then a breathy onset
    out = _extend_voicing_backwards(f0, weak)
    np.testing.assert_array_equal(np.isfinite(out), [False, False, True, True, True, True])
