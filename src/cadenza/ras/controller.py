"""Closed-loop cue tempo: a streaming controller fed step events that emits the next beat times.

The cue adapts to the walker with the published **linear phase- and period-correction** model of
sensorimotor synchronisation (Vorberg & Wing 1996; Mates 1994; reviewed in Repp 2005, Psychon Bull
Rev 12:969; an adaptive metronome built this way: Repp & Keller 2008, Hum Mov Sci 27:22) :

* the asynchrony ``A`` of each step to its heard beat is compared with a target asynchrony ``A*``;
* **phase correction** shifts the next unsent beat by ``phase_gain * (A - A*)``;
* **period correction** changes the beat period by ``period_gain * (A - A*)``, plus a slow pull
  ``tempo_approach * (goal - period)`` towards the goal cadence that is applied only while locked;
* every adjustment is limited to ``max_slew_fraction`` of the period (2-3 % is below the timing JND
  for isochronous sequences, Friberg & Sundberg 1995), and the tempo stays within
  ``bounds_fraction`` (12 %) of the preferred cadence.

The cue starts only after ``start_steps`` steps, in phase with the predicted next step and at the
person's own cadence (D-Jogger strategy 3/4, Moens et al. 2014, PLoS ONE 9:e114234: starting in
phase is what makes locking easy).

The target asynchrony defaults to a typical negative mean asynchrony (-40 ms; Repp 2005 reports
-20..-80 ms for non-musicians). Pass the person's own measured NMA where known, or
``target_asynchrony_s=None`` to learn it: for ``learn_steps`` steps the cue holds the person's own
starting tempo without corrections, then aims at the median asynchrony of the later two thirds. ``phase_offset_s`` is added to the target; a
*later* beat than the preferred phase (a negative offset) nudged cadence up in runners (Buhmann et al.
2018, PLoS ONE 13:e0208702). The simulated walkers in :mod:`.walkers` are linear and cannot show that
effect.

**Late steps** (a live detector reports each step about 2 s after it happened, some beats later; the
beats are sent ahead): a delayed loop that corrects every step's error overshoots, because the
corrections made since that step's beat are still invisible in it. Two options make the loop behave:
``delay_compensation`` subtracts from each error the phase shifts already applied to the beats after
the one the step heard (a Smith predictor: only the part of the error not yet acted on is corrected),
and ``error_smoothing`` (0-1, the weight of the newest error in an exponential average) corrects the
persistent part of the asynchrony rather than each step's timing noise, which the walker corrects
itself long before the controller hears of it. With the delay, the period correction feeds a delayed
integrator and oscillates; :class:`cadenza.ras.live.LiveCueSession` turns it off and lets the pull
towards the goal set the tempo (``bench/ras_controller.py`` chooses these settings).

**Holding at the goal** (``hold_at_goal``): once the cue is at the goal and the walker locked to it, the
cue holds like a fixed cue while the walker keeps a steady phase, and follows again when the phase drifts
more than ``relock_fraction`` of a beat or stops being steady over ``hold_window_steps`` steps. With
``learn_hold_phase`` the phase the controller then aims at is the walker's own phase to the held cue
(the median asynchrony of the hold's first ``learn_hold_steps`` steps), not the generic target: a walker
cued above its own cadence, and one that corrects its phase little, steps steadily later than a typical
-40 ms, and chasing that as an error moved the beats at every release, so the walker's phase to the cue
changed from one hold to the next.

**Predictive phase correction** (``predictive``, what the live session runs): with steps arriving late, the
beat being decided is heard by a step 5-6 steps after the newest one known, so the controller predicts
that step rather than reacting to the last error. From the walker's last ``predict_window_steps`` steps it
measures (i) their own phase to the cue, the median asynchrony, which is what it aims at (a walker cued
above their own cadence steps steadily late, and that is their phase, not an error), and (ii) their own
linear phase correction ``alpha``: the least-squares slope of each step interval on the asynchrony before
it (``interval = c - alpha * asynchrony``, Vorberg & Wing 1996), clipped to [0, 1]. Two walker models then
roll the newest step forward over the beats already sent (with the corrections they carry): (0) the walker
corrects ``alpha`` of its deviation from its own phase at each step, and (1) the walker keeps its own
recent tempo (the median of its last intervals), whatever the cue does, as a recording does. The model
whose predictions of the last decided beats came nearer to what the steps did is used (``walker_model="best"``,
the default; the live session uses model 0 alone, ``"correction"``, as ``bench/ras_controller.py`` chose),
and the pending beat moves by ``phase_gain`` times the predicted deviation (slew-limited), times the share of
it that persists with ``correction_gain="persistent"`` (what the live session runs; :meth:`prediction_gain_`:
the walker's fresh step-to-step noise is not chased). So the gain
adapts to the walker: for a walker who corrects half its error at each step, a deviation is ~2 % left
after 5-6 steps and the cue stays almost steady, as a fixed cue; for one who corrects 10 %, more than half
is left and the cue meets it; a walker who does not hear the cue is followed. Nothing is tuned to one
walker: the window is the only length, and ``phase_gain`` (1 in the live session) scales the prediction.
Every interval stays within ``max_slew_fraction`` of the last sent beat's tempo. The tempo approaches
the goal (``tempo_approach``, slew-limited) and the hold at the goal is not used.

This is deliberately not a Kuramoto phase oscillator; the BeatHealth parameterisation of one is
patented (US 11,690,535 B2).
"""

