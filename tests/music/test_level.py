"""Metrical-level model: per-frame chroma, level features, the choice and its confidence (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.music.beats import track_beats_from_envelope
from cadenza.music.level import (
    LEVEL_FEATURES,
    LEVEL_WEIGHTS,
    LevelCandidate,
    choose_level,
    chroma_frames,
    level_candidates,
    score_levels,
)
from cadenza.music.onset import OnsetEnvelope, compute_spectrogram

FRAME_RATE_HZ = 86.13


def broken_chords(beat_bpm: float, *, off_beat: float, chord_changes_per_beat: int, seed: int,
                  duration_s: float = 24.0) -> tuple[OnsetEnvelope, np.ndarray]:
    """An onset envelope of eighth notes (the off-beat ones ``off_beat`` as strong as the beat: a lullaby's
    broken-chord accompaniment) and a chroma whose chord changes ``chord_changes_per_beat`` times a beat
    (1: on the beat only, 2: on every eighth note)."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * FRAME_RATE_HZ)
    env = 0.02 * rng.random(n)
    chroma = np.full((12, n), 0.01)
    for k, t_s in enumerate(np.arange(0.3, duration_s - 0.1, 30.0 / beat_bpm)):
        env[int(round(t_s * FRAME_RATE_HZ))] += (1.0 if k % 2 == 0 else off_beat) * (1.0 + 0.05 * rng.standard_normal())
    chord_s = 60.0 / beat_bpm / chord_changes_per_beat
    root = 0
    for t_s in np.arange(0.3, duration_s, chord_s):
        root = (root + int(rng.integers(2, 10))) % 12  # a different chord every time
        a, b = int(round(t_s * FRAME_RATE_HZ)), int(round((t_s + chord_s) * FRAME_RATE_HZ))
        chroma[:, a:b] = 0.01
        chroma[[root, (root + 4) % 12, (root + 7) % 12], a:b] = 1.0
    return OnsetEnvelope(env, FRAME_RATE_HZ), chroma


@settings(max_examples=5, deadline=None)
@given(beat_bpm=st.floats(60.0, 80.0), off_beat=st.floats(0.5, 0.7), seed=st.integers(0, 2**16))
def test_slow_beat_with_strong_eighth_notes_and_chords_on_the_beat_is_tracked_at_the_beat(beat_bpm, off_beat, seed):
    # Eighth notes up to 70 % as strong as the beat (the first estimate alone often doubles such music);
    # the chords change on the beat only.
    onsets, chroma = broken_chords(beat_bpm, off_beat=off_beat, chord_changes_per_beat=1, seed=seed)
    track = track_beats_from_envelope(onsets, chroma=chroma)
    assert track.tempo_bpm == pytest.approx(beat_bpm, rel=0.04)
    assert track.alternative_tempo_bpm / track.tempo_bpm in (pytest.approx(2.0, rel=0.01), pytest.approx(0.5, rel=0.01))
    assert 0.0 <= track.level_confidence <= 1.0


@settings(max_examples=5, deadline=None)
@given(beat_bpm=st.floats(50.0, 80.0), off_beat=st.floats(0.5, 1.0), seed=st.integers(0, 2**16))
def test_chords_on_every_eighth_note_move_support_to_the_faster_level(beat_bpm, off_beat, seed):
    # The same onsets, two harmonic rhythms: a chord on every eighth note gives the double tempo more
    # support against the beat than chords on the beat only.
    from cadenza.music.beats import metrical_level_candidates

    support = []
    for changes in (1, 2):
        onsets, chroma = broken_chords(beat_bpm, off_beat=off_beat, chord_changes_per_beat=changes, seed=seed)
        scores = {int(round(np.log2(c.tempo_bpm / beat_bpm))): c.score for c in metrical_level_candidates(onsets, chroma)}
        support.append(scores[1] - scores[0])  # log-odds of the double over the beat
    assert support[1] > support[0]


def test_chroma_frames_puts_a_440_hz_tone_on_a():
    sr = 11025  # the analysis rate: no resampling
    t = np.arange(sr * 2) / sr
    spec = compute_spectrogram((0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), sampling_rate_hz=sr)
    chroma = chroma_frames(spec)
    assert chroma.shape == (12, spec.magnitude.shape[0])
    assert int(np.argmax(chroma.sum(axis=1))) == 9  # C=0 ... A=9


