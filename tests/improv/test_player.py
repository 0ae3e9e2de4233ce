"""Per-player figures: known answers on constructed notes."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.improv import Notes, measure_player, measure_syncopation, measure_tonality


def _notes(t, pitches, velocities=80.0, duration_s=0.2):
    t = np.asarray(t, float)
    return Notes(t, np.full(t.size, duration_s), np.broadcast_to(np.asarray(pitches, float), t.shape).copy(),
                 np.broadcast_to(np.asarray(velocities, float), t.shape).copy())


def test_density_velocity_and_pitch_figures():
    t = np.arange(0, 30, 0.25)
    pitches = np.tile([48.0, 55, 60, 64, 67, 72], 20)
    velocities = np.linspace(40, 120, t.size)
    f = measure_player(_notes(t, pitches, velocities), duration_s=30.0)
    assert f.n_notes == 120 and f.note_density_per_s == 4.0
    assert f.velocity_mean == pytest.approx(80.0) and f.velocity_range == pytest.approx(72.0, abs=0.5)
    assert f.pitch_range_semitones == 24.0 and f.register_midi == pytest.approx(62.0)
    # an even stream of 4 notes/s (no accents, no subdivisions) is a beat at 120 or at 240 BPM: the
    # metrical-level score (pulse.py) takes notes on every beat at 240, the prior alone would say 120
    assert min(abs(f.tempo_bpm / level - 1) for level in (120.0, 240.0)) < 1e-3


def test_tonal_clarity_is_high_for_a_scale_and_low_for_the_chromatic_total():
    major = measure_tonality(np.array([60.0, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60]), np.full(11, 0.5))
    chromatic = measure_tonality(np.arange(60.0, 72.0), np.full(12, 0.5))
    assert major[1] == "C major" and major[0] > 0.8
    assert np.isnan(chromatic[0]) or chromatic[0] < 0.3


def test_syncopation_on_and_off_the_beat():
    beats = np.arange(0, 10, 0.5)
    assert measure_syncopation(beats, tempo_bpm=120, beat_phase_s=0.0) == 0.0
    assert measure_syncopation(beats + 0.25, tempo_bpm=120, beat_phase_s=0.0) == 1.0
    # an off-beat eighth followed by a played beat is not syncopated
    assert measure_syncopation(np.sort(np.r_[beats, beats + 0.25]), tempo_bpm=120, beat_phase_s=0.0) == 0.0


def test_percussion_has_no_tonal_figures_and_empty_input_is_not_an_error():
    drums = measure_player(_notes(np.arange(0, 10, 0.5), [36.0, 38.0] * 10), duration_s=10.0, percussion=True)
    assert np.isnan(drums.tonal_clarity) and drums.key == "" and np.isnan(drums.pitch_range_semitones)
    empty = measure_player(_notes([], []), duration_s=10.0)
    assert empty.n_notes == 0 and empty.note_density_per_s == 0.0 and np.isnan(empty.tempo_bpm)
