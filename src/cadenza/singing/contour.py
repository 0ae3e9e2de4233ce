"""Checks and small helpers shared by the contour measures (notes, voice).

>>> voiced_runs(np.array([False, True, True, False, True])).__repr__()
'[(1, 3), (4, 5)]'
"""

from __future__ import annotations

import numpy as np

from cadenza.errors import ParameterError


def check_contour(times_s, f0_hz) -> tuple[np.ndarray, np.ndarray]:
    """``times_s`` (strictly increasing) and ``f0_hz`` (> 0, NaN where unvoiced) as float arrays of one
    length, or :class:`ParameterError`."""
    try:
        times = np.asarray(times_s, dtype=float)
        f0 = np.asarray(f0_hz, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError("times_s and f0_hz must be numbers (s and Hz; NaN for unvoiced)") from exc
    if times.ndim != 1 or f0.shape != times.shape:
        raise ParameterError(f"times_s and f0_hz must be 1-D and of one length, got shapes {times.shape!r} "
                             f"and {f0.shape!r}")
    if not np.all(np.isfinite(times)) or (times.size > 1 and not np.all(np.diff(times) > 0)):
        raise ParameterError("times_s must be finite and strictly increasing (one time per frame)")
    if np.any(f0[np.isfinite(f0)] <= 0) or np.any(np.isinf(f0)):
        raise ParameterError("f0_hz must be > 0 where voiced and NaN where unvoiced (not 0 or infinite)")
    return times, f0


def voiced_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` index pairs of the runs of True in ``mask`` (stop exclusive)."""
    edges = np.diff(np.concatenate([[0], np.asarray(mask).astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))
