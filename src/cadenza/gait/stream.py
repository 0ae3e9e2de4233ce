"""Streaming initial-contact detection: the offline lower-back detector, fed chunks of timestamped samples.

A phone's motion sensor delivers samples in small irregular batches (DeviceMotion fires every ~16 ms on
the device's own clock). :class:`StepStream` puts them on a regular grid (linear interpolation; a gap
longer than ``max_gap_s`` becomes NaN, which the detector skips), keeps the last ``window_s`` seconds and,
every ``hop_s``, runs the *same* :class:`~cadenza.gait.steps.LowerBackStepDetector` over that window. A
step is released once it lies ``lookahead_s`` before the newest sample: by then the band-pass filter,
the peak's prominence and the neighbouring steps that confirm it have been seen. One implementation of the
science, so the live steps are the offline steps (F1 against the offline detector is tested on the real
recordings in ``tests/gait/test_stream.py``); the price is ``lookahead_s`` of latency, which a predictive
cue controller absorbs (it schedules the beat after next).

>>> import numpy as np
>>> fs = 100.0
>>> t = np.arange(0, 20, 1 / fs)
>>> acc = np.zeros((3, t.size)); acc[0] = 9.81 + 2 * np.sin(2 * np.pi * 1.8 * t)
>>> live = StepStream()
>>> steps = np.concatenate([live.push(t[i:i + 10], acc[:, i:i + 10]) for i in range(0, t.size, 10)])
>>> round(60 / float(np.median(np.diff(steps))))
108
"""

from __future__ import annotations

import numpy as np

from cadenza.errors import ParameterError
from scipy import signal

from cadenza.gait.signals import check_triaxial, vertical_acceleration
from cadenza.gait.steps import MIN_SEGMENT_S, STEP_FREQUENCY_RANGE_HZ, LowerBackStepDetector

DEFAULT_WINDOW_S = 12.0
DEFAULT_LOOKAHEAD_S = 2.0
DEFAULT_HOP_S = 0.25
# The offline detector sets its band from the Welch spectrum of the whole recording (8 s segments, half
# overlapping, at ~10 Hz); the stream sums the same segments' periodograms as they complete, so after a
# minute its band is the offline one, not one re-estimated from each window.
WELCH_SEGMENT_S = 8.0
GRAVITY_CONTEXT_S = 1.0  # vertical_acceleration's 2 s moving mean needs this much signal after a sample


