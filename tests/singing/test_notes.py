import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.singing import SungNote, score_notes, segment_notes

HOP_S = 0.0058


def _contour(pitches_midi, durations_s, gap_s=0.0):
    times, f0 = [], []
    now = 0.0
    for midi, duration in zip(pitches_midi, durations_s, strict=True):
        n = int(round(duration / HOP_S))
        times.extend(now + HOP_S * np.arange(n))
        f0.extend([440.0 * 2 ** ((midi - 69) / 12)] * n)
        now += n * HOP_S
        g = int(round(gap_s / HOP_S))
        times.extend(now + HOP_S * np.arange(g))
        f0.extend([np.nan] * g)
        now += g * HOP_S
    return np.asarray(times), np.asarray(f0)


def test_a_melody_with_and_without_gaps():
    for gap_s in (0.0, 0.1):
        times, f0 = _contour([60, 62, 64, 62.3], [0.4, 0.3, 0.5, 0.4], gap_s=gap_s)
        notes = segment_notes(times, f0)
        assert [round(n.pitch_midi, 2) for n in notes] == [60, 62, 64, 62.3]
        assert notes[1].onset_s == pytest.approx(0.4 + gap_s, abs=2 * HOP_S)


def test_vibrato_and_short_dropouts_stay_one_note():
    times = HOP_S * np.arange(300)
    midi = 67 + 0.4 * np.sin(2 * np.pi * 5.5 * times)  # +-40 cents vibrato
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    f0[100:104] = np.nan  # a 23-ms dropout
    notes = segment_notes(times, f0)
    assert len(notes) == 1 and notes[0].pitch_midi == pytest.approx(67, abs=0.1)


@settings(max_examples=30, deadline=None)
@given(transpose=st.floats(-12, 12), shift_s=st.floats(0, 100))
def test_transposing_and_delaying_a_melody(transpose, shift_s):
    times, f0 = _contour([60, 64, 67, 65], [0.3, 0.3, 0.3, 0.5])
    base = segment_notes(times, f0)
    moved = segment_notes(times + shift_s, f0 * 2 ** (transpose / 12))
    assert len(moved) == len(base) == 4
    for a, b in zip(base, moved, strict=True):
        assert b.pitch_midi == pytest.approx(a.pitch_midi + transpose, abs=1e-6)
        assert b.onset_s == pytest.approx(a.onset_s + shift_s, abs=1e-6)
    score = score_notes(moved, target_midi=[60 + transpose, 64 + transpose, 67 + transpose, 65 + transpose])
    np.testing.assert_allclose(score.cents_error, 0, atol=1e-4)
    assert score.within_50_cents_pct == 100.0


def _notes(*pitches):
    return [SungNote(0.5 * k, 0.5 * k + 0.4, p) for k, p in enumerate(pitches)]


def test_scoring_with_missed_and_extra_notes():
    score = score_notes(_notes(60.1, 66.0, 64.4, 67.0), target_midi=[60, 64, 67, 69])
    assert score.sung_idx.tolist() == [0, 2, 3, -1]
    np.testing.assert_allclose(score.cents_error[:3], [10, 40, 0], atol=1e-9)
    assert np.isnan(score.cents_error[3]) and score.n_extra == 1
    assert score.within_50_cents_pct == 75.0
    assert score.mean_abs_cents_error == pytest.approx(50 / 3)


def test_octave_equivalence():
    low = _notes(48.2, 52.0)  # a man singing the melody an octave down
    np.testing.assert_allclose(score_notes(low, target_midi=[60, 64]).cents_error, [-1180, -1200], atol=1e-9)
    np.testing.assert_allclose(score_notes(low, target_midi=[60, 64], octave_equivalent=True).cents_error, [20, 0],
                               atol=1e-9)


def test_empty_inputs():
    assert segment_notes([], []) == []
    assert np.isnan(score_notes(_notes(60), target_midi=[]).within_50_cents_pct)
    assert score_notes([], target_midi=[60, 62]).sung_idx.tolist() == [-1, -1]


@pytest.mark.parametrize(("times", "f0", "match"), [
    ([0.0, 0.01], [220.0], "one length"), ([0.01, 0.0], [220.0, 220.0], "increasing"),
    ([0.0, 0.01], [0.0, 220.0], "NaN where unvoiced"),
])
def test_bad_contours_are_named(times, f0, match):
    with pytest.raises(ParameterError, match=match):
        segment_notes(times, f0)


def test_bad_targets_are_named():
    with pytest.raises(ParameterError, match="target_midi"):
        score_notes(_notes(60), target_midi=[261.6, 440.0, 1000.0])
    with pytest.raises(ParameterError, match="min_note_s"):
        segment_notes([0.0, 0.01], [220.0, 220.0], min_note_s=50)
