"""Beat tracking: dynamic programming over an onset envelope with a drifting local tempo.

The tracker follows Ellis (2007, "Beat tracking by dynamic programming", J. New Music Res.
36:51-60): each frame's score is its onset evidence plus the best predecessor score, penalised
by the squared log-ratio between the gap and the expected beat period. The evidence is the
log-compressed onset strength (:func:`placement_evidence`), so beats follow many ordinary onsets
rather than a few loud off-beat ones. Unlike a fixed global
period, the expected period here is the *local* period at each frame, so accelerandi,
ritardandi and slow rubato are followed. The metrical level is chosen from the periodicity
(:mod:`cadenza.music.tempo`) checked against how equal alternate tracked beats are (a subdivision
alternates strong and weak). The reported tempo is 60 / median inter-beat interval, which is not
quantised to a tempo grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cadenza.errors import ParameterError
from cadenza.music.level import choose_level, chroma_frames, level_candidates, score_levels
from cadenza.music.onset import (
    OnsetEnvelope,
    compute_spectrogram,
    detrend_envelope,
    onset_envelope_from_spectrogram,
)
from cadenza.music.tempo import (
    AMBIGUOUS_LEVEL_CONFIDENCE,
    MAX_TEMPO_BPM,
    MIN_TEMPO_BPM,
    TACTUS_RANGE_BPM,
    autocorrelation,
    estimate_tempo,
    local_period_frames,
    tactus_candidates,
)

#: Penalty weight on (log(gap / period))^2; Ellis (2007) found 100-400 works across genres,
#: the lower end leaves room for expressive timing.
TIGHTNESS = 100.0
MIN_DURATION_S = 4.0


@dataclass(frozen=True)
class BeatTrack:
    """Beats of one recording: tempo in BPM, beat times in seconds, confidence in 0-1.

    ``alternative_tempo_bpm`` is the competing metrical level (about half or double ``tempo_bpm``) and
    ``level_confidence`` (0-1) how clearly the evidence chose ``tempo_bpm`` over it; below
    :data:`cadenza.music.tempo.AMBIGUOUS_LEVEL_CONFIDENCE` the level is ambiguous and both should be offered.
    """

    tempo_bpm: float
    beat_times_s: np.ndarray
    confidence: float
    local_tempo_bpm: np.ndarray = field(default_factory=lambda: np.empty(0))  # one per beat
    alternative_tempo_bpm: float = float("nan")
    level_confidence: float = float("nan")

    @property
    def level_ambiguous(self) -> bool:
        """The metrical level is uncertain: offer ``alternative_tempo_bpm`` too."""
        return bool(np.isfinite(self.level_confidence) and self.level_confidence < AMBIGUOUS_LEVEL_CONFIDENCE)


def _empty(confidence: float = 0.0) -> BeatTrack:
    return BeatTrack(float("nan"), np.empty(0), confidence, np.empty(0))


def _dp_beats(env: np.ndarray, period: np.ndarray, tightness: float) -> np.ndarray:
    """Beat frame indices maximising onset strength plus period-consistency.

    A frame's predecessors lie at least half a period back, so a block of frames shorter than
    half the shortest period depends only on frames before the block: blocks are scored at once.
    """
    n = env.size
    score = env.astype(float).copy()
    back = np.full(n, -1, dtype=np.int64)
    # At a constant period every block past the first two periods has the same shape, gaps and penalties:
    # they are computed once (the fixed-tempo passes of the level check are most of the tracker's cost).
    constant = bool(np.all(period == period[0]))
    cached: tuple[int, np.ndarray, np.ndarray] | None = None
    t0 = 0
    while t0 < n:
        reach = period[t0:t0 + int(0.5 * period[t0]) + 1]
        block = max(1, int(0.5 * float(reach.min())))
        ts = np.arange(t0, min(n, t0 + block))
        t0 = int(ts[-1]) + 1
        if constant and cached is not None and ts.size == cached[0]:
            cand = ts[:, None] - cached[1]
            total = score[cand] + cached[2]
        else:
            p = period[ts]
            lo = np.maximum(np.floor(ts - 2.0 * p).astype(np.int64), 0)
            hi = np.floor(ts - 0.5 * p).astype(np.int64)
            live = hi >= 0
            if not np.any(live):
                continue
            ts, p, lo, hi = ts[live], p[live], lo[live], hi[live]
            gaps = np.arange(int((ts - hi).min()), int((ts - lo).max()) + 1)
            cand = ts[:, None] - gaps[None, :]
            valid = (cand >= lo[:, None]) & (cand <= hi[:, None])
            penalty = np.where(valid, -tightness * np.log(gaps[None, :] / p[:, None]) ** 2, -np.inf)
            total = score[np.maximum(cand, 0)] + penalty
            if constant and ts[0] >= 2.0 * p[0] + 1 and ts.size == block:
                cached = (block, gaps[None, :], penalty)
        k = np.argmax(total, axis=1)
        rows = np.arange(ts.size)
        best = total[rows, k]
        upd = best > 0
        score[ts[upd]] = env[ts[upd]] + best[upd]
        back[ts[upd]] = cand[rows, k][upd]
    # Last beat: the best-scoring frame within the final period (Ellis's "local max" rule).
    tail = int(max(1, period[-1]))
    last = n - tail + int(np.argmax(score[n - tail:]))
    beats = [last]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    return np.asarray(beats[::-1], dtype=np.int64)


#: Metrical-level check. Tracked at a *subdivision* of the beat, every other "beat" falls on the
#: weaker in-between notes; tracked at the beat itself, alternate beats are about equally strong.
#: A candidate level (fastest first) is accepted when its relative periodicity minus the
#: alternation of its tracked beats reaches ALTERNATION_THRESHOLD. On the development corpus the
#: alternation at the annotated beat has median 0.06 (max 0.28) and at the subdivision median 0.64;
#: thresholds 0.35-0.5 give identical results. If no level passes, the periodicity rule of
#: :func:`cadenza.music.tempo.choose_tactus_bpm` stands.
ALTERNATION_WEIGHT = 1.0
ALTERNATION_THRESHOLD = 0.42
#: Level confidence: the margin by which the chosen level passed the check and the next faster level
#: failed it, as a fraction of this margin (a margin of 0.3 or more is full confidence).
FULL_LEVEL_MARGIN = 0.3
CLEAR_ALTERNATION = 0.3


def _fixed_tempo_tracker(env: np.ndarray, fr: float, tightness: float):
    """``beats_at(bpm)``: beat frames tracked at a fixed tempo, each tempo (to 1 %) tracked once."""
    cache: dict[int, np.ndarray] = {}

    def beats_at(tempo_bpm: float) -> np.ndarray:
        key = int(round(np.log(tempo_bpm) / 0.01))
        if key not in cache:
            cache[key] = _dp_beats(env, np.full(env.size, 60.0 * fr / tempo_bpm), tightness)
        return cache[key]

    return beats_at


def _alternation(env: np.ndarray, beats_at, tempo_bpm: float) -> float:
    """How unequal alternate beats are when tracking at ``tempo_bpm`` (0 equal .. 1 every other empty)."""
    b = beats_at(tempo_bpm)
    b = b[(b > 0) & (b < env.size - 1)]
    if b.size < 4:
        return 1.0
    v = np.maximum(np.maximum(env[b - 1], env[b]), env[b + 1])
    even, odd = v[::2].mean(), v[1::2].mean()
    return float(abs(even - odd) / max(even + odd, 1e-12))


def _trim_weak_ends(beat_idx: np.ndarray, env: np.ndarray) -> np.ndarray:
    """Drop leading/trailing beats on silence (the DP extends the grid into fade-ins/outs)."""
    if beat_idx.size < 3:
        return beat_idx
    strength = env[beat_idx]
    floor = 0.1 * np.median(strength[strength > 0]) if np.any(strength > 0) else 0.0
    keep = np.flatnonzero(strength > floor)
    if keep.size == 0:
        return beat_idx[:0]
    return beat_idx[keep[0]:keep[-1] + 1]


#: Where the music ends. The signal's own level (:func:`cadenza.music.onset.frame_level_db`) is placed on its
#: range in the excerpt, from the 5th percentile (silence or the noise floor) to the 95th (the music): the
#: music has ended after the last frame above :data:`MUSIC_END_FRACTION` of that range and at least
#: :data:`MUSIC_END_DROP_DB` below the 95th percentile (music whose level hardly varies has not ended when it
#: dips by a decibel); beats more than one beat period later are dropped (the period's grace keeps a beat
#: on a final held note). No absolute level: the same rule holds for digital silence, a noise floor or a
#: reverberant decay. Fractions 0.2-0.5 with drops of 3-10 dB give beat F 0.910-0.913 on the 160
#: development excerpts, against 0.907 without the rule (bench/RESULTS.md, issue 22, sixth round).
MUSIC_END_FRACTION = 0.4
MUSIC_END_DROP_DB = 10.0
MUSIC_END_PERCENTILES = (5.0, 95.0)


def _trim_after_music_ends(beat_idx: np.ndarray, level_db: np.ndarray | None) -> np.ndarray:
    """Drop the tracked beats that come more than a beat period after the music has ended."""
    if level_db is None or beat_idx.size < 3 or level_db.size == 0:
        return beat_idx
    low, high = np.percentile(level_db, MUSIC_END_PERCENTILES)
    threshold_db = min(low + MUSIC_END_FRACTION * (high - low), high - MUSIC_END_DROP_DB)
    active = np.flatnonzero(level_db > threshold_db)
    if active.size == 0:
        return beat_idx
    period = float(np.median(np.diff(beat_idx)))
    return beat_idx[beat_idx <= active[-1] + period]


def _refine(beat_idx: np.ndarray, env: np.ndarray) -> np.ndarray:
    """Sub-frame beat positions: move each beat to its nearest envelope peak (+-1 frame), then
    interpolate the peak parabolically, so tempo is not quantised to the frame grid."""
    pos = beat_idx.astype(float)
    n = env.size
    for i, b in enumerate(beat_idx):
        lo, hi = max(b - 1, 1), min(b + 1, n - 2)
        if hi < lo:
            continue
        k = lo + int(np.argmax(env[lo:hi + 1]))
        a, c, d = env[k - 1], env[k], env[k + 1]
        if c <= 0 or c < a or c < d:
            continue
        denom = a - 2 * c + d
        pos[i] = k + (0.5 * (a - d) / denom if denom < 0 else 0.0)
    return pos


def _median_ibi_s(beat_times_s: np.ndarray) -> float:
    """Median inter-beat interval, measured over spans of up to 4 beats to average out jitter."""
    span = int(min(4, beat_times_s.size - 1))
    return float(np.median((beat_times_s[span:] - beat_times_s[:-span]) / span))


def _level_evidence(env: np.ndarray, fr: float, est, tempo_bpm: float, seen: dict[float, tuple[float, float]],
                    beats_at, tactus_range_bpm: tuple[float, float] | None) -> tuple[float, float]:
    """(relative periodicity, alternation) of any tempo, reusing what the level check already computed."""
    for cand, evidence in seen.items():
        if abs(np.log(cand / tempo_bpm)) < 0.03:
            return evidence
    bpm, sal = est.salience_bpm, est.salience
    low, high = tactus_range_bpm or TACTUS_RANGE_BPM
    in_range = sal[(bpm >= low) & (bpm <= high)]
    strongest = float(in_range.max()) if in_range.size and in_range.max() > 0 else 1.0
    rel = float(np.interp(np.log(tempo_bpm), np.log(bpm), sal)) / strongest
    return rel, _alternation(env, beats_at, tempo_bpm)


def _competing_level(env: np.ndarray, fr: float, est, tempo0: float, seen: dict[float, tuple[float, float]],
                     beats_at, tactus_range_bpm: tuple[float, float] | None,
                     threshold: float = ALTERNATION_THRESHOLD) -> tuple[float, float]:
    """(competing tempo, level confidence 0-1) for the chosen level ``tempo0``.

    Only levels inside the tactus range compete. The alternation of tracked beats is the evidence both ways:
    the beats of double the tempo should alternate strong-weak (it is a subdivision), the beats of ``tempo0``
    should not (or half the tempo is the beat); :data:`CLEAR_ALTERNATION` (the most that beats at the
    annotated level showed on the development corpus) is where the evidence changes sides. Each margin is
    also capped by how narrowly the level check itself was decided. The confidence is the smallest margin over
    :data:`FULL_LEVEL_MARGIN`; the competitor is the level with that margin.
    """
    low, high = tactus_range_bpm or TACTUS_RANGE_BPM
    margins = []
    if low <= 2 * tempo0 <= high:
        rel, alt = _level_evidence(env, fr, est, 2 * tempo0, seen, beats_at, tactus_range_bpm)
        margins.append((min(threshold - (rel - ALTERNATION_WEIGHT * alt), alt - CLEAR_ALTERNATION),
                        2 * tempo0))
    if low <= tempo0 / 2 <= high:
        rel, alt = _level_evidence(env, fr, est, tempo0, seen, beats_at, tactus_range_bpm)
        margins.append((min(rel - ALTERNATION_WEIGHT * alt - threshold, CLEAR_ALTERNATION - alt),
                        tempo0 / 2))
    if not margins:
        return float("nan"), 1.0  # no other level in the tactus range
    margin, other = min(margins)
    return float(other), float(np.clip(margin / FULL_LEVEL_MARGIN, 0.0, 1.0))


def _first_estimate(env: np.ndarray, fr: float, est, beats_at, threshold: float,
                    tactus_range_bpm: tuple[float, float] | None) -> tuple[float, dict[float, tuple[float, float]]]:
    """The fastest tactus candidate whose periodicity minus alternation passes ``threshold`` (else the
    periodicity rule's tempo), and the (relative periodicity, alternation) of every candidate looked at."""
    seen: dict[float, tuple[float, float]] = {}
    for cand_bpm, rel in tactus_candidates(est.salience, est.salience_bpm, tactus_range_bpm=tactus_range_bpm):
        seen[cand_bpm] = (rel, _alternation(env, beats_at, cand_bpm))
        if rel - ALTERNATION_WEIGHT * seen[cand_bpm][1] >= threshold:
            return cand_bpm, seen
    return est.tempo_bpm, seen


def metrical_level_candidates(onsets: OnsetEnvelope, chroma: np.ndarray, *, tightness: float = TIGHTNESS):
    """The scored metrical levels (half, once and double the first estimate) the tracker chooses among:
    a list of :class:`cadenza.music.level.LevelCandidate` (empty when the envelope holds no tempo).
    ``bench/tempo_level_fit.py`` fits the level model on these features."""
    env, fr = onsets.strength, onsets.frame_rate_hz
    if env.size < MIN_DURATION_S * fr or not np.any(env > 0):
        return []
    est = estimate_tempo(env, frame_rate_hz=fr)
    if not np.isfinite(est.tempo_bpm):
        return []
    beats_at = _fixed_tempo_tracker(env, fr, tightness)
    tempo0, _ = _first_estimate(env, fr, est, beats_at, ALTERNATION_THRESHOLD, None)
    return score_levels(level_candidates(env, chroma, frame_rate_hz=fr, tempo_bpm=tempo0, beats_at=beats_at))


def beats_at_tempo(onsets: OnsetEnvelope, tempo_bpm: float, *, tightness: float = TIGHTNESS) -> np.ndarray:
    """Beat times (s) placed at the metrical level ``tempo_bpm``: the dynamic programme over the compressed
    envelope (:func:`placement_evidence` of :func:`placement_envelope`) with the local period following drift around ``tempo_bpm``, weak
    ends trimmed, no beats once the music has ended (:data:`MUSIC_END_FRACTION`), each beat refined to its
    sub-frame peak, then all moved earlier by the excerpt's attack lag (:func:`attack_lag_s`: slow attacks and
    reverb put the envelope peak after the note-on). The tracker's last step once the level is chosen, and the
    beats at a level given from outside (the annotated level in ``bench/tempo.py --oracle-level``)."""
    env, fr = onsets.strength, onsets.frame_rate_hz
    if not isinstance(tempo_bpm, (int, float, np.number)) or not np.isfinite(tempo_bpm) or not tempo_bpm > 0:
        raise ParameterError(f"tempo_bpm must be a positive number, got {tempo_bpm!r}")
    if env.size < 2 or not np.any(env > 0):
        return np.empty(0)
    period = local_period_frames(env, frame_rate_hz=fr, tempo_bpm=tempo_bpm)
    evidence = placement_evidence(placement_envelope(onsets, tempo_bpm))
    beat_idx = _trim_weak_ends(_dp_beats(evidence, period, tightness), env)
    beat_idx = _trim_after_music_ends(beat_idx, onsets.level_db)
    beat_times_s = _refine(beat_idx, env) / fr
    beat_times_s = beat_times_s - attack_lag_s(env, beat_times_s, frame_rate_hz=fr)
    return beat_times_s[beat_times_s >= 0.0]


#: The attack-lag correction (:func:`attack_lag_s`): beats move earlier by this many ms per unit of slow rise
#: above :data:`ATTACK_RISE_FREE` (the clean case), at most :data:`ATTACK_LAG_MAX_S` and
#: :data:`ATTACK_LAG_MAX_PERIOD` of the beat period. On the 500 development excerpts the excerpt's median beat
#: offset rises by 144 ms per unit of the rise measure (r = 0.70). The grid of bench/tempo_beats.py is flat near
#: these values (beat F 0.923-0.926 over 100-180 ms and 0.05-0.15); held out, beat F 0.906 -> 0.919 end to end
#: (bench/RESULTS.md, issue 22, seventh round).
ATTACK_LAG_MS_PER_RISE = 144.0
ATTACK_RISE_FREE = 0.1
ATTACK_LAG_MAX_S = 0.08
ATTACK_LAG_MAX_PERIOD = 0.25
#: Frames before the beat whose share of the peak measures a slow rise (2 and 3 frames, 46-70 ms, before it).
ATTACK_RISE_FRAMES = (2, 3)


def attack_rise(env: np.ndarray, beat_times_s: np.ndarray, *, frame_rate_hz: float) -> float:
    """How slowly the onsets at the beats rise: the beat-synchronous average of the envelope 2 and 3 frames
    before the beats, as a share of its peak (within a frame of the beat). About 0 for plucks, clicks and
    struck notes, whose flux is one or two frames wide; 0.2-0.5 for organ, strings and choir under reverb,
    whose envelope builds up over several frames (and whose peak, where beats are placed, comes late).
    0 when fewer than two beats lie inside the envelope."""
    idx = np.round(np.asarray(beat_times_s, dtype=float) * frame_rate_hz).astype(np.int64)
    far = max(ATTACK_RISE_FRAMES)
    idx = idx[(idx - far >= 0) & (idx + 1 < env.size)]
    if idx.size < 2:
        return 0.0
    average = env[idx[:, None] + np.arange(-far, 2)[None, :]].mean(axis=0)  # frames -far .. +1
    top = float(average[-3:].max())
    if not top > 0:
        return 0.0
    return float(sum(average[far - k] for k in ATTACK_RISE_FRAMES) / top)


def attack_lag_s(env: np.ndarray, beat_times_s: np.ndarray, *, frame_rate_hz: float) -> float:
    """How much earlier (s, >= 0) the beats of one excerpt belong than the envelope peaks they were placed on.

    Beats sit on onset-envelope peaks; under reverb and on slow attacks (organ, strings, choir) the peak
    comes up to 80 ms after the note-on that listeners and annotations mark, and the lag grows with how
    slowly the envelope rises into the beats (:func:`attack_rise`). One shift per excerpt, from the excerpt
    itself: ``ATTACK_LAG_MS_PER_RISE`` ms per unit of rise above ``ATTACK_RISE_FREE``, bounded by
    ``ATTACK_LAG_MAX_S`` and by ``ATTACK_LAG_MAX_PERIOD`` of the median beat period. Sharp onsets are not
    moved.

    >>> env = np.zeros(400); env[10::40] = 1.0  # one-frame onsets: no lag
    >>> attack_lag_s(env, np.arange(10, 400, 40) / 43.0, frame_rate_hz=43.0)
    0.0
    >>> env[8::40] = env[7::40] = 0.3; env[9::40] = 0.7  # a slow rise into every beat
    >>> round(attack_lag_s(env, np.arange(10, 400, 40) / 43.0, frame_rate_hz=43.0), 3)
    0.072
    """
    beat_times_s = np.asarray(beat_times_s, dtype=float)
    if beat_times_s.size < 4:
        return 0.0
    rise = attack_rise(env, beat_times_s, frame_rate_hz=frame_rate_hz)
    period_s = float(np.median(np.diff(beat_times_s)))
    lag_s = ATTACK_LAG_MS_PER_RISE / 1000.0 * max(0.0, rise - ATTACK_RISE_FREE)
    return float(min(lag_s, ATTACK_LAG_MAX_S, ATTACK_LAG_MAX_PERIOD * period_s))


def placement_envelope(onsets: OnsetEnvelope, tempo_bpm: float) -> np.ndarray:
    """The envelope beats are placed on: the band envelopes of ``onsets.band_strength`` (low and high halves
    of the filterbank) weighted by their own periodicity at the beat period (their autocorrelation at that
    lag, 0 if negative), summed and renormalised; the plain envelope when there are no band envelopes or none
    repeats at the period. Under reverb and noise one half often keeps the pulse more clearly than the mix
    (a walking bass under a smeared choir, a melody over a booming organ): held out, beat F 0.919 -> 0.924 on
    the 500 development excerpts (bench/RESULTS.md, issue 22, seventh round)."""
    bands = onsets.band_strength
    if bands is None or bands.ndim != 2 or bands.shape[0] < 2 or bands.shape[1] != onsets.strength.size:
        return onsets.strength
    lag_frames = 60.0 * onsets.frame_rate_hz / tempo_bpm
    weights = np.array([max(0.0, float(np.interp(lag_frames, np.arange(band.size), autocorrelation(band),
                                                    right=0.0))) for band in bands])
    if not weights.sum() > 0:
        return onsets.strength
    return detrend_envelope((weights[:, None] * bands).sum(axis=0)[None, :] / weights.sum(), onsets.frame_rate_hz)[0]


def placement_evidence(env: np.ndarray) -> np.ndarray:
    """The onset evidence beats are placed on: ``log(1 + strength)``.

    The envelope's rare very strong peaks (a loud entry after a rest, an accent on an off-beat) can
    outweigh many ordinary on-beat onsets in a plain sum and pull a whole stretch of beats onto the
    off-beat; compressed, the programme counts onsets more than it weighs them. With the annotated level
    given, beat F rose from 0.911 to 0.923 on the 160 development excerpts (bench/RESULTS.md, issue 22,
    fifth round); the level check's fixed-tempo passes keep the plain envelope (the level model was
    fitted on it).
    """
    return np.log1p(np.maximum(env, 0.0))


def track_beats_from_envelope(onsets: OnsetEnvelope, *, chroma: np.ndarray | None = None,
                              tightness: float = TIGHTNESS, level_ratio: float | None = None,
                              tactus_range_bpm: tuple[float, float] | None = None,
                              alternation_threshold: float | None = None,
                              level_model: tuple[tuple[float, ...], float] | None = None) -> BeatTrack:
    """Beat track from a precomputed onset envelope (see :func:`track_beats`).

    With ``chroma`` (per-frame pitch-class energy ``(12, frames)`` from
    :func:`cadenza.music.level.chroma_frames`), the metrical level is chosen by the level model of
    :mod:`cadenza.music.level` among half, once and double the first estimate, and its confidence is the
    model's margin; without it, by the alternation rule alone. ``alternation_threshold`` defaults to
    :data:`ALTERNATION_THRESHOLD` (a parameter for cross-validated tuning in ``bench/tempo.py``), and
    ``level_model`` (weights, intercept) to the fitted :data:`cadenza.music.level.LEVEL_WEIGHTS` (another
    model is for cross-validation in ``bench/tempo_level_fit.py``)."""
    threshold = ALTERNATION_THRESHOLD if alternation_threshold is None else float(alternation_threshold)
    env = onsets.strength
    fr = onsets.frame_rate_hz
    if env.size < MIN_DURATION_S * fr or not np.any(env > 0):
        return _empty()
    est = estimate_tempo(env, frame_rate_hz=fr, level_ratio=level_ratio, tactus_range_bpm=tactus_range_bpm)
    if not np.isfinite(est.tempo_bpm):
        return _empty()
    beats_at = _fixed_tempo_tracker(env, fr, tightness)
    tempo0, seen = _first_estimate(env, fr, est, beats_at, threshold, tactus_range_bpm)
    if chroma is not None:
        weights = {} if level_model is None else {"weights": level_model[0], "intercept": level_model[1]}
        candidates = level_candidates(env, chroma, frame_rate_hz=fr, tempo_bpm=tempo0, beats_at=beats_at)
        if tactus_range_bpm is not None:  # the caller's range bounds the level too (all kept if none is inside)
            candidates = [c for c in candidates
                          if tactus_range_bpm[0] <= c.tempo_bpm <= tactus_range_bpm[1]] or candidates
        scored = score_levels(candidates, **weights)
        best, runner_up, level_confidence = choose_level(scored)
        tempo0 = best.tempo_bpm
        alternative_bpm = runner_up.tempo_bpm if runner_up is not None else float("nan")
    else:
        alternative_bpm, level_confidence = _competing_level(env, fr, est, tempo0, seen, beats_at, tactus_range_bpm,
                                                             threshold)
    beat_times_s = beats_at_tempo(onsets, tempo0, tightness=tightness)
    if beat_times_s.size < 2:
        return _empty(est.confidence)
    ibi_s = np.diff(beat_times_s)
    tempo_bpm = 60.0 / _median_ibi_s(beat_times_s)
    local = 60.0 / np.concatenate([ibi_s[:1], ibi_s])
    # The competing level keeps its ratio to the chosen one when the tracked tempo drifts from tempo0.
    return BeatTrack(tempo_bpm=tempo_bpm, beat_times_s=beat_times_s, confidence=est.confidence,
                     local_tempo_bpm=local, alternative_tempo_bpm=float(tempo_bpm * alternative_bpm / tempo0),
                     level_confidence=level_confidence)


def track_beats(samples: np.ndarray, *, sampling_rate_hz: float, tightness: float = TIGHTNESS) -> BeatTrack:
    """Tempo and beat times of an audio signal.

    ``samples`` is ``(n,)`` or ``(channels, n)`` (time last). Signals shorter than 4 s or silent
    return an empty track with NaN tempo (not an error).

    >>> sr = 22050
    >>> t = np.arange(sr * 12) / sr
    >>> clicks = (np.sin(2 * np.pi * 1000 * t) * (np.mod(t, 0.6) < 0.02)).astype(np.float32)
    >>> track = track_beats(clicks, sampling_rate_hz=sr)
    >>> round(track.tempo_bpm)
    100
    """
    if not np.isscalar(tightness) or not tightness > 0:
        raise ParameterError(f"tightness must be > 0, got {tightness!r}")
    spec = compute_spectrogram(samples, sampling_rate_hz=sampling_rate_hz)
    return track_beats_from_envelope(onset_envelope_from_spectrogram(spec), chroma=chroma_frames(spec),
                                     tightness=tightness)


LEVEL_RATIOS = (1 / 3, 2 / 3, 3 / 4, 4 / 3, 3 / 2, 3.0)  # non-octave relations a competing level can have
LEVEL_RATIO_TOLERANCE = 0.03  # a tempo within 3 % of such a relation is taken to be it


def beats_at_level(beat_times_s, *, analysed_bpm: float | None, used_bpm: float | None) -> list[float]:
    """Beat times moved to another metrical level: the tracked beats at ``analysed_bpm`` when the tempo in
    use is ``used_bpm`` (a correction). A ratio within 3 % of 1:3, 2:3, 3:4 or their inverses (the competing
    level an independent periodicity gives) is taken as that relation, any other as the nearest power of two.
    New beats are read off the tracked ones at fractional beat indices, linearly between them, so they follow
    rubato: halving keeps every other beat, doubling adds the midpoints, 2:3 puts a beat every one and a half
    tracked beats. A ratio near 1 (a tapped tempo close to the analysed one) keeps the beats as they are.

    >>> beats_at_level([0.0, 0.5, 1.0, 1.5, 2.0], analysed_bpm=120, used_bpm=60)
    [0.0, 1.0, 2.0]
    >>> beats_at_level([0.0, 1.0, 2.0], analysed_bpm=60, used_bpm=118)
    [0.0, 0.5, 1.0, 1.5, 2.0]
    >>> beats_at_level([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0], analysed_bpm=120, used_bpm=80)
    [0.0, 0.75, 1.5, 2.25, 3.0]
    """
    beats = [float(b) for b in beat_times_s]
    if not beats or not analysed_bpm or not used_bpm or not np.isfinite(analysed_bpm) or not np.isfinite(used_bpm) \
            or analysed_bpm <= 0 or used_bpm <= 0:
        return beats
    ratio = used_bpm / analysed_bpm
    near = min(LEVEL_RATIOS, key=lambda r: abs(np.log(ratio / r)))
    ratio = near if abs(np.log(ratio / near)) <= np.log1p(LEVEL_RATIO_TOLERANCE) else 2.0 ** np.round(np.log2(ratio))
    index = np.arange(int(np.floor((len(beats) - 1) * ratio + 1e-9)) + 1) / ratio
    out = np.interp(index, np.arange(len(beats)), beats)
    return [round(float(b), 4) for b in out]


@dataclass
class BeatTracker:
    """The beat tracker as a swappable algorithm object (tpcp style): parameters in the
    constructor, results in trailing-underscore attributes after :meth:`detect`.

    >>> sr = 22050
    >>> t = np.arange(sr * 12) / sr
    >>> clicks = (np.sin(2 * np.pi * 1000 * t) * (np.mod(t, 0.5) < 0.02)).astype(np.float32)
    >>> round(BeatTracker(tightness=200).detect(clicks, sampling_rate_hz=sr).tempo_bpm_)
    120
    """

    tightness: float = TIGHTNESS
    level_ratio: float | None = None
    tactus_range_bpm: tuple[float, float] | None = None

    def detect(self, samples: np.ndarray, *, sampling_rate_hz: float) -> "BeatTracker":
        if not np.isscalar(self.tightness) or not self.tightness > 0:
            raise ParameterError(f"tightness must be > 0, got {self.tightness!r}")
        spec = compute_spectrogram(samples, sampling_rate_hz=sampling_rate_hz)
        self.track_ = track_beats_from_envelope(onset_envelope_from_spectrogram(spec), chroma=chroma_frames(spec),
                                                tightness=self.tightness, level_ratio=self.level_ratio,
                                                tactus_range_bpm=self.tactus_range_bpm)
        self.tempo_bpm_ = self.track_.tempo_bpm
        self.beat_times_s_ = self.track_.beat_times_s
        self.confidence_ = self.track_.confidence
        return self
