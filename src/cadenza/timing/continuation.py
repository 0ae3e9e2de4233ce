"""Tapping on after the cue stops (continuation), and left/right alternation.

**Continuation drift.** In the synchronisation-continuation task the cue stops and the person keeps
the tempo (Wing & Kristofferson 1973, Percept Psychophys 14:5). Inter-tap intervals (ITIs) typically
shorten a little (the tempo speeds up) and grow more variable; in Parkinson's disease the drift and the
variability are larger (O'Boyle et al. 1996, Brain 119:51). Reported here: the number of taps, the mean
and SD of the ITI (ms), its coefficient of variation (%), the **drift** (the least-squares slope of the
ITI over tap number, ms per tap, negative = speeding up), the same drift over the whole continuation as a
percentage of the mean ITI, and the mean ITI relative to the cue's interval (%; 100 = the tempo kept).

**Alternation.** For bilateral exercises (left, right, left, ...) with a device that knows the side of
each hit (two pads, two halves of a touch screen, two keys): the share of consecutive hits that change
side, and where a side was repeated.

>>> drift = measure_continuation([0.0, 0.5, 0.99, 1.47, 1.94], cue_interval_s=0.5)
>>> drift.n_taps, round(drift.mean_iti_ms, 1), round(drift.drift_ms_per_tap, 1), round(drift.tempo_kept_pct, 1)
(5, 485.0, -10.0, 97.0)
>>> check_alternation(["L", "R", "L", "L", "R"]).repeat_idx.tolist()
[3]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.timing.events import check_times

SIDES = ("L", "R")


@dataclass(frozen=True)
class Continuation:
    """Inter-tap intervals after the cue stopped (see the module docstring); NaN with too few taps."""

    n_taps: int
    mean_iti_ms: float
    sd_iti_ms: float
    iti_cv_pct: float
    drift_ms_per_tap: float
    drift_pct: float
    tempo_kept_pct: float

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else round(v, 3) if isinstance(v, float) else v)
                for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class AlternationCheck:
    """Left/right alternation of a sequence of hits."""

    n_hits: int
    alternating_pct: float  # of consecutive pairs that change side; NaN with fewer than 2 hits
    repeat_idx: np.ndarray  # hits on the same side as the one before

    def to_dict(self) -> dict:
        pct = round(self.alternating_pct, 2) if np.isfinite(self.alternating_pct) else None
        return {"n_hits": self.n_hits, "alternating_pct": pct, "repeat_idx": self.repeat_idx.tolist()}


def measure_continuation(tap_times_s: Sequence[float] | np.ndarray, *, cue_interval_s: float | None = None) -> Continuation:
    """ITI statistics and drift of taps made without the cue (sorted times, s).

    ``cue_interval_s`` is the interval the cue had (for ``tempo_kept_pct``); drift needs 3 intervals.

    >>> measure_continuation([1.0]).mean_iti_ms
    nan
    """
    taps = np.sort(check_times(tap_times_s, name="tap_times_s"))
    if cue_interval_s is not None and (isinstance(cue_interval_s, bool) or not isinstance(cue_interval_s, int | float)
                                       or not 0.05 < cue_interval_s <= 10):
        raise ParameterError(f"cue_interval_s must be in (0.05, 10] seconds (not ms), got {cue_interval_s!r}")
    iti_ms = np.diff(taps) * 1000.0
    nan = float("nan")
    if iti_ms.size == 0:
        return Continuation(int(taps.size), nan, nan, nan, nan, nan, nan)
    mean = float(np.mean(iti_ms))
    sd = float(np.std(iti_ms, ddof=1)) if iti_ms.size >= 2 else nan
    slope = float(np.polyfit(np.arange(iti_ms.size), iti_ms, 1)[0]) if iti_ms.size >= 3 else nan
    kept = 100.0 * mean / (cue_interval_s * 1000.0) if cue_interval_s is not None else nan
    return Continuation(
        n_taps=int(taps.size),
        mean_iti_ms=mean,
        sd_iti_ms=sd,
        iti_cv_pct=100.0 * sd / mean if mean > 0 else nan,
        drift_ms_per_tap=slope,
        drift_pct=100.0 * slope * (iti_ms.size - 1) / mean if mean > 0 else nan,
        tempo_kept_pct=kept,
    )


def check_alternation(sides: Sequence[str]) -> AlternationCheck:
    """How well hits alternate between ``"L"`` and ``"R"`` (one label per hit, in time order).

    >>> check_alternation(["L", "X"])
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: sides must hold only 'L' or 'R' (one per hit), got 'X' at index 1
    """
    if isinstance(sides, str):
        sides = list(sides)
    labels = []
    for i, side in enumerate(sides):
        label = side.strip().upper() if isinstance(side, str) else side
        if label not in SIDES:
            raise ParameterError(f"sides must hold only 'L' or 'R' (one per hit), got {side!r} at index {i}")
        labels.append(label)
    arr = np.asarray(labels)
    if arr.size < 2:
        return AlternationCheck(int(arr.size), float("nan"), np.empty(0, dtype=np.int64))
    repeat = arr[1:] == arr[:-1]
    return AlternationCheck(int(arr.size), 100.0 * float(np.mean(~repeat)), np.flatnonzero(repeat) + 1)
