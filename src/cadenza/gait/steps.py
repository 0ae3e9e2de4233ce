"""Initial-contact (step) detection from a lower-back or a foot-mounted IMU.

Both detectors follow the tpcp contract: parameters in ``__init__``, ``detect(...)`` returns the
detector, results in ``ic_times_s_`` (sorted seconds from the start of the array).
"""

from __future__ import annotations

from typing import Self

import numpy as np
from scipy import signal

from cadenza.errors import ParameterError
from cadenza.gait._base import Algorithm
from cadenza.gait.signals import (
    bandpass,
    check_acc_units,
    check_sampling_rate,
    check_triaxial,
    finite_segments,
    lowpass,
    moving_mean,
    refine_peaks,
    vertical_acceleration,
)

MIN_SEGMENT_S = 2.0  # shorter finite stretches cannot hold a bout and ruin the filters' edges
# A step lasting this many local median steps hides a missed contact, looked for within this
# fraction of a step around the midpoint; 1.5x is ambiguous (one slow step or two quick ones).
MISSED_STEP_RATIO = (1.75, 2.3)
MISSED_STEP_WINDOW = 0.15
PAUSE_S = 1.5  # an interval this long is a pause, not a step (40 steps/min)
STEP_HARMONIC_FACTOR = 1.8  # upper band edge in multiples of the step frequency: below the 2nd harmonic
MIN_UPPER_EDGE_HZ = 1.2
STEP_FREQUENCY_RANGE_HZ = (0.7, 2.5)  # 42-150 steps/min
STRIDE_KEEP_RATIO = 0.85  # a stride this much shorter than the strides around it holds a split step
STRIDE_STEP_CORRELATION = 0.3  # a step-lag autocorrelation peak this high (x the stride's) marks a stride
ACTIVITY_WINDOW_S = 0.5  # a heel strike's broadband transient lasts well under this
# Heel strike is timed at the steepest rise of vertical acceleration (the trunk's fall being
# stopped), low-passed here: the rise survives, the impact's ringing does not.
RISE_LOWPASS_HZ = 10.0
RISE_SEARCH_S = (0.3, 0.05)  # the rise is looked for this long before / after the step-band peak


