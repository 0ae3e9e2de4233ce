"""Walking bouts: runs of initial contacts without a long pause (pure)."""

from __future__ import annotations

import numpy as np

from cadenza.errors import ParameterError
from cadenza.gait.cadence import _check_times

# A step longer than this ends the bout: 1.5 s is 40 steps/min, slower than even very slow
# pathological gait, while a stop to talk or turn on the spot lasts longer.
DEFAULT_MAX_STEP_S = 1.5
# Mobilise-D counts a walking bout from 2 strides (4 contacts); Kluge et al. 2021, Sensors 21:6348.
DEFAULT_MIN_STEPS = 4


def detect_walking_bouts(
    ic_times_s: np.ndarray, *, max_step_s: float = DEFAULT_MAX_STEP_S, min_steps: int = DEFAULT_MIN_STEPS
) -> np.ndarray:
    """Walking bouts as a ``(k, 2)`` array of [start_s, end_s] (first and last contact of each).

    A bout is a run of at least ``min_steps`` contacts in which no step lasts longer than
    ``max_step_s``. No bout gives a ``(0, 2)`` array.

    >>> detect_walking_bouts(np.array([0, 0.5, 1, 1.5, 5, 5.5, 6, 6.5, 7.0])).tolist()
    [[0.0, 1.5], [5.0, 7.0]]
    """
    times_s = _check_times(ic_times_s, name="ic_times_s")
    if not max_step_s > 0:
        raise ParameterError(f"max_step_s must be > 0, got {max_step_s!r}")
    if int(min_steps) != min_steps or min_steps < 2:
        raise ParameterError(f"min_steps must be an integer >= 2, got {min_steps!r}")
    if times_s.size < min_steps:
        return np.empty((0, 2))
    breaks = np.flatnonzero(np.diff(times_s) > max_step_s)
    first = np.concatenate([[0], breaks + 1])
    last = np.concatenate([breaks, [times_s.size - 1]])
    keep = (last - first + 1) >= min_steps
    return np.column_stack([times_s[first[keep]], times_s[last[keep]]])


def contacts_in_window(ic_times_s: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    """The contacts with ``start_s <= t <= end_s`` (inclusive window)."""
    lo, hi = np.searchsorted(ic_times_s, [start_s, end_s], side="left")
    hi = np.searchsorted(ic_times_s, end_s, side="right")
    return ic_times_s[lo:hi]
