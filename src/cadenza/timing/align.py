"""Hits matched to the beats of a cue, and their asynchronies.

Each hit belongs to its nearest cue beat, provided it lies within half an inter-beat interval of it
(so every hit between the first and last beat has a beat; before the first beat or after the last one
only within half an interval). Two hits on one beat: the nearer one counts, the other is an extra hit.
A beat without a hit is a missed beat. The **asynchrony** of a beat is hit time - beat time, negative
when the hit comes first (the usual negative mean asynchrony of tapping to a metronome; Repp 2005,
Psychon Bull Rev 12:969; Repp & Su 2013, Psychon Bull Rev 20:403).

The cue times are the times the cue was *heard*: an output latency (a Bluetooth speaker adds
180-650 ms) must be added to scheduled times before they come here, or it shows up as asynchrony.

>>> alignment = align_to_cue([0.98, 1.52, 2.0, 2.03], cue_times_s=[1.0, 1.5, 2.0, 2.5])
>>> alignment.asynchrony_ms.round(1).tolist()
[-20.0, 20.0, 0.0, nan]
>>> alignment.n_matched, alignment.n_missed, alignment.n_extra
(3, 1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.timing.events import check_times


@dataclass(frozen=True)
class Alignment:
    """Hits (``hit_times_s``) matched to cue beats (``cue_times_s``), both sorted.

    ``hit_of_cue[i]`` is the index of beat ``i``'s hit (-1: missed); ``cue_of_hit[j]`` the index of hit
    ``j``'s beat (-1: an extra hit, or one outside the cue).
    """

    cue_times_s: np.ndarray
    hit_times_s: np.ndarray
    hit_of_cue: np.ndarray
    cue_of_hit: np.ndarray

    @property
    def asynchrony_ms(self) -> np.ndarray:
        """Per beat: its hit's time minus the beat's, in ms (NaN for a missed beat)."""
        out = np.full(self.cue_times_s.size, np.nan)
        hit = self.hit_of_cue >= 0
        out[hit] = (self.hit_times_s[self.hit_of_cue[hit]] - self.cue_times_s[hit]) * 1000.0
        return out

    @property
    def cue_interval_s(self) -> np.ndarray:
        """Per beat: the inter-beat interval it starts (the last beat: the one it ends); NaN for one beat."""
        if self.cue_times_s.size < 2:
            return np.full(self.cue_times_s.size, np.nan)
        intervals = np.diff(self.cue_times_s)
        return np.append(intervals, intervals[-1])

    @property
    def n_matched(self) -> int:
        return int(np.count_nonzero(self.hit_of_cue >= 0))

    @property
    def n_missed(self) -> int:
        return int(self.cue_times_s.size - self.n_matched)

    @property
    def n_extra(self) -> int:
        return int(np.count_nonzero(self.cue_of_hit < 0))


def check_cue_times(cue_times_s: Sequence[float] | np.ndarray) -> np.ndarray:
    """Cue times as a strictly increasing float array, or :class:`ParameterError`."""
    cues = check_times(cue_times_s, name="cue_times_s")
    if cues.size > 1 and np.any(np.diff(cues) <= 0):
        raise ParameterError("cue_times_s must be strictly increasing (one time per beat, sorted)")
    return cues


def align_to_cue(hit_times_s: Sequence[float] | np.ndarray, *, cue_times_s: Sequence[float] | np.ndarray) -> Alignment:
    """Match each hit to its nearest beat within half an inter-beat interval (see the module docstring).

    A single-beat cue has no interval: its hit is the nearest one.

    >>> align_to_cue([], cue_times_s=[1.0, 2.0]).n_missed
    2
    """
    hits = np.sort(check_times(hit_times_s, name="hit_times_s"))
    cues = check_cue_times(cue_times_s)
    hit_of_cue = np.full(cues.size, -1, dtype=np.int64)
    cue_of_hit = np.full(hits.size, -1, dtype=np.int64)
    if hits.size == 0 or cues.size == 0:
        return Alignment(cues, hits, hit_of_cue, cue_of_hit)
    right = np.clip(np.searchsorted(cues, hits), 1, max(cues.size - 1, 1))
    left = right - 1
    nearest = np.where(np.abs(hits - cues[left]) <= np.abs(hits - cues[np.minimum(right, cues.size - 1)]),
                       left, np.minimum(right, cues.size - 1))
    if cues.size > 1:
        intervals = np.diff(cues)
        before = np.concatenate([[intervals[0]], intervals])  # interval before each beat (first: the next one)
        after = np.concatenate([intervals, [intervals[-1]]])
        offset = hits - cues[nearest]
        inside = np.where(offset < 0, -offset <= before[nearest] / 2, offset <= after[nearest] / 2)
    else:
        inside = np.ones(hits.size, dtype=bool)
    distance = np.abs(hits - cues[nearest])
    for j in np.argsort(distance, kind="stable"):  # nearest hits claim their beat first
        if inside[j] and hit_of_cue[nearest[j]] < 0:
            hit_of_cue[nearest[j]] = j
            cue_of_hit[j] = nearest[j]
    return Alignment(cues, hits, hit_of_cue, cue_of_hit)
