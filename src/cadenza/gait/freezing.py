"""Freezing of gait (FoG) from body-worn accelerometers: the freeze index and a better detector.

A freeze is a sudden inability to step: the legs tremble in place at 3-8 Hz while the 0.5-3 Hz
rhythm of walking fades. Moore et al. (2008, J Neurosci Methods 167:340) measured it with the
**freeze index**, the power of vertical shank acceleration in the "freeze" band (3-8 Hz) over its
power in the "locomotor" band (0.5-3 Hz), in sliding windows. Bächlin et al. (2010, IEEE Trans Inf
Technol Biomed 14:436) ran it online on the Daphnet recordings (ankle, thigh, trunk at 64 Hz, 4-s
windows) with a second, "power" threshold so that standing still is not read as a freeze, and
reported 73.1 % sensitivity and 81.6 % specificity user-independent.

Two detectors, both with results in trailing-underscore attributes (tpcp contract):

* :class:`FreezeIndexDetector`: the baseline above on one sensor: the freeze index of the acceleration
  along the window's mean gravity direction (the vertical axis, whatever the mounting) in 4-s windows
  every 0.5 s; a window is frozen when the index and the total 0.5-8 Hz power both pass their
  thresholds.
* :class:`FreezeDetector`: every sensor worn (shank, thigh, lower back, any subset) votes with the
  log freeze index of all three axes (power summed over axes: no axis to pick, no orientation to
  know), **relative to that sensor's own walking**: a running mean of its log index over the windows
  where it clearly moves (time constant 2 min; a per-person, per-placement normalisation learnt
  while the person walks, causal so that it runs live). A sensor standing still (total power below a
  per-placement floor) does not vote. The score is the mean vote; a freeze starts when it exceeds
  ``threshold`` (for ``min_freeze_s``) and ends when it falls below ``release_threshold``
  (hysteresis). 3-s windows every 0.5 s.

Everything is causal: each window ends at its decision time, the instant a live detector knows. So
freeze intervals are in **decision time** (their start is the detection, typically about 1 s after
the freeze began), and :class:`FreezeStream`, which takes chunks of samples as they arrive and emits
start/end events, gives exactly the offline result (the offline detector *is* the stream, fed all at
once). Latency is bounded: an event is emitted in the ``push`` that delivers the sample ending its
window, at most ``hop_s`` after the score crosses.

Placements: ``"shank"`` (ankle), ``"thigh"`` (just above the knee) and ``"lower-back"`` (trunk at belt
level), as worn in the Daphnet recordings, where each was measured (``bench/freezing.py``). A phone
in a trouser pocket sits on the thigh, any way round: the power summed over the axes does not change with
the sensor's orientation, and ``bench/placements.py`` measures the thigh turned to random orientations. Acceleration is in m/s^2,
``(3, n)`` per placement, time on the last axis; NaN samples (a gap, a dead sensor) silence that
sensor for the windows they touch.

>>> import numpy as np
>>> fs = 64.0
>>> t = np.arange(0, 60, 1 / fs)
>>> walk = np.vstack([2 * np.sin(2 * np.pi * 1.0 * t), 9.81 + 3 * np.sin(2 * np.pi * 2.0 * t), 0 * t])
>>> tremble = np.vstack([0 * t, 9.81 + 2 * np.sin(2 * np.pi * 6.0 * t), 0 * t])
>>> frozen = (t >= 40) & (t < 48)
>>> acc = np.where(frozen, tremble, walk)
>>> det = FreezeDetector().detect({"shank": acc}, sampling_rate_hz=fs)
>>> det.freeze_intervals_s_.tolist()
[[41.5, 50.5]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np

from cadenza.errors import ParameterError
from cadenza.gait._base import Algorithm
from cadenza.gait.signals import check_acc_units, check_sampling_rate, check_triaxial

# Moore et al. 2008: locomotor band 0.5-3 Hz, freeze band 3-8 Hz (also Bächlin et al. 2010).
LOCOMOTOR_BAND_HZ = (0.5, 3.0)
FREEZE_BAND_HZ = (3.0, 8.0)
PLACEMENTS = ("shank", "thigh", "lower-back")
# log10 of the 0.5-8 Hz power summed over the three axes, (m/s^2)^2, below which a sensor is standing
# still and does not vote. On the Daphnet development subjects standing lies below -1 at every
# placement, walking and freezing above 0 at the leg and above -0.3 at the trunk (it moves less).
STILL_POWER_LOG10 = {"shank": 0.0, "thigh": 0.0, "lower-back": -0.3}
# A window this far (decades) above the standing floor is walking and teaches the sensor's reference.
MOVING_MARGIN_LOG10 = 0.8
# Decision parameters tuned on the Daphnet development subjects (S01, S03, S06) by the rule of
# ``bench/freezing.py`` (the most sensitive setting whose per-window specificity stays >= 0.92), one set
# per combination of placements; a combination not listed uses the all-sensor values.
TUNED_DECISION = {
    ("lower-back", "shank", "thigh"): {"threshold": 0.25, "release_threshold": 0.25, "min_freeze_s": 0.5},
    ("shank",): {"threshold": 0.4, "release_threshold": 0.4, "min_freeze_s": 0.5},
    ("thigh",): {"threshold": 0.5, "release_threshold": 0.5, "min_freeze_s": 0.0},
    ("lower-back",): {"threshold": 0.35, "release_threshold": 0.35, "min_freeze_s": 0.5},
}
# The baseline's thresholds per placement, tuned the same way: freeze index, and log10 (m/s^2)^2 of
# the gravity-axis 0.5-8 Hz power (Bächlin's power test against standing).
TUNED_FREEZE_INDEX = {
    "shank": {"freeze_index_threshold": 5.0, "power_threshold_log10": 0.0},
    "thigh": {"freeze_index_threshold": 8.0, "power_threshold_log10": -0.5},
    "lower-back": {"freeze_index_threshold": 10.0, "power_threshold_log10": 0.0},
}
_EPS_POWER = 1e-12


@dataclass(frozen=True)
class FreezeEvent:
    """A freeze starting (``kind="start"``) or ending (``"end"``) at ``time_s``, the decision time."""

    kind: str
    time_s: float


def band_powers(segment: np.ndarray, *, sampling_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Locomotor (0.5-3 Hz) and freeze (3-8 Hz) band power of each row of ``segment``, in (unit)^2.

    The mean is removed, a Hann window applied, and the one-sided power spectral density integrated
    over each band, so a sine of amplitude A inside a band gives about A^2 / 2 whatever the window
    length. Works on ``(..., n)`` arrays; returns arrays of shape ``(...)``.

    >>> fs = 64.0
    >>> t = np.arange(256) / fs
    >>> loco, freeze = band_powers(np.sin(2 * np.pi * 1.5 * t), sampling_rate_hz=fs)
    >>> round(float(loco), 2), round(float(freeze), 3)
    (0.5, 0.0)
    """
    seg = np.asarray(segment, dtype=float)
    seg = seg - seg.mean(axis=-1, keepdims=True)
    n = seg.shape[-1]
    window = np.hanning(n)
    psd = np.abs(np.fft.rfft(seg * window, axis=-1)) ** 2 * (2.0 / (sampling_rate_hz * np.sum(window**2)))
    freqs = np.fft.rfftfreq(n, 1.0 / sampling_rate_hz)
    df = freqs[1] - freqs[0]
    loco = (freqs >= LOCOMOTOR_BAND_HZ[0]) & (freqs < LOCOMOTOR_BAND_HZ[1])
    freeze = (freqs >= FREEZE_BAND_HZ[0]) & (freqs <= FREEZE_BAND_HZ[1])
    return psd[..., loco].sum(axis=-1) * df, psd[..., freeze].sum(axis=-1) * df


