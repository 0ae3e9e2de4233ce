"""A live cueing session: motion samples in, the next beats out, on the walker's own device clock.

One :class:`LiveCueSession` per walk composes three streaming parts that also run offline:
:class:`~cadenza.gait.stream.StepStream` (the offline step detector over a sliding window),
:class:`~cadenza.ras.controller.AdaptiveCueController` (phase and period correction towards the goal
cadence) and :class:`~cadenza.gait.freezing.FreezeStream` (freezing of gait). ``push`` takes a batch of
timestamped samples (seconds on the device's clock, e.g. DeviceMotion ``timeStamp / 1000``) and returns a
:class:`LiveUpdate`: the steps released, the beats to schedule (device clock, never in the past) and the
freeze state. The device turns beat times into audio-clock times itself; nothing here knows about audio.

The step detector releases a step ``lookahead_s`` (2 s) after it happened, i.e. 3-4 beats later, and
beats go out 1 s ahead, so the step that will hear the next unsent beat is 5-6 steps after the newest one
the controller knows. It runs with ``LIVE_CONTROLLER``: predictive phase correction. From the walker's
last 64 steps it measures their own phase to the cue (the median asynchrony) and how much of a deviation
from it they correct at each step (linear phase correction, Vorberg & Wing 1996). It rolls the newest step
forward over the beats already sent with that correction, and moves the next beat towards where the step
that hears it is predicted to land, at the walker's own phase, by the share of the deviation that outlasts
the walker's step-to-step noise (``correction_gain="persistent"``). A walker who corrects quickly gets an almost
steady cue (their deviation will be gone by then); one who corrects little, or a recording that does not
hear the cue, gets a cue that meets them. The tempo approaches the goal; the cue never chases a generic
phase. ``bench/ras_controller.py`` chose this setting on simulated walkers and replayed real walks, with
leave-one-walker-out figures, judging both cues on the beats the session plays (``docs/live.md``).

A detected freeze changes the cue: if the cue has not started (no steps yet), it starts at the goal
tempo from the next 100 ms; while a freeze lasts, ``frozen`` is set so the device can accent the beats.

Music therapy is an adjunct to care, not a cure; RAS's evidence and caveat are in
``evidence/catalog.toml`` (``ras_gait``), shown wherever the app offers the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cadenza.errors import ParameterError
from cadenza.gait.episodes import merge_freeze_episodes
from cadenza.gait.freezing import PLACEMENTS, FreezeDetector, FreezeEvent, events_to_intervals, summarize_freezes
from cadenza.gait.stream import StepStream
from cadenza.ras.controller import AdaptiveCueController, playable_beats
from cadenza.ras.sync import analyze_synchronization

SCHEDULE_AHEAD_S = 1.0  # beats sent this far ahead: the device keeps cueing through a 1 s network stall
FREEZE_CUE_DELAY_S = 0.1
MIN_GOAL_INCREASE = 0.0
MAX_GOAL_INCREASE = 0.10  # the goal is the person's cadence +0..10 % (RAS practice: +5-10 %)
# The controller's settings for steps that arrive 2 s late (chosen by bench/ras_controller.py): predictive
# phase correction with the walker's measured phase correction, aimed at the walker's own phase, measured over
# the last 64 steps and acting on the share of the walker's deviation that outlasts its step-to-step noise.
LIVE_CONTROLLER = dict(predictive=True, phase_gain=1.0, period_gain=0.0, tempo_approach=0.3,
                       walker_model="correction", predict_window_steps=64, correction_gain="persistent")


@dataclass(frozen=True)
class LiveUpdate:
    """What one batch of samples decided (all times in seconds on the device clock)."""

    step_times_s: tuple[float, ...] = ()
    beat_times_s: tuple[float, ...] = ()
    tempo_bpm: float = float("nan")
    frozen: bool = False
    freeze_events: tuple[tuple[str, float], ...] = ()  # ("start" | "end", time_s)
    processed_until_s: float = float("nan")  # newest sample time consumed


def goal_cadence_spm(preferred_cadence_spm: float, *, increase_fraction: float) -> float:
    """The goal cadence: the person's own plus ``increase_fraction`` (0-0.10)."""
    if not np.isfinite(increase_fraction) or not MIN_GOAL_INCREASE <= increase_fraction <= MAX_GOAL_INCREASE:
        raise ParameterError(f"increase_fraction must be within {MIN_GOAL_INCREASE}-{MAX_GOAL_INCREASE} "
                             f"(0.05 = +5 %), got {increase_fraction!r} (percent given as a fraction?)")
    if not np.isfinite(preferred_cadence_spm) or not 20 <= preferred_cadence_spm <= 250:
        raise ParameterError(f"preferred_cadence_spm must be within 20-250 steps/min, got {preferred_cadence_spm!r}")
    return float(preferred_cadence_spm) * (1 + increase_fraction)


