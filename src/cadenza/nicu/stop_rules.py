"""Infant-led stopping: pause or stop NICU music from vital signs and the stress cues a nurse taps in.

The infant leads: music plays only while every monitored vital sign is present, plausible and inside
the thresholds the clinician set for this infant, and no stress cue has been seen recently. Anything
else pauses (or stops) the music and logs why; a missing or implausible reading is a reason to pause,
never something that silently passes.

Stress cues follow Als' developmental-care categories (autonomic, motor, state; see
``shared/research/clinical_anchors.md`` section 5); the individual signs listed are the commonly taught
ones [recalled]. Default thresholds are common NICU event definitions (bradycardia < 100 bpm,
desaturation < 88 %, tachycardia > 180 bpm) [recalled] and are placeholders the clinician must confirm
per infant; :class:`InfantThresholds` makes each one explicit. The respiratory-rate defaults, 25-70 per
minute, are a **project convention** with no source (clinical review U6); the common neonatal tachypnoea
threshold is above 60 per minute [recalled], so a unit that uses it should set ``rr_max_bpm`` to 60.

>>> engine = StopRuleEngine(InfantThresholds())
>>> obs = [Observation(t, "heart_rate_bpm", 150) for t in range(0, 30)]
>>> obs += [Observation(t, "spo2_pct", 97 if t < 10 else 80) for t in range(0, 30)]
>>> obs += [Observation(t, "respiratory_rate_bpm", 45) for t in range(0, 30, 2)]
>>> [(e.action, e.time_s) for e in engine.run(obs).events_]
[('start', 0.0), ('pause', 15.0)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from cadenza.errors import ParameterError

VITALS = ("heart_rate_bpm", "spo2_pct", "respiratory_rate_bpm")
CUE = "cue"
PLAUSIBLE = {"heart_rate_bpm": (30.0, 300.0), "spo2_pct": (40.0, 100.0), "respiratory_rate_bpm": (1.0, 150.0)}

STRESS_CUES: dict[str, str] = {
    # autonomic
    "colour_change": "autonomic", "hiccups": "autonomic", "sneezing": "autonomic", "yawning": "autonomic",
    "gagging": "autonomic", "spitting_up": "autonomic", "apnoea": "autonomic",
    # motor
    "finger_splay": "motor", "arching": "motor", "flaccidity": "motor", "hyperextension": "motor",
    "salute": "motor", "grimace": "motor",
    # state
    "gaze_aversion": "state", "fussing": "state", "crying": "state", "abrupt_state_change": "state",
    "staring": "state",
}
_EPS_S = 1e-6  # float time stamps: a 5.0-s rule must not fail at 4.9999999 s
MAX_SPAN_S = 24 * 3600.0  # one monitoring record; the engine steps through it tick by tick
STOP_CUES = frozenset({"crying", "apnoea", "colour_change", "gagging"})


def cue_name(text: str) -> str:
    """A stress cue as a nurse writes it, in the form :data:`STRESS_CUES` uses (walk-through problem 8: the
    page's own wording "finger splay" was refused).

    >>> cue_name(" Finger splay "), cue_name("gaze-aversion"), cue_name("colour change")
    ('finger_splay', 'gaze_aversion', 'colour_change')
    """
    return "_".join(str(text).strip().lower().replace("-", " ").split())


@dataclass(frozen=True)
class Observation:
    """One reading: a vital sign value, or a stress cue (``kind="cue"``, ``value`` the cue name)."""

    time_s: float
    kind: str
    value: float | str


DEFAULT_THRESHOLD_SOURCES = {
    "hr_min_bpm": "common NICU event definition [recalled]",
    "hr_max_bpm": "common NICU event definition [recalled]",
    "spo2_min_pct": "common NICU event definition [recalled]",
    "rr_min_bpm": "project convention, no source",
    "rr_max_bpm": "project convention, no source; tachypnoea is commonly > 60/min [recalled]",
}


@dataclass(frozen=True)
class InfantThresholds:
    """Per-infant limits set by the clinician. Out-of-range for ``sustain_s`` pauses; see module doc."""

    hr_min_bpm: float = 100.0
    hr_max_bpm: float = 180.0
    spo2_min_pct: float = 88.0
    rr_min_bpm: float = 25.0  # project convention (review U6), no source
    rr_max_bpm: float = 70.0  # project convention; tachypnoea is commonly > 60/min [recalled]
    sustain_s: float = 5.0  # brief artefacts shorter than this do not pause
    stop_after_s: float = 30.0  # out of range this long while paused: stop the session
    recovery_s: float = 30.0  # everything fine this long after a pause: resume
    stale_after_s: float = 10.0  # no reading of a monitored vital this long: pause (missing)
    cue_stop_count: int = 3  # this many stress cues within cue_window_s: stop
    cue_window_s: float = 120.0
    monitored: tuple[str, ...] = VITALS

    def __post_init__(self) -> None:
        pairs = (("hr_min_bpm", "hr_max_bpm", "heart_rate_bpm"), ("rr_min_bpm", "rr_max_bpm", "respiratory_rate_bpm"))
        for lo_name, hi_name, vital in pairs:
            lo, hi = getattr(self, lo_name), getattr(self, hi_name)
            p_lo, p_hi = PLAUSIBLE[vital]
            if not (np.isfinite(lo) and np.isfinite(hi) and p_lo <= lo < hi <= p_hi):
                raise ParameterError(
                    f"{lo_name} and {hi_name} must satisfy {p_lo:g} <= min < max <= {p_hi:g}, got {lo!r}, {hi!r}"
                )
        if not np.isfinite(self.spo2_min_pct) or not 70.0 <= self.spo2_min_pct <= 99.0:
            raise ParameterError(f"spo2_min_pct must be in [70, 99] %, got {self.spo2_min_pct!r} (a fraction?)")
        for name in ("sustain_s", "stop_after_s", "recovery_s", "stale_after_s", "cue_window_s"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0 or value > 3600:
                raise ParameterError(f"{name} must be in [0, 3600] seconds, got {value!r}")
        if not 1 <= self.cue_stop_count <= 20:
            raise ParameterError(f"cue_stop_count must be in [1, 20], got {self.cue_stop_count!r}")
        unknown = set(self.monitored) - set(VITALS)
        if unknown or not self.monitored:
            raise ParameterError(f"monitored must be a non-empty subset of {VITALS}, got {self.monitored!r}")

    def range_of(self, vital: str) -> tuple[float, float]:
        return {"heart_rate_bpm": (self.hr_min_bpm, self.hr_max_bpm), "spo2_pct": (self.spo2_min_pct, 100.0),
                "respiratory_rate_bpm": (self.rr_min_bpm, self.rr_max_bpm)}[vital]


@dataclass(frozen=True)
class StopEvent:
    """A change of what the music does, with why: ``start``, ``pause``, ``resume`` or ``stop``."""

    time_s: float
    action: str
    reasons: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"time_s": round(self.time_s, 2), "action": self.action, "reasons": list(self.reasons)}


def _out_of_range_reason(vital: str, value: float, thresholds: InfantThresholds) -> tuple[str, str]:
    lo, hi = thresholds.range_of(vital)
    if vital == "heart_rate_bpm":
        return ("bradycardia", f"bradycardia: heart rate {value:g} < {lo:g} bpm") if value < lo else \
            ("tachycardia", f"tachycardia: heart rate {value:g} > {hi:g} bpm")
    if vital == "spo2_pct":
        return "desaturation", f"desaturation: SpO2 {value:g} % < {lo:g} %"
    return ("respiratory_rate", f"respiratory rate {value:g}/min outside {lo:g}-{hi:g}/min")


@dataclass
class StopRuleEngine:
    """Runs the stop rules over an observation stream (tpcp-style: results in trailing-underscore fields).

    ``events_``: the state changes with reasons; ``playing_intervals_s_``: when music may play;
    ``final_state_``: ``playing``, ``paused``, ``stopped`` or ``waiting`` (never started).
    """

    thresholds: InfantThresholds = field(default_factory=InfantThresholds)
    tick_s: float = 1.0

    events_: list[StopEvent] = field(default_factory=list, init=False)
    playing_intervals_s_: list[tuple[float, float]] = field(default_factory=list, init=False)
    final_state_: str = field(default="waiting", init=False)

    def run(self, observations: Iterable[Observation], *, end_s: float | None = None) -> "StopRuleEngine":
        obs = sorted(_validate(observations), key=lambda o: o.time_s)
        self.events_, self.playing_intervals_s_, self.final_state_ = [], [], "waiting"
        if not obs:
            return self
        if not 0 < self.tick_s <= 10:
            raise ParameterError(f"tick_s must be in (0, 10], got {self.tick_s!r}")
        th = self.thresholds
        t0 = obs[0].time_s
        t_end = obs[-1].time_s if end_s is None else float(end_s)
        if t_end < t0:
            raise ParameterError(f"end_s must be >= the first observation time {t0!r}, got {end_s!r}")
        if t_end - t0 > MAX_SPAN_S:
            raise ParameterError(
                f"the observations span {t_end - t0:.0f} s (from {t0:g} to {t_end:g} s); a monitoring record "
                f"is at most {MAX_SPAN_S / 3600:g} h; check the time_s column's unit (seconds) or split the record"
            )
        ticks = np.arange(t0, t_end + 1e-9, self.tick_s)
        times = np.unique(np.concatenate([ticks, [o.time_s for o in obs]]))

        last_value: dict[str, tuple[float, float]] = {}  # vital -> (time, value)
        out_since: dict[str, float] = {}  # vital -> when it went out of range (plausible readings only)
        cue_times: list[float] = []
        last_cue: tuple[float, str] | None = None
        state = "waiting"
        vital_problem_since: float | None = None  # start of the current run of vital-sign problems
        ok_since: float | None = None
        play_start = None
        i = 0
        for t in times:
            stop_reasons: list[str] = []
            while i < len(obs) and obs[i].time_s <= t:
                o = obs[i]
                i += 1
                if o.kind == CUE:
                    cue_times.append(o.time_s)
                    last_cue = (o.time_s, str(o.value))
                    if o.value in STOP_CUES:
                        stop_reasons.append(f"stress cue '{o.value}' ({STRESS_CUES[o.value]}): stop")
                    recent = [c for c in cue_times if c > o.time_s - th.cue_window_s - _EPS_S]
                    if len(recent) >= th.cue_stop_count:
                        stop_reasons.append(f"{len(recent)} stress cues within {th.cue_window_s:g} s: stop")
                else:
                    last_value[o.kind] = (o.time_s, float(o.value))
                    lo_p, hi_p = PLAUSIBLE[o.kind]
                    lo, hi = th.range_of(o.kind)
                    v = float(o.value)
                    if lo_p <= v <= hi_p and not lo <= v <= hi:
                        out_since.setdefault(o.kind, o.time_s)
                    else:
                        out_since.pop(o.kind, None)

            problems: list[str] = []
            for vital in th.monitored:
                if vital not in last_value:
                    problems.append(f"missing: no {vital} reading yet")
                    continue
                seen_at, v = last_value[vital]
                lo_p, hi_p = PLAUSIBLE[vital]
                if not (np.isfinite(v) and lo_p <= v <= hi_p):
                    problems.append(f"implausible {vital} reading {v:g} at {seen_at:g} s (check the probe)")
                elif t - seen_at > th.stale_after_s + _EPS_S:
                    problems.append(f"missing: no {vital} reading for {t - seen_at:.0f} s")
                elif vital in out_since and t - out_since[vital] >= th.sustain_s - _EPS_S:
                    code, text = _out_of_range_reason(vital, v, th)
                    problems.append(text)
                    if code == "bradycardia":
                        stop_reasons.append(text + ": stop")
                    elif t - out_since[vital] >= th.stop_after_s - _EPS_S:
                        stop_reasons.append(f"{text} for {t - out_since[vital]:.0f} s: stop")
            vital_problem = bool(problems)
            if last_cue is not None and t - last_cue[0] < th.recovery_s - _EPS_S:
                problems.append(f"stress cue '{last_cue[1]}' ({STRESS_CUES[last_cue[1]]}) at {last_cue[0]:g} s")
            ok_since = None if problems else (t if ok_since is None else ok_since)
            vital_problem_since = (t if vital_problem_since is None else vital_problem_since) if vital_problem else None

            if state == "stopped":
                continue
            if stop_reasons:
                self._log(t, "stop", tuple(dict.fromkeys(stop_reasons + problems)))
                if state == "playing":
                    self.playing_intervals_s_.append((play_start, t))
                state = "stopped"
            elif state == "waiting" and not problems:
                self._log(t, "start", ())
                state, play_start = "playing", t
            elif state == "playing" and problems:
                self._log(t, "pause", tuple(problems))
                self.playing_intervals_s_.append((play_start, t))
                state = "paused"
            elif (state == "paused" and vital_problem_since is not None
                  and t - vital_problem_since >= th.stop_after_s - _EPS_S):
                self._log(t, "stop", (f"vital signs not recovered for {t - vital_problem_since:.0f} s",)
                          + tuple(problems))
                state = "stopped"
            elif state == "paused" and ok_since is not None and t - ok_since >= th.recovery_s - _EPS_S:
                self._log(t, "resume", (f"all readings within limits for {t - ok_since:.0f} s",))
                state, play_start = "playing", t
        if state == "playing":
            self.playing_intervals_s_.append((play_start, float(times[-1])))
        self.final_state_ = state
        return self

    def _log(self, t: float, action: str, reasons: tuple[str, ...]) -> None:
        self.events_.append(StopEvent(float(t), action, reasons))

    @property
    def playing_s_(self) -> float:
        return float(sum(b - a for a, b in self.playing_intervals_s_))


def _validate(observations: Iterable[Observation]) -> list[Observation]:
    out = []
    for o in observations:
        if not isinstance(o, Observation):
            raise ParameterError(f"observations must be Observation items, got {o!r}")
        if not np.isfinite(o.time_s):
            raise ParameterError(f"observation time_s must be finite, got {o!r}")
        if o.kind == CUE:
            if isinstance(o.value, str) and cue_name(o.value) in STRESS_CUES and o.value not in STRESS_CUES:
                o = Observation(o.time_s, CUE, cue_name(o.value))
            if o.value not in STRESS_CUES:
                raise ParameterError(f"unknown stress cue {o.value!r}; known cues: {', '.join(sorted(STRESS_CUES))}")
        elif o.kind in VITALS:
            try:
                float(o.value)
            except (TypeError, ValueError):
                raise ParameterError(f"{o.kind} value must be a number, got {o.value!r} at {o.time_s!r} s") from None
        else:
            raise ParameterError(f"observation kind must be one of {VITALS + (CUE,)}, got {o.kind!r}")
        out.append(o)
    return out
