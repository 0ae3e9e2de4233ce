"""Click tracks: analytic beat grids and sample-exact placement."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.render.clicks import (
    CUE_SOUNDS,
    constant_beat_times_s,
    find_cue_onsets_idx,
    ramp_beat_times_s,
    render_click_track,
    synthesize_cue_sound,
    tempo_curve_beat_times_s,
)

RATES_HZ = (22_050, 44_100, 48_000)


def test_constant_grid_known_answer():
    beats = constant_beat_times_s(tempo_bpm=120, duration_s=10)
    assert beats.size == 20
    np.testing.assert_allclose(beats, 0.5 * np.arange(20), atol=1e-12)


def test_ramp_grid_matches_integrated_phase():
    # Linear ramp 60 -> 120 BPM over 60 s: phase(t) = t + t^2 / 120 beats, so beat n solves that.
    beats = ramp_beat_times_s(start_tempo_bpm=60, end_tempo_bpm=120, duration_s=60)
    n = np.arange(beats.size)
    expected = (-1 + np.sqrt(1 + 4 * n / 120)) / (2 / 120)
    np.testing.assert_allclose(beats, expected, atol=1e-9)
    assert beats.size == 90  # phase(60) = 60 + 30 beats, the 90th lands exactly at 60 s (excluded)


def test_step_change_and_hold_after_ramp():
    beats = tempo_curve_beat_times_s(np.array([0.0, 6.0, 6.0]), np.array([60.0, 60.0, 120.0]), duration_s=9.0)
    np.testing.assert_allclose(beats, [0, 1, 2, 3, 4, 5, 6, 6.5, 7, 7.5, 8, 8.5], atol=1e-9)
    held = ramp_beat_times_s(start_tempo_bpm=100, end_tempo_bpm=110, duration_s=120, ramp_duration_s=60)
    np.testing.assert_allclose(np.diff(held[held > 61]), 60 / 110, atol=1e-9)


@pytest.mark.parametrize("rate_hz", RATES_HZ)
@pytest.mark.parametrize("ramp", [None, (96.0, 104.0)])
def test_click_onsets_are_on_the_planned_sample(rate_hz, ramp):
    if ramp is None:
        beats = constant_beat_times_s(tempo_bpm=104.3, duration_s=120)
    else:
        beats = ramp_beat_times_s(start_tempo_bpm=ramp[0], end_tempo_bpm=ramp[1], duration_s=120)
    track = render_click_track(beats, duration_s=120, sampling_rate_hz=rate_hz, sound="woodblock", accent_every=4)
    planned_idx = np.rint(beats * rate_hz).astype(np.int64)
    found = find_cue_onsets_idx(track.samples, sampling_rate_hz=rate_hz)
    np.testing.assert_array_equal(found, planned_idx)
    # The sample before each onset is silent and the onset sample carries the sound's attack.
    assert np.all(track.samples[planned_idx[1:] - 1] == 0)
    assert np.all(np.abs(track.samples[planned_idx]) > 0.1)
    # Accents are louder.
    assert abs(track.samples[planned_idx[0]]) > abs(track.samples[planned_idx[1]])


@settings(max_examples=25, deadline=None)
@given(tempo_bpm=st.floats(40, 200), offset_s=st.floats(0, 5), rate_hz=st.sampled_from(RATES_HZ))
def test_onsets_exact_for_any_tempo_and_offset(tempo_bpm, offset_s, rate_hz):
    beats = constant_beat_times_s(tempo_bpm=tempo_bpm, duration_s=offset_s + 20, first_beat_s=offset_s)
    track = render_click_track(beats, duration_s=offset_s + 20, sampling_rate_hz=rate_hz, sound="click")
    assert track.samples.size == round((offset_s + 20) * rate_hz)
    np.testing.assert_array_equal(find_cue_onsets_idx(track.samples, sampling_rate_hz=rate_hz),
                                  np.rint(beats * rate_hz).astype(np.int64))


@settings(max_examples=25, deadline=None)
@given(start=st.floats(40, 180), end=st.floats(40, 180), dur=st.floats(5, 120))
def test_tempo_curve_period_stays_between_knot_tempi(start, end, dur):
    beats = ramp_beat_times_s(start_tempo_bpm=start, end_tempo_bpm=end, duration_s=dur)
    assert np.all(np.diff(beats) > 0)
    assert beats[0] == 0 and beats[-1] < dur
    bpm = 60 / np.diff(beats)
    assert bpm.min() >= min(start, end) - 1e-6 and bpm.max() <= max(start, end) + 1e-6


@pytest.mark.parametrize("sound", CUE_SOUNDS)
def test_cue_sounds_start_loud_and_end_silent(sound):
    y = synthesize_cue_sound(sound, sampling_rate_hz=44_100, accent=True)
    assert y.dtype == np.float32 and np.max(np.abs(y)) == pytest.approx(1.0)
    assert abs(y[0]) > 0.3 and y[-1] == 0


def test_sounds_are_cut_to_fit_fast_tempi():
    beats = constant_beat_times_s(tempo_bpm=240, duration_s=5)
    track = render_click_track(beats, duration_s=5, sampling_rate_hz=22_050, sound="soft_drum")
    assert find_cue_onsets_idx(track.samples, sampling_rate_hz=22_050).size == beats.size


def test_bad_input_names_the_argument():
    with pytest.raises(ParameterError, match="tempo_bpm"):
        constant_beat_times_s(tempo_bpm=1.7, duration_s=10)
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        render_click_track(np.array([0.0]), duration_s=1, sampling_rate_hz=44.1)
    with pytest.raises(ParameterError, match="beat_times_s"):
        render_click_track(np.array([0.5, 0.2]), duration_s=1, sampling_rate_hz=8000)
    with pytest.raises(ParameterError, match="sound"):
        synthesize_cue_sound("cowbell", sampling_rate_hz=8000)
    with pytest.raises(ParameterError, match="knot_times_s"):
        tempo_curve_beat_times_s(np.array([1.0, 0.0]), np.array([60.0, 70.0]), duration_s=5)


def test_empty_is_not_an_error():
    assert constant_beat_times_s(tempo_bpm=100, duration_s=0).size == 0
    track = render_click_track(np.empty(0), duration_s=1, sampling_rate_hz=8000)
    assert track.samples.size == 8000 and not np.any(track.samples)
    assert find_cue_onsets_idx(track.samples, sampling_rate_hz=8000).size == 0