from __future__ import annotations

import numpy as np

from cadenza.errors import ParameterError

DEFAULT_TARGET_ASYNCHRONY_S = -0.04
MAX_SLEW_FRACTION = 0.03
BOUNDS_FRACTION = 0.12
HOLD_WINDOW_STEPS = 8  # holding at the goal lasts while the walker is locked or the last 8 asynchronies keep one phase
HOLD_MIN_R = 0.9
HOLD_LEARN_STEPS = 8  # with learn_hold_phase: the held steps whose median asynchrony becomes the phase aimed at
RELOCK_FRACTION = 0.45  # holding at the goal ends when the (smoothed) error exceeds this part of a period
PREDICT_WINDOW_STEPS = 32  # with predictive: the steps the walker's own phase correction is measured over
PREDICT_MIN_PAIRS = 8  # ... and the fewest step pairs before the cue acts on it
WALKER_MODELS = ("best", "correction", "own_tempo")
CORRECTION_GAINS = ("fixed", "persistent")


def _check_cadence(name: str, value: float) -> None:
    if not np.isfinite(value) or not 20 <= value <= 250:
        raise ParameterError(f"{name} must be between 20 and 250 steps/min, got {value!r} (steps per second?)")


def playable_beats(beat_times_s: np.ndarray, *, now_s: float, last_sent_s: float = -np.inf,
                   min_gap_s: float = 0.0) -> np.ndarray:
    """The beats of ``beat_times_s`` (just committed, ascending) that a live session plays at ``now_s``: a beat
    already in the past is never played, nor one closer than ``min_gap_s`` to the beat played before it
    (``last_sent_s``; the hand-over from a freeze-started cue). The live session and the simulated live loops
    (:mod:`cadenza.ras.walkers`) keep the same beats.

    >>> playable_beats(np.array([0.8, 1.4, 2.0]), now_s=1.0).tolist()
    [1.4, 2.0]
    """
    kept, last = [], float(last_sent_s)
    for b in np.asarray(beat_times_s, dtype=float).reshape(-1):
        if b >= now_s and b >= last + min_gap_s:
            kept.append(float(b))
            last = float(b)
    return np.asarray(kept)


class FixedTempoCue:
    """Open-loop reference: a constant-tempo cue from ``start_s``, ignoring the steps.

    With ``after_steps=n`` the cue starts once ``n`` steps are known, ``start_s`` after the ``n``-th step, as
    the adaptive cue does (it starts after ``start_steps`` steps): with late steps both then start at the same
    moment, and a simulated comparison of the two is like for like.
    """

    def __init__(self, *, tempo_bpm: float, start_s: float = 0.0, after_steps: int = 0) -> None:
        _check_cadence("tempo_bpm", tempo_bpm)
        if not isinstance(after_steps, (int, np.integer)) or after_steps < 0:
            raise ParameterError(f"after_steps must be an integer >= 0, got {after_steps!r}")
        if not np.isfinite(start_s):
            raise ParameterError(f"start_s must be a finite number of seconds, got {start_s!r}")
        self.period_s = 60.0 / tempo_bpm
        self.after_steps = int(after_steps)
        self._offset_s = float(start_s)
        self._next: float | None = float(start_s) if after_steps == 0 else None
        self.beat_times_s_: list[float] = []
        self.step_times_s_: list[float] = []

    def on_step(self, step_time_s: float) -> None:
        self.step_times_s_.append(float(step_time_s))
        if self._next is None and len(self.step_times_s_) >= self.after_steps:
            self._next = self.step_times_s_[-1] + self._offset_s

    def beats_until(self, time_s: float) -> np.ndarray:
        out: list[float] = []
        if self._next is None:
            return np.asarray(out)
        while self._next <= time_s:
            out.append(self._next)
            self._next += self.period_s
        self.beat_times_s_.extend(out)
        return np.asarray(out)


