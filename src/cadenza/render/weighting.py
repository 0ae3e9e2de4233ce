"""A-weighting: the frequency weighting every sound-level limit in Cadenza is stated in.

The analogue A-weighting curve is defined in IEC 61672-1:2013 (Annex E) by four real pole
frequencies, 20.598997 Hz, 107.65265 Hz, 737.86223 Hz and 12194.217 Hz, normalised to 0 dB at
1 kHz. :func:`a_weighting_db` evaluates that curve exactly; :func:`apply_a_weighting` is a digital
IIR filter obtained from the same poles by the bilinear transform. The bilinear transform warps
frequencies near Nyquist, so the digital filter under-reads above roughly a quarter of the sampling
rate (at 44.1 kHz: within 0.5 dB up to 6 kHz). NICU lullabies and womb sounds carry almost no energy
up there; render at 44.1 kHz or more when measuring broadband material.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from cadenza.errors import ParameterError

A_WEIGHTING_POLES_HZ = (20.598997, 107.65265, 737.86223, 12194.217)
"""IEC 61672-1:2013 Annex E pole frequencies of the A-weighting curve."""

MIN_SAMPLING_RATE_HZ = 8_000


def a_weighting_db(frequencies_hz: np.ndarray | float) -> np.ndarray:
    """The A-weighting gain in dB at each frequency (IEC 61672-1, exact analogue curve).

    >>> np.round(a_weighting_db(np.array([100.0, 1000.0, 10000.0])), 1).tolist()
    [-19.1, 0.0, -2.5]
    """
    f = np.asarray(frequencies_hz, dtype=float)
    if np.any(f < 0) or not np.all(np.isfinite(f)):
        raise ParameterError(f"frequencies_hz must be finite and >= 0, got {frequencies_hz!r}")
    return _a_curve_db(f) - _a_curve_db(np.array(1000.0))


def _a_curve_db(f: np.ndarray) -> np.ndarray:
    f1, f2, f3, f4 = A_WEIGHTING_POLES_HZ
    f_sq = f**2
    num = f4**2 * f_sq**2
    den = (f_sq + f1**2) * np.sqrt((f_sq + f2**2) * (f_sq + f3**2)) * (f_sq + f4**2)
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(num / den)


@lru_cache(maxsize=16)
def a_weighting_sos(sampling_rate_hz: float) -> np.ndarray:
    """Second-order sections of the digital A-weighting filter at this rate, 0 dB at 1 kHz."""
    from scipy import signal

    if sampling_rate_hz < MIN_SAMPLING_RATE_HZ:
        raise ParameterError(
            f"sampling_rate_hz must be >= {MIN_SAMPLING_RATE_HZ} for A-weighting, got {sampling_rate_hz!r}"
        )
    f1, f2, f3, f4 = A_WEIGHTING_POLES_HZ
    poles = -2.0 * np.pi * np.array([f1, f1, f2, f3, f4, f4])
    zeros = np.zeros(4)
    z, p, k = signal.bilinear_zpk(zeros, poles, 1.0, fs=sampling_rate_hz)
    sos = signal.zpk2sos(z, p, k)
    _, h = signal.sosfreqz(sos, worN=[1000.0], fs=sampling_rate_hz)
    sos[0, :3] /= np.abs(h[0])
    return sos


def apply_a_weighting(samples: np.ndarray, *, sampling_rate_hz: float) -> np.ndarray:
    """Filter ``samples`` (time on the last axis) with the A-weighting curve.

    >>> sr = 44_100
    >>> t = np.arange(sr) / sr
    >>> tone = np.sin(2 * np.pi * 100 * t)
    >>> weighted = apply_a_weighting(tone, sampling_rate_hz=sr)
    >>> round(float(20 * np.log10(np.std(weighted[sr // 2:]) / np.std(tone[sr // 2:]))), 1)
    -19.1
    """
    from scipy import signal

    x = np.asarray(samples, dtype=float)
    if x.ndim == 0:
        raise ParameterError(f"samples must be an array with time on the last axis, got a scalar {samples!r}")
    if not np.isfinite(sampling_rate_hz) or sampling_rate_hz <= 0:
        raise ParameterError(f"sampling_rate_hz must be a positive number, got {sampling_rate_hz!r}")
    if x.shape[-1] == 0:
        return x.copy()
    if not np.all(np.isfinite(x)):
        raise ParameterError("samples contain NaN or infinite values")
    return signal.sosfilt(a_weighting_sos(float(sampling_rate_hz)), x, axis=-1)
