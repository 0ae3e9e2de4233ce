"""Input checks and signal helpers shared by the step detectors (pure numpy/scipy)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal

from cadenza.errors import ParameterError

MIN_SAMPLING_RATE_HZ = 20.0
MAX_SAMPLING_RATE_HZ = 2000.0
# Median |acc| of a body-worn sensor is ~1 g; this band separates m/s^2 (~9.8) from g (~1).
G_UNITS_NORM_RANGE = (0.5, 2.0)
M_S2_NORM_RANGE = (4.0, 20.0)


def check_sampling_rate(sampling_rate_hz: float) -> float:
    try:
        rate = float(sampling_rate_hz)
    except (TypeError, ValueError):
        raise ParameterError(f"sampling_rate_hz must be a number, got {sampling_rate_hz!r}") from None
    if not np.isfinite(rate) or not MIN_SAMPLING_RATE_HZ <= rate <= MAX_SAMPLING_RATE_HZ:
        raise ParameterError(
            f"sampling_rate_hz must be between {MIN_SAMPLING_RATE_HZ:g} and {MAX_SAMPLING_RATE_HZ:g} Hz "
            f"for step detection, got {sampling_rate_hz!r}"
        )
    return rate


def check_triaxial(values: object, *, name: str) -> np.ndarray:
    """A float ``(3, n)`` array; a ``(n, 3)`` array gets a hint to transpose."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a numeric (3, n) array") from None
    if arr.ndim != 2 or arr.shape[0] != 3:
        hint = " (time must be on the last axis: pass the array transposed, .T)" if (
            arr.ndim == 2 and arr.shape[-1] == 3
        ) else ""
        raise ParameterError(f"{name} must have shape (3, n), got {arr.shape!r}{hint}")
    return arr


def check_acc_units(acc_m_s2: np.ndarray, *, name: str = "acc_m_s2") -> None:
    """Raise if the median magnitude says the acceleration is not in m/s^2 (e.g. in g)."""
    norm = np.linalg.norm(acc_m_s2, axis=0)
    norm = norm[np.isfinite(norm)]
    if norm.size == 0:
        return
    median = float(np.median(norm))
    if G_UNITS_NORM_RANGE[0] <= median <= G_UNITS_NORM_RANGE[1]:
        raise ParameterError(
            f"{name} looks like it is in g (median |acc| = {median:.2f}); expected m/s^2 (~9.81 at rest). "
            "Convert with cadenza.units.g_to_m_s2"
        )
    if median > M_S2_NORM_RANGE[1] * 5:
        raise ParameterError(
            f"{name} has median |acc| = {median:.1f}; expected m/s^2 (~9.81 at rest). "
            "Is it in milli-g or raw sensor counts?"
        )


def finite_segments(values: np.ndarray, *, min_len: int) -> list[tuple[int, int]]:
    """``[start, stop)`` index ranges where every channel is finite, at least ``min_len`` long."""
    ok = np.all(np.isfinite(values), axis=0) if values.ndim == 2 else np.isfinite(values)
    edges = np.diff(np.concatenate([[0], ok.view(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True) if b - a >= min_len]


def moving_mean(x: np.ndarray, *, width: int) -> np.ndarray:
    """Centred moving mean along the last axis, edges padded with the edge value (vectorised)."""
    width = max(1, int(width)) | 1
    half = width // 2
    pad = [(0, 0)] * (x.ndim - 1) + [(half, half)]
    padded = np.pad(x, pad, mode="edge")
    csum = np.cumsum(padded, axis=-1, dtype=float)
    csum = np.concatenate([np.zeros(x.shape[:-1] + (1,)), csum], axis=-1)
    return (csum[..., width:] - csum[..., :-width]) / width


def vertical_acceleration(acc_m_s2: np.ndarray, *, sampling_rate_hz: float, window_s: float = 2.0) -> np.ndarray:
    """Acceleration along the slowly varying gravity direction, gravity removed.

    Projecting on the low-passed acceleration vector makes the detector independent of how the
    sensor was mounted (Moe-Nilssen 1998, J Biomech 31:S23: tilt correction for trunk accelerometry).
    """
    gravity = moving_mean(acc_m_s2, width=int(round(window_s * sampling_rate_hz)))
    g_norm = np.linalg.norm(gravity, axis=0)
    g_norm[g_norm == 0] = 1.0
    return np.einsum("ij,ij->j", acc_m_s2, gravity / g_norm) - g_norm


@lru_cache(maxsize=64)
def _butter_sos(order: int, edges_hz: float | tuple[float, float], kind: str, sampling_rate_hz: float) -> np.ndarray:
    return signal.butter(order, edges_hz, kind, fs=sampling_rate_hz, output="sos")


def bandpass(x: np.ndarray, *, band_hz: tuple[float, float], sampling_rate_hz: float, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth band-pass; the upper edge is capped below Nyquist."""
    high = min(band_hz[1], 0.45 * sampling_rate_hz)
    sos = _butter_sos(order, (float(band_hz[0]), float(high)), "bandpass", float(sampling_rate_hz))
    padlen = min(x.shape[-1] - 1, 3 * int(sampling_rate_hz))
    return signal.sosfiltfilt(sos, x, axis=-1, padlen=padlen)


def lowpass(x: np.ndarray, *, cutoff_hz: float, sampling_rate_hz: float, order: int = 2) -> np.ndarray:
    sos = _butter_sos(order, float(min(cutoff_hz, 0.45 * sampling_rate_hz)), "lowpass", float(sampling_rate_hz))
    padlen = min(x.shape[-1] - 1, 3 * int(sampling_rate_hz))
    return signal.sosfiltfilt(sos, x, axis=-1, padlen=padlen)


def refine_peaks(x: np.ndarray, peaks_idx: np.ndarray) -> np.ndarray:
    """Sub-sample peak positions by parabolic interpolation (matters at 30-50 Hz)."""
    peaks_idx = np.asarray(peaks_idx, dtype=np.int64)
    if peaks_idx.size == 0:
        return peaks_idx.astype(float)
    inner = (peaks_idx > 0) & (peaks_idx < x.size - 1)
    pos = peaks_idx.astype(float)
    i = peaks_idx[inner]
    left, mid, right = x[i - 1], x[i], x[i + 1]
    denom = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(denom != 0, 0.5 * (left - right) / denom, 0.0)
    pos[inner] += np.clip(delta, -0.5, 0.5)
    return pos