def dominant_step_frequency_hz(vertical_m_s2: np.ndarray, *, sampling_rate_hz: float) -> float:
    """The step frequency of vertical trunk acceleration: the strongest frequency within the walking
    step range (Welch), doubled when that is the stride frequency of an asymmetric walker (see
    :func:`is_stride_period`)."""
    # Block means to ~10 Hz first: the step range ends at 2.5 Hz and the spectrum gets 10x cheaper.
    k = max(1, int(sampling_rate_hz // 10))
    x = vertical_m_s2[: vertical_m_s2.size // k * k].reshape(-1, k).mean(axis=1)
    rate = sampling_rate_hz / k
    freqs, power = signal.welch(x, fs=rate, nperseg=min(x.size, int(8 * rate)))
    in_range = (freqs >= STEP_FREQUENCY_RANGE_HZ[0]) & (freqs <= STEP_FREQUENCY_RANGE_HZ[1])
    if not in_range.any() or not np.any(power[in_range] > 0):
        return float(np.mean(STEP_FREQUENCY_RANGE_HZ))
    f0 = float(freqs[in_range][np.argmax(power[in_range])])
    if 2 * f0 <= STEP_FREQUENCY_RANGE_HZ[1]:
        # The step-lag peak needs the impacts' shape: block means to ~25 Hz keep it, ~10 Hz blur it.
        k2 = max(1, int(sampling_rate_hz // 25))
        fine = vertical_m_s2[: vertical_m_s2.size // k2 * k2].reshape(-1, k2).mean(axis=1)
        if is_stride_period(fine, sampling_rate_hz=sampling_rate_hz / k2, period_s=1.0 / f0):
            return 2 * f0
    return f0


def is_stride_period(x: np.ndarray, *, sampling_rate_hz: float, period_s: float) -> bool:
    """Whether ``period_s``, the strongest periodicity of vertical trunk acceleration, is a stride
    (two unequal steps) rather than a step.

    When a walker alternates short and long steps (0.35 s / 0.76 s after a stroke or in MS), the
    stride repeats exactly and the steps do not, so the spectrum's strongest line is the stride's.
    Each step is still an impact, so the signal then also resembles itself shifted by one step, a
    lag well inside the period: the autocorrelation has a peak between 0.15 and 0.85 periods at
    least ``STRIDE_STEP_CORRELATION`` of its value at the full period (Moe-Nilssen & Helbostad 2004,
    J Biomech 37:121, read step and stride regularity off these two peaks). A slow symmetric walker's
    second harmonic gives no such peak: half a step later the fundamental is in antiphase.
    """
    n_lag = int(round(1.2 * period_s * sampling_rate_hz))
    if x.size < 4 * n_lag or n_lag < 4:
        return False
    y = x - x.mean()
    spec = np.fft.rfft(y, n=2 * y.size)
    ac = np.fft.irfft(spec * np.conj(spec))[: n_lag + 1]
    ac = ac / np.maximum(np.arange(y.size, y.size - n_lag - 1, -1), 1)  # unbiased
    if ac[0] <= 0:
        return False
    ac = ac / ac[0]
    lag_period = int(round(period_s * sampling_rate_hz))
    lo, hi = int(0.15 * lag_period), int(0.85 * lag_period) + 1
    at_period = float(np.max(ac[max(lag_period - 2, 1) : lag_period + 3]))
    inner = ac[lo:hi]
    peaks, _ = signal.find_peaks(inner)
    if peaks.size == 0 or at_period <= 0:
        return False
    return bool(float(np.max(inner[peaks])) >= STRIDE_STEP_CORRELATION * at_period)


class LowerBackStepDetector(Algorithm):
    """Initial contacts from a lower-back (L4-L5) accelerometer, any mounting orientation.

    Method: acceleration is projected on the gravity direction (tilt-independent), band-passed to
    the step band (its upper edge at 1.8x the walker's dominant step frequency, at most
    ``band_hz[1]``, so slow walking's second harmonic cannot split a step), and each step is the peak of vertical acceleration that follows heel strike
    (Zijlstra & Hof 2003, Gait Posture 18:1: trunk acceleration shows each initial contact).
    The step-band peak says *that* a step happened; its instant is the steepest rise of vertical
    acceleration (10 Hz low-pass) within 0.3 s before that peak, where loading begins. The
    band-pass peak alone lags heel strike by an amount that drifts with the rhythm around it.
    A peak counts as a step if its prominence exceeds both an absolute floor (rejects standing
    sway) and a fraction of the local signal RMS (rejects small bumps between real steps), and
    if the broadband (0.5-8 Hz) signal around it carries at least ``min_relative_activity`` of the
    impact energy of the steps around it (the step-band filter draws smooth bumps into a standing
    spell next to a short bout; a heel strike is a broadband transient).
    ``ic_delay_s`` is the lag of that steepest rise behind the instant of heel strike; against the
    INDIP insole reference on the healthy-adult lab recordings it is under 10 ms (the reference's
    sampling interval), so the default is 0. ``step_frequency_hz`` gives the walker's step frequency
    instead of estimating it from the signal handed in (a streaming caller that has seen more of the
    walk than its window holds passes its running estimate; :mod:`cadenza.gait.stream`).

    >>> import numpy as np
    >>> fs = 100.0
    >>> t = np.arange(0, 20, 1 / fs)
    >>> acc = np.zeros((3, t.size)); acc[0] = 9.81 + 2 * np.sin(2 * np.pi * 1.8 * t)
    >>> det = LowerBackStepDetector().detect(acc, sampling_rate_hz=fs)
    >>> round(60 / float(np.median(np.diff(det.ic_times_s_))))
    108
    """

    def __init__(
        self,
        *,
        band_hz: tuple[float, float] = (0.3, 2.5),
        min_step_s: float = 0.25,
        min_prominence_m_s2: float = 0.15,
        relative_prominence: float = 0.5,
        rms_window_s: float = 3.0,
        min_step_ratio: float = 0.6,
        fill_prominence_m_s2: float = 0.1,
        min_relative_activity: float = 0.2,
        ic_delay_s: float = 0.0,
        step_frequency_hz: float | None = None,
    ) -> None:
        self.band_hz = band_hz
        self.min_step_s = min_step_s
        self.min_prominence_m_s2 = min_prominence_m_s2
        self.relative_prominence = relative_prominence
        self.rms_window_s = rms_window_s
        self.min_step_ratio = min_step_ratio
        self.fill_prominence_m_s2 = fill_prominence_m_s2
        self.min_relative_activity = min_relative_activity
        self.ic_delay_s = ic_delay_s
        self.step_frequency_hz = step_frequency_hz

    def detect(self, acc_m_s2: np.ndarray, *, sampling_rate_hz: float) -> Self:
        """Detect initial contacts in ``acc_m_s2`` (3, n) in m/s^2; NaN stretches are skipped."""
        rate = check_sampling_rate(sampling_rate_hz)
        acc = check_triaxial(acc_m_s2, name="acc_m_s2")
        check_acc_units(acc)
        if not 0 < self.band_hz[0] < self.band_hz[1]:
            raise ParameterError(f"band_hz must be (low, high) with 0 < low < high, got {self.band_hz!r}")
        if self.min_step_s <= 0:
            raise ParameterError(f"min_step_s must be > 0, got {self.min_step_s!r}")
        lo_hz, hi_hz = STEP_FREQUENCY_RANGE_HZ
        if self.step_frequency_hz is not None and not lo_hz <= self.step_frequency_hz <= hi_hz:
            raise ParameterError(f"step_frequency_hz must be None or within {lo_hz}-{hi_hz} Hz, "
                                 f"got {self.step_frequency_hz!r} (steps/min given as Hz?)")
        times: list[np.ndarray] = []
        for start, stop in finite_segments(acc, min_len=int(MIN_SEGMENT_S * rate)):
            peaks_s = self._detect_segment(acc[:, start:stop], rate)
            times.append(start / rate + peaks_s)
        ic = np.concatenate(times) if times else np.empty(0)
        self.ic_times_s_ = np.sort(ic[ic >= 0])
        return self

    def _detect_segment(self, acc: np.ndarray, rate: float) -> np.ndarray:
        vertical = vertical_acceleration(acc, sampling_rate_hz=rate)
        # Slow walking puts a strong second harmonic inside a fixed band and splits each step in
        # two; the upper edge follows the walker's own step frequency instead (never above band_hz).
        step_hz = self.step_frequency_hz or dominant_step_frequency_hz(vertical, sampling_rate_hz=rate)
        high_hz = float(np.clip(STEP_HARMONIC_FACTOR * step_hz, MIN_UPPER_EDGE_HZ, self.band_hz[1]))
        x = bandpass(vertical, band_hz=(self.band_hz[0], max(high_hz, 1.5 * self.band_hz[0])), sampling_rate_hz=rate)
        peaks, props = signal.find_peaks(x, distance=max(1, int(self.min_step_s * rate)), prominence=0)
        if peaks.size == 0:
            return np.empty(0)
        rms = np.sqrt(moving_mean(x**2, width=int(self.rms_window_s * rate)))
        needed = np.maximum(self.min_prominence_m_s2, self.relative_prominence * rms[peaks])
        keep = props["prominences"] >= needed
        chosen, prominence = peaks[keep], props["prominences"][keep]
        if self.min_step_ratio > 0:
            chosen = chosen[prune_irregular(chosen, prominence, min_step_ratio=self.min_step_ratio, rate_hz=rate)]
        if self.fill_prominence_m_s2 > 0:
            weak = props["prominences"] >= self.fill_prominence_m_s2
            chosen = fill_missed_steps(chosen, peaks[weak], props["prominences"][weak], rate_hz=rate)
        strength = props["prominences"][np.searchsorted(peaks, chosen)]
        peaks = chosen[~isolated_weak(chosen, strength, rate_hz=rate)]
        if self.min_relative_activity > 0 and peaks.size:
            activity = impact_activity(vertical, peaks, sampling_rate_hz=rate)
            peaks = peaks[~quiet_peaks(activity, min_ratio=self.min_relative_activity)]
        return steepest_rise(vertical, peaks, sampling_rate_hz=rate) / rate - self.ic_delay_s


def steepest_rise(vertical_m_s2: np.ndarray, peaks_idx: np.ndarray, *, sampling_rate_hz: float) -> np.ndarray:
    """Sub-sample index of the steepest rise of vertical acceleration before each step-band peak.

    The search starts ``RISE_SEARCH_S[0]`` before the peak, or half-way back to the previous peak
    if that is nearer, so a quick step cannot borrow its predecessor's rise.
    """
    peaks_idx = np.asarray(peaks_idx, dtype=np.int64)
    if peaks_idx.size == 0:
        return peaks_idx.astype(float)
    slope = np.gradient(lowpass(vertical_m_s2, cutoff_hz=RISE_LOWPASS_HZ, sampling_rate_hz=sampling_rate_hz))
    before, after = (int(round(s * sampling_rate_hz)) for s in RISE_SEARCH_S)
    previous = np.concatenate([[peaks_idx[0] - 2 * before], peaks_idx[:-1]])
    starts = np.maximum(np.maximum(peaks_idx - before, (previous + peaks_idx + 1) // 2), 0)
    stops = np.minimum(peaks_idx + after + 1, slope.size)
    rise = np.array([a + int(np.argmax(slope[a:b])) for a, b in zip(starts, stops, strict=True)])
    return refine_peaks(slope, rise)


def local_median_step(steps: np.ndarray, *, neighbours: int = 4) -> np.ndarray:
    """Median of the step intervals around each one (itself and ``neighbours`` each side).

    Pauses (intervals above ``PAUSE_S``) are left out: the rhythm is that of the steps, and a
    recording of short bouts between standing spells must not make its steps look short.
    """
    if steps.size == 0:
        return steps.astype(float)
    walking = np.where(steps <= PAUSE_S, steps.astype(float), np.nan)
    pad = np.pad(walking, neighbours, mode="constant", constant_values=np.nan)
    windows = np.sort(np.lib.stride_tricks.sliding_window_view(pad, 2 * neighbours + 1), axis=1)  # NaN last
    count = np.sum(np.isfinite(windows), axis=1)
    rows = np.arange(windows.shape[0])
    lo, hi = np.maximum(count - 1, 0) // 2, count // 2
    local = 0.5 * (windows[rows, lo] + windows[rows, np.minimum(hi, windows.shape[1] - 1)])
    return np.where(count > 0, local, steps.astype(float))


def prune_irregular(
    peaks_idx: np.ndarray, strength: np.ndarray, *, min_step_ratio: float, rate_hz: float, neighbours: int = 4
) -> np.ndarray:
    """Boolean mask dropping the weaker of two peaks that split one step in two.

    Walking is periodic: a step much shorter than the steps around it (below ``min_step_ratio``
    of their median) is a bump within a step, not a step. The weaker peak of such a pair goes,
    one at a time, so the strongest consistent sequence remains. A walker who alternates short and
    long steps (hemiparesis, MS) repeats by the stride, not the step: a short step is kept when it is
    not short against the steps of its own foot (every other step) and both strides it belongs to are
    at least ``STRIDE_KEEP_RATIO`` of the strides around them (a split step leaves one stride short).
    """
    keep = np.ones(peaks_idx.size, dtype=bool)
    if peaks_idx.size < 3:
        return keep
    while True:
        idx = np.flatnonzero(keep)
        if idx.size < 3:
            return keep
        steps = np.diff(peaks_idx[idx]).astype(float)
        local = local_median_step(steps / rate_hz, neighbours=neighbours) * rate_hz
        same_foot = np.empty_like(steps)
        for parity in (0, 1):
            same_foot[parity::2] = local_median_step(steps[parity::2] / rate_hz, neighbours=max(1, neighbours // 2)) * rate_hz
        # Each step with its neighbour on either side makes a stride; a split step leaves one short.
        strides = steps[:-1] + steps[1:]
        stride_local = local_median_step(strides / rate_hz, neighbours=neighbours) * rate_hz if strides.size else strides
        stride_ok = strides >= STRIDE_KEEP_RATIO * stride_local
        regular = np.concatenate([[False], stride_ok]) & np.concatenate([stride_ok, [False]])
        alternating = (steps >= min_step_ratio * same_foot) & regular
        short = np.flatnonzero((steps < min_step_ratio * local) & ~alternating)
        if short.size == 0:
            return keep
        # Resolve the shortest offending step first; drop its weaker end.
        j = short[np.argmin(steps[short] / local[short])]
        a, b = idx[j], idx[j + 1]
        keep[a if strength[a] < strength[b] else b] = False


class FootStepDetector(Algorithm):
    """Initial contacts of one foot from a foot-mounted IMU's gyroscope.

    Method: the sagittal axis is the gyroscope axis with the most variance; each swing phase is a
    broad excursion of sagittal angular rate, and initial contact is where that rate crosses zero
    as the swing ends and the foot rolls onto the heel (the end of swing, cf. Mariani et al. 2013,
    IEEE TBME 60:155). ``ic_times_s_`` are contacts of the instrumented foot only (one per stride).

    The swing direction is found from the signal (the swing lobe is broader than the post-contact
    rebound), so the sensor may be mounted either way round.
    """

    def __init__(
        self,
        *,
        swing_lowpass_hz: float = 2.0,
        min_swing_deg_s: float = 50.0,
        min_stride_s: float = 0.5,
        max_swing_to_ic_s: float = 0.5,
    ) -> None:
        self.swing_lowpass_hz = swing_lowpass_hz
        self.min_swing_deg_s = min_swing_deg_s
        self.min_stride_s = min_stride_s
        self.max_swing_to_ic_s = max_swing_to_ic_s

    def detect(self, acc_m_s2: np.ndarray, *, sampling_rate_hz: float, gyr_deg_s: np.ndarray | None = None) -> Self:
        """Detect initial contacts; ``gyr_deg_s`` (3, n) in deg/s is required for a foot sensor."""
        rate = check_sampling_rate(sampling_rate_hz)
        acc = check_triaxial(acc_m_s2, name="acc_m_s2")
        check_acc_units(acc)
        if gyr_deg_s is None:
            raise ParameterError(
                "gyr_deg_s is required for placement='foot': foot contacts are found from the "
                "gyroscope's swing phase; record the gyroscope or use placement='lower-back'"
            )
        gyr = check_triaxial(gyr_deg_s, name="gyr_deg_s")
        if gyr.shape != acc.shape:
            raise ParameterError(f"gyr_deg_s has shape {gyr.shape!r} but acc_m_s2 has {acc.shape!r}")
        times: list[np.ndarray] = []
        for start, stop in finite_segments(gyr, min_len=int(MIN_SEGMENT_S * rate)):
            times.append(start / rate + self._detect_segment(gyr[:, start:stop], rate))
        self.ic_times_s_ = np.sort(np.concatenate(times)) if times else np.empty(0)
        return self

    def _detect_segment(self, gyr: np.ndarray, rate: float) -> np.ndarray:
        centred = gyr - np.median(gyr, axis=1, keepdims=True)
        sagittal = centred[int(np.argmax(np.var(centred, axis=1)))]
        slow = lowpass(sagittal, cutoff_hz=self.swing_lowpass_hz, sampling_rate_hz=rate)
        # The swing lobe dominates the slow signal; orient it negative (gaitmap foot frame).
        if np.abs(np.percentile(slow, 1)) < np.abs(np.percentile(slow, 99)):
            sagittal, slow = -sagittal, -slow
        swing_idx, _ = signal.find_peaks(
            -slow, height=self.min_swing_deg_s, distance=max(1, int(self.min_stride_s * rate))
        )
        if swing_idx.size == 0:
            return np.empty(0)
        fast = lowpass(sagittal, cutoff_hz=min(15.0, 0.4 * rate), sampling_rate_hz=rate)
        up_idx = np.flatnonzero((fast[:-1] < 0) & (fast[1:] >= 0))
        nxt = np.searchsorted(up_idx, swing_idx, side="right")
        valid = nxt < up_idx.size
        crossing = up_idx[nxt[valid]]
        valid_swing = swing_idx[valid]
        close = (crossing - valid_swing) <= self.max_swing_to_ic_s * rate
        crossing = np.unique(crossing[close])
        # Linear interpolation of the zero crossing between the two samples around it.
        frac = -fast[crossing] / (fast[crossing + 1] - fast[crossing])
        return (crossing + frac) / rate


def fill_missed_steps(
    peaks_idx: np.ndarray,
    candidates_idx: np.ndarray,
    candidate_strength: np.ndarray,
    *,
    rate_hz: float,
    neighbours: int = 4,
) -> np.ndarray:
    """Add back a weak peak in the middle of a step that is about twice as long as its neighbours.

    A step that lasts ~2x the local median step time, and ~2x the steps of the same side, hides a missed
    contact (a weak heel strike, a soft shoe); the strongest candidate peak within a quarter-step of the
    midpoint fills it. Long steps of an asymmetric walker are as long as the same side's other steps.
    """
    if peaks_idx.size < 3 or candidates_idx.size == 0:
        return peaks_idx
    steps = np.diff(peaks_idx).astype(float)
    local = local_median_step(steps / rate_hz, neighbours=neighbours) * rate_hz
    gaps = np.flatnonzero((steps > MISSED_STEP_RATIO[0] * local) & (steps < MISSED_STEP_RATIO[1] * local))
    # In asymmetric gait every other step is long (0.98 s after 0.42 s, say), ~2x the local median without
    # hiding anything; a missed contact is also long against the steps of the same side (two away).
    same_side = np.array([np.median(steps[[k for k in (j - 2, j + 2) if 0 <= k < steps.size]])
                          if (j >= 2 or j + 2 < steps.size) else np.nan for j in gaps])
    gaps = gaps[~(same_side * MISSED_STEP_RATIO[0] >= steps[gaps])]
    added = []
    for j in gaps:
        mid = 0.5 * (peaks_idx[j] + peaks_idx[j + 1])
        half_width = MISSED_STEP_WINDOW * local[j]
        lo, hi = np.searchsorted(candidates_idx, [mid - half_width, mid + half_width])
        if hi > lo:
            added.append(candidates_idx[lo + int(np.argmax(candidate_strength[lo:hi]))])
    if not added:
        return peaks_idx
    return np.union1d(peaks_idx, np.asarray(added, dtype=peaks_idx.dtype))


def isolated_weak(peaks_idx: np.ndarray, strength: np.ndarray, *, rate_hz: float, neighbours: int = 4) -> np.ndarray:
    """Mask of weak peaks standing apart from a walking rhythm (a bout's stop transient, a bump).

    A peak is isolated when the steps on both sides of it (or its only side, at a run's edge) are
    longer than 1.3x the local median step (3 SD of step time even at a 10 % CV, as in slow or
    irregular gait); it is weak when its prominence is below half the median prominence of the
    peaks around it. Real first and last steps are rarely weak.
    """
    n = peaks_idx.size
    if n < 4:
        return np.zeros(n, dtype=bool)
    steps = np.diff(peaks_idx).astype(float)
    local = local_median_step(steps / rate_hz, neighbours=neighbours) * rate_hz
    long_step = steps > 1.3 * local
    left_long = np.concatenate([[True], long_step])
    right_long = np.concatenate([long_step, [True]])
    pad_s = np.pad(strength, neighbours, mode="reflect" if n > neighbours else "edge")
    local_strength = np.median(np.lib.stride_tricks.sliding_window_view(pad_s, 2 * neighbours + 1), axis=1)
    return left_long & right_long & (strength < 0.5 * local_strength)



def impact_activity(vertical_m_s2: np.ndarray, peaks_idx: np.ndarray, *, sampling_rate_hz: float) -> np.ndarray:
    """RMS of broadband vertical acceleration (0.5-8 Hz) within a quarter second of each peak."""
    wide = bandpass(vertical_m_s2, band_hz=(0.5, 8.0), sampling_rate_hz=sampling_rate_hz)
    rms = np.sqrt(moving_mean(wide**2, width=int(round(ACTIVITY_WINDOW_S * sampling_rate_hz))))
    return rms[peaks_idx]


def quiet_peaks(activity: np.ndarray, *, min_ratio: float, neighbours: int = 4) -> np.ndarray:
    """Mask of peaks with far less impact energy around them than the steps around them.

    A step is an impact: heel strike shakes the trunk across a broad band. The step-band filter
    also draws smooth bumps into a standing spell next to a bout's first or last step; there the
    broadband signal is quiet. Turn steps are small in the step band but not quiet, so they stay.
    """
    n = activity.size
    if n < 3:
        return np.zeros(n, dtype=bool)
    pad = np.pad(activity, neighbours, mode="reflect" if n > neighbours else "edge")
    local = np.median(np.lib.stride_tricks.sliding_window_view(pad, 2 * neighbours + 1), axis=1)
    return activity < min_ratio * local