class AdaptiveCueController:
    """Streaming closed-loop cue (see module docstring).

    Use: call :meth:`on_step` with each detected initial contact (seconds, same clock as the cue),
    and :meth:`beats_until` with ``now + look-ahead`` to get the beats to schedule. Beats once returned
    are never moved; corrections apply to later beats.

    >>> c = AdaptiveCueController(preferred_cadence_spm=100, target_asynchrony_s=0.0)
    >>> for t in (0.0, 0.6, 1.2): c.on_step(t)
    >>> c.beats_until(3.0).round(3).tolist()
    [1.8, 2.4, 3.0]
    """

    def __init__(
        self,
        *,
        preferred_cadence_spm: float,
        goal_cadence_spm: float | None = None,
        phase_gain: float = 0.5,
        period_gain: float = 0.02,
        tempo_approach: float = 0.1,
        target_asynchrony_s: float | None = DEFAULT_TARGET_ASYNCHRONY_S,
        phase_offset_s: float = 0.0,
        learn_steps: int = 16,
        max_slew_fraction: float = 0.025,
        bounds_fraction: float = BOUNDS_FRACTION,
        output_latency_s: float = 0.0,
        start_steps: int = 3,
        allow_beyond_bounds: bool = False,
        delay_compensation: bool = False,
        error_smoothing: float = 1.0,
        hold_at_goal: bool = False,
        relock_fraction: float = RELOCK_FRACTION,
        hold_window_steps: int = HOLD_WINDOW_STEPS,
        learn_hold_phase: bool = False,
        learn_hold_steps: int = HOLD_LEARN_STEPS,
        predictive: bool = False,
        predict_window_steps: int = PREDICT_WINDOW_STEPS,
        walker_model: str = "best",
        correction_gain: str = "fixed",
    ) -> None:
        _check_cadence("preferred_cadence_spm", preferred_cadence_spm)
        goal = preferred_cadence_spm if goal_cadence_spm is None else goal_cadence_spm
        _check_cadence("goal_cadence_spm", goal)
        if not 0 <= phase_gain <= 1:
            raise ParameterError(f"phase_gain must be in [0, 1], got {phase_gain!r}")
        if not 0 <= period_gain <= 1:
            raise ParameterError(f"period_gain must be in [0, 1], got {period_gain!r}")
        if not 0 <= tempo_approach <= 1:
            raise ParameterError(f"tempo_approach must be in [0, 1], got {tempo_approach!r}")
        if not 0 < max_slew_fraction <= MAX_SLEW_FRACTION:
            raise ParameterError(f"max_slew_fraction must be in (0, {MAX_SLEW_FRACTION}], got {max_slew_fraction!r}")
        if not 0 < bounds_fraction <= BOUNDS_FRACTION and not allow_beyond_bounds:
            raise ParameterError(
                f"bounds_fraction must be in (0, {BOUNDS_FRACTION}] unless allow_beyond_bounds=True, got {bounds_fraction!r}"
            )
        if target_asynchrony_s is not None and not -0.3 <= target_asynchrony_s <= 0.3:
            raise ParameterError(f"target_asynchrony_s must be within +-0.3 s, got {target_asynchrony_s!r} (ms given as s?)")
        if not -0.15 <= phase_offset_s <= 0.15:
            raise ParameterError(f"phase_offset_s must be within +-0.15 s, got {phase_offset_s!r} (ms given as s?)")
        if not isinstance(learn_steps, (int, np.integer)) or learn_steps < 4:
            raise ParameterError(f"learn_steps must be an integer >= 4, got {learn_steps!r}")
        if not 0 <= output_latency_s <= 1:
            raise ParameterError(f"output_latency_s must be in [0, 1] s, got {output_latency_s!r}")
        if not np.isfinite(error_smoothing) or not 0 < error_smoothing <= 1:
            raise ParameterError(f"error_smoothing must be in (0, 1] (1 = no smoothing), got {error_smoothing!r}")
        if not np.isfinite(relock_fraction) or not 0.1 < relock_fraction <= 0.5:
            raise ParameterError(f"relock_fraction must be in (0.1, 0.5] of a period, got {relock_fraction!r}")
        for name, value in (("hold_window_steps", hold_window_steps), ("learn_hold_steps", learn_hold_steps)):
            if not isinstance(value, (int, np.integer)) or not 4 <= value <= 64:
                raise ParameterError(f"{name} must be an integer within 4-64, got {value!r}")
        if not isinstance(predict_window_steps, (int, np.integer)) or not 8 <= predict_window_steps <= 256:
            raise ParameterError(f"predict_window_steps must be an integer within 8-256, got {predict_window_steps!r}")
        if correction_gain not in CORRECTION_GAINS:
            raise ParameterError(f"correction_gain must be one of {CORRECTION_GAINS!r}, got {correction_gain!r}")
        if walker_model not in WALKER_MODELS:
            raise ParameterError(f"walker_model must be one of {WALKER_MODELS!r}, got {walker_model!r}")
        if not isinstance(start_steps, (int, np.integer)) or start_steps < 2:
            raise ParameterError(f"start_steps must be an integer >= 2, got {start_steps!r}")
        pref_period = 60.0 / preferred_cadence_spm
        self.min_period_s = pref_period / (1 + bounds_fraction)
        self.max_period_s = pref_period / (1 - bounds_fraction)
        goal_period = 60.0 / goal
        if not self.min_period_s - 1e-12 <= goal_period <= self.max_period_s + 1e-12:
            raise ParameterError(
                f"goal_cadence_spm={goal!r} is more than {100 * bounds_fraction:g} % from the preferred cadence "
                f"{preferred_cadence_spm!r}; raise bounds_fraction with allow_beyond_bounds=True to override"
            )
        self.goal_period_s = goal_period
        self.phase_gain = phase_gain
        self.period_gain = period_gain
        self.tempo_approach = tempo_approach
        # None = learn the person's own mean asynchrony first: for ``learn_steps`` steps the cue holds
        # its starting tempo, uncorrected, then aims at what it measured + phase_offset_s.
        self.learning = target_asynchrony_s is None
        self.learn_steps = int(learn_steps)
        self.phase_offset_s = phase_offset_s
        self.target_asynchrony_s = (0.0 if target_asynchrony_s is None else target_asynchrony_s) + phase_offset_s
        self.max_slew_fraction = max_slew_fraction
        self.output_latency_s = output_latency_s
        self.start_steps = int(start_steps)
        self.period_s: float | None = None
        self._next: float | None = None
        self.beat_times_s_: list[float] = []
        self.step_times_s_: list[float] = []
        self.asynchrony_s_: list[float] = []
        self.period_history_s_: list[float] = []
        self.delay_compensation = bool(delay_compensation)
        self.error_smoothing = float(error_smoothing)
        self._smoothed_error_s: float | None = None
        self.hold_at_goal = bool(hold_at_goal)
        self.relock_fraction = float(relock_fraction)
        self.hold_window_steps = int(hold_window_steps)
        self.learn_hold_phase = bool(learn_hold_phase)
        self.learn_hold_steps = int(learn_hold_steps)
        self._held_asynchrony_s: list[float] = []
        self.holding = False
        self._shifts: list[tuple[int, float]] = []  # (index of the beat a phase shift first moved, shift s)
        self.predictive = bool(predictive)
        self.predict_window_steps = int(predict_window_steps)
        self.walker_model = walker_model
        self.correction_gain = correction_gain
        self._heard_index_: list[int] = []  # with predictive: the beat each kept asynchrony was heard from
        self._kept_step_s_: list[float] = []
        # [beat index, planned s, aimed asynchrony s, deviation predicted by each walker model s] of the beats
        # decided and not yet heard; then, once heard, each model's predicted deviation and the realised one
        self._decisions_: list[list[float]] = []
        self._predicted_dev_s_: list[list[float]] = [[], []]
        self._realised_dev_s_: list[float] = []

    def _clip_period(self, period_s: float) -> float:
        return float(np.clip(period_s, self.min_period_s, self.max_period_s))

    def on_step(self, step_time_s: float) -> None:
        t = float(step_time_s)
        if not np.isfinite(t):
            raise ParameterError(f"step_time_s must be a finite number of seconds, got {step_time_s!r}")
        if self.step_times_s_ and t <= self.step_times_s_[-1]:
            raise ParameterError(f"step_time_s must increase; got {t!r} after {self.step_times_s_[-1]!r}")
        self.step_times_s_.append(t)
        if self.period_s is None:
            if len(self.step_times_s_) >= self.start_steps:
                own = float(np.median(np.diff(self.step_times_s_[-self.start_steps:])))
                self.period_s = self._clip_period(own)
                # First beat heard exactly where the next step should land, minus the target asynchrony.
                self._next = t + self.period_s - self.target_asynchrony_s - self.output_latency_s
            return
        # The beat heard nearest the step, among every beat sent: a live detector reports a step some
        # beats after it happened (cadenza.gait.stream), and its beat is no longer among the last few.
        candidates = np.asarray(self.beat_times_s_ + [self._next]) + self.output_latency_s
        i = int(np.searchsorted(candidates, t))
        near = candidates[max(i - 1, 0):i + 1]
        j = int(np.argmin(np.abs(near - t)))
        heard = near[j]
        heard_index = max(i - 1, 0) + j
        asyn = t - heard
        if abs(asyn) > 0.5 * self.period_s:
            return
        self.asynchrony_s_.append(asyn)
        if self.predictive:
            self._heard_index_.append(heard_index)
            self._kept_step_s_.append(t)
            self._predictive_step(t, asyn, heard_index)
            return
        if self.learning:
            if len(self.asynchrony_s_) >= self.learn_steps:
                # Skip the first few while the person settles; the median resists a stumble.
                settled = self.asynchrony_s_[len(self.asynchrony_s_) // 3:]
                self.learned_asynchrony_s_ = float(np.median(settled))
                self.target_asynchrony_s = self.learned_asynchrony_s_ + self.phase_offset_s
                self.learning = False
            else:
                return  # a steady cue at the person's own tempo lets their own phase relation show
        error = asyn - self.target_asynchrony_s
        a = self.error_smoothing
        prev = self._smoothed_error_s
        self._smoothed_error_s = error = error if prev is None else (1 - a) * prev + a * error
        if self.delay_compensation:
            # Shifts made after the heard beat were not yet heard by this step: act only on the rest.
            self._shifts = [(k, s) for k, s in self._shifts if k > heard_index]
            error -= sum(s for _, s in self._shifts)
        slew = self.max_slew_fraction * self.period_s
        locked = abs(error) < 0.1 * self.period_s
        if self.hold_at_goal:
            recent = np.asarray(self.asynchrony_s_[-self.hold_window_steps:])
            steady = (recent.size >= self.hold_window_steps
                      and abs(np.mean(np.exp(2j * np.pi * recent / self.period_s))) >= HOLD_MIN_R)
            if self.holding and ((not steady and not locked) or abs(error) > self.relock_fraction * self.period_s):
                self.holding = False  # the walker drifts off the cue (a stop, a freeze, another tempo): follow again
            elif not self.holding and locked and abs(self.period_s - self.goal_period_s) < 0.002 * self.goal_period_s:
                self.holding = True
                self._held_asynchrony_s = []
            if self.holding:
                self._held_asynchrony_s.append(asyn)
                if self.learn_hold_phase and len(self._held_asynchrony_s) == self.learn_hold_steps:
                    self._aim_at_held_phase()
                return  # in a steady phase at the goal: a steady cue, as a fixed one, is what the walker follows best
        d_period = self.period_gain * error + (self.tempo_approach * (self.goal_period_s - self.period_s) if locked else 0)
        new_period = self._clip_period(self.period_s + float(np.clip(d_period, -slew, slew)))
        shift = float(np.clip(self.phase_gain * error, -slew, slew))
        pending_index = len(self.beat_times_s_)
        if self.delay_compensation:
            # A shift already made to the beat still unsent stays: the corrections add up, as they are counted.
            shift += sum(s for k, s in self._shifts if k == pending_index)
            self._shifts = [(k, s) for k, s in self._shifts if k != pending_index]
        if self.beat_times_s_:
            # The next beat moves by the phase correction plus the period change; the interval it makes
            # with the last sent beat never deviates from the old period by more than the slew limit.
            last = self.beat_times_s_[-1]
            interval = np.clip(new_period + shift, self.period_s - slew, self.period_s + slew)
            # A beat cannot be scheduled in the past (the step is only known once it has happened).
            planned = last + new_period
            self._next = max(last + float(interval), t)
        else:
            planned = self._next
            self._next = max(self._next + shift, t)
        if self.delay_compensation:
            self._shifts.append((pending_index, self._next - planned))
        self.period_s = new_period

    def _correction_fit(self) -> tuple[float, float, float, float] | None:
        """Least squares of each step interval on the asynchrony before it, over consecutive steps that heard
        consecutive beats among the last ``predict_window_steps``: (slope, mean asynchrony s, mean interval s,
        residual variance / the asynchrony's variance), or None with fewer than ``PREDICT_MIN_PAIRS`` pairs."""
        w = self.predict_window_steps + 1
        idx = np.asarray(self._heard_index_[-w:])
        t = np.asarray(self._kept_step_s_[-w:])
        a = np.asarray(self.asynchrony_s_[-w:])
        pair = np.diff(idx) == 1
        if int(pair.sum()) < PREDICT_MIN_PAIRS:
            return None
        x, y = a[:-1][pair], np.diff(t)[pair]
        var = float(np.var(x))
        if not var > 1e-12:
            return 0.0, float(np.mean(x)), float(np.mean(y)), 1.0
        slope = float(np.mean((x - x.mean()) * (y - y.mean())) / var)
        resid = (y - y.mean()) - slope * (x - x.mean())
        return slope, float(np.mean(x)), float(np.mean(y)), float(np.var(resid)) / var

    def walker_correction_(self) -> tuple[float, float] | None:
        """The walker's own linear phase correction as measured from its last steps: ``(alpha, c_s)`` in
        ``interval = c_s - alpha * asynchrony`` (least squares over consecutive steps that heard consecutive
        beats), or None with fewer than ``PREDICT_MIN_PAIRS`` such pairs. ``alpha`` is clipped to [0, 1]: 0 is
        a walker who does not hear the cue (a recording), 1 one who corrects its whole error at once."""
        fit = self._correction_fit()
        if fit is None:
            return None
        slope, mean_asynchrony_s, mean_interval_s, _ = fit
        alpha = float(np.clip(-slope, 0.0, 1.0))
        return alpha, mean_interval_s + alpha * mean_asynchrony_s

    def _own_period_s(self) -> float:
        """The walker's own step interval lately: the median of its last step intervals."""
        return float(np.median(np.diff(self.step_times_s_[-(self.predict_window_steps // 2 + 1):])))

    def chosen_model_(self) -> int:
        """The walker model the cue follows: 0 = the walker corrects its phase to the cue as measured
        (:meth:`walker_correction_`), 1 = the walker keeps its own recent tempo. With ``walker_model="best"``,
        the one whose predictions of the last decided beats' deviations had the smaller squared error (the
        correction model until 8 beats are scored)."""
        if self.walker_model != "best":
            return WALKER_MODELS.index(self.walker_model) - 1
        r = np.asarray(self._realised_dev_s_[-self.predict_window_steps:])
        if r.size < PREDICT_MIN_PAIRS:
            return 0
        errors = [float(np.sum((r - np.asarray(p[-r.size:])) ** 2)) for p in self._predicted_dev_s_]
        return int(np.argmin(errors))

    def prediction_gain_(self) -> float:
        """How much of the predicted deviation the cue acts on, in [0, 1] (``correction_gain``). ``"fixed"``: all
        of it. ``"persistent"``: the share of the walker's deviation that outlasts its own step-to-step noise,
        ``1 - var(residual) / var(asynchrony)`` of the fit in :meth:`walker_correction_` (the residual is what
        one step adds that the last asynchrony did not predict). A walker whose correction leaves (1 - alpha) of a
        deviation and adds timing noise scores (1 - alpha)^2 without motor noise, less with it: the cue meets a
        walker whose deviation persists and stays steady for one whose deviation is mostly noise. 0 until the
        fit has ``PREDICT_MIN_PAIRS`` step pairs."""
        if self.correction_gain == "fixed":
            return 1.0
        fit = self._correction_fit()
        if fit is None:
            return 0.0
        return float(np.clip(1.0 - fit[3], 0.0, 1.0))

    def _predictive_step(self, t: float, asyn: float, heard_index: int) -> None:
        """Predictive phase correction (see the module docstring): the tempo approaches the goal; the next
        unsent beat moves by ``phase_gain`` times the deviation from the walker's own phase predicted for the
        step that will hear it."""
        lat = self.output_latency_s
        for decision in [d for d in self._decisions_ if d[0] == heard_index]:
            _, planned_k, aim_k, *predicted_k = decision
            for model, p in enumerate(predicted_k):
                self._predicted_dev_s_[model].append(p)
            self._realised_dev_s_.append(t - lat - planned_k - aim_k)  # had the beat not moved
        self._decisions_ = [d for d in self._decisions_ if d[0] > heard_index]
        # Limits per beat, from the tempo of the last beat sent: however many steps arrive between two beats,
        # neither the tempo nor the next interval moves more than the slew limit from it.
        base = self.period_history_s_[-1] if self.period_history_s_ else self.period_s
        slew = self.max_slew_fraction * base
        d_period = self.tempo_approach * (self.goal_period_s - self.period_s)
        new_period = self._clip_period(float(np.clip(self.period_s + d_period, base - slew, base + slew)))
        model = self.walker_correction_()
        if not self.beat_times_s_:
            self.period_s = new_period
            return
        last = self.beat_times_s_[-1]
        planned = last + new_period
        shift = 0.0
        pending_index = len(self.beat_times_s_)
        if model is not None and heard_index < pending_index:
            alpha, _ = model
            # The walker's own phase: the median of its recent asynchronies (not a generic target).
            aim = float(np.median(self.asynchrony_s_[-self.predict_window_steps:]))
            # Model 0: the walker corrects alpha of its deviation from that phase at each step (its steady
            # phase to a cue at this tempo is its own); rolled forward over the beats it hears before the
            # pending one (those are sent, with the corrections they carry).
            step = t
            for j in range(heard_index, pending_index):
                step += new_period - alpha * (step - (self.beat_times_s_[j] + lat) - aim)
            # Model 1: the walker keeps its own recent tempo, whatever the cue does (a recording does).
            own = t + (pending_index - heard_index) * self._own_period_s()
            predicted = [step - aim - lat - planned, own - aim - lat - planned]
            self._decisions_ = [d for d in self._decisions_ if d[0] != pending_index]
            self._decisions_.append([pending_index, planned, aim, *predicted])
            chosen = self.chosen_model_()
            shift = float(self.phase_gain * self.prediction_gain_() * predicted[chosen])
        interval = np.clip(new_period + shift, base - slew, base + slew)
        self._next = max(last + float(interval), t)
        self.period_s = new_period

    def _aim_at_held_phase(self) -> None:
        """From now on aim at the walker's own phase to the held cue (the median asynchrony of the hold's first
        steps) instead of the generic one: a walker cued above its own cadence steps later than it would at
        its own, and that is its steady phase, not an error to chase."""
        learned = float(np.clip(np.median(self._held_asynchrony_s) + self.phase_offset_s, -0.3, 0.3))
        if self._smoothed_error_s is not None:
            self._smoothed_error_s -= learned - self.target_asynchrony_s
        self.target_asynchrony_s = learned
        self.held_asynchrony_s_ = learned

    def beats_until(self, time_s: float) -> np.ndarray:
        """Commit and return the beats due up to ``time_s`` (pass now + your scheduling look-ahead)."""
        out: list[float] = []
        if self._next is None:
            return np.asarray(out)
        while self._next <= time_s:
            out.append(self._next)
            self.period_history_s_.append(self.period_s)
            self._next += self.period_s
        self.beat_times_s_.extend(out)
        return np.asarray(out)

    @property
    def tempo_bpm(self) -> float:
        return float("nan") if self.period_s is None else 60.0 / self.period_s
