"""Pacifier-activated lullaby (PAL): music contingent on the infant's own sucking.

Published design (Standley 2000; FDA 510(k) K151050; summarised in
``shared/research/clinical_anchors.md`` section 5): a pressure-sensing pacifier triggers music when a
suck meets a pressure criterion set for the infant (about 20 mmHg at first, raised towards about
35 mmHg as sucking strengthens); each criterion suck gives about 10 s of music, which fades out unless
re-triggered; a session lasts 15 minutes; the music has no tempo, key or volume changes; stop if the
infant shows distress. Standley 2010 (Pediatr Nurs 36:138, n=68) found shorter gavage feeding at 34
weeks PMA but *longer* at 32 weeks, so PAL is not for every infant.

Pressure here is the suction magnitude in mmHg (bigger = stronger suck), time on the last axis.

>>> pressure, truth = simulate_suck_pressure(duration_s=60, sampling_rate_hz=100, seed=1)
>>> pal = PalController(criterion_mmhg=20).run(pressure, sampling_rate_hz=100)
>>> bool(pal.summary_.playback_s > 0), pal.summary_.criterion_sucks == pal.criterion_suck_times_s_.size
(True, True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from cadenza.errors import ParameterError
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration
from cadenza.safety.enforce import NICU_LIMITS, NicuLimits, NicuRender, enforce_nicu_limits
from cadenza.safety.flags import AudioPolicy

PAL_SESSION_S = 15 * 60.0
PAL_PLAY_S = 10.0
PAL_START_CRITERION_MMHG = 20.0
PAL_MAX_CRITERION_MMHG = 35.0
SUCK_LOWPASS_HZ = 12.0  # non-nutritive sucks run at ~2 per second; keeps their shape, drops sensor noise


@dataclass(frozen=True)
class Suck:
    """One suck: when it began (crossing ``min_suck_mmhg``), its peak time and peak pressure."""

    start_s: float
    peak_s: float
    peak_mmhg: float


def _smooth(pressure_mmhg: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    from scipy import signal

    cutoff = min(SUCK_LOWPASS_HZ, 0.45 * sampling_rate_hz)
    sos = signal.butter(2, cutoff, fs=sampling_rate_hz, output="sos")
    if pressure_mmhg.size <= 15:
        return pressure_mmhg
    return signal.sosfiltfilt(sos, pressure_mmhg)


def _check_pressure(pressure_mmhg: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    p = np.asarray(pressure_mmhg, dtype=float)
    if p.ndim != 1:
        raise ParameterError(f"pressure_mmhg must be 1-D, got shape {p.shape!r}")
    if not np.isfinite(sampling_rate_hz) or not 20 <= sampling_rate_hz <= 10_000:
        raise ParameterError(f"sampling_rate_hz must be in [20, 10000] Hz for suck pressure, got {sampling_rate_hz!r}")
    if not np.all(np.isfinite(p)):
        raise ParameterError("pressure_mmhg contains NaN or infinite values; fill or cut gaps first")
    if p.size and (np.percentile(p, 95) > 400 or np.percentile(p, 5) < -200):
        raise ParameterError(
            f"pressure_mmhg spans {p.min():.0f}..{p.max():.0f}; expected suction in mmHg (0-150). "
            "Pa or cmH2O? Convert first (1 mmHg = 133.3 Pa = 1.36 cmH2O)."
        )
    return p


def detect_sucks(pressure_mmhg: np.ndarray, *, sampling_rate_hz: float, min_suck_mmhg: float = 5.0,
                 min_interval_s: float = 0.2) -> list[Suck]:
    """Every suck: excursions above ``min_suck_mmhg`` (re-armed below half of it), with their peaks.

    >>> sr = 100; t = np.arange(3 * sr) / sr
    >>> p = 30 * np.clip(np.sin(2 * np.pi * 2 * t), 0, None)  # 6 sucks at 2 Hz
    >>> [round(s.peak_s, 1) for s in detect_sucks(p, sampling_rate_hz=sr)]
    [0.1, 0.6, 1.1, 1.6, 2.1, 2.6]
    """
    p = _check_pressure(pressure_mmhg, sampling_rate_hz)
    if not np.isfinite(min_suck_mmhg) or min_suck_mmhg <= 0:
        raise ParameterError(f"min_suck_mmhg must be > 0, got {min_suck_mmhg!r}")
    if p.size == 0:
        return []
    x = _smooth(p, sampling_rate_hz)
    sucks: list[Suck] = []
    above = False
    start = 0
    last_start_s = -np.inf
    for i, v in enumerate(x):
        if not above and v >= min_suck_mmhg:
            above, start = True, i
        elif above and v < 0.5 * min_suck_mmhg:
            above = False
            _add_suck(sucks, x, start, i, sampling_rate_hz, min_interval_s, last_start_s)
            last_start_s = sucks[-1].start_s if sucks else last_start_s
    if above:
        _add_suck(sucks, x, start, x.size, sampling_rate_hz, min_interval_s, last_start_s)
    return sucks


def _add_suck(sucks: list[Suck], x: np.ndarray, start: int, stop: int, sr: float, min_interval_s: float,
              last_start_s: float) -> None:
    peak = start + int(np.argmax(x[start:stop]))
    suck = Suck(start / sr, peak / sr, float(x[peak]))
    if sucks and suck.start_s - last_start_s < min_interval_s:
        if suck.peak_mmhg > sucks[-1].peak_mmhg:  # one suck split by a wobble: keep the stronger peak
            sucks[-1] = Suck(sucks[-1].start_s, suck.peak_s, suck.peak_mmhg)
        return
    sucks.append(suck)


def _crossing_time_s(x: np.ndarray, suck: Suck, criterion_mmhg: float, sr: float) -> float:
    i0, i1 = int(round(suck.start_s * sr)), int(round(suck.peak_s * sr)) + 1
    idx = i0 + int(np.argmax(x[i0:i1] >= criterion_mmhg))
    if idx == 0 or x[idx - 1] >= criterion_mmhg:
        return idx / sr
    frac = (criterion_mmhg - x[idx - 1]) / (x[idx] - x[idx - 1])  # linear interpolation between samples
    return (idx - 1 + frac) / sr


def playback_intervals(trigger_times_s: np.ndarray, *, play_s: float = PAL_PLAY_S,
                       end_s: float = PAL_SESSION_S) -> list[tuple[float, float]]:
    """When music is on: each trigger plays ``play_s``; a re-trigger while playing extends it.

    >>> playback_intervals(np.array([1.0, 5.0, 30.0]), play_s=10, end_s=35)
    [(1.0, 15.0), (30.0, 35.0)]
    """
    times = np.sort(np.asarray(trigger_times_s, dtype=float))
    out: list[tuple[float, float]] = []
    for t in times:
        if t >= end_s:
            break
        if out and t <= out[-1][1]:
            out[-1] = (out[-1][0], float(min(t + play_s, end_s)))
        else:
            out.append((float(t), float(min(t + play_s, end_s))))
    return out


def playback_gain(intervals: list[tuple[float, float]], *, n_samples: int, sampling_rate_hz: int,
                  fade_out_s: float = 3.0, fade_in_s: float = 1.0) -> np.ndarray:
    """Gain (0..1) per sample: a gentle 1-s rise at each start, a fade over the last ``fade_out_s``.

    The music under this gate never changes tempo, key or level; only the contingency opens and closes.
    """
    gain = np.zeros(n_samples)
    sr = float(sampling_rate_hz)
    for start_s, end_s in intervals:
        i0, i1 = int(round(start_s * sr)), min(n_samples, int(round(end_s * sr)))
        if i1 <= i0:
            continue
        t = (np.arange(i0, i1) / sr)
        rise = np.clip((t - start_s) / fade_in_s, 0, 1)
        fall = np.clip((end_s - t) / fade_out_s, 0, 1)
        gain[i0:i1] = np.maximum(gain[i0:i1], np.minimum(0.5 - 0.5 * np.cos(np.pi * rise),
                                                         0.5 - 0.5 * np.cos(np.pi * fall)))
    return gain


@dataclass(frozen=True)
class PalSummary:
    """What a PAL session did; stored through ``cadenza.tools.nicu.records``."""

    duration_s: float
    sucks: int
    criterion_sucks: int
    sucks_per_minute: tuple[int, ...]
    criterion_sucks_per_minute: tuple[int, ...]
    playback_s: float
    start_criterion_mmhg: float
    end_criterion_mmhg: float
    stopped_early: bool
    stop_reason: str | None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["sucks_per_minute"] = list(self.sucks_per_minute)
        d["criterion_sucks_per_minute"] = list(self.criterion_sucks_per_minute)
        d["duration_s"] = round(self.duration_s, 2)
        d["playback_s"] = round(self.playback_s, 2)
        return d


@dataclass
class PalController:
    """One PAL session over a suck-pressure recording (tpcp-style: results end in ``_``).

    ``adapt=True`` raises the criterion by ``criterion_step_mmhg`` (up to ``max_criterion_mmhg``) after
    any minute in which at least ``adapt_fraction`` of sucks already reached the next step; the
    published design raises it "as sucking strengthens", the exact rule here is a design choice.
    """

    criterion_mmhg: float = PAL_START_CRITERION_MMHG
    play_s: float = PAL_PLAY_S
    session_s: float = PAL_SESSION_S
    min_suck_mmhg: float = 5.0
    adapt: bool = False
    criterion_step_mmhg: float = 2.5
    max_criterion_mmhg: float = PAL_MAX_CRITERION_MMHG
    adapt_fraction: float = 0.8

    sucks_: list[Suck] = field(default_factory=list, init=False)
    criterion_suck_times_s_: np.ndarray = field(default_factory=lambda: np.empty(0), init=False)
    criterion_history_: list[tuple[float, float]] = field(default_factory=list, init=False)
    playback_intervals_s_: list[tuple[float, float]] = field(default_factory=list, init=False)
    summary_: PalSummary | None = field(default=None, init=False)

    def _validate(self) -> None:
        if not np.isfinite(self.criterion_mmhg) or not 5 <= self.criterion_mmhg <= 60:
            raise ParameterError(f"criterion_mmhg must be in [5, 60] mmHg, got {self.criterion_mmhg!r}")
        if not 1 <= self.play_s <= 30:
            raise ParameterError(f"play_s must be in [1, 30] s (published design: about 10 s), got {self.play_s!r}")
        if not 0 < self.session_s <= PAL_SESSION_S:
            raise ParameterError(
                f"session_s must be in (0, {PAL_SESSION_S:g}] s (15-min sessions), got {self.session_s!r}")
        if not 0 < self.min_suck_mmhg < self.criterion_mmhg:
            raise ParameterError(f"min_suck_mmhg must be in (0, criterion_mmhg), got {self.min_suck_mmhg!r}")
        if not self.criterion_mmhg <= self.max_criterion_mmhg <= 60:
            raise ParameterError(f"max_criterion_mmhg must be in [criterion_mmhg, 60], got {self.max_criterion_mmhg!r}")

    def run(self, pressure_mmhg: np.ndarray, *, sampling_rate_hz: float, distress_times_s: np.ndarray | None = None,
            policy: AudioPolicy | None = None) -> "PalController":
        """Detect sucks, decide playback, stop at the first distress time; ``policy`` may forbid PAL.

        PAL starts music without anyone pressing play, so a policy with ``autoplay_allowed=False``
        (seizure flag) refuses it.
        """
        self._validate()
        if policy is not None and not policy.autoplay_allowed:
            raise ParameterError(
                "PAL starts music automatically when the infant sucks, and this infant's safety policy "
                "forbids auto-play (seizure flag); play music only by an explicit caregiver action"
            )
        p = _check_pressure(pressure_mmhg, sampling_rate_hz)
        distress = np.sort(np.asarray([] if distress_times_s is None else distress_times_s, dtype=float))
        if distress.size and not np.all(np.isfinite(distress)):
            raise ParameterError(f"distress_times_s must be finite seconds, got {distress_times_s!r}")
        end_s = min(self.session_s, p.size / sampling_rate_hz)
        stop_reason = None
        if distress.size and distress[0] < end_s:
            end_s, stop_reason = float(distress[0]), f"distress cue at {distress[0]:.1f} s"

        x = _smooth(p, sampling_rate_hz) if p.size else p
        sucks = [s for s in detect_sucks(p, sampling_rate_hz=sampling_rate_hz, min_suck_mmhg=self.min_suck_mmhg)
                 if s.start_s < end_s]
        criterion = float(self.criterion_mmhg)
        history = [(0.0, criterion)]
        triggers: list[float] = []
        minute_end = 60.0
        minute_peaks: list[float] = []
        for s in sucks:
            while s.start_s >= minute_end:
                if self.adapt and minute_peaks:
                    strong = np.mean(np.array(minute_peaks) >= criterion + self.criterion_step_mmhg)
                    if strong >= self.adapt_fraction and criterion < self.max_criterion_mmhg:
                        criterion = min(self.max_criterion_mmhg, criterion + self.criterion_step_mmhg)
                        history.append((minute_end, criterion))
                minute_peaks, minute_end = [], minute_end + 60.0
            minute_peaks.append(s.peak_mmhg)
            if s.peak_mmhg >= criterion:
                t = _crossing_time_s(x, s, criterion, sampling_rate_hz)
                if t < end_s:
                    triggers.append(t)

        self.sucks_ = sucks
        self.criterion_suck_times_s_ = np.array(triggers)
        self.criterion_history_ = history
        self.playback_intervals_s_ = playback_intervals(self.criterion_suck_times_s_, play_s=self.play_s, end_s=end_s)
        n_min = max(1, int(np.ceil(end_s / 60.0)))
        per_min = np.bincount(np.array([int(s.start_s // 60) for s in sucks], dtype=int), minlength=n_min)[:n_min]
        crit_min = np.bincount((self.criterion_suck_times_s_ // 60).astype(int), minlength=n_min)[:n_min]
        self.summary_ = PalSummary(
            duration_s=float(end_s), sucks=len(sucks), criterion_sucks=len(triggers),
            sucks_per_minute=tuple(int(v) for v in per_min),
            criterion_sucks_per_minute=tuple(int(v) for v in crit_min),
            playback_s=float(sum(b - a for a, b in self.playback_intervals_s_)),
            start_criterion_mmhg=float(self.criterion_mmhg), end_criterion_mmhg=criterion,
            stopped_early=stop_reason is not None, stop_reason=stop_reason,
        )
        return self


def simulate_suck_pressure(*, duration_s: float = PAL_SESSION_S, sampling_rate_hz: float = 100.0,
                           suck_rate_hz: float = 2.0, sucks_per_burst: tuple[int, int] = (6, 12),
                           pause_s: tuple[float, float] = (3.0, 8.0), start_amplitude_mmhg: float = 24.0,
                           end_amplitude_mmhg: float = 34.0, amplitude_jitter_mmhg: float = 4.0,
                           noise_mmhg: float = 1.0, sucking: bool = True, seed: int = 0,
                           ) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic non-nutritive sucking record: bursts of sucks separated by pauses, plus noise.

    Returns ``(pressure_mmhg, suck_peak_times_s)``. Amplitudes drift from ``start_amplitude_mmhg`` to
    ``end_amplitude_mmhg`` (sucking strengthening over the session). ``sucking=False`` gives an
    infant who does not suck (noise only). Burst structure (several sucks at ~2 per second, then a
    pause) is the common description of non-nutritive sucking [recalled].
    """
    if not np.isfinite(duration_s) or duration_s <= 0 or duration_s > 4 * 3600:
        raise ParameterError(f"duration_s must be in (0, 14400] s, got {duration_s!r}")
    if not 0.5 <= suck_rate_hz <= 4:
        raise ParameterError(f"suck_rate_hz must be in [0.5, 4] Hz, got {suck_rate_hz!r}")
    rng = np.random.default_rng(seed)
    sr = float(sampling_rate_hz)
    n = int(round(duration_s * sr))
    t = np.arange(n) / sr
    p = noise_mmhg * rng.standard_normal(n)
    peaks: list[float] = []
    if sucking:
        cursor = float(rng.uniform(0.5, 2.0))
        width_s = 0.45 / suck_rate_hz * 2  # a suck occupies ~45 % of its cycle
        while cursor < duration_s - 1.0:
            for _ in range(int(rng.integers(sucks_per_burst[0], sucks_per_burst[1] + 1))):
                if cursor >= duration_s - 1.0:
                    break
                frac = cursor / duration_s
                amp = max(3.0, start_amplitude_mmhg + frac * (end_amplitude_mmhg - start_amplitude_mmhg)
                          + amplitude_jitter_mmhg * rng.standard_normal())
                i0, i1 = int(cursor * sr), min(n, int((cursor + width_s) * sr))
                p[i0:i1] += amp * np.sin(np.pi * (t[i0:i1] - cursor) / width_s)
                peaks.append(cursor + width_s / 2)
                cursor += (1.0 / suck_rate_hz) * float(rng.uniform(0.9, 1.1))
            cursor += float(rng.uniform(*pause_s))
    return p, np.array(peaks)


