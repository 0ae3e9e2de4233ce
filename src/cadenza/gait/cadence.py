"""Cadence, step-time variability, asymmetry and timed-walk speed from event times (pure)."""

from __future__ import annotations

import numpy as np

from cadenza.errors import ParameterError


def _check_times(times_s: object, *, name: str) -> np.ndarray:
    try:
        arr = np.asarray(times_s, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a 1-D array of times in seconds") from None
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be 1-D, got shape {arr.shape!r}")
    if arr.size and not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} contains NaN or infinite times")
    if arr.size > 1 and np.any(np.diff(arr) <= 0):
        raise ParameterError(f"{name} must be strictly increasing (sorted, no duplicates)")
    return arr


def cadence_spm(step_times_s: np.ndarray, *, method: str = "span") -> float:
    """Cadence in steps per minute from consecutive initial-contact times.

    ``method="span"`` is (n - 1) / (t_last - t_first) x 60, the number of steps over the time
    they took. ``method="stride-mean"`` averages 120 / stride time over every pair of contacts two
    apart (how the INDIP reference of the Mobilise-D studies defines a bout's average cadence), so a
    single slow step at a bout's end weighs one stride's worth. Fewer than two contacts (three for
    ``stride-mean``) give NaN.

    >>> cadence_spm(np.array([0.0, 0.5, 1.0]))
    120.0
    >>> cadence_spm(np.array([0.0, 0.5, 1.0, 1.5]), method="stride-mean")
    120.0
    """
    times_s = _check_times(step_times_s, name="step_times_s")
    if method == "span":
        if times_s.size < 2:
            return float("nan")
        return float((times_s.size - 1) / (times_s[-1] - times_s[0]) * 60.0)
    if method == "stride-mean":
        if times_s.size < 3:
            return float("nan")
        return float(np.mean(120.0 / (times_s[2:] - times_s[:-2])))
    raise ParameterError(f"method must be 'span' or 'stride-mean', got {method!r}")


def step_time_cv(step_times_s: np.ndarray) -> float:
    """Coefficient of variation (SD / mean, as a fraction) of step times; NaN below 3 contacts.

    >>> step_time_cv(np.array([0.0, 0.5, 1.0, 1.5]))
    0.0
    """
    times_s = _check_times(step_times_s, name="step_times_s")
    if times_s.size < 3:
        return float("nan")
    steps_s = np.diff(times_s)
    return float(np.std(steps_s, ddof=1) / np.mean(steps_s))


def step_time_asymmetry(step_times_s: np.ndarray, sides: np.ndarray) -> float:
    """Left/right step-time asymmetry: |mean left - mean right| / mean of both (fraction).

    A step's side is the side of the contact that ends it. NaN if either side has no step.

    >>> round(step_time_asymmetry(np.array([0.0, 0.6, 1.0, 1.6, 2.0]), np.array(["l", "r", "l", "r", "l"])), 6)
    0.4
    """
    times_s = _check_times(step_times_s, name="step_times_s")
    sides = np.asarray(sides).astype(str)
    if sides.shape != times_s.shape:
        raise ParameterError(f"sides must have one entry per contact: {sides.shape!r} vs {times_s.shape!r}")
    if times_s.size < 3:
        return float("nan")
    steps_s, end_side = np.diff(times_s), np.char.lower(sides[1:])
    left = steps_s[np.char.startswith(end_side, "l")]
    right = steps_s[np.char.startswith(end_side, "r")]
    if left.size == 0 or right.size == 0:
        return float("nan")
    return float(abs(left.mean() - right.mean()) / ((left.mean() + right.mean()) / 2))


def gait_speed_m_s(distance_m: float, duration_s: float) -> float:
    """Gait speed of a timed walk: the distance *timed* over the time.

    For the 10-metre walk test that distance is the middle 6 m (2-m to 8-m mark), not 10 m
    (Rehabilitation Measures Database, "10 Meter Walk Test").

    >>> gait_speed_m_s(6.0, 7.5)
    0.8
    """
    for name, value in (("distance_m", distance_m), ("duration_s", duration_s)):
        if not np.isfinite(value) or value <= 0:
            raise ParameterError(f"{name} must be a positive finite number, got {value!r}")
    speed = float(distance_m) / float(duration_s)
    if speed > 5.0:
        raise ParameterError(
            f"distance_m={distance_m!r} over duration_s={duration_s!r} gives {speed:.1f} m/s, faster than "
            "anyone walks; was the time entered in minutes or the distance in feet?"
        )
    return speed
