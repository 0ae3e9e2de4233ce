"""The song as the live cue: rendered at the goal tempo, then one segment per server beat."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.ras.live_music import LOOP_FADE_S, crossfade_loop, render_live_music, schedule_segments

RATE = 48_000


@st.composite
def beats_and_grid(draw):
    """Server beats (a start, then periods each within +-4 % of the last, as the controller moves them) and a
    buffer beat grid at the goal tempo."""
    goal_s = draw(st.floats(0.35, 1.0))
    n = draw(st.integers(2, 40))
    changes = draw(st.lists(st.floats(-0.04, 0.04), min_size=n - 1, max_size=n - 1))
    periods = goal_s * np.cumprod(1 + np.asarray(changes))
    beats = draw(st.floats(0.0, 1000.0)) + np.concatenate([[0.0], np.cumsum(periods)])
    m = draw(st.integers(3, 30))
    grid = draw(st.floats(0.0, 0.5)) + np.arange(m) * goal_s
    return beats, grid, goal_s


@settings(max_examples=60, deadline=None)
@given(beats_and_grid(), st.integers(0, 50))
def test_segments_start_on_their_beats_and_never_overlap(case, first):
    beats, grid, goal_s = case
    segments = schedule_segments(beats, grid, sampling_rate_hz=RATE, first_segment=first)
    starts = np.array([s.start_sample for s in segments])
    ends = starts + np.array([s.length_samples for s in segments])
    assert len(segments) == beats.size
    assert np.all(np.abs(starts - beats * RATE) <= 1)  # each on its beat within one sample
    assert np.all(ends[:-1] <= starts[1:])  # never two at once
    assert all(s.length_samples > 0 for s in segments)
    # The song goes on beat by beat (looping); a segment is cut, or followed by silence, by exactly how far the
    # beat's period is from the song's (within rounding to samples), never both.
    m = grid.size - 1
    assert [s.segment for s in segments] == [(first + k) % m for k in range(beats.size)]
    for k, s in enumerate(segments[:-1]):
        moved = (beats[k + 1] - beats[k] - (grid[s.segment + 1] - grid[s.segment])) * RATE
        assert abs(s.gap_samples - s.cut_samples - moved) <= 2 and min(s.gap_samples, s.cut_samples) == 0


@settings(max_examples=25, deadline=None)
@given(st.floats(0.35, 1.0), st.integers(2, 60), st.floats(0.0, 1000.0))
def test_at_the_goal_tempo_the_segments_join_without_a_seam(period_s, n, t0):
    grid = 0.1 + np.arange(9) * period_s
    segments = schedule_segments(t0 + np.arange(n) * period_s, grid, sampling_rate_hz=RATE)
    for a, b in zip(segments, segments[1:]):
        assert abs(a.start_sample + a.length_samples - b.start_sample) <= 1
        if b.segment == a.segment + 1:  # the next segment starts where this one stopped in the song
            assert abs(a.offset_sample + a.length_samples - b.offset_sample) <= 1
        assert a.cut_samples <= 1 and a.gap_samples <= 1


def test_schedule_refuses_bad_input_by_name():
    with pytest.raises(ParameterError, match="beat_times_s"):
        schedule_segments(np.array([1.0, np.nan]), np.array([0.0, 0.5, 1.0]), sampling_rate_hz=RATE)
    with pytest.raises(ParameterError, match="buffer_beat_times_s"):
        schedule_segments(np.array([1.0, 2.0]), np.array([0.5]), sampling_rate_hz=RATE)
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        schedule_segments(np.array([1.0, 2.0]), np.array([0.0, 0.5]), sampling_rate_hz=0)


def _song(tempo_bpm: float, seconds: float, rate: int = 22_050):
    t = np.arange(int(seconds * rate)) / rate
    beats = np.arange(0.3, seconds - 0.3, 60.0 / tempo_bpm)
    x = 0.05 * np.sin(2 * np.pi * 330 * t)
    for b in beats:
        i = int(b * rate)
        x[i:i + 400] += 0.7 * np.exp(-np.arange(400) / 80)
    return x.astype(np.float32), beats, rate


def test_the_song_is_rendered_on_a_steady_grid_at_the_goal_tempo():
    x, beats, rate = _song(96.0, 20.0)
    music = render_live_music(x, sampling_rate_hz=rate, source_beat_times_s=beats, tempo_bpm=105.0, max_s=8.0)
    ibi = np.diff(music.beat_times_s)
    assert np.allclose(ibi, 60 / 105.0, atol=1e-9)
    assert 8.0 - 60 / 105 <= music.beat_times_s[-1] - music.beat_times_s[0] <= 8.0
    assert abs(music.samples.shape[-1] / rate - music.beat_times_s[-1]) <= 1 / rate  # cut on the last beat
    assert music.rate_min == pytest.approx(105 / 96, rel=1e-6)
    # The knocks (the song's beats) sound on the grid: the loudest sample of each beat is within 5 ms of it.
    for b in music.beat_times_s[:-1]:
        i = int(b * rate)
        window = np.abs(music.samples[max(i - 220, 0):i + 220])
        assert abs((np.argmax(window) + max(i - 220, 0)) / rate - b) < 0.005
    with pytest.raises(ParameterError, match="tempo_bpm"):
        render_live_music(x, sampling_rate_hz=rate, source_beat_times_s=beats, tempo_bpm=float("nan"))
    with pytest.raises(ParameterError, match="at least 4"):
        render_live_music(x, sampling_rate_hz=rate, source_beat_times_s=beats[:2], tempo_bpm=100.0)


@st.composite
def looped_music(draw):
    """A stretch of 'music' (a few tones of random pitch and phase plus a little noise, so the loop point
    falls at a random phase), a loop start and a fade."""
    rate = 8_000
    n = draw(st.integers(800, 6_000))
    t = np.arange(n + 400) / rate
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = sum(0.3 * np.sin(2 * np.pi * rng.uniform(60, 900) * t + rng.uniform(0, 2 * np.pi)) for _ in range(3))
    x = x + 0.01 * rng.standard_normal(t.size)
    if draw(st.booleans()):
        x = np.stack([x, 0.8 * x[::-1]])
    start = draw(st.integers(0, n // 3))
    fade = draw(st.integers(1, 400))
    return x[..., :n], x[..., n:], start, fade


def _largest_step(x):
    return float(np.max(np.abs(np.diff(x, axis=-1))))


@settings(max_examples=80, deadline=None)
@given(looped_music())
def test_the_loop_point_joins_as_smoothly_as_the_music(case):
    body, after, start, fade = case
    out = crossfade_loop(body, loop_start_idx=start, fade_samples=fade, after=after)
    assert out.shape == body.shape and out.dtype == body.dtype
    # The jump from the last sample to the loop start is no bigger than a step of the music itself (with `after`:
    # the music's step into what follows the end; without a fade at all it may be anything).
    seam = np.abs(out[..., start] - out[..., -1])
    assert np.all(seam <= _largest_step(np.concatenate([body, after], axis=-1)) + 1e-9)
    # Only the fade changes anything; the beats (every sample index) stay where they were.
    changed = np.flatnonzero(np.any(np.atleast_2d(out != body), axis=0))
    if changed.size:
        assert changed.max() - changed.min() < fade
        assert changed.min() >= start
    # Equal power: each faded sample is cos * one + sin * the other, never louder than both together.
    assert np.all(np.abs(out) <= np.abs(body) + np.max(np.abs(np.concatenate([body, after], axis=-1))) + 1e-9)


def test_crossfade_refuses_bad_input_by_name():
    with pytest.raises(ParameterError, match="loop_start_idx"):
        crossfade_loop(np.zeros(100), loop_start_idx=100, fade_samples=10)
    with pytest.raises(ParameterError, match="fade_samples"):
        crossfade_loop(np.zeros(100), loop_start_idx=10, fade_samples=-1)


@settings(max_examples=8, deadline=None)
@given(st.floats(150.0, 700.0), st.floats(80.0, 130.0), st.floats(0.0, 2 * np.pi))
def test_the_rendered_song_loops_without_a_click_and_its_pieces_stay_on_their_beats(tone_hz, song_bpm, phase):
    rate = 8_000
    seconds = 9.0
    t = np.arange(int(seconds * rate)) / rate
    x = (0.3 * np.sin(2 * np.pi * tone_hz * t + phase)).astype(np.float32)
    beats = np.arange(0.4, seconds - 0.3, 60.0 / song_bpm)
    music = render_live_music(x, sampling_rate_hz=rate, source_beat_times_s=beats, tempo_bpm=song_bpm * 1.07,
                              max_s=4.0)
    start = int(round(music.beat_times_s[0] * rate))
    assert start >= LOOP_FADE_S * rate  # the song has music before its first beat to fade into
    looped = np.concatenate([music.samples, music.samples[start:start + 50]])  # as the device plays it
    seam = abs(float(looped[music.samples.size]) - float(looped[music.samples.size - 1]))
    fade = int(round(LOOP_FADE_S * rate))
    assert seam <= 1.05 * _largest_step(music.samples[:-fade]) + 1e-6  # the music's own steps, outside the fade
    # Looping the pieces at the goal tempo over twice the buffer: each on its beat within one sample, and joined.
    n_beats = 2 * music.beat_times_s.size
    period_s = 60.0 / music.tempo_bpm
    segments = schedule_segments(100.0 + np.arange(n_beats) * period_s, music.beat_times_s, sampling_rate_hz=rate)
    assert all(abs(s.start_sample - s.beat_s * rate) <= 1 for s in segments)
    assert any(b.segment == 0 and a.segment > 0 for a, b in zip(segments, segments[1:]))  # it did loop
    assert all(abs(a.start_sample + a.length_samples - b.start_sample) <= 1 for a, b in zip(segments, segments[1:]))
