"""Unit conversions used across domains. Names carry units; see STYLE.md."""

from __future__ import annotations

import numpy as np

STANDARD_GRAVITY_M_S2 = 9.80665


def s_to_idx(times_s: np.ndarray | float, *, sampling_rate_hz: float) -> np.ndarray:
    """Convert times in seconds to the nearest sample indices.

    >>> s_to_idx(np.array([0.0, 0.5, 1.0]), sampling_rate_hz=100).tolist()
    [0, 50, 100]
    """
    return np.rint(np.asarray(times_s, dtype=float) * sampling_rate_hz).astype(np.int64)


def idx_to_s(idx: np.ndarray | int, *, sampling_rate_hz: float) -> np.ndarray:
    """Convert sample indices to seconds.

    >>> idx_to_s(np.array([0, 50]), sampling_rate_hz=100).tolist()
    [0.0, 0.5]
    """
    return np.asarray(idx, dtype=float) / float(sampling_rate_hz)


def bpm_to_period_s(tempo_bpm: float) -> float:
    """Beat period in seconds of a tempo in beats per minute.

    >>> bpm_to_period_s(120)
    0.5
    """
    return 60.0 / float(tempo_bpm)


def period_s_to_bpm(period_s: float) -> float:
    """Tempo in beats (or steps) per minute of a period in seconds.

    >>> period_s_to_bpm(0.5)
    120.0
    """
    return 60.0 / float(period_s)


def g_to_m_s2(acc_g: np.ndarray) -> np.ndarray:
    """Acceleration from g to m/s^2."""
    return np.asarray(acc_g, dtype=float) * STANDARD_GRAVITY_M_S2


def db_to_amplitude(level_db: float) -> float:
    """Amplitude ratio of a level in dB.

    >>> round(db_to_amplitude(-6.0206), 4)
    0.5
    """
    return float(10.0 ** (level_db / 20.0))


def amplitude_to_db(amplitude: float) -> float:
    """Level in dB of an amplitude ratio (-inf for 0)."""
    with np.errstate(divide="ignore"):
        return float(20.0 * np.log10(amplitude))