class StepStream:
    """Push ``(times_s, acc_m_s2)`` chunks, receive the initial contacts they confirm (see module docstring).

    ``times_s`` are the samples' own timestamps (any clock, seconds, increasing); the steps come back on
    that clock. ``step_times_s_`` holds every step released so far and ``release_times_s_`` the newest
    sample time at which each was released (so ``release - step`` is the detector's own latency).
    """

    def __init__(
        self,
        detector: LowerBackStepDetector | None = None,
        *,
        sampling_rate_hz: float = 100.0,
        window_s: float = DEFAULT_WINDOW_S,
        lookahead_s: float = DEFAULT_LOOKAHEAD_S,
        hop_s: float = DEFAULT_HOP_S,
        max_gap_s: float = 0.25,
    ) -> None:
        self.detector = LowerBackStepDetector() if detector is None else detector
        if not isinstance(self.detector, LowerBackStepDetector):
            raise ParameterError(f"detector must be a LowerBackStepDetector, got {type(detector).__name__}")
        if not (np.isfinite(sampling_rate_hz) and 20 <= sampling_rate_hz <= 1000):
            raise ParameterError(f"sampling_rate_hz must be within 20-1000 Hz, got {sampling_rate_hz!r}")
        if not (np.isfinite(window_s) and 2 * MIN_SEGMENT_S <= window_s <= 120):
            raise ParameterError(f"window_s must be within {2 * MIN_SEGMENT_S:g}-120 s, got {window_s!r}")
        if not (np.isfinite(lookahead_s) and 0 <= lookahead_s < window_s / 2):
            raise ParameterError(f"lookahead_s must be >= 0 and below half of window_s, got {lookahead_s!r} (ms given as s?)")
        if not (np.isfinite(hop_s) and 0 < hop_s <= lookahead_s + 1):
            raise ParameterError(f"hop_s must be > 0 and at most lookahead_s + 1 s, got {hop_s!r}")
        if not (np.isfinite(max_gap_s) and 0 < max_gap_s <= 2):
            raise ParameterError(f"max_gap_s must be within (0, 2] s, got {max_gap_s!r}")
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.window_s = float(window_s)
        self.lookahead_s = float(lookahead_s)
        self.hop_s = float(hop_s)
        self.max_gap_s = float(max_gap_s)
        self._n_window = int(round(window_s * sampling_rate_hz))
        self._n_hop = max(1, int(round(hop_s * sampling_rate_hz)))
        self._t0: float | None = None  # time of grid sample 0
        self._last_t = np.nan
        self._last_acc = np.full(3, np.nan)
        self._n_grid = 0  # grid samples produced so far
        self._buffer = np.empty((3, 0))
        self._last_run_n = 0  # self._n_grid at the last detector run
        self._block = max(1, int(self.sampling_rate_hz // 10))
        self._welch_rate_hz = self.sampling_rate_hz / self._block
        self._welch_n = int(WELCH_SEGMENT_S * self._welch_rate_hz)  # decimated samples per segment
        self._welch_next = 0  # grid index where the next Welch segment starts
        self._psd_sum: np.ndarray | None = None
        self._freqs_hz: np.ndarray | None = None
        self._released_until = -np.inf
        self.step_times_s_: list[float] = []
        self.release_times_s_: list[float] = []
        self.last_grid_ = np.empty((3, 0))  # the regular-grid samples the last push produced (NaN in gaps)

    @property
    def start_time_s(self) -> float | None:
        """Timestamp of grid sample 0 (the first sample pushed), or None before it."""
        return self._t0

    @property
    def last_sample_time_s(self) -> float:
        """Timestamp of the newest sample pushed (NaN before the first); a later push must start after it."""
        return self._last_t

    @property
    def time_s(self) -> float:
        """Timestamp of the newest grid sample (NaN before the first)."""
        if self._t0 is None or self._n_grid == 0:
            return float("nan")
        return self._t0 + (self._n_grid - 1) / self.sampling_rate_hz

    def push(self, times_s: np.ndarray, acc_m_s2: np.ndarray) -> np.ndarray:
        """Feed the next samples (``times_s`` (k,), ``acc_m_s2`` (3, k) in m/s^2); returns the steps they release."""
        times = np.asarray(times_s, dtype=float).reshape(-1)
        acc = check_triaxial(acc_m_s2, name="acc_m_s2") if np.size(acc_m_s2) else np.empty((3, 0))
        if acc.shape[-1] != times.size:
            raise ParameterError(f"acc_m_s2 has {acc.shape[-1]} samples but times_s has {times.size}")
        if times.size == 0:
            return np.empty(0)
        if not np.all(np.isfinite(times)):
            raise ParameterError("times_s must be finite; got NaN or infinite timestamps")
        previous = self._last_t if np.isfinite(self._last_t) else -np.inf
        if np.any(np.diff(np.concatenate([[previous], times])) <= 0):
            raise ParameterError(f"times_s must increase strictly (also across pushes); got {times[:5].tolist()!r}... "
                                 f"after {self._last_t!r}")
        self.last_grid_ = self._resample(times, acc)
        self._append(self.last_grid_)
        # At most one run per push: the window always ends at the newest sample.
        if self._n_grid - self._last_run_n < self._n_hop:
            return np.empty(0)
        return np.asarray(self._release(self.time_s - self.lookahead_s))

    def flush(self) -> np.ndarray:
        """Release every step up to the newest sample (end of the session)."""
        if self._n_grid == 0:
            return np.empty(0)
        return np.asarray(self._release(self.time_s + 1.0 / self.sampling_rate_hz))

    # -- internals -----------------------------------------------------------------------------------------
    def _resample(self, times: np.ndarray, acc: np.ndarray) -> np.ndarray:
        rate = self.sampling_rate_hz
        if self._t0 is None:
            self._t0 = float(times[0])
            src_t, src_acc = times, acc
        else:
            src_t = np.concatenate([[self._last_t], times])
            src_acc = np.concatenate([self._last_acc[:, None], acc], axis=1)
        self._last_t, self._last_acc = float(times[-1]), acc[:, -1].copy()
        n_end = int(np.floor((src_t[-1] - self._t0) * rate + 1e-9)) + 1
        grid_t = self._t0 + np.arange(self._n_grid, n_end) / rate
        self._n_grid = max(self._n_grid, n_end)
        if grid_t.size == 0:
            return np.empty((3, 0))
        out = np.vstack([np.interp(grid_t, src_t, src_acc[i]) for i in range(3)])
        # A grid sample between two raw samples further apart than max_gap_s is unknown, not a straight line.
        right = np.clip(np.searchsorted(src_t, grid_t, side="left"), 1, src_t.size - 1)
        gap = (src_t[right] - src_t[right - 1]) > self.max_gap_s
        gap &= grid_t > src_t[right - 1]
        out[:, gap] = np.nan
        return out

    def _append(self, samples: np.ndarray) -> None:
        self._buffer = np.concatenate([self._buffer, samples], axis=1)[:, -self._n_window:]

    @property
    def step_frequency_hz(self) -> float | None:
        """The running Welch estimate of the step frequency (None until one 8 s segment is complete)."""
        if self._psd_sum is None:
            return None
        lo, hi = STEP_FREQUENCY_RANGE_HZ
        in_range = (self._freqs_hz >= lo) & (self._freqs_hz <= hi)
        if not np.any(self._psd_sum[in_range] > 0):
            return None
        return float(self._freqs_hz[in_range][np.argmax(self._psd_sum[in_range])])

    def _update_spectrum(self, vertical: np.ndarray, buffer_start_idx: int) -> None:
        seg = self._welch_n * self._block
        context = int(GRAVITY_CONTEXT_S * self.sampling_rate_hz)
        self._welch_next = max(self._welch_next, buffer_start_idx)
        while self._welch_next + seg + context <= self._n_grid:
            a = self._welch_next - buffer_start_idx
            x = vertical[a:a + seg]
            self._welch_next += seg // 2
            if not np.all(np.isfinite(x)):
                continue
            x = x.reshape(-1, self._block).mean(axis=1)
            freqs, power = signal.welch(x, fs=self._welch_rate_hz, nperseg=self._welch_n)
            self._freqs_hz = freqs
            self._psd_sum = power if self._psd_sum is None else self._psd_sum + power

    def _release(self, horizon_s: float) -> list[float]:
        self._last_run_n = self._n_grid
        buffer_start_idx = self._n_grid - self._buffer.shape[-1]
        buffer_start_s = self._t0 + buffer_start_idx / self.sampling_rate_hz
        if self._buffer.shape[-1] < int(MIN_SEGMENT_S * self.sampling_rate_hz):
            return []
        self._update_spectrum(vertical_acceleration(self._buffer, sampling_rate_hz=self.sampling_rate_hz),
                              buffer_start_idx)
        detector = self.detector.clone().set_params(step_frequency_hz=self.step_frequency_hz)
        found = detector.detect(self._buffer, sampling_rate_hz=self.sampling_rate_hz).ic_times_s_ + buffer_start_s
        min_gap_s = 0.5 * self.detector.min_step_s
        last = self.step_times_s_[-1] if self.step_times_s_ else -np.inf
        released = []
        for t in found[(found > self._released_until) & (found <= horizon_s)]:
            if t - last >= min_gap_s:
                released.append(float(t))
                last = t
        self._released_until = max(self._released_until, horizon_s)
        self.step_times_s_.extend(released)
        self.release_times_s_.extend([self.time_s] * len(released))
        return released