def freeze_index(
    acc_m_s2: np.ndarray, *, sampling_rate_hz: float, window_s: float = 4.0, hop_s: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Moore freeze index of one acceleration signal in causal sliding windows.

    Returns ``(window_end_times_s, freeze_index, power_m2_s4)``: each window ends at its time (the
    first ends ``window_s`` into the signal), the index is freeze-band over locomotor-band power
    (NaN where the window holds NaN) and ``power_m2_s4`` is their sum. A signal shorter than one
    window gives empty arrays.

    >>> fs = 64.0
    >>> t = np.arange(0, 10, 1 / fs)
    >>> times_s, fi, _ = freeze_index(np.sin(2 * np.pi * 6 * t) + 0.5 * np.sin(2 * np.pi * 1 * t),
    ...                               sampling_rate_hz=fs)
    >>> times_s[:3].tolist(), bool(np.all(fi > 3))
    ([4.0, 4.5, 5.0], True)
    """
    rate = check_sampling_rate(sampling_rate_hz)
    x = np.asarray(acc_m_s2, dtype=float)
    if x.ndim != 1:
        raise ParameterError(f"acc_m_s2 must be a 1-D signal, got shape {x.shape!r}")
    win, hop = _window_samples(window_s, hop_s, rate)
    if x.size < win:
        return np.empty(0), np.empty(0), np.empty(0)
    ends = np.arange(win, x.size + 1, hop)
    segments = x[ends[:, None] - win + np.arange(win)[None, :]]
    loco, freeze = band_powers(segments, sampling_rate_hz=rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        index = freeze / np.maximum(loco, _EPS_POWER)
    return ends / rate, index, loco + freeze


def _window_samples(window_s: float, hop_s: float, rate: float) -> tuple[int, int]:
    if not (np.isfinite(window_s) and window_s > 0):
        raise ParameterError(f"window_s must be > 0 seconds, got {window_s!r}")
    if not (np.isfinite(hop_s) and 0 < hop_s <= window_s):
        raise ParameterError(f"hop_s must be > 0 and <= window_s ({window_s!r} s), got {hop_s!r}")
    win = int(round(window_s * rate))
    hop = max(1, int(round(hop_s * rate)))
    # The locomotor band starts at 0.5 Hz: a window needs at least one full cycle of it.
    if window_s < 1 / LOCOMOTOR_BAND_HZ[0]:
        raise ParameterError(f"window_s must be >= {1 / LOCOMOTOR_BAND_HZ[0]:g} s to see the 0.5 Hz band, got {window_s!r}")
    return win, hop


def flags_to_intervals(times_s: np.ndarray, frozen: np.ndarray) -> np.ndarray:
    """Runs of frozen windows as ``(k, 2)`` [start_s, end_s]: the first frozen window's time, and the
    first unfrozen one's after it (or the last window's time if the signal ends frozen).

    >>> flags_to_intervals(np.arange(6) * 0.5, np.array([0, 1, 1, 0, 0, 1], dtype=bool)).tolist()
    [[0.5, 1.5], [2.5, 2.5]]
    """
    times_s = np.asarray(times_s, dtype=float)
    frozen = np.asarray(frozen, dtype=bool)
    if times_s.size == 0:
        return np.empty((0, 2))
    edges = np.diff(np.concatenate([[0], frozen.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    ends = np.where(stops < times_s.size, times_s[np.minimum(stops, times_s.size - 1)], times_s[-1])
    return np.column_stack([times_s[starts], ends]).astype(float)


def _check_recording(acc_m_s2: Mapping[str, np.ndarray] | np.ndarray, placement: str | None) -> dict[str, np.ndarray]:
    if not isinstance(acc_m_s2, Mapping):
        if placement is None:
            raise ParameterError(f"placement is needed with a single (3, n) array: one of {PLACEMENTS!r}")
        acc_m_s2 = {placement: acc_m_s2}
    if not acc_m_s2:
        raise ParameterError(f"acc_m_s2 holds no sensor; give one or more of {PLACEMENTS!r}")
    out: dict[str, np.ndarray] = {}
    n = None
    for name, values in acc_m_s2.items():
        if name not in PLACEMENTS:
            raise ParameterError(f"placement {name!r} is not supported; use one of {PLACEMENTS!r}")
        arr = check_triaxial(values, name=f"acc_m_s2[{name!r}]")
        check_acc_units(arr, name=f"acc_m_s2[{name!r}]")
        if n is not None and arr.shape[1] != n:
            raise ParameterError(f"every sensor needs the same number of samples; {name!r} has {arr.shape[1]}, not {n}")
        n = arr.shape[1]
        out[name] = arr
    return out


class FreezeIndexDetector(Algorithm):
    """The baseline: Moore's freeze index on one sensor, with Bächlin's power test against standing.

    A window (``window_s``, every ``hop_s``) is frozen when its freeze index exceeds
    ``freeze_index_threshold`` and its 0.5-8 Hz power exceeds ``10 ** power_threshold_log10``
    (m/s^2)^2. The signal is the acceleration along the window's mean direction (gravity, so the
    vertical axis whatever the mounting). Thresholds left at None come from
    :data:`TUNED_FREEZE_INDEX` for the placement (tuned on the Daphnet development subjects,
    ``bench/freezing.py``). Results: ``window_times_s_``, ``scores_`` (the freeze index),
    ``power_m2_s4_``, ``frozen_`` (per window) and ``freeze_intervals_s_`` ``(k, 2)``.

    >>> fs = 64.0
    >>> t = np.arange(0, 30, 1 / fs)
    >>> acc = np.vstack([0 * t, 9.81 + 2 * np.sin(2 * np.pi * np.where(t < 20, 1.0, 6.0) * t), 0 * t])
    >>> FreezeIndexDetector().detect(acc, sampling_rate_hz=fs, placement="shank").freeze_intervals_s_.tolist()
    [[23.0, 30.0]]
    """

    def __init__(
        self,
        *,
        placement: str = "shank",
        window_s: float = 4.0,
        hop_s: float = 0.5,
        freeze_index_threshold: float | None = None,
        power_threshold_log10: float | None = None,
    ) -> None:
        self.placement = placement
        self.window_s = window_s
        self.hop_s = hop_s
        self.freeze_index_threshold = freeze_index_threshold
        self.power_threshold_log10 = power_threshold_log10

    def detect(
        self, acc_m_s2: Mapping[str, np.ndarray] | np.ndarray, *, sampling_rate_hz: float, placement: str | None = None
    ) -> Self:
        """Run on ``acc_m_s2[placement or self.placement]`` (or one ``(3, n)`` array worn at ``placement``)."""
        rate = check_sampling_rate(sampling_rate_hz)
        sensors = _check_recording(acc_m_s2, placement)
        use = self.placement if placement is None else placement
        if use not in sensors:
            raise ParameterError(f"the baseline reads the {use!r} sensor; acc_m_s2 has {sorted(sensors)!r}")
        self._thresholds = self.thresholds(use)
        if not self._thresholds["freeze_index_threshold"] > 0:
            raise ParameterError(f"freeze_index_threshold must be > 0, got {self.freeze_index_threshold!r}")
        acc = sensors[use]
        win, hop = _window_samples(self.window_s, self.hop_s, rate)
        if acc.shape[1] < win:
            self._store(np.empty(0), np.empty(0), np.empty(0))
            return self
        ends = np.arange(win, acc.shape[1] + 1, hop)
        segments = acc[:, ends[:, None] - win + np.arange(win)[None, :]]  # (3, windows, win)
        gravity = segments.mean(axis=-1, keepdims=True)
        norm = np.linalg.norm(gravity, axis=0)
        vertical = np.einsum("iwk,iwk->wk", segments, gravity / np.where(norm > 0, norm, 1.0))
        loco, freeze = band_powers(vertical, sampling_rate_hz=rate)
        with np.errstate(divide="ignore", invalid="ignore"):
            index = freeze / np.maximum(loco, _EPS_POWER)
        self._store(ends / rate, index, loco + freeze)
        return self

    def thresholds(self, placement: str | None = None) -> dict[str, float]:
        """The thresholds in force for ``placement`` (default: ``self.placement``): given, or tuned."""
        placement = self.placement if placement is None else placement
        if placement not in TUNED_FREEZE_INDEX:
            raise ParameterError(f"placement {placement!r} is not supported; use one of {PLACEMENTS!r}")
        tuned = TUNED_FREEZE_INDEX[placement]
        return {name: float(tuned[name] if getattr(self, name) is None else getattr(self, name)) for name in tuned}

    def _store(self, times_s: np.ndarray, index: np.ndarray, power: np.ndarray) -> None:
        fi_threshold, power_threshold = self._thresholds["freeze_index_threshold"], self._thresholds["power_threshold_log10"]
        with np.errstate(invalid="ignore", divide="ignore"):
            frozen = (index > fi_threshold) & (np.log10(power) > power_threshold)
        self.window_times_s_ = times_s
        self.scores_ = index
        self.power_m2_s4_ = power
        self.frozen_ = np.asarray(frozen, dtype=bool)
        self.freeze_intervals_s_ = flags_to_intervals(times_s, self.frozen_)


class FreezeDetector(Algorithm):
    """Freezing of gait from any of shank, thigh and lower-back sensors, normalised to the person's walking.

    Parameters: ``window_s`` and ``hop_s`` (analysis windows), ``threshold`` (a freeze starts when
    the score, in decades of freeze index above the sensor's walking reference, exceeds it for
    ``min_freeze_s``), ``release_threshold`` (it ends when the score falls below),
    ``reference_tau_s`` (time constant of each sensor's walking reference) and
    ``reference_prior_log10`` (the reference before any walking is seen: a freeze index of 1).
    The three decision parameters left at None come from :data:`TUNED_DECISION` for the sensors
    worn (tuned on the Daphnet development subjects, ``bench/freezing.py``).

    Results of :meth:`detect`: ``window_times_s_`` (decision times), ``scores_`` (NaN where no
    sensor voted), ``frozen_`` (per window), ``freeze_intervals_s_`` ``(k, 2)`` and ``events_``.
    """

    def __init__(
        self,
        *,
        window_s: float = 3.0,
        hop_s: float = 0.5,
        threshold: float | None = None,
        release_threshold: float | None = None,
        min_freeze_s: float | None = None,
        reference_tau_s: float = 120.0,
        reference_prior_log10: float = 0.0,
    ) -> None:
        self.window_s = window_s
        self.hop_s = hop_s
        self.threshold = threshold
        self.release_threshold = release_threshold
        self.min_freeze_s = min_freeze_s
        self.reference_tau_s = reference_tau_s
        self.reference_prior_log10 = reference_prior_log10

    def decision_parameters(self, placements: Sequence[str]) -> dict[str, float]:
        """``threshold``, ``release_threshold`` and ``min_freeze_s`` in force for these sensors."""
        tuned = TUNED_DECISION.get(tuple(sorted(placements)), TUNED_DECISION[("lower-back", "shank", "thigh")])
        out = {name: float(tuned[name] if getattr(self, name) is None else getattr(self, name)) for name in tuned}
        if self.threshold is not None and self.release_threshold is None:
            out["release_threshold"] = out["threshold"]  # a given threshold releases at itself
        return out

    def stream(self, *, sampling_rate_hz: float, placements: Sequence[str], keep_scores: bool = False) -> FreezeStream:
        """A :class:`FreezeStream` with these parameters, for sensors worn at ``placements``."""
        return FreezeStream(self, sampling_rate_hz=sampling_rate_hz, placements=placements, keep_scores=keep_scores)

    def detect(
        self, acc_m_s2: Mapping[str, np.ndarray] | np.ndarray, *, sampling_rate_hz: float, placement: str | None = None
    ) -> Self:
        """Run on ``{placement: (3, n) m/s^2}`` (or one ``(3, n)`` array worn at ``placement``)."""
        rate = check_sampling_rate(sampling_rate_hz)
        sensors = _check_recording(acc_m_s2, placement)
        stream = self.stream(sampling_rate_hz=rate, placements=list(sensors), keep_scores=True)
        events = [*stream.push(sensors), *stream.close()]
        self.window_times_s_ = np.asarray(stream.window_times_s, dtype=float)
        self.scores_ = np.asarray(stream.scores, dtype=float)
        self.frozen_ = np.asarray(stream.frozen_flags, dtype=bool)
        self.events_ = tuple(events)
        self.freeze_intervals_s_ = events_to_intervals(events)
        return self


def events_to_intervals(events: Sequence[FreezeEvent]) -> np.ndarray:
    """Pair start and end events into a ``(k, 2)`` array of [start_s, end_s].

    >>> events_to_intervals([FreezeEvent("start", 3.0), FreezeEvent("end", 5.5)]).tolist()
    [[3.0, 5.5]]
    """
    pairs, start = [], None
    for event in events:
        if event.kind == "start":
            start = event.time_s
        elif event.kind == "end" and start is not None:
            pairs.append((start, event.time_s))
            start = None
    return np.array(pairs, dtype=float).reshape(-1, 2)


class FreezeStream:
    """The :class:`FreezeDetector` live: push chunks of samples, receive freeze start/end events.

    ``push({placement: (3, k) m/s^2})`` takes the next ``k`` samples of every sensor (the same ``k``
    for all; ``k`` may be 0 or anything larger than a window) and returns the events decided in
    them, each at its window's end time (seconds since the first sample). An event is returned in
    the push that delivers the sample ending its window, so it is never held back by more than the
    chunk. ``close()`` ends an open freeze at the last decision time. Memory is one window per
    sensor (plus the scores if ``keep_scores``).

    >>> det = FreezeDetector()
    >>> live = det.stream(sampling_rate_hz=64.0, placements=["lower-back"])
    >>> live.push({"lower-back": np.zeros((3, 0))}), live.frozen
    ([], False)
    """

    def __init__(
        self, detector: FreezeDetector, *, sampling_rate_hz: float, placements: Sequence[str], keep_scores: bool = False
    ) -> None:
        self.sampling_rate_hz = check_sampling_rate(sampling_rate_hz)
        placements = list(placements)
        if not placements:
            raise ParameterError(f"placements must name at least one of {PLACEMENTS!r}")
        for name in placements:
            if name not in PLACEMENTS:
                raise ParameterError(f"placement {name!r} is not supported; use one of {PLACEMENTS!r}")
        if len(set(placements)) != len(placements):
            raise ParameterError(f"placements must not repeat, got {placements!r}")
        decision = detector.decision_parameters(placements)
        self._check_detector(detector, decision)
        self.detector = detector
        self.placements = tuple(placements)
        self._win, self._hop = _window_samples(detector.window_s, detector.hop_s, self.sampling_rate_hz)
        self._buffer = np.full((len(placements), 3, self._win), np.nan)
        self._n_seen = 0
        self._reference = np.full(len(placements), float(detector.reference_prior_log10))
        self._alpha = min(1.0, detector.hop_s / detector.reference_tau_s)
        self._state = _FreezeState(**decision, hop_s=detector.hop_s)
        self._keep = keep_scores
        self.window_times_s: list[float] = []
        self.scores: list[float] = []
        self.frozen_flags: list[bool] = []

    @staticmethod
    def _check_detector(det: FreezeDetector, decision: dict[str, float]) -> None:
        if not np.isfinite(decision["threshold"]):
            raise ParameterError(f"threshold must be a finite number, got {det.threshold!r}")
        if not decision["release_threshold"] <= decision["threshold"]:
            raise ParameterError(
                f"release_threshold must be <= threshold ({decision['threshold']!r}), got {det.release_threshold!r}")
        if not (np.isfinite(decision["min_freeze_s"]) and decision["min_freeze_s"] >= 0):
            raise ParameterError(f"min_freeze_s must be >= 0 seconds, got {det.min_freeze_s!r}")
        if not (np.isfinite(det.reference_tau_s) and det.reference_tau_s > 0):
            raise ParameterError(f"reference_tau_s must be > 0 seconds, got {det.reference_tau_s!r}")

    @property
    def time_s(self) -> float:
        """Seconds of signal consumed so far."""
        return self._n_seen / self.sampling_rate_hz

    def push(self, samples: Mapping[str, np.ndarray]) -> list[FreezeEvent]:
        """Feed the next samples of every sensor; returns the events they decide."""
        missing = set(self.placements) - set(samples)
        extra = set(samples) - set(self.placements)
        if missing or extra:
            raise ParameterError(f"samples must have exactly the placements {list(self.placements)!r}; "
                                 f"missing {sorted(missing)!r}, unexpected {sorted(extra)!r}")
        chunk = np.stack([check_triaxial(samples[p], name=f"samples[{p!r}]") for p in self.placements])
        k = chunk.shape[-1]
        events: list[FreezeEvent] = []
        pos = 0
        while pos < k:
            # samples until the next window end: the first ends at self._win, then every self._hop
            seen = self._n_seen
            next_end = self._win if seen < self._win else seen + self._hop - (seen - self._win) % self._hop
            take = min(k - pos, next_end - seen)
            self._append(chunk[..., pos:pos + take])
            pos += take
            if self._n_seen == next_end:
                event = self._decide(self._n_seen / self.sampling_rate_hz)
                if event is not None:
                    events.append(event)
        return events

    def close(self) -> list[FreezeEvent]:
        """End an open freeze at the last decision time (end of the recording or session)."""
        event = self._state.close()
        return [event] if event is not None else []

    @property
    def frozen(self) -> bool:
        """Whether a freeze is under way (started and not yet ended)."""
        return self._state.frozen

    def _append(self, block: np.ndarray) -> None:
        n = block.shape[-1]
        if n >= self._win:
            self._buffer[...] = block[..., -self._win:]
        elif n:
            self._buffer[..., :-n] = self._buffer[..., n:]
            self._buffer[..., -n:] = block
        self._n_seen += n

    def _votes(self) -> np.ndarray:
        loco, freeze = band_powers(self._buffer, sampling_rate_hz=self.sampling_rate_hz)  # (sensors, 3)
        loco, freeze = loco.sum(axis=-1), freeze.sum(axis=-1)
        power = np.log10(np.maximum(loco + freeze, _EPS_POWER))
        index = np.log10(np.maximum(freeze, _EPS_POWER)) - np.log10(np.maximum(loco, _EPS_POWER))
        votes = np.full(len(self.placements), np.nan)
        for i, name in enumerate(self.placements):
            if not np.isfinite(index[i]) or not np.isfinite(power[i]):
                continue  # NaN in the window: this sensor is silent
            floor = STILL_POWER_LOG10[name]
            if power[i] <= floor:
                continue  # standing still: no rhythm to lose, the index is noise
            votes[i] = index[i] - self._reference[i]
            if power[i] > floor + MOVING_MARGIN_LOG10:
                self._reference[i] += self._alpha * (index[i] - self._reference[i])
        return votes

    def _decide(self, time_s: float) -> FreezeEvent | None:
        votes = self._votes()
        score = float(np.mean(votes[np.isfinite(votes)])) if np.isfinite(votes).any() else float("nan")
        event = self._state.update(score, time_s)
        if self._keep:
            self.window_times_s.append(time_s)
            self.scores.append(score)
            self.frozen_flags.append(self.frozen)
        return event


class _FreezeState:
    """Hysteresis with a minimum duration: the decision stage shared by the stream and the tuning."""

    def __init__(self, *, threshold: float, release_threshold: float | None, min_freeze_s: float, hop_s: float) -> None:
        self.threshold = float(threshold)
        self.release = self.threshold if release_threshold is None else float(release_threshold)
        # windows in a row above threshold: 1, or enough to span min_freeze_s between the first and last
        self.need = 1 + (int(np.ceil(min_freeze_s / hop_s - 1e-9)) if min_freeze_s > 0 else 0)
        self.run = 0
        self.frozen = False
        self.last_time_s: float | None = None

    def update(self, score: float, time_s: float) -> FreezeEvent | None:
        event = None
        if not self.frozen:
            self.run = self.run + 1 if score > self.threshold else 0
            if self.run >= self.need:
                self.frozen, self.run = True, 0
                event = FreezeEvent("start", time_s)
        elif not score >= self.release:  # below release, or nothing to judge (NaN)
            self.frozen = False
            event = FreezeEvent("end", time_s)
        self.last_time_s = time_s
        return event

    def close(self) -> FreezeEvent | None:
        if self.frozen and self.last_time_s is not None:
            self.frozen = False
            return FreezeEvent("end", self.last_time_s)
        return None


def decide_freeze_events(
    window_times_s: np.ndarray,
    scores: np.ndarray,
    *,
    threshold: float,
    release_threshold: float | None = None,
    min_freeze_s: float = 0.0,
    hop_s: float = 0.5,
) -> list[FreezeEvent]:
    """The :class:`FreezeDetector`'s decision stage on scores already computed (e.g. ``scores_``).

    A freeze starts at the window where the score has exceeded ``threshold`` for ``min_freeze_s``
    (windows ``hop_s`` apart), and ends at the first window whose score is below
    ``release_threshold`` (default: ``threshold``) or NaN; one still open ends at the last window.
    Re-deciding stored scores with other thresholds gives what the detector would have given.

    >>> decide_freeze_events(np.arange(6) * 0.5, np.array([0, 1, 1, 0.4, 0, 0]), threshold=0.45,
    ...                      release_threshold=0.3)
    [FreezeEvent(kind='start', time_s=0.5), FreezeEvent(kind='end', time_s=2.0)]
    """
    times = np.asarray(window_times_s, dtype=float)
    values = np.asarray(scores, dtype=float)
    if times.shape != values.shape or times.ndim != 1:
        raise ParameterError(f"window_times_s and scores must be 1-D of one length, got {times.shape!r} and {values.shape!r}")
    if release_threshold is not None and not release_threshold <= threshold:
        raise ParameterError(f"release_threshold must be <= threshold ({threshold!r}), got {release_threshold!r}")
    if not (np.isfinite(min_freeze_s) and min_freeze_s >= 0):
        raise ParameterError(f"min_freeze_s must be >= 0 seconds, got {min_freeze_s!r}")
    if not (np.isfinite(hop_s) and hop_s > 0):
        raise ParameterError(f"hop_s must be > 0 seconds, got {hop_s!r}")
    state = _FreezeState(threshold=threshold, release_threshold=release_threshold, min_freeze_s=min_freeze_s, hop_s=hop_s)
    events = [e for e in (state.update(float(v), float(t)) for v, t in zip(values, times, strict=True)) if e is not None]
    last = state.close()
    return events + ([last] if last is not None else [])


def summarize_freezes(freeze_intervals_s: np.ndarray) -> dict[str, float | int]:
    """Episode count and total time frozen (s) of a ``(k, 2)`` interval array.

    >>> summarize_freezes(np.array([[3.0, 5.5], [10.0, 11.0]]))
    {'episode_count': 2, 'time_frozen_s': 3.5}
    """
    arr = np.asarray(freeze_intervals_s, dtype=float).reshape(-1, 2)
    return {"episode_count": int(arr.shape[0]), "time_frozen_s": float(np.sum(arr[:, 1] - arr[:, 0]))}
