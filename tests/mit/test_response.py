"""Response analysis on attempts rendered with known errors: a wrong pitch, a late syllable."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.io.speech import espeak_available, prepare_cue_material
from cadenza.mit.melody import compose_melody, midi_to_hz
from cadenza.mit.response import PitchContour, analyse_response
from cadenza.mit.syllables import Lexicon, syllabify_phrase
from cadenza.render.voice import render_intoned

pytestmark = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (scripts/setup installs it)")


@pytest.fixture(scope="module")
def material():
    return prepare_cue_material("I want a glass of water", question=None)


def _attempt(material, melody, *, onsets=None, pitches=None, delay_s=0.0, transpose_semitones=0.0):
    onsets = melody.onset_times_s.copy() if onsets is None else onsets
    pitches = melody.pitches_hz.copy() if pitches is None else pitches
    durations = np.diff(np.append(onsets, melody.duration_s))
    y = render_intoned(material.sources, sampling_rate_hz=material.sampling_rate_hz, onset_times_s=onsets + delay_s,
                       durations_s=durations, pitches_hz=pitches * 2 ** (transpose_semitones / 12))
    return y.astype(float)


@pytest.mark.parametrize("level", [1, 2])
def test_wrong_pitch_and_late_syllable_detected(material, level):
    melody = compose_melody(material.phrase, level=level)
    onsets = melody.onset_times_s.copy()
    onsets[4] += 0.2  # "of" 200 ms late
    pitches = melody.pitches_hz.copy()
    pitches[3] = midi_to_hz(melody.low_midi)  # "glass" sung low instead of high
    y = _attempt(material, melody, onsets=onsets, pitches=pitches, delay_s=0.7, transpose_semitones=2.0)
    result = analyse_response(y, sampling_rate_hz=material.sampling_rate_hz, melody=melody)
    timing_ok = [s.timing_ok for s in result.syllables]
    pitch_ok = [s.pitch_ok for s in result.syllables]
    assert timing_ok == [True, True, True, True, False, True, True]
    assert result.syllables[4].timing_error_s == pytest.approx(0.2, abs=0.04)
    assert pitch_ok == [True, True, True, False, True, True, True]
    assert result.syllables[3].sung_high is False and result.syllables[3].target_high is True
    assert not result.pitch_pattern_followed
    assert result.offset_s == pytest.approx(0.7, abs=0.04)  # a later start is not an error
    assert result.transposition_cents == pytest.approx(200, abs=30)  # nor is singing in another key
    as_dict = result.to_dict()
    assert as_dict["syllables"][4]["timing_ok"] is False and as_dict["pitch_pattern_followed"] is False


def test_errors_still_found_in_noise_and_reverb(material, rng):
    """The same two errors at 15 dB SNR (white noise) in a 0.5 s RT60 room (exponential noise tail)."""
    from scipy.signal import fftconvolve

    melody = compose_melody(material.phrase, level=1)
    onsets = melody.onset_times_s.copy()
    onsets[4] += 0.2
    pitches = melody.pitches_hz.copy()
    pitches[3] = midi_to_hz(melody.low_midi)
    y = _attempt(material, melody, onsets=onsets, pitches=pitches, delay_s=0.5)
    sr = material.sampling_rate_hz
    t = np.arange(int(0.5 * sr)) / sr
    room = rng.standard_normal(t.size) * np.exp(-6.9 * t / 0.5)
    room[0] = 1.0
    y = fftconvolve(y, room / np.sqrt(np.sum(room**2)))[: y.size]
    noise = rng.standard_normal(y.size)
    y = y + noise * np.sqrt(np.mean(y**2) / np.mean(noise**2)) * 10 ** (-15 / 20)
    result = analyse_response(y, sampling_rate_hz=sr, melody=melody)
    assert [s.timing_ok for s in result.syllables] == [True, True, True, True, False, True, True]
    assert [s.pitch_ok for s in result.syllables] == [True, True, True, False, True, True, True]


def test_silence_gives_no_matches(material):
    melody = compose_melody(material.phrase, level=1)
    result = analyse_response(np.zeros(material.sampling_rate_hz), sampling_rate_hz=material.sampling_rate_hz,
                              melody=melody)
    # silence is no attempt at all: never a score (not even 0 %)
    assert not result.attempt_found and result.attempt_problem == "no voice was found in the recording"
    assert np.isnan(result.timing_match) and not result.pitch_pattern_followed
    assert all(np.isnan(s.onset_s) for s in result.syllables)


def test_bad_input(material):
    melody = compose_melody(material.phrase, level=1)
    with pytest.raises(ParameterError, match="timing_tolerance_s"):
        analyse_response(np.zeros(1000), sampling_rate_hz=22_050, melody=melody, timing_tolerance_s=5)
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        analyse_response(np.zeros(1000), sampling_rate_hz=22.05, melody=melody)


def _contour(onsets_s, durations_s, pitches_hz, *, hop_s=0.0058, end_s=None):
    """A synthetic pYIN-like contour: each syllable voiced from its onset for 85 % of its slot."""
    end_s = end_s or float(onsets_s[-1] + durations_s[-1] + 0.5)
    t = np.arange(0.0, end_s, hop_s)
    f0 = np.full(t.size, np.nan)
    for g, d, p in zip(onsets_s, durations_s, pitches_hz):
        f0[(t >= g) & (t < g + 0.85 * d)] = p
    level = np.where(np.isfinite(f0), -20.0, -80.0)
    return PitchContour(times_s=t, f0_hz=f0, level_db=level)


LEX = Lexicon({"hi": (("HH", "AY1"),), "lo": (("L", "OW0"),)})


@settings(max_examples=40, deadline=None)
@given(pattern=st.lists(st.booleans(), min_size=3, max_size=8), level=st.sampled_from([1, 2]),
       delay_s=st.floats(0.0, 3.0), transpose_cents=st.floats(-600, 600),
       jitter_s=st.lists(st.floats(-0.05, 0.05), min_size=8, max_size=8), data=st.data())
def test_delay_transposition_and_small_jitter_pass_one_displaced_syllable_fails(
        pattern, level, delay_s, transpose_cents, jitter_s, data):
    # (with two syllables "first late" and "second early" are the same attempt: three or more needed)
    melody = compose_melody(syllabify_phrase(" ".join("hi" if p else "lo" for p in pattern), lexicon=LEX),
                            level=level)
    n = len(melody.notes)
    onsets = melody.onset_times_s + delay_s + np.array(jitter_s[:n])
    pitches = melody.pitches_hz * 2 ** (transpose_cents / 1200)
    ok = analyse_response(np.zeros(10), sampling_rate_hz=22_050, melody=melody,
                          contour=_contour(onsets, melody.durations_s, pitches))
    assert ok.timing_match == 1.0 and ok.pitch_pattern_followed
    assert ok.transposition_cents == pytest.approx(transpose_cents, abs=1)
    k = data.draw(st.integers(0, n - 1))
    late = onsets.copy()
    late[k] += 0.3
    durations = np.diff(np.append(late, late[-1] + melody.durations_s[-1]))
    wrong = pitches.copy()
    wrong[k] *= 2 ** ((-300 if melody.notes[k].high else 300) / 1200)
    bad = analyse_response(np.zeros(10), sampling_rate_hz=22_050, melody=melody,
                           contour=_contour(late, durations, wrong))
    assert [s.timing_ok for s in bad.syllables] == [i != k for i in range(n)]
    assert [s.pitch_ok for s in bad.syllables] == [i != k for i in range(n)]


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 5000), st.sampled_from([(512, 128), (353, 128), (256, 64), (1024, 256)]),
       st.integers(0, 2**32 - 1))
def test_frame_level_is_librosas_rms(n_samples, frame_hop, seed):
    import librosa

    from cadenza.mit.response import _frame_rms

    frame, hop = frame_hop
    y = np.random.default_rng(seed).standard_normal(n_samples + frame)
    np.testing.assert_array_equal(_frame_rms(y, frame_length=frame, hop_length=hop),
                                  librosa.feature.rms(y=y, frame_length=frame, hop_length=hop)[0])
