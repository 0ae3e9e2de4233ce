"""Synchronisation of steps to a cue: asynchrony, relative phase, resultant vector length, locking.

Conventions (one step per beat; RAS paces steps, not strides):

* The cue is heard at ``beat + output_latency_s``; every figure here is relative to the heard beat.
  Uncorrected output latency (Bluetooth headphones add 100-300 ms) would show up as a fake asynchrony
  larger than the effects being studied (``../shared/research/ras_gait.md`` section 4).
* **Asynchrony** of a step = step time - nearest heard beat; negative = the foot lands before the beat
  (the usual negative mean asynchrony, NMA; Repp 2005, Psychon Bull Rev 12:969, doi:10.3758/BF03206433).
* **Relative phase** = 360 deg x (step - previous beat) / (beat interval), wrapped to (-180, 180].
  Its circular mean and resultant vector length R (0 = no relation, 1 = perfectly constant phase)
  are the standard circular statistics of sensorimotor synchronisation (Fisher 1993).
* **Bounds.** A walk analysed here lasts at most :data:`MAX_WALK_S` (4 h, far beyond any RAS
  session) and holds at most :data:`MAX_SYNC_STEPS` steps; cue tempi are :data:`CUE_TEMPO_RANGE_BPM`.
  :func:`check_step_times` and :func:`check_cue` refuse anything else before an array is allocated,
  so a typo (milliseconds as seconds) or a hostile value cannot make :func:`make_cue_beat_times`
  build a cue of billions of beats.
* **Locked** steps are those whose centred window of ``lock_window_steps`` steps has R >=
  ``lock_min_resultant`` *and* a mean asynchrony within +-``window_ms`` (a stable phase far from the
  beat is not synchronised walking); consecutive locked steps form locked segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError

DEFAULT_WINDOW_MS = 100.0
LOCK_WINDOW_STEPS = 8
LOCK_MIN_RESULTANT = 0.9
MAX_LATENCY_S = 1.0
MAX_WALK_S = 4 * 3600.0  # longest walk (s): 14,400 s, far beyond a 20-45 min RAS session
MAX_SYNC_STEPS = 72_000  # 4 h at 300 steps/min, above any human cadence
CUE_TEMPO_RANGE_BPM = (20.0, 250.0)
CUE_TAIL_S = 2.0  # the cue runs this long past the last step
MAX_CUE_BEATS = int(np.ceil((MAX_WALK_S + CUE_TAIL_S) * CUE_TEMPO_RANGE_BPM[1] / 60.0)) + 1


@dataclass(frozen=True)
class SyncReport:
    """Step-to-beat synchronisation of one walk: per-step asynchrony and relative phase to the heard beats,
    their mean, SD and circular resultant length, the steps within ``window_ms`` of a beat, the locked runs,
    and cadence against the cue tempo over time (:func:`analyze_synchronization`)."""

    step_times_s: np.ndarray
    heard_beat_times_s: np.ndarray
    asynchrony_ms: np.ndarray  # per step; NaN outside the cue
    relative_phase_deg: np.ndarray  # per step, (-180, 180]; NaN outside the cue
    mean_asynchrony_ms: float
    sd_asynchrony_ms: float
    circular_mean_phase_deg: float
    resultant_length: float
    percent_within_window: float
    window_ms: float
    locked: np.ndarray  # bool per step
    locked_segments_s: np.ndarray  # (k, 2) start/end times of locked runs
    cadence_times_s: np.ndarray  # midpoints between consecutive steps
    cadence_spm: np.ndarray
    cue_tempo_bpm: np.ndarray  # cue tempo at the same instants

    def summary(self) -> dict[str, float]:
        """The scalar figures, e.g. for storing as measurements."""
        locked_s = float(np.sum(self.locked_segments_s[:, 1] - self.locked_segments_s[:, 0])) \
            if self.locked_segments_s.size else 0.0
        valid = np.isfinite(self.asynchrony_ms)
        return {
            "n_steps": float(self.step_times_s.size),
            "n_steps_in_cue": float(np.sum(valid)),
            "mean_asynchrony_ms": self.mean_asynchrony_ms,
            "sd_asynchrony_ms": self.sd_asynchrony_ms,
            "circular_mean_phase_deg": self.circular_mean_phase_deg,
            "resultant_length": self.resultant_length,
            "percent_within_window": self.percent_within_window,
            "window_ms": self.window_ms,
            "percent_steps_locked": float(100 * np.mean(self.locked[valid])) if valid.any() else float("nan"),
            "locked_duration_s": locked_s,
            "median_cadence_spm": float(np.median(self.cadence_spm)) if self.cadence_spm.size else float("nan"),
            "median_cue_tempo_bpm": float(np.nanmedian(self.cue_tempo_bpm))
            if np.any(np.isfinite(self.cue_tempo_bpm)) else float("nan"),
        }


def _check_events(name: str, times_s: np.ndarray) -> np.ndarray:
    times_s = np.asarray(times_s, dtype=float)
    if times_s.ndim != 1 or not np.all(np.isfinite(times_s)):
        raise ParameterError(f"{name} must be a finite 1-D array of seconds, got shape {times_s.shape!r}")
    if np.any(np.diff(times_s) <= 0):
        raise ParameterError(f"{name} must be strictly increasing (sorted event times in seconds)")
    return times_s


def check_step_times(step_times_s: np.ndarray) -> np.ndarray:
    """``step_times_s`` as a float array if it is a 1-D array of finite step times within
    0..:data:`MAX_WALK_S` s and at most :data:`MAX_SYNC_STEPS` steps; :class:`ParameterError` otherwise.

    >>> check_step_times(np.array([0.5, 1.1])).tolist()
    [0.5, 1.1]
    >>> check_step_times(np.array([0.5, 1e7]))
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: step_times_s must lie within 0..14400 s (a walk of at most 4 h), got a step at 10000000.0 s (milliseconds given as seconds?)
    """
    times_s = np.asarray(step_times_s, dtype=float)
    if times_s.ndim != 1:
        raise ParameterError(f"step_times_s must be a 1-D array of seconds, got shape {times_s.shape!r}")
    if times_s.size > MAX_SYNC_STEPS:
        raise ParameterError(f"step_times_s must hold at most {MAX_SYNC_STEPS:,} steps (4 h of walking), "
                             f"got {times_s.size:,}")
    if not np.all(np.isfinite(times_s)):
        bad = times_s[~np.isfinite(times_s)][0]
        raise ParameterError(f"step_times_s must be finite seconds, got {float(bad)!r}")
    outside = (times_s < 0) | (times_s > MAX_WALK_S)
    if outside.any():
        raise ParameterError(f"step_times_s must lie within 0..{MAX_WALK_S:g} s (a walk of at most 4 h), got a "
                             f"step at {float(times_s[outside][0])!r} s (milliseconds given as seconds?)")
    return times_s


def check_cue(*, tempo_bpm: float, cue_start_s: float = 0.0) -> None:
    """:class:`ParameterError` naming the field unless ``tempo_bpm`` is within :data:`CUE_TEMPO_RANGE_BPM`
    and ``cue_start_s`` within 0..:data:`MAX_WALK_S` (both finite). Cheap: call it before any analysis.

    >>> check_cue(tempo_bpm=100.0, cue_start_s=-1e15)
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: cue_start_s must be between 0 and 14400 s on the step clock, got -1000000000000000.0
    """
    low, high = CUE_TEMPO_RANGE_BPM
    if isinstance(tempo_bpm, bool) or not isinstance(tempo_bpm, (int, float, np.number)) \
            or not np.isfinite(tempo_bpm) or not low <= tempo_bpm <= high:
        raise ParameterError(f"tempo_bpm must be {low:g}..{high:g} BPM, got {tempo_bpm!r}")
    if isinstance(cue_start_s, bool) or not isinstance(cue_start_s, (int, float, np.number)) \
            or not np.isfinite(cue_start_s) or not 0 <= cue_start_s <= MAX_WALK_S:
        raise ParameterError(f"cue_start_s must be between 0 and {MAX_WALK_S:g} s on the step clock, got {cue_start_s!r}")


def make_cue_beat_times(step_times_s: np.ndarray, *, tempo_bpm: float, cue_start_s: float = 0.0) -> np.ndarray:
    """Beat times (s) of an isochronous cue at ``tempo_bpm`` from ``cue_start_s`` until :data:`CUE_TAIL_S`
    after the last step; empty for no steps. Every input is bounded first (:func:`check_cue`,
    :func:`check_step_times`; the cue may not start after the last step), so the cue never exceeds
    :data:`MAX_CUE_BEATS` beats.

    >>> make_cue_beat_times(np.array([0.3, 0.9]), tempo_bpm=120.0).tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    """
    check_cue(tempo_bpm=tempo_bpm, cue_start_s=cue_start_s)
    steps = check_step_times(step_times_s)
    if steps.size == 0:
        return np.empty(0)
    last_s = float(np.max(steps))
    if cue_start_s > last_s:
        raise ParameterError(f"cue_start_s must not be after the last step (at {last_s:g} s), got {cue_start_s!r}")
    period_s = 60.0 / float(tempo_bpm)
    n_beats = int(np.ceil((last_s + CUE_TAIL_S - cue_start_s) / period_s))
    if n_beats > MAX_CUE_BEATS:  # unreachable within the bounds above; kept as the allocation guard
        raise ParameterError(f"the cue would have {n_beats:,} beats; at most {MAX_CUE_BEATS:,} are analysed")
    return cue_start_s + period_s * np.arange(n_beats)


def circular_stats_deg(phase_deg: np.ndarray) -> tuple[float, float]:
    """Circular mean (deg, (-180, 180]) and resultant vector length of phases; NaNs are ignored.

    >>> m, r = circular_stats_deg(np.array([170.0, -170.0]))
    >>> round(abs(m), 6), round(r, 4)
    (180.0, 0.9848)
    """
    phase = np.asarray(phase_deg, dtype=float)
    phase = phase[np.isfinite(phase)]
    if phase.size == 0:
        return float("nan"), float("nan")
    vec = np.mean(np.exp(1j * np.deg2rad(phase)))
    return _wrap_deg(float(np.rad2deg(np.angle(vec)))), float(np.abs(vec))


def _wrap_deg(phase_deg):
    """Wrap to (-180, 180]."""
    wrapped = -((-np.asarray(phase_deg, dtype=float) + 180.0) % 360.0 - 180.0)
    return float(wrapped) if np.ndim(wrapped) == 0 else wrapped


def relative_phase_deg(step_times_s: np.ndarray, heard_beat_times_s: np.ndarray) -> np.ndarray:
    """Phase of each step in its beat interval, (-180, 180]; NaN for steps more than half an interval
    outside the cue (the same steps :func:`step_asynchrony_ms` leaves out).

    >>> (relative_phase_deg(np.array([0.8, 1.1, 1.4, 1.5]), np.array([1.0, 1.5, 2.0])).round(6) + 0.0).tolist()
    [-144.0, 72.0, -72.0, 0.0]
    """
    steps = np.asarray(step_times_s, dtype=float)
    beats = np.asarray(heard_beat_times_s, dtype=float)
    out = np.full(steps.size, np.nan)
    if beats.size < 2:
        return out
    # Virtual beats one interval beyond each end let the steps just outside the cue have a phase.
    ext = np.concatenate([[2 * beats[0] - beats[1]], beats, [2 * beats[-1] - beats[-2]]])
    i = np.clip(np.searchsorted(ext, steps, side="right") - 1, 0, ext.size - 2)
    frac = (steps - ext[i]) / (ext[i + 1] - ext[i])
    inside = (steps >= beats[0] - (beats[1] - beats[0]) / 2) & (steps <= beats[-1] + (beats[-1] - beats[-2]) / 2)
    out[inside] = _wrap_deg(360.0 * frac[inside])
    return out


def step_asynchrony_ms(step_times_s: np.ndarray, heard_beat_times_s: np.ndarray) -> np.ndarray:
    """Signed step - nearest heard beat in ms; NaN for steps more than half an interval outside the cue.

    >>> step_asynchrony_ms(np.array([0.98, 1.52, 3.0]), np.array([1.0, 1.5, 2.0])).round(6).tolist()
    [-20.0, 20.0, nan]
    """
    steps = np.asarray(step_times_s, dtype=float)
    beats = np.asarray(heard_beat_times_s, dtype=float)
    out = np.full(steps.size, np.nan)
    if beats.size < 2 or steps.size == 0:
        return out
    j = np.clip(np.searchsorted(beats, steps), 1, beats.size - 1)
    left, right = beats[j - 1], beats[j]
    nearest = np.where(steps - left <= right - steps, left, right)
    first_ibi, last_ibi = beats[1] - beats[0], beats[-1] - beats[-2]
    inside = (steps >= beats[0] - first_ibi / 2) & (steps <= beats[-1] + last_ibi / 2)
    out[inside] = 1e3 * (steps - nearest)[inside]
    return out


def _locked_steps(phase_deg: np.ndarray, asynchrony_ms: np.ndarray, window: int, min_r: float,
                  window_ms: float) -> np.ndarray:
    n = phase_deg.size
    locked = np.zeros(n, dtype=bool)
    if n < window:
        return locked
    vec = np.where(np.isfinite(phase_deg), np.exp(1j * np.deg2rad(np.nan_to_num(phase_deg))), np.nan)
    valid = np.isfinite(vec.real)
    csum = np.concatenate([[0], np.cumsum(np.where(valid, vec, 0))])
    cnt = np.concatenate([[0], np.cumsum(valid)])
    half = window // 2
    for k in range(n):
        a, b = max(0, k - half), min(n, k - half + window)
        a = max(0, b - window)
        if cnt[b] - cnt[a] == window:
            locked[k] = (np.abs((csum[b] - csum[a]) / window) >= min_r
                         and abs(float(np.mean(asynchrony_ms[a:b]))) <= window_ms)
    return locked & valid


def _segments(times_s: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if not mask.any():
        return np.empty((0, 2))
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return np.column_stack([times_s[starts], times_s[stops]])


def analyze_synchronization(
    step_times_s: np.ndarray,
    beat_times_s: np.ndarray,
    *,
    output_latency_s: float = 0.0,
    window_ms: float = DEFAULT_WINDOW_MS,
    lock_window_steps: int = LOCK_WINDOW_STEPS,
    lock_min_resultant: float = LOCK_MIN_RESULTANT,
) -> SyncReport:
    """Step-to-beat synchronisation report (see the module docstring for the definitions).

    >>> beats = np.arange(0, 30, 0.6)
    >>> r = analyze_synchronization(beats[5:40] - 0.03, beats)
    >>> round(r.mean_asynchrony_ms, 6), round(r.circular_mean_phase_deg, 6), round(r.resultant_length, 6)
    (-30.0, -18.0, 1.0)
    """
    steps = _check_events("step_times_s", step_times_s)
    beats = _check_events("beat_times_s", beat_times_s)
    if not np.isfinite(output_latency_s) or not 0 <= output_latency_s <= MAX_LATENCY_S:
        raise ParameterError(
            f"output_latency_s must be between 0 and {MAX_LATENCY_S} s, got {output_latency_s!r} (milliseconds given as seconds?)"
        )
    if not np.isfinite(window_ms) or not 0 < window_ms <= 1000:
        raise ParameterError(f"window_ms must be in (0, 1000] ms, got {window_ms!r}")
    if not isinstance(lock_window_steps, (int, np.integer)) or lock_window_steps < 2:
        raise ParameterError(f"lock_window_steps must be an integer >= 2, got {lock_window_steps!r}")
    if not 0 < lock_min_resultant <= 1:
        raise ParameterError(f"lock_min_resultant must be in (0, 1], got {lock_min_resultant!r}")
    heard = beats + output_latency_s
    asyn = step_asynchrony_ms(steps, heard)
    phase = relative_phase_deg(steps, heard)
    mean_phase, r = circular_stats_deg(phase)
    valid = np.isfinite(asyn)
    mean_a = float(np.mean(asyn[valid])) if valid.any() else float("nan")
    sd_a = float(np.std(asyn[valid], ddof=1)) if valid.sum() > 1 else float("nan")
    within = float(100 * np.mean(np.abs(asyn[valid]) <= window_ms)) if valid.any() else float("nan")
    locked = _locked_steps(phase, asyn, lock_window_steps, lock_min_resultant, window_ms)
    mid = (steps[1:] + steps[:-1]) / 2 if steps.size > 1 else np.empty(0)
    cadence = 60.0 / np.diff(steps) if steps.size > 1 else np.empty(0)
    if heard.size > 1 and mid.size:
        beat_mid = (heard[1:] + heard[:-1]) / 2
        tempo = np.interp(mid, beat_mid, 60.0 / np.diff(heard), left=np.nan, right=np.nan)
        tempo[(mid >= heard[0]) & (mid <= heard[-1]) & np.isnan(tempo)] = 60.0 / np.diff(heard)[0]
    else:
        tempo = np.full(mid.size, np.nan)
    return SyncReport(
        step_times_s=steps, heard_beat_times_s=heard, asynchrony_ms=asyn, relative_phase_deg=phase,
        mean_asynchrony_ms=mean_a, sd_asynchrony_ms=sd_a, circular_mean_phase_deg=mean_phase,
        resultant_length=r, percent_within_window=within, window_ms=float(window_ms), locked=locked,
        locked_segments_s=_segments(steps, locked), cadence_times_s=mid, cadence_spm=cadence, cue_tempo_bpm=tempo,
    )


def plot_synchronization(report: SyncReport):
    """A two-panel figure: asynchrony per step (locked steps highlighted) and cadence vs cue tempo."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    t, a = report.step_times_s, report.asynchrony_ms
    ax1.axhspan(-report.window_ms, report.window_ms, color="0.92", label=f"+-{report.window_ms:g} ms")
    ax1.plot(t, a, ".", color="0.5", label="step")
    ax1.plot(t[report.locked], a[report.locked], ".", color="tab:green", label="locked")
    ax1.axhline(0, color="k", lw=0.8)
    ax1.set_ylabel("step - beat (ms)")
    ax1.set_title(f"R = {report.resultant_length:.2f}, mean phase {report.circular_mean_phase_deg:.0f} deg, "
                  f"{report.percent_within_window:.0f} % within +-{report.window_ms:g} ms")
    ax1.legend(loc="upper right", fontsize=8)
    ax2.plot(report.cadence_times_s, report.cadence_spm, color="tab:blue", lw=1, label="cadence (steps/min)")
    ax2.plot(report.cadence_times_s, report.cue_tempo_bpm, color="tab:orange", lw=1.5, label="cue tempo (BPM)")
    ax2.set_xlabel("time (s)")
    ax2.set_ylabel("per minute")
    ax2.legend(loc="upper right", fontsize=8)
    return fig