def test_bad_inputs_name_what_was_wrong():
    env = np.ones(500)
    with pytest.raises(ParameterError, match="chroma must be"):
        level_candidates(env, np.ones((11, 500)), frame_rate_hz=FRAME_RATE_HZ, tempo_bpm=80.0,
                         beats_at=lambda bpm: np.arange(0, 500, 40))
    with pytest.raises(ParameterError, match="tempo_bpm"):
        level_candidates(env, np.ones((12, 500)), frame_rate_hz=FRAME_RATE_HZ, tempo_bpm=float("nan"),
                         beats_at=lambda bpm: np.arange(0, 500, 40))
    with pytest.raises(ParameterError, match="weights must have"):
        score_levels([], weights=(1.0, 2.0))
    with pytest.raises(ParameterError, match="no metrical level"):
        choose_level([])
    with pytest.raises(ParameterError, match="scored"):
        choose_level([LevelCandidate(60.0, (0.0,) * len(LEVEL_FEATURES))])
    assert len(LEVEL_WEIGHTS) == len(LEVEL_FEATURES)


@settings(max_examples=25, deadline=None)
@given(scores=st.lists(st.floats(-20.0, 20.0), min_size=1, max_size=3))
def test_choice_is_the_best_score_and_the_runner_up_is_an_octave_away(scores):
    tempi = [40.0, 80.0, 160.0][:len(scores)]
    best, other, confidence = choose_level([LevelCandidate(t, (), s) for t, s in zip(tempi, scores)])
    assert best.score == max(scores)
    assert 0.0 <= confidence <= 1.0
    if other is not None:
        assert abs(np.log2(other.tempo_bpm / best.tempo_bpm)) == pytest.approx(1.0)
        assert other.score <= best.score


@settings(max_examples=25, deadline=None)
@given(scores=st.lists(st.integers(-2000, 2000).map(lambda k: k / 100), min_size=2, max_size=3, unique=True),
       shift=st.floats(-50.0, 50.0), widen=st.floats(0.1, 5.0))
def test_confidence_depends_only_on_the_score_difference(scores, shift, widen):
    # The scores are relative log-odds (the level model has no intercept): adding a constant to every level
    # changes nothing, and a wider gap between the best and the runner-up never lowers the confidence. Scores
    # differ by at least 0.01: a gap below the rounding of the shift (e.g. 0 and 3e-75, both 1.0 after adding 1)
    # is a tie, which either level may win.
    tempi = [40.0, 80.0, 160.0][:len(scores)]
    best, other, confidence = choose_level([LevelCandidate(t, (), s) for t, s in zip(tempi, scores)])
    shifted = choose_level([LevelCandidate(t, (), s + shift) for t, s in zip(tempi, scores)])
    assert shifted[0].tempo_bpm == best.tempo_bpm and shifted[2] == pytest.approx(confidence, abs=1e-9)
    assert confidence == pytest.approx(np.tanh(0.5 * (best.score - other.score)))
    wider = [LevelCandidate(t, (), s if t == best.tempo_bpm else best.score - (1.0 + widen) * (best.score - s))
             for t, s in zip(tempi, scores)]
    assert choose_level(wider)[2] >= confidence - 1e-12


def test_onset_statistics_tell_the_beat_from_its_double_and_its_half():
    # Eighth notes under a beat of 60 BPM: at the beat, half the onsets are on it and half are half-way;
    # at 120 BPM every onset is on a beat and none half-way; at 30 BPM a quarter of them fall half-way.
    from cadenza.music.level import LEVEL_FEATURES, level_candidates

    onsets, chroma = broken_chords(60.0, off_beat=0.8, chord_changes_per_beat=1, seed=3)
    period = 60.0 * FRAME_RATE_HZ / 60.0
    first = int(round(0.3 * FRAME_RATE_HZ))

    def beats_at(bpm):  # the beat grid of the synthetic onsets at any level
        step = period * 60.0 / bpm
        return np.rint(np.arange(first, onsets.strength.size - 1, step)).astype(np.int64)

    cands = {round(c.tempo_bpm): dict(zip(LEVEL_FEATURES, c.features))
             for c in level_candidates(onsets.strength, chroma, frame_rate_hz=FRAME_RATE_HZ, tempo_bpm=60.0,
                                       beats_at=beats_at)}
    assert cands[60]["onsets_on_beat"] == pytest.approx(0.5, abs=0.05)
    assert cands[60]["onsets_half_way"] == pytest.approx(0.5, abs=0.05)
    assert cands[120]["onsets_on_beat"] > 0.95 and cands[120]["onsets_half_way"] < 0.05
    assert cands[30]["onsets_half_way"] == pytest.approx(0.25, abs=0.05)
    # Eighth notes fall on the quarter points of a 30-BPM beat (half of them), never on those of 60 or 120.
    assert cands[30]["onsets_quarter_points"] == pytest.approx(0.5, abs=0.05)
    assert cands[60]["onsets_quarter_points"] < 0.05 and cands[120]["onsets_quarter_points"] < 0.05
    assert cands[60]["onsets_per_beat"] == pytest.approx(2.0, rel=0.1)
    assert cands[60]["log2_onset_interval_beats"] == pytest.approx(-1.0, abs=0.05)


@settings(max_examples=30, deadline=None)
@given(env=st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=0, max_size=400),
       step=st.integers(2, 60))