def render_pal_audio(music: np.ndarray, pal: PalController, *, sampling_rate_hz: int,
                     calibration: Calibration | None = None, limits: NicuLimits = NICU_LIMITS) -> NicuRender:
    """The session as heard: the lullaby, unchanged, behind the contingency gate, within NICU limits.

    ``music`` runs continuously under the gate (looped if shorter than the session; render it with
    ``fades=False`` and at least the session's length for a seamless loop). The gated result is
    measured and brought within ``limits`` like every NICU render: switching the music on at a suck
    must not be a sudden level jump either. A session without criterion sucks is silence.
    """
    if pal.summary_ is None:
        raise ParameterError("pal has not been run; call PalController.run(...) first")
    x = np.asarray(music, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ParameterError(f"music must be a non-empty mono array, got shape {x.shape!r}")
    n = int(round(pal.summary_.duration_s * sampling_rate_hz))
    audio = np.tile(x, int(np.ceil(n / x.size)))[:n]
    gain = playback_gain(pal.playback_intervals_s_, n_samples=n, sampling_rate_hz=sampling_rate_hz)
    cal = DEFAULT_CALIBRATION if calibration is None else calibration
    if not np.any(gain):
        silence = np.zeros(n, dtype=np.float32)
        report = measure_levels(silence, sampling_rate_hz=sampling_rate_hz, level_offset_db=cal.level_offset_db,
                                floor_dba=limits.floor_dba)
        return NicuRender(silence, int(sampling_rate_hz), report, limits, cal, 0.0)
    return enforce_nicu_limits(audio * gain, sampling_rate_hz=sampling_rate_hz, calibration=cal, limits=limits)
