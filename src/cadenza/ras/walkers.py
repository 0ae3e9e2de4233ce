"""Simulated walkers for evaluating cue controllers, and the loops that run a cue against them.

:class:`LinearCorrectionWalker` is the two-level timing model of sensorimotor synchronisation: a
timekeeper with its own period and variance plus motor delay noise (Wing & Kristofferson 1973), which
corrects its phase and period linearly from the last asynchrony (Vorberg & Wing 1996; Repp 2005),
aims for its own negative mean asynchrony, and is pulled back towards its preferred period (people
drift back to their own cadence when the cue is not compelling). Step ``n+1`` follows step ``n``::

    t[n+1] = t[n] + T[n] - alpha * (A[n] - NMA) + C[n] + M[n+1] - M[n]
    T[n+1] = T[n] - beta * (A[n] - NMA) + kappa * (T_pref - T[n])

with ``A[n]`` the asynchrony of step ``n`` to the nearest heard beat, ``C`` timekeeper noise and
``M`` motor noise. Presets span an attentive synchroniser and a weak one (small period correction,
strong pull to own cadence, more noise), the pattern reported for people with Parkinson's disease who
rarely synchronised with fixed-tempo cues (Hove et al. 2012, PLoS ONE 7:e32600).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.ras.controller import playable_beats
from cadenza.ras.sync import LOCK_WINDOW_STEPS, analyze_synchronization

SCHEDULE_LOOKAHEAD_S = 0.1


@dataclass(frozen=True)
class WalkerParams:
    """A simulated walker's timing model: preferred cadence, phase and period correction, noise."""

    preferred_cadence_spm: float = 100.0
    phase_gain: float = 0.4  # alpha
    period_gain: float = 0.1  # beta
    preferred_pull: float = 0.05  # kappa
    mean_asynchrony_s: float = -0.04  # the walker's own NMA
    timekeeper_sd_s: float = 0.012
    motor_sd_s: float = 0.006


WALKER_PRESETS: dict[str, WalkerParams] = {
    "attentive": WalkerParams(),
    "weak_period_correction": WalkerParams(phase_gain=0.15, period_gain=0.02, preferred_pull=0.1),
    "noisy": WalkerParams(timekeeper_sd_s=0.025, motor_sd_s=0.012, phase_gain=0.3, period_gain=0.05),
    "slow_shuffler": WalkerParams(preferred_cadence_spm=85.0, phase_gain=0.1, period_gain=0.02,
                                  preferred_pull=0.1, mean_asynchrony_s=-0.07, timekeeper_sd_s=0.02),
}


class LinearCorrectionWalker:
    """A simulated walker (see module docstring); deterministic for a given ``seed``."""

    def __init__(self, params: WalkerParams = WalkerParams(), *, seed: int = 0) -> None:
        if not 20 <= params.preferred_cadence_spm <= 250:
            raise ParameterError(f"preferred_cadence_spm must be 20..250, got {params.preferred_cadence_spm!r}")
        for name in ("phase_gain", "period_gain", "preferred_pull"):
            if not 0 <= getattr(params, name) <= 1:
                raise ParameterError(f"{name} must be in [0, 1], got {getattr(params, name)!r}")
        self.params = params
        self.rng = np.random.default_rng(seed)
        self.period_s = 60.0 / params.preferred_cadence_spm
        self._motor_prev = 0.0

    def next_step(self, last_step_s: float, heard_beat_times_s: np.ndarray) -> float:
        """Time of the step after ``last_step_s``, given the beats heard (or scheduled) so far."""
        p = self.params
        correction_phase = 0.0
        if heard_beat_times_s.size:
            nearest = heard_beat_times_s[np.argmin(np.abs(heard_beat_times_s - last_step_s))]
            asyn = last_step_s - nearest
            if abs(asyn) < 0.5 * self.period_s:
                err = asyn - p.mean_asynchrony_s
                correction_phase = p.phase_gain * err
                self.period_s -= p.period_gain * err
        self.period_s += p.preferred_pull * (60.0 / p.preferred_cadence_spm - self.period_s)
        motor = self.rng.normal(0, p.motor_sd_s)
        interval = self.period_s - correction_phase + self.rng.normal(0, p.timekeeper_sd_s) + motor - self._motor_prev
        self._motor_prev = motor
        return last_step_s + max(interval, 0.2 * self.period_s)