def test_onset_statistics_stay_in_range_on_any_envelope(env, step):
    from cadenza.music.level import _onset_statistics, onset_peaks

    env = np.asarray(env, dtype=float)
    peaks = onset_peaks(env)
    assert np.all((peaks >= 0) & (peaks < max(env.size, 1)))
    beats = np.arange(0, env.size, step)
    per_beat, interval, on_beat, half_way, quarter = _onset_statistics(peaks, beats, float(step), env.size)
    assert np.isfinite([per_beat, interval, on_beat, half_way, quarter]).all()
    assert per_beat >= 0 and 0.0 <= on_beat <= 1.0 and 0.0 <= half_way <= 1.0 and 0.0 <= quarter <= 1.0


def test_an_independent_periodicity_joins_the_levels_when_the_first_estimate_misses_it():
    # Chords every 0.9 s (67 BPM) and a louder figure every 0.6 s (100 BPM): a 3:2 cross-rhythm. From a first
    # estimate of 100 BPM the octave levels are 50, 100 and 200 BPM; the 67-BPM periodicity is none of them and
    # about as strong, so it is scored too, marked as independent; a plain pulse adds nothing.
    from cadenza.music.level import independent_periodicity
    from cadenza.music.tempo import autocorrelation

    n = int(30 * FRAME_RATE_HZ)
    env = np.zeros(n)
    env[20::78] += 1.5  # 0.906 s: 66 BPM
    env[20::52] += 1.0  # 0.604 s: 99 BPM
    chroma = np.ones((12, n))
    first_bpm = 60.0 * FRAME_RATE_HZ / 52

    def beats_at(bpm):
        return np.rint(np.arange(20, n - 1, 60.0 * FRAME_RATE_HZ / bpm)).astype(np.int64)

    cands = level_candidates(env, chroma, frame_rate_hz=FRAME_RATE_HZ, tempo_bpm=first_bpm, beats_at=beats_at)
    features = [dict(zip(LEVEL_FEATURES, c.features)) for c in cands]
    assert [round(c.tempo_bpm / first_bpm, 2) for c in cands[:3]] == [0.5, 1.0, 2.0]
    assert len(cands) == 4 and cands[3].tempo_bpm == pytest.approx(first_bpm * 2 / 3, rel=0.02)
    assert features[3]["independent"] == 1.0 and features[3]["first_estimate"] == 0.0
    assert np.isfinite(features[3]["log2_salience_ratio"])
    assert all(f["independent"] == 0.0 and f["log2_salience_ratio"] == 0.0 for f in features[:3])

    plain = np.zeros(n)
    plain[20::52] = 1.0
    assert independent_periodicity(autocorrelation(plain), frame_rate_hz=FRAME_RATE_HZ, tempo_bpm=first_bpm,
                                   level_bpm=[first_bpm / 2, first_bpm, 2 * first_bpm]) is None


@settings(max_examples=30, deadline=None)
@given(periods=st.lists(st.integers(12, 120), min_size=1, max_size=3), tempo_bpm=st.floats(30.0, 200.0),
       seed=st.integers(0, 2**16))
def test_an_independent_periodicity_is_never_an_octave_of_the_first_estimate(periods, tempo_bpm, seed):
    from cadenza.music.level import (
        INDEPENDENT_RANGE_BPM,
        LOG2_SALIENCE_RATIO_RANGE,
        OCTAVE_TOLERANCE,
        independent_periodicity,
    )
    from cadenza.music.tempo import autocorrelation

    rng = np.random.default_rng(seed)
    env = 0.05 * rng.random(2000)
    for p in periods:
        env[::p] += rng.uniform(0.5, 1.5)
    levels = [tempo_bpm * m for m in (0.5, 1.0, 2.0)]
    found = independent_periodicity(autocorrelation(env), frame_rate_hz=FRAME_RATE_HZ, tempo_bpm=tempo_bpm,
                                    level_bpm=levels)
    if found is not None:
        bpm, log2_ratio = found
        assert INDEPENDENT_RANGE_BPM[0] <= bpm <= INDEPENDENT_RANGE_BPM[1]
        assert min(abs(np.log(bpm / (tempo_bpm * 2.0 ** k))) for k in range(-2, 3)) > np.log1p(OCTAVE_TOLERANCE)
        assert LOG2_SALIENCE_RATIO_RANGE[0] <= log2_ratio <= LOG2_SALIENCE_RATIO_RANGE[1]


def test_an_independent_level_that_wins_is_offered_with_the_best_of_the_others():
    # No level is half or double the winner: the runner-up is the best other candidate, not none.
    best, other, confidence = choose_level([LevelCandidate(60.0, (), 0.0), LevelCandidate(120.0, (), 1.0),
                                            LevelCandidate(80.0, (), 2.0)])
    assert best.tempo_bpm == 80.0 and other.tempo_bpm == 120.0
    assert confidence == pytest.approx(np.tanh(0.5))
