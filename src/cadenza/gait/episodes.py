"""Freeze episodes as outcomes: detections merged into the episodes a clinician would count.

A freeze detector decides every 0.5 s, so one freeze with a moment of trembling steps inside it comes out
as several detections, and a brief stumble or turn comes out as a short one. Counting the raw detections
over-counts episodes several-fold (on the Daphnet development recordings: 48 detections for 11 annotated
freezes, most of them in recordings with none). :func:`merge_freeze_episodes` joins detections separated
by at most ``max_gap_s`` and keeps episodes lasting at least ``min_duration_s``; the defaults are the
values chosen on the Daphnet development subjects (``bench/freeze_episodes.py``: counts off by 2 in total
over 4 recordings instead of 37, 10 of 11 annotated freezes still found; leave-one-subject-out, off by 5).
Short freezes (Daphnet's shortest is 1.3 s) are then not counted: the count is of the freezes that stop a
walk, and the time frozen is still summed from every detection.

>>> merge_freeze_episodes(np.array([[1.0, 3.0], [3.5, 7.0], [20.0, 21.0]])).tolist()
[[1.0, 7.0]]
"""

from __future__ import annotations

import numpy as np

from cadenza.errors import ParameterError

EPISODE_MAX_GAP_S = 1.0
EPISODE_MIN_DURATION_S = 4.0


def merge_freeze_episodes(
    freeze_intervals_s: np.ndarray, *, max_gap_s: float = EPISODE_MAX_GAP_S,
    min_duration_s: float = EPISODE_MIN_DURATION_S,
) -> np.ndarray:
    """Detections ``(k, 2)`` [start_s, end_s] -> episodes ``(m, 2)``, m <= k (see the module docstring)."""
    arr = np.asarray(freeze_intervals_s, dtype=float).reshape(-1, 2) if np.size(freeze_intervals_s) else np.empty((0, 2))
    if not np.all(np.isfinite(arr)) or np.any(arr[:, 1] < arr[:, 0]):
        raise ParameterError("freeze_intervals_s must be finite [start_s, end_s] pairs with end >= start")
    if not (np.isfinite(max_gap_s) and max_gap_s >= 0):
        raise ParameterError(f"max_gap_s must be >= 0 seconds, got {max_gap_s!r}")
    if not (np.isfinite(min_duration_s) and min_duration_s >= 0):
        raise ParameterError(f"min_duration_s must be >= 0 seconds, got {min_duration_s!r}")
    merged: list[list[float]] = []
    for start, end in arr[np.argsort(arr[:, 0], kind="stable")]:
        if merged and start - merged[-1][1] <= max_gap_s:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out = np.asarray([m for m in merged if m[1] - m[0] >= min_duration_s], dtype=float)
    return out.reshape(-1, 2)
