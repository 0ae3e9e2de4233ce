"""Cadence, step-time variability, asymmetry and timed-walk speed from event times (pure)."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class StepAsymmetry:
    """Step-time asymmetry of one bout with its uncertainty.

    ``asymmetry`` is |mean a - mean b| / mean of both (a fraction), a and b being the steps ended by
    the left and the right foot, or, with sides unknown, every other step (``groups`` says which).
    ``ci_low``/``ci_high`` bound (mean a - mean b) / mean of both at ``confidence`` (Welch's t), and
    ``p_value`` tests that the two means are equal. ``confident`` when p < 1 - confidence with at
    least 4 steps in each group: an asymmetry that could be noise is never reported as one.
    """

    asymmetry: float
    ci_low: float
    ci_high: float
    p_value: float
    n_a: int
    n_b: int
    groups: tuple[str, str] = ("left", "right")
    confidence: float = 0.95

    @property
    def confident(self) -> bool:
        return bool(self.n_a >= 4 and self.n_b >= 4 and self.p_value < 1 - self.confidence)


def step_asymmetry_with_confidence(
    step_times_s: np.ndarray, sides: np.ndarray | None = None, *, confidence: float = 0.95
) -> StepAsymmetry:
    """Step-time asymmetry of consecutive contacts, with a confidence interval and a p-value.

    With ``sides`` (one per contact) a step belongs to the foot whose contact ends it, as in
    :func:`step_time_asymmetry`. Without, steps alternate between the feet, so odd and even steps are
    compared (pass one bout at a time: a missed contact swaps the groups and hides asymmetry).

    >>> t = np.cumsum(np.r_[0.0, np.tile([0.4, 0.7], 8)])
    >>> a = step_asymmetry_with_confidence(t)
    >>> round(a.asymmetry, 3), a.confident, a.groups
    (0.545, True, ('odd steps', 'even steps'))
    """
    times_s = _check_times(step_times_s, name="step_times_s")
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must be in (0, 1), got {confidence!r}")
    steps_s = np.diff(times_s)
    if sides is None:
        a, b, groups = steps_s[0::2], steps_s[1::2], ("odd steps", "even steps")
    else:
        sides = np.asarray(sides).astype(str)
        if sides.shape != times_s.shape:
            raise ParameterError(f"sides must have one entry per contact: {sides.shape!r} vs {times_s.shape!r}")
        end_side = np.char.lower(sides[1:])
        a = steps_s[np.char.startswith(end_side, "l")]
        b = steps_s[np.char.startswith(end_side, "r")]
        groups = ("left", "right")
    nan = float("nan")
    if a.size < 2 or b.size < 2:
        return StepAsymmetry(nan, nan, nan, nan, int(a.size), int(b.size), groups, confidence)
    from scipy import stats

    mean_both = (a.mean() + b.mean()) / 2
    diff = a.mean() - b.mean()
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = float(np.sqrt(va + vb))
    if se == 0:
        p = 0.0 if diff != 0 else 1.0
        half = 0.0
    else:
        df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)) if va + vb > 0 else a.size + b.size - 2
        p = float(2 * stats.t.sf(abs(diff) / se, df))
        half = float(stats.t.ppf(0.5 + confidence / 2, df) * se)
    return StepAsymmetry(
        asymmetry=float(abs(diff) / mean_both),
        ci_low=float((diff - half) / mean_both),
        ci_high=float((diff + half) / mean_both),
        p_value=p,
        n_a=int(a.size),
        n_b=int(b.size),
        groups=groups,
        confidence=confidence,
    )


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
