"""Two players together: synchrony, leader and follower, tempo coupling, imitation, turn-taking.

Every figure is about player ``a`` and player ``b`` in that order; a positive lag means ``b`` follows.

- ``leader_lag_ms``: the lag (1 ms steps, within +-``MAX_LAG_S``) at which ``b``'s onset train best
  matches ``a``'s: the peak of the cross-correlation of the two onset envelopes (12 ms smoothing, 5 ms frames), then the exact
  count of coinciding onsets (to the millisecond) within 25 ms of each peak within 90 % of the strongest;
  the most coincidences win, and of equals the shortest lag. ``leader`` names who leads.
- ``synchrony_pct``: the share of all onsets with an onset of the other player within +-``SYNC_WINDOW_MS``
  (co-occurring onsets); ``lagged_synchrony_pct`` is the same after ``b`` is moved back by the lag (how
  closely ``b`` follows once the delay is allowed for); ``asynchrony_ms``: median ``b`` minus ``a``
  over the co-occurring pairs.
- ``tempo_coupling_r``: the correlation of the two players' local tempo (8 s windows every 2 s);
  ``tempo_ratio``: ``b``'s tempo over ``a``'s.
- ``imitations_by_b`` / ``imitations_by_a``: motifs (4 notes: their pitch intervals and the ratios of
  their inter-onset intervals) that one player plays 50 ms to 8 s after the other played them.
- turn-taking: the share of the take in which only ``a``, only ``b``, both or neither play (a player
  "plays" from a note to the next one when the gap is under ``PHRASE_GAP_S``), and the number of turns
  (changes of who plays alone).

>>> a = np.arange(0.0, 20.0, 0.5)
>>> duet = measure_duet(Notes(a, np.full(40, 0.1), np.full(40, 60.), np.full(40, 80.)),
...                     Notes(a + 0.12, np.full(40, 0.1), np.full(40, 64.), np.full(40, 80.)), duration_s=21.0)
>>> duet.leader_lag_ms, duet.leader, duet.lagged_synchrony_pct
(120.0, 'a', 100.0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cadenza.improv.events import MAX_DURATION_S, Notes
from cadenza.improv.pulse import FRAME_RATE_HZ, estimate_pulse, local_tempo_bpm, onset_envelope

SYNC_WINDOW_MS = 50.0
MAX_LAG_S = 0.5
REFINE_MS = 25
COARSE_SHARE = 0.9  # coarse peaks this close to the strongest are all checked exactly
MAX_COARSE_PEAKS = 4
MOTIF_NOTES = 4
IMITATION_DELAY_S = (0.05, 8.0)
PHRASE_GAP_S = 1.0
TURN_FRAME_S = 0.05


@dataclass(frozen=True)
class Activity:
    """Turn-taking over the take: shares (%) of time and who plays when (segments as (start s, end s))."""

    only_a_pct: float
    only_b_pct: float
    both_pct: float
    silence_pct: float
    n_turns: int
    segments_a: tuple[tuple[float, float], ...]
    segments_b: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class DuetFeatures:
    """Between-player figures (see the module); NaN where there are too few notes."""

    leader_lag_ms: float
    leader: str  # "a", "b" or "" (no lag found or none)
    synchrony_pct: float
    lagged_synchrony_pct: float
    asynchrony_ms: float
    tempo_coupling_r: float
    tempo_ratio: float
    imitations_by_b: int
    imitations_by_a: int
    activity: Activity

    def to_dict(self) -> dict:
        out = {k: (round(v, 4) if np.isfinite(v) else None) if isinstance(v, float) else v
               for k, v in asdict(self).items() if k != "activity"}
        act = self.activity
        out.update(only_a_pct=round(act.only_a_pct, 2), only_b_pct=round(act.only_b_pct, 2),
                   both_pct=round(act.both_pct, 2), silence_pct=round(act.silence_pct, 2), n_turns=act.n_turns)
        return out


def estimate_lag_ms(a_times_s: np.ndarray, b_times_s: np.ndarray, *, max_lag_s: float = MAX_LAG_S) -> float:
    """Lag (ms, positive = ``b`` after ``a``) at which the onset trains coincide best; NaN if either
    has fewer than 2 onsets.

    >>> estimate_lag_ms(np.array([1.0, 1.7, 2.1, 3.0]), np.array([1.2, 1.9, 2.3, 3.2]))
    200.0
    """
    if a_times_s.size < 2 or b_times_s.size < 2:
        return float("nan")
    # Coarse: cross-correlation of the smoothed trains at the pulse envelope's rate (5 ms frames).
    end_s = max(a_times_s.max(), b_times_s.max()) + max_lag_s
    ea = onset_envelope(a_times_s, duration_s=end_s)
    eb = onset_envelope(b_times_s, duration_s=end_s)
    size = 1 << int(np.ceil(np.log2(2 * ea.size)))
    xc = np.fft.irfft(np.conj(np.fft.rfft(ea, size)) * np.fft.rfft(eb, size), size)  # xc[k] = sum a[t] b[t + k]
    max_frames = int(round(max_lag_s * FRAME_RATE_HZ))
    frames = np.arange(-max_frames, max_frames + 1)
    curve = xc[frames % size]
    inner = np.r_[False, (curve[1:-1] >= curve[:-2]) & (curve[1:-1] >= curve[2:]), False]
    peaks = np.flatnonzero(inner & (curve >= COARSE_SHARE * curve.max()))
    if peaks.size == 0:
        peaks = np.array([int(np.argmax(curve))])
    peaks = peaks[np.argsort(curve[peaks])[::-1][:MAX_COARSE_PEAKS]]
    # Fine: near each strong coarse peak, the lag (1 ms steps) with the most onsets coinciding to the
    # millisecond; the peaks are then compared by the onsets that meet within +-1 ms at their lag (not split
    # by a sub-millisecond clock offset), and of equals (a strictly periodic duet) the shortest lag wins.
    max_lag = int(round(max_lag_s * 1000.0))
    a_ms = np.round(a_times_s * 1000.0).astype(np.int64)
    b_ms = np.unique(np.round(b_times_s * 1000.0).astype(np.int64))
    b_sorted = np.sort(b_times_s)
    best_key, best_lag = None, float("nan")
    for peak in peaks:
        coarse_ms = int(round(frames[peak] * 1000.0 / FRAME_RATE_HZ))
        window = np.arange(max(coarse_ms - REFINE_MS, -max_lag), min(coarse_ms + REFINE_MS, max_lag) + 1)
        counts = np.array([np.isin(a_ms + lag, b_ms).sum() for lag in window])
        tied = window[counts == counts.max()]
        lag = int(tied[np.argmin(np.abs(tied - coarse_ms))])
        met = int(np.count_nonzero(np.abs(_nearest_gap_s(a_times_s + lag / 1000.0, b_sorted)) <= 0.0015))
        key = (met, -abs(lag))
        if best_key is None or key > best_key:
            best_key, best_lag = key, float(lag)
    # The lag in whole ms from the pairs themselves: the median of their differences is not split by two
    # clocks' sub-millisecond offset (rounding each onset to the ms alone could move it by 1 ms).
    gaps_ms = 1000.0 * _nearest_gap_s(a_times_s + best_lag / 1000.0, np.sort(b_times_s)) + best_lag
    paired = np.abs(gaps_ms - best_lag) <= 1.5
    return float(np.round(np.median(gaps_ms[paired]))) if paired.any() else best_lag


def _nearest_gap_s(times_s: np.ndarray, other_s: np.ndarray) -> np.ndarray:
    """For each time, the signed offset (other - time) to the nearest time in ``other_s``."""
    idx = np.clip(np.searchsorted(other_s, times_s), 1, other_s.size - 1) if other_s.size > 1 else np.zeros(times_s.size, int)
    left, right = other_s[np.maximum(idx - 1, 0)] - times_s, other_s[idx] - times_s
    return np.where(np.abs(left) <= np.abs(right), left, right)


def measure_synchrony(a_times_s: np.ndarray, b_times_s: np.ndarray, *,
                      window_ms: float = SYNC_WINDOW_MS) -> tuple[float, float]:
    """(share % of onsets with an onset of the other within +-``window_ms``, median b-minus-a ms of those)."""
    if a_times_s.size == 0 or b_times_s.size == 0:
        return float("nan"), float("nan")
    w = window_ms / 1000.0 + 1e-9
    gap_a = _nearest_gap_s(a_times_s, b_times_s)  # b - a
    gap_b = _nearest_gap_s(b_times_s, a_times_s)  # a - b
    with_a, with_b = np.abs(gap_a) <= w, np.abs(gap_b) <= w
    pct = 100.0 * (with_a.sum() + with_b.sum()) / (a_times_s.size + b_times_s.size)
    asyn = float(np.median(gap_a[with_a]) * 1000.0) if with_a.any() else float("nan")
    return float(pct), asyn


def _motif_rows(notes: Notes) -> tuple[np.ndarray, np.ndarray]:
    """(one row per motif: pitch intervals and IOI ratios in half-octave steps, start times s)."""
    t, p = notes.onset_times_s, notes.pitches
    if t.size < MOTIF_NOTES:
        return np.empty((0, 2 * MOTIF_NOTES - 3), dtype=np.int64), np.empty(0)
    ioi = np.maximum(np.diff(t), 1e-3)
    steps = np.round(np.diff(p)).astype(np.int64)
    ratios = np.round(2 * np.log2(ioi[1:] / ioi[:-1])).astype(np.int64)
    view = np.lib.stride_tricks.sliding_window_view
    rows = np.hstack([view(steps, MOTIF_NOTES - 1), view(ratios, MOTIF_NOTES - 2)[:steps.size - MOTIF_NOTES + 2]])
    return rows, t[:rows.shape[0]]


def count_imitations(leader: Notes, follower: Notes) -> int:
    """Motifs of ``follower`` that ``leader`` played 50 ms to 8 s before.

    >>> phrase = Notes(np.array([0.0, 0.2, 0.4, 0.8]), np.full(4, 0.1), np.array([60., 62, 64, 60]), np.full(4, 80.))
    >>> echo = Notes(phrase.onset_times_s + 2.0, phrase.durations_s, phrase.pitches + 5, phrase.velocities)
    >>> count_imitations(phrase, echo), count_imitations(echo, phrase)
    (1, 0)
    """
    lead_rows, lead_s = _motif_rows(leader)
    follow_rows, follow_s = _motif_rows(follower)
    if lead_rows.shape[0] == 0 or follow_rows.shape[0] == 0:
        return 0
    _, ids = np.unique(np.vstack([lead_rows, follow_rows]), axis=0, return_inverse=True)
    ids = ids.ravel().astype(float)
    span = 2 * (MAX_DURATION_S + IMITATION_DELAY_S[1])  # motif id and start time in one sortable number
    lead_key = np.sort(ids[:lead_s.size] * span + lead_s)
    follow_key = ids[lead_s.size:] * span + follow_s
    lo, hi = IMITATION_DELAY_S
    n = np.searchsorted(lead_key, follow_key - lo, side="right") - np.searchsorted(lead_key, follow_key - hi, side="left")
    return int(np.count_nonzero(n))


def _activity_mask(notes: Notes, n_frames: int) -> np.ndarray:
    mask = np.zeros(n_frames + 1, dtype=int)
    if notes.n_notes == 0:
        return np.zeros(n_frames, dtype=bool)
    starts = notes.onset_times_s
    ends = starts + np.maximum(notes.durations_s, TURN_FRAME_S)
    gaps = np.diff(starts)
    bridged = np.r_[np.where(gaps < PHRASE_GAP_S, starts[1:], ends[:-1]), ends[-1]]  # to the next note in a phrase
    ends = np.maximum(ends, bridged)
    i0 = np.clip(np.floor(starts / TURN_FRAME_S).astype(int), 0, n_frames)
    i1 = np.clip(np.ceil(ends / TURN_FRAME_S).astype(int), 0, n_frames)
    np.add.at(mask, i0, 1)
    np.add.at(mask, i1, -1)
    return np.cumsum(mask)[:n_frames] > 0


def _segments(mask: np.ndarray) -> tuple[tuple[float, float], ...]:
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(int), 0]))
    return tuple((round(float(s * TURN_FRAME_S), 3), round(float(e * TURN_FRAME_S), 3))
                 for s, e in zip(edges[::2], edges[1::2]))


def measure_turn_taking(a: Notes, b: Notes, *, duration_s: float) -> Activity:
    """Who plays when (see the module)."""
    n = max(int(np.ceil(duration_s / TURN_FRAME_S)), 1)
    ma, mb = _activity_mask(a, n), _activity_mask(b, n)
    solo = np.where(ma & ~mb, 1, np.where(mb & ~ma, 2, 0))
    solo = solo[solo > 0]
    turns = int(np.count_nonzero(np.diff(solo))) if solo.size else 0
    pct = lambda m: 100.0 * float(np.mean(m))  # noqa: E731
    return Activity(pct(ma & ~mb), pct(mb & ~ma), pct(ma & mb), pct(~ma & ~mb), turns, _segments(ma), _segments(mb))


def measure_tempo_coupling(a: Notes, b: Notes, *, tempo_a_bpm: float, tempo_b_bpm: float,
                           duration_s: float) -> float:
    """Correlation of the two local tempo curves; NaN with fewer than 3 windows where both have a tempo."""
    if not (np.isfinite(tempo_a_bpm) and np.isfinite(tempo_b_bpm)):
        return float("nan")
    _, ta = local_tempo_bpm(a.onset_times_s, tempo_bpm=tempo_a_bpm, start_s=0.0, end_s=duration_s, velocities=a.velocities)
    _, tb = local_tempo_bpm(b.onset_times_s, tempo_bpm=tempo_b_bpm, start_s=0.0, end_s=duration_s, velocities=b.velocities)
    ok = np.isfinite(ta) & np.isfinite(tb)
    if ok.sum() < 3 or np.ptp(ta[ok]) == 0 or np.ptp(tb[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(ta[ok], tb[ok])[0, 1])


def measure_duet(a: Notes, b: Notes, *, duration_s: float, tempo_a_bpm: float | None = None,
                 tempo_b_bpm: float | None = None) -> DuetFeatures:
    """The between-player figures of ``a`` and ``b`` over a take of ``duration_s`` seconds (their tempi,
    when already known, are passed to save estimating them again)."""
    ta, tb = a.onset_times_s, b.onset_times_s
    lag_ms = estimate_lag_ms(ta, tb)
    leader = "" if not np.isfinite(lag_ms) or lag_ms == 0 else ("a" if lag_ms > 0 else "b")
    sync_pct, asyn_ms = measure_synchrony(ta, tb)
    lagged_pct = measure_synchrony(ta, tb - lag_ms / 1000.0)[0] if np.isfinite(lag_ms) else float("nan")
    if tempo_a_bpm is None:
        tempo_a_bpm = estimate_pulse(ta, velocities=a.velocities).tempo_bpm
    if tempo_b_bpm is None:
        tempo_b_bpm = estimate_pulse(tb, velocities=b.velocities).tempo_bpm
    ratio = tempo_b_bpm / tempo_a_bpm if np.isfinite(tempo_a_bpm) and np.isfinite(tempo_b_bpm) else float("nan")
    return DuetFeatures(
        leader_lag_ms=lag_ms, leader=leader, synchrony_pct=sync_pct, lagged_synchrony_pct=lagged_pct,
        asynchrony_ms=asyn_ms,
        tempo_coupling_r=measure_tempo_coupling(a, b, tempo_a_bpm=tempo_a_bpm, tempo_b_bpm=tempo_b_bpm,
                                                duration_s=duration_s),
        tempo_ratio=float(ratio), imitations_by_b=count_imitations(a, b), imitations_by_a=count_imitations(b, a),
        activity=measure_turn_taking(a, b, duration_s=duration_s))