def run_closed_loop(cue, walker: LinearCorrectionWalker, *, duration_s: float, start_s: float = 0.0,
                    output_latency_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Walk ``walker`` with ``cue`` (an :class:`~cadenza.ras.controller.AdaptiveCueController` or
    :class:`~cadenza.ras.controller.FixedTempoCue`) for ``duration_s``; returns (steps, beats).

    >>> from cadenza.ras.controller import FixedTempoCue
    >>> steps, beats = run_closed_loop(FixedTempoCue(tempo_bpm=100), LinearCorrectionWalker(seed=1), duration_s=60)
    >>> ev = evaluate_cue(steps, beats)
    >>> bool(ev.resultant_length > 0.9), round(ev.cadence_end_spm)
    (True, 100)
    """
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise ParameterError(f"duration_s must be > 0, got {duration_s!r}")
    steps = [float(start_s)]
    while steps[-1] < start_s + duration_s:
        cue.on_step(steps[-1])
        # Beats already scheduled a little ahead are "known": a beat due just after the step that
        # the step anticipated (negative asynchrony) is the one it is compared with.
        cue.beats_until(steps[-1] + SCHEDULE_LOOKAHEAD_S)
        heard = np.asarray(cue.beat_times_s_[-4:]) + output_latency_s
        steps.append(walker.next_step(steps[-1], heard))
    return np.asarray(steps[:-1]), np.asarray(cue.beat_times_s_)


def run_live_loop(cue, walker: LinearCorrectionWalker, *, duration_s: float, step_delay_s: float = 2.0,
                  schedule_ahead_s: float = 1.0, played_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`run_closed_loop`, but as a live session runs: each step reaches the cue ``step_delay_s``
    after it happened (the streaming detector's release delay), and beats are committed
    ``schedule_ahead_s`` ahead (sent to the phone). The walker hears only beats up to its next step.

    Returns (steps, beats played). A beat committed when its time has already passed is never played by the
    live session (:func:`~cadenza.ras.controller.playable_beats`), so the walker does not hear it and it is
    not returned; the cue itself still counts it among the beats it sent. ``played_only=False`` is the
    earlier rule (every committed beat heard and returned), kept to reproduce published figures.
    """
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise ParameterError(f"duration_s must be > 0, got {duration_s!r}")
    if not np.isfinite(step_delay_s) or not 0 <= step_delay_s <= 10:
        raise ParameterError(f"step_delay_s must be within 0-10 s, got {step_delay_s!r}")
    if not np.isfinite(schedule_ahead_s) or not 0 <= schedule_ahead_s <= 5:
        raise ParameterError(f"schedule_ahead_s must be within 0-5 s, got {schedule_ahead_s!r}")
    steps, delivered = [0.0], 0
    played: list[float] = []
    while steps[-1] < duration_s:
        now = steps[-1]
        while delivered < len(steps) and steps[delivered] <= now - step_delay_s + 1e-9:
            cue.on_step(steps[delivered])
            delivered += 1
        new = cue.beats_until(now + schedule_ahead_s)
        if played_only:
            new = playable_beats(new, now_s=now, last_sent_s=played[-1] if played else -np.inf)
        played.extend(float(b) for b in new)
        k = int(np.searchsorted(played, now + 0.6 * walker.period_s, side="right"))
        steps.append(walker.next_step(now, np.asarray(played[max(k - 4, 0):k])))
    return np.asarray(steps[:-1]), np.asarray(played)


def replay_steps_live(cue, step_times_s: np.ndarray, *, step_delay_s: float = 2.0,
                      schedule_ahead_s: float = 1.0, played_only: bool = True) -> np.ndarray:
    """:func:`replay_steps` as a live session sees a recording: each step reaches the cue
    ``step_delay_s`` late and beats are committed ``schedule_ahead_s`` ahead; returns the beats played
    (as :func:`run_live_loop`: a beat committed after its time is not played; ``played_only=False`` returns
    every committed beat)."""
    steps = np.asarray(step_times_s, dtype=float)
    if steps.ndim != 1 or np.any(np.diff(steps) <= 0):
        raise ParameterError("step_times_s must be a strictly increasing 1-D array of seconds")
    if not np.isfinite(step_delay_s) or not 0 <= step_delay_s <= 10:
        raise ParameterError(f"step_delay_s must be within 0-10 s, got {step_delay_s!r}")
    played: list[float] = []
    for t in steps:
        now = t + step_delay_s
        new = cue.beats_until(now + schedule_ahead_s)
        if played_only:
            new = playable_beats(new, now_s=now, last_sent_s=played[-1] if played else -np.inf)
        played.extend(float(b) for b in new)
        cue.on_step(t)
    return np.asarray(played)


def replay_steps(cue, step_times_s: np.ndarray) -> np.ndarray:
    """Feed recorded step times to ``cue`` in order; returns the beats it emitted.

    A recording cannot respond to the cue, so this measures how well the cue follows a real,
    variable gait (its time to lock and R), not whether it changes anyone's cadence.
    """
    steps = np.asarray(step_times_s, dtype=float)
    if steps.ndim != 1 or np.any(np.diff(steps) <= 0):
        raise ParameterError("step_times_s must be a strictly increasing 1-D array of seconds")
    for t in steps:
        cue.beats_until(t)
        cue.on_step(t)
    cue.beats_until(steps[-1] + SCHEDULE_LOOKAHEAD_S) if steps.size else None
    return np.asarray(cue.beat_times_s_)


@dataclass(frozen=True)
class CueEvaluation:
    """How a simulated or recorded walk followed a cue: time to lock, synchronisation and cadence change."""

    time_to_lock_s: float  # from the first cue beat to the first step of the first locked window; NaN if never
    resultant_length: float  # over steps after lock (all steps in the cue if never locked)
    percent_locked: float
    cadence_start_spm: float  # median over the first 10 steps
    cadence_end_spm: float  # median over the last 20 steps
    mean_asynchrony_ms: float


def resultant_length_from(step_times_s: np.ndarray, beat_times_s: np.ndarray, start_s: float) -> float:
    """R of the steps at or after ``start_s`` to the cue (NaN with fewer than 2 such steps in the cue).

    Comparing two cues' R over the same stretch of a walk (e.g. after both have locked) keeps the cue that
    locks sooner from being charged for the settling its rival's R leaves out.
    """
    steps = np.asarray(step_times_s, dtype=float)
    if steps.size < 2 or np.asarray(beat_times_s).size < 2:
        return float("nan")
    phase = analyze_synchronization(steps, beat_times_s).relative_phase_deg
    keep = phase[(steps >= start_s) & np.isfinite(phase)]
    return float(np.abs(np.mean(np.exp(1j * np.deg2rad(keep))))) if keep.size >= 2 else float("nan")


def evaluate_cue(step_times_s: np.ndarray, beat_times_s: np.ndarray, *, output_latency_s: float = 0.0) -> CueEvaluation:
    """Time to lock, post-lock R, and the cadence change, from one walk with a cue."""
    steps = np.asarray(step_times_s, dtype=float)
    if steps.size < 12 or np.asarray(beat_times_s).size < 2:
        nan = float("nan")
        return CueEvaluation(nan, nan, nan, nan, nan, nan)
    rep = analyze_synchronization(steps, beat_times_s, output_latency_s=output_latency_s)
    first_locked = np.flatnonzero(rep.locked)
    phase = rep.relative_phase_deg
    if first_locked.size:
        # The lock flag sits on a window's centre step; the lock began at the window's first step.
        window_start = max(int(first_locked[0]) - LOCK_WINDOW_STEPS // 2, 0)
        t_lock = max(float(steps[window_start] - np.asarray(beat_times_s)[0]), 0.0)
        after = phase[first_locked[0]:]
    else:
        t_lock = float("nan")
        after = phase
    after = after[np.isfinite(after)]
    r = float(np.abs(np.mean(np.exp(1j * np.deg2rad(after))))) if after.size else float("nan")
    valid = np.isfinite(rep.asynchrony_ms)
    return CueEvaluation(
        time_to_lock_s=t_lock,
        resultant_length=r,
        percent_locked=float(100 * np.mean(rep.locked[valid])) if valid.any() else float("nan"),
        cadence_start_spm=float(60 / np.median(np.diff(steps[:11]))),
        cadence_end_spm=float(60 / np.median(np.diff(steps[-21:]))),
        mean_asynchrony_ms=rep.mean_asynchrony_ms,
    )
