"""Scoring detected initial contacts and bout cadence against a reference (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from cadenza.errors import ParameterError
from cadenza.gait.bouts import contacts_in_window
from cadenza.gait.cadence import _check_times, cadence_spm

DEFAULT_TOLERANCE_S = 0.25


@dataclass(frozen=True)
class ContactMatch:
    """One-to-one matching of detected to reference contacts within a tolerance."""

    n_true_positive: int
    n_false_positive: int
    n_false_negative: int
    timing_errors_s: np.ndarray  # detected - reference, for matched pairs

    @property
    def precision(self) -> float:
        n = self.n_true_positive + self.n_false_positive
        return self.n_true_positive / n if n else float("nan")

    @property
    def recall(self) -> float:
        n = self.n_true_positive + self.n_false_negative
        return self.n_true_positive / n if n else float("nan")

    @property
    def f1(self) -> float:
        n = 2 * self.n_true_positive + self.n_false_positive + self.n_false_negative
        return 2 * self.n_true_positive / n if n else float("nan")


def match_contacts(
    detected_times_s: np.ndarray, reference_times_s: np.ndarray, *, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> ContactMatch:
    """Optimal one-to-one matching (minimum total |error|) with |error| <= ``tolerance_s``.

    >>> m = match_contacts(np.array([0.1, 1.0, 3.0]), np.array([0.0, 1.05, 2.0]))
    >>> (m.n_true_positive, m.n_false_positive, m.n_false_negative)
    (2, 1, 1)
    """
    det = _check_times(detected_times_s, name="detected_times_s")
    ref = _check_times(reference_times_s, name="reference_times_s")
    if not tolerance_s > 0:
        raise ParameterError(f"tolerance_s must be > 0, got {tolerance_s!r}")
    if det.size == 0 or ref.size == 0:
        return ContactMatch(0, int(det.size), int(ref.size), np.empty(0))
    diff = det[:, None] - ref[None, :]
    big = 1e6
    cost = np.where(np.abs(diff) <= tolerance_s, np.abs(diff), big)
    rows, cols = linear_sum_assignment(cost)
    ok = cost[rows, cols] < big
    errors = diff[rows[ok], cols[ok]]
    order = np.argsort(ref[cols[ok]])
    tp = int(ok.sum())
    return ContactMatch(tp, int(det.size - tp), int(ref.size - tp), errors[order])


def pool_matches(matches: Iterable[ContactMatch]) -> ContactMatch:
    """Several matchings added up, so F1, precision and recall are pooled over recordings and bouts
    (not averaged per bout); timing errors are concatenated in the order given.

    >>> a = match_contacts(np.array([0.0, 1.0]), np.array([0.0, 1.1]))
    >>> b = match_contacts(np.array([5.0]), np.array([7.0]))
    >>> pooled = pool_matches([a, b])
    >>> (pooled.n_true_positive, pooled.n_false_positive, pooled.n_false_negative, round(pooled.f1, 3))
    (2, 1, 1, 0.667)
    """
    matches = list(matches)
    for i, m in enumerate(matches):
        if not isinstance(m, ContactMatch):
            raise ParameterError(f"matches[{i}] must be a ContactMatch, got {type(m).__name__}")
    return ContactMatch(
        sum(m.n_true_positive for m in matches),
        sum(m.n_false_positive for m in matches),
        sum(m.n_false_negative for m in matches),
        np.concatenate([m.timing_errors_s for m in matches]) if matches else np.empty(0),
    )


@dataclass(frozen=True)
class BoutScore:
    """A reference bout scored on the contacts detected inside its window."""

    start_s: float
    end_s: float
    reference_cadence_spm: float
    cadence_spm: float
    n_detected: int
    n_reference: int

    @property
    def abs_rel_error(self) -> float:
        if not np.isfinite(self.cadence_spm):
            return 1.0  # no usable cadence counts as a total miss, never as a silent skip
        return abs(self.cadence_spm - self.reference_cadence_spm) / self.reference_cadence_spm


def score_bout(
    detected_times_s: np.ndarray,
    *,
    start_s: float,
    end_s: float,
    reference_cadence_spm: float,
    n_reference: int,
    method: str = "span",
) -> BoutScore:
    """Cadence from the detected contacts inside [start_s, end_s] against the bout's reference.

    >>> s = score_bout(np.arange(0, 10, 0.5), start_s=1.0, end_s=5.0, reference_cadence_spm=120, n_reference=9)
    >>> (s.cadence_spm, s.n_detected, s.abs_rel_error)
    (120.0, 9, 0.0)
    """
    det = _check_times(detected_times_s, name="detected_times_s")
    if not end_s > start_s:
        raise ParameterError(f"end_s must be after start_s, got start_s={start_s!r}, end_s={end_s!r}")
    if not reference_cadence_spm > 0:
        raise ParameterError(f"reference_cadence_spm must be > 0, got {reference_cadence_spm!r}")
    inside = contacts_in_window(det, start_s, end_s)
    return BoutScore(
        start_s=float(start_s),
        end_s=float(end_s),
        reference_cadence_spm=float(reference_cadence_spm),
        cadence_spm=cadence_spm(inside, method=method),
        n_detected=int(inside.size),
        n_reference=int(n_reference),
    )


# The fair benchmark rule: cadence and contact F1 are scored only where the reference timed every
# contact, so a detector is never charged for the reference's own gaps (turns, untimed contacts).
STRETCH_MAX_STEP_RATIO = 1.5
STRETCH_MIN_CONTACTS = 8


def timed_stretches(
    reference_ic_times_s: np.ndarray,
    sides: np.ndarray | None = None,
    *,
    max_step_ratio: float = STRETCH_MAX_STEP_RATIO,
    min_contacts: int = STRETCH_MIN_CONTACTS,
) -> list[np.ndarray]:
    """Stretches of a reference bout in which every contact was timed: the bout's contacts in walking
    order, NaN where the reference saw a step but could not time it, cut at every NaN, at every step
    longer than ``max_step_ratio`` x the bout's median step, and (with ``sides``) wherever the same foot
    lands twice; stretches of at least ``min_contacts`` contacts are returned, as arrays of times.

    >>> ic = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, np.nan, 4.5, 5.0])
    >>> [s.tolist() for s in timed_stretches(ic)]
    [[0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]]
    """
    ic = np.asarray(reference_ic_times_s, dtype=float)
    if ic.ndim != 1:
        raise ParameterError(f"reference_ic_times_s must be 1-D, got shape {ic.shape!r}")
    if sides is not None and len(sides) != ic.size:
        raise ParameterError(f"sides must have one entry per contact: {len(sides)} vs {ic.size}")
    if not max_step_ratio > 1:
        raise ParameterError(f"max_step_ratio must be > 1, got {max_step_ratio!r}")
    if int(min_contacts) != min_contacts or min_contacts < 2:
        raise ParameterError(f"min_contacts must be an integer >= 2, got {min_contacts!r}")
    if ic.size < 2:
        return []
    steps = np.diff(ic)  # NaN next to an untimed contact
    timed_steps = steps[np.isfinite(steps)]
    if timed_steps.size == 0:
        return []
    if np.any(timed_steps <= 0):
        raise ParameterError("reference_ic_times_s must be in walking order (timed contacts increasing)")
    median = float(np.median(timed_steps))
    cut = ~np.isfinite(steps) | (steps > max_step_ratio * median)
    if sides is not None:
        lower = np.char.lower(np.asarray(sides).astype(str))
        cut |= lower[1:] == lower[:-1]
    out, start = [], 0
    for j in [*np.flatnonzero(cut), ic.size - 1]:
        run = ic[start : j + 1]
        run = run[np.isfinite(run)]
        if run.size >= min_contacts:
            out.append(run)
        start = j + 1
    return out


def stretch_window(stretch_times_s: np.ndarray, *, tolerance_s: float = DEFAULT_TOLERANCE_S) -> tuple[float, float]:
    """The window a stretch is scored in: its first and last contact, widened by the lesser of
    ``tolerance_s`` and 0.4 x its median step, so a contact detected slightly early or late still counts
    and a neighbour outside the stretch (at least half a step away) does not."""
    pad = min(tolerance_s, 0.4 * float(np.median(np.diff(stretch_times_s))))
    return float(stretch_times_s[0] - pad), float(stretch_times_s[-1] + pad)


def score_stretch(
    detected_times_s: np.ndarray, stretch_times_s: np.ndarray, *, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> tuple[float, float, ContactMatch]:
    """(cadence from the detections, cadence from the reference, contact match) on one stretch.

    Both cadences are the same formula, (n - 1) / (t_last - t_first) x 60 over the contacts inside
    :func:`stretch_window`, so the reference scored as a detector has error 0.

    >>> ref = np.arange(0.0, 5.0, 0.5)
    >>> det, want, m = score_stretch(ref + 0.02, ref)
    >>> round(det, 3), round(want, 3), m.f1
    (120.0, 120.0, 1.0)
    """
    det = _check_times(detected_times_s, name="detected_times_s")
    ref = _check_times(stretch_times_s, name="stretch_times_s")
    if ref.size < 2:
        raise ParameterError(f"stretch_times_s needs at least 2 contacts, got {ref.size}")
    lo, hi = stretch_window(ref, tolerance_s=tolerance_s)
    inside = contacts_in_window(det, lo, hi)
    ref_inside = contacts_in_window(ref, lo, hi)
    return cadence_spm(inside), cadence_spm(ref_inside), match_contacts(inside, ref, tolerance_s=tolerance_s)
