"""Scoring MIT steps and sessions, and the advancement rule between levels.

Each step keeps the best attempt, capped at the step maximum; the therapist's override wins. The
session score is points obtained / points possible x 100 over the scored steps of all phrases
(Helm-Estabrooks MIT kit). Advancement when the score reaches 90 % in consecutive sessions is a
*convention* recalled from practice, not a validated rule, and is configurable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.mit.levels import get_step, level_steps

DEFAULT_CRITERION_PCT = 90.0
DEFAULT_CONSECUTIVE_SESSIONS = 2
ADVANCEMENT_CAVEAT = ("Advancement at 90 % over consecutive sessions is a clinical convention, "
                      "not a validated rule; use clinical judgement.")


def score_step(level: int, step_code: str, attempts: Iterable[int] = (), *, override: int | None = None) -> int | None:
    """Score of one step: the best attempt capped at the step maximum, or the therapist's override.

    Returns None for an unscored step (humming, introductions) and for a scored step with no attempt.

    >>> score_step(2, "delayed_repetition", [0, 1, 3])
    2
    >>> score_step(1, "unison", [1], override=0)
    0
    """
    step = get_step(level, step_code)
    attempts = list(attempts)
    for a in attempts + ([override] if override is not None else []):
        if not isinstance(a, int | np.integer) or isinstance(a, bool) or a < 0:
            raise ParameterError(f"step scores must be whole points >= 0, got {a!r} for step {step_code!r}")
    if not step.scored:
        return None
    if override is not None:
        if override > step.max_points:
            raise ParameterError(
                f"override {override!r} exceeds the maximum of {step.max_points} for step {step_code!r}"
            )
        return int(override)
    if not attempts:
        return None
    return int(min(max(attempts), step.max_points))


@dataclass(frozen=True)
class SessionScore:
    """Points scored in one MIT session out of the points possible."""

    points: int
    possible: int

    @property
    def percent(self) -> float:
        return 100.0 * self.points / self.possible if self.possible else float("nan")


def score_session(level: int, phrase_step_scores: Sequence[dict[str, int | None]]) -> SessionScore:
    """Session score over phrases: each dict maps step code to its score (None = not done).

    Steps not done count as 0 of their maximum, so skipping a step cannot raise the percentage.

    >>> s = score_session(1, [{"unison": 1, "unison_fading": 1, "immediate_repetition": 1, "probe": 0}])
    >>> (s.points, s.possible, s.percent)
    (3, 4, 75.0)
    """
    steps = level_steps(level)
    points = possible = 0
    for scores in phrase_step_scores:
        unknown = set(scores) - {s.code for s in steps}
        if unknown:
            raise ParameterError(f"unknown step code(s) {sorted(unknown)!r} for level {level}")
        for step in steps:
            if not step.scored:
                continue
            value = scores.get(step.code)
            if value is not None and not 0 <= value <= step.max_points:
                raise ParameterError(
                    f"score {value!r} for step {step.code!r} is outside 0..{step.max_points}"
                )
            points += int(value or 0)
            possible += step.max_points
    return SessionScore(points=points, possible=possible)


@dataclass(frozen=True)
class Advancement:
    """Whether a client is ready to move up a level, the reason, and the caveat on the convention."""

    ready: bool
    reason: str
    caveat: str = ADVANCEMENT_CAVEAT


def advancement(
    session_percents: Sequence[float],
    *,
    level: int,
    criterion_pct: float = DEFAULT_CRITERION_PCT,
    consecutive_sessions: int = DEFAULT_CONSECUTIVE_SESSIONS,
) -> Advancement:
    """Whether the last ``consecutive_sessions`` session scores (oldest first) all reach ``criterion_pct``.

    >>> advancement([70, 92, 95], level=1).ready
    True
    >>> advancement([95, 80], level=1).ready
    False
    """
    level_steps(level)
    if not np.isfinite(criterion_pct) or not 0 < criterion_pct <= 100:
        raise ParameterError(f"criterion_pct must be a percentage in (0, 100], got {criterion_pct!r}")
    if not isinstance(consecutive_sessions, int) or consecutive_sessions < 1:
        raise ParameterError(f"consecutive_sessions must be a positive integer, got {consecutive_sessions!r}")
    recent = [float(p) for p in session_percents][-consecutive_sessions:]
    if level == 3:
        what = "level III is the last level; consider fading MIT toward spoken practice"
    else:
        what = f"move the phrase set to level {level + 1}"
    if len(recent) < consecutive_sessions:
        return Advancement(False, f"{len(recent)} of {consecutive_sessions} sessions scored so far")
    if all(np.isfinite(p) and p >= criterion_pct for p in recent):
        return Advancement(True, f"last {consecutive_sessions} sessions >= {criterion_pct:g} %: {what}")
    return Advancement(False, f"not all of the last {consecutive_sessions} sessions reached {criterion_pct:g} % "
                              f"({', '.join(f'{p:.0f}' for p in recent)})")