@dataclass
class LiveCueSession:
    """One walk with a live cue (see the module docstring)."""

    preferred_cadence_spm: float
    goal_cadence_spm: float
    placement: str = "lower-back"
    sampling_rate_hz: float = 100.0
    lookahead_s: float = 2.0
    hop_s: float = 0.02  # below the 50 ms batches: the detector runs on every batch
    schedule_ahead_s: float = SCHEDULE_AHEAD_S
    controller: AdaptiveCueController = field(init=False)
    steps: StepStream = field(init=False)

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise ParameterError(f"placement must be one of {PLACEMENTS!r}, got {self.placement!r}")
        if not 0.1 <= self.schedule_ahead_s <= 5:
            raise ParameterError(f"schedule_ahead_s must be within 0.1-5 s, got {self.schedule_ahead_s!r}")
        self.steps = StepStream(sampling_rate_hz=self.sampling_rate_hz, lookahead_s=self.lookahead_s, hop_s=self.hop_s)
        self.controller = AdaptiveCueController(
            preferred_cadence_spm=self.preferred_cadence_spm, goal_cadence_spm=self.goal_cadence_spm, **LIVE_CONTROLLER)
        self._freeze = FreezeDetector().stream(sampling_rate_hz=self.sampling_rate_hz, placements=[self.placement])
        self._freeze_events: list[tuple[str, float]] = []
        self._fixed_next: float | None = None  # a freeze-started cue before any step (goal tempo)
        self.sent_beat_times_s: list[float] = []
        self.started_at_s: float | None = None

    @property
    def tempo_bpm(self) -> float:
        if self.controller.period_s is not None:
            return self.controller.tempo_bpm
        return self.goal_cadence_spm if self._fixed_next is not None else float("nan")

    @property
    def frozen(self) -> bool:
        return self._freeze.frozen

    def push(self, times_s: np.ndarray, acc_m_s2: np.ndarray) -> LiveUpdate:
        """Feed a batch of samples (``times_s`` (k,) device seconds, ``acc_m_s2`` (3, k) incl. gravity)."""
        times = np.asarray(times_s, dtype=float).reshape(-1)
        if times.size == 0:
            return LiveUpdate(tempo_bpm=self.tempo_bpm, frozen=self.frozen)
        if self.started_at_s is None:
            self.started_at_s = float(times[0])
        new_steps = self.steps.push(times, acc_m_s2)
        grid = self.steps.last_grid_
        events = self._freeze.push({self.placement: np.nan_to_num(grid, nan=0.0)}) if grid.shape[-1] else []
        t0 = self.steps.start_time_s
        decided = tuple((e.kind, t0 + e.time_s) for e in events)
        self._freeze_events.extend(decided)
        for t in new_steps:
            self.controller.on_step(float(t))
        now = float(times[-1])
        beats = self._beats_until(now)
        return LiveUpdate(step_times_s=tuple(float(t) for t in new_steps), beat_times_s=tuple(beats),
                          tempo_bpm=self.tempo_bpm, frozen=self.frozen, freeze_events=decided,
                          processed_until_s=now)

    def _beats_until(self, now_s: float) -> list[float]:
        horizon = now_s + self.schedule_ahead_s
        if self.controller.period_s is None and self.frozen and self._fixed_next is None:
            self._fixed_next = now_s + FREEZE_CUE_DELAY_S
        if self.controller.period_s is not None:
            out = self.controller.beats_until(horizon).tolist()
        elif self._fixed_next is not None:
            out = []
            while self._fixed_next <= horizon:
                out.append(self._fixed_next)
                self._fixed_next += 60.0 / self.goal_cadence_spm
        else:
            out = []
        # A beat the detector's delay put in the past is never played: it is not sent,
        # nor one closer than half a beat to the last one sent (the hand-over from a freeze-started cue).
        last = self.sent_beat_times_s[-1] if self.sent_beat_times_s else -np.inf
        half = 30.0 / self.tempo_bpm if np.isfinite(self.tempo_bpm) else 0.0
        out = playable_beats(np.asarray(out, dtype=float), now_s=now_s, last_sent_s=last, min_gap_s=half).tolist()
        self.sent_beat_times_s.extend(out)
        return out

    def close(self) -> LiveUpdate:
        """End of the walk: release the last steps and close an open freeze."""
        new_steps = self.steps.flush()
        for t in new_steps:
            self.controller.on_step(float(t))
        t0 = self.steps.start_time_s
        decided = tuple((e.kind, t0 + e.time_s) for e in self._freeze.close())
        self._freeze_events.extend(decided)
        return LiveUpdate(step_times_s=tuple(float(t) for t in new_steps), tempo_bpm=self.tempo_bpm,
                          frozen=False, freeze_events=decided, processed_until_s=self.steps.time_s)

    def summary(self) -> dict[str, float | int]:
        """The walk's outcomes: steps, cadence, synchronisation to the sent beats, freezes."""
        steps = np.asarray(self.steps.step_times_s_)
        beats = np.asarray(self.sent_beat_times_s)
        out: dict[str, float | int] = {
            "n_steps": int(steps.size),
            "cadence_spm": float(60.0 / np.median(np.diff(steps))) if steps.size >= 3 else float("nan"),
            "n_beats": int(beats.size),
            "final_tempo_bpm": self.tempo_bpm,
        }
        if steps.size >= 3 and beats.size >= 2:
            sync = analyze_synchronization(steps, beats).summary()
            out.update(resultant_length=sync["resultant_length"], mean_asynchrony_ms=sync["mean_asynchrony_ms"],
                       percent_within_window=sync["percent_within_window"], n_steps_in_cue=int(sync["n_steps_in_cue"]))
        freezes = self.freeze_intervals_s()
        counts = summarize_freezes(freezes)
        # Episodes as outcomes: detections merged (gait/episodes.py); the time frozen sums every detection.
        out.update(freeze_count=int(merge_freeze_episodes(freezes).shape[0]), freeze_detections=counts["episode_count"],
                   time_frozen_s=counts["time_frozen_s"])
        return out

    def freeze_intervals_s(self) -> np.ndarray:
        """Freezes as (k, 2) [start, end] device seconds; an open one ends at the newest sample."""
        t0 = self.steps.start_time_s if self.steps.start_time_s is not None else 0.0
        events = [FreezeEvent(kind, t - t0) for kind, t in self._freeze_events]
        if self.frozen and np.isfinite(self.steps.time_s):
            events.append(FreezeEvent("end", self.steps.time_s - t0))
        return events_to_intervals(events) + t0
