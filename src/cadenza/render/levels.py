"""Sound levels of rendered samples: Leq, L10, Lmax and level rise, in dB(A) at the listener.

Samples are digital (full scale = 1.0). A calibration turns them into sound pressure levels: the
``level_offset_db`` is the dB(A) SPL that a signal with an A-weighted RMS of 1.0 (0 dB re full scale)
produces at the listener's ear or in the infant's space. ``cadenza.safety.calibration`` derives it from
a measured calibration tone; this module only does the arithmetic.

Definitions follow the sound-level-meter conventions (IEC 61672-1) used by the NICU standards
(Recommended Standards for Newborn ICU Design, Std 23: hourly Leq, L10 and Lmax with slow response):

- ``leq_dba``: equivalent continuous level, 10 log10 of the mean A-weighted squared pressure.
- ``lmax_dba``: maximum of the Slow (1 s) exponentially time-weighted A level.
- ``l10_dba`` / ``l50_dba``: levels exceeded 10 % / 50 % of the time by the Slow-weighted level.
- ``max_rise_db_per_s``: the largest increase of the Fast (125 ms) weighted level over any 1-s span,
  levels below ``floor_dba`` counted as ``floor_dba`` (so a fade-in from silence is judged from a
  quiet room, not from minus infinity).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.render.weighting import apply_a_weighting

SLOW_TIME_CONSTANT_S = 1.0
FAST_TIME_CONSTANT_S = 0.125
LEVEL_FRAME_RATE_HZ = 10.0  # statistics of the time-weighted level are taken at this rate
DEFAULT_FLOOR_DBA = 30.0  # below a quiet bedroom / the quietest measured NICU rooms
_TINY = 1e-20


@dataclass(frozen=True)
class LevelReport:
    """Levels of one rendered signal at the listener, in dB(A) (``lzeq_db`` unweighted)."""

    leq_dba: float
    l10_dba: float
    l50_dba: float
    lmax_dba: float
    max_rise_db_per_s: float
    lzeq_db: float
    duration_s: float

    def as_dict(self) -> dict[str, float]:
        return {k: (None if not np.isfinite(v) else round(float(v), 2)) for k, v in asdict(self).items()}


def time_weighted_power(power: np.ndarray, *, time_constant_s: float, sampling_rate_hz: float) -> np.ndarray:
    """Exponential time weighting of squared samples (IEC 61672-1: Fast 0.125 s, Slow 1 s).

    Inputs are trusted (the public level functions validate them), so it stays cheap inside loops.
    """
    from scipy import signal

    alpha = 1.0 - np.exp(-1.0 / (time_constant_s * sampling_rate_hz))
    return signal.lfilter([alpha], [1.0, alpha - 1.0], power)


def power_db(power: np.ndarray | float) -> np.ndarray:
    """Level in dB of a power (floored at -200 dB, so silence stays finite)."""
    return 10.0 * np.log10(np.maximum(power, _TINY))


def _db_or_minus_inf(power: float) -> float:
    """Digital silence has no level (-inf), so it can never pass for a quiet but real signal."""
    return float(10.0 * np.log10(power)) if power > 0 else float("-inf")


def measure_levels(
    samples: np.ndarray,
    *,
    sampling_rate_hz: float,
    level_offset_db: float,
    floor_dba: float = DEFAULT_FLOOR_DBA,
) -> LevelReport:
    """Measure Leq, L10, L50, Lmax (Slow) and the fastest level rise of ``samples``.

    Multichannel input ``(channels, n)`` is measured as the mean power over channels (one listener,
    both ears). Empty input gives NaN levels; digital silence has Leq -inf.

    >>> sr = 44_100
    >>> tone = 0.1 * np.sqrt(2) * np.sin(2 * np.pi * 1000 * np.arange(10 * sr) / sr)  # -20 dB RMS
    >>> report = measure_levels(tone, sampling_rate_hz=sr, level_offset_db=100.0)
    >>> round(report.leq_dba, 1), round(report.lmax_dba, 1)
    (80.0, 80.0)
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim not in (1, 2):
        raise ParameterError(f"samples must be 1-D or (channels, n), got shape {x.shape!r}")
    if not np.isfinite(sampling_rate_hz) or sampling_rate_hz <= 0:
        raise ParameterError(f"sampling_rate_hz must be a positive number, got {sampling_rate_hz!r}")
    if not np.isfinite(level_offset_db):
        raise ParameterError(f"level_offset_db must be finite, got {level_offset_db!r}")
    if not np.isfinite(floor_dba):
        raise ParameterError(f"floor_dba must be finite, got {floor_dba!r}")
    n = x.shape[-1]
    if n == 0:
        nan = float("nan")
        return LevelReport(nan, nan, nan, nan, nan, nan, 0.0)
    if not np.all(np.isfinite(x)):
        raise ParameterError("samples contain NaN or infinite values")

    weighted = apply_a_weighting(x, sampling_rate_hz=sampling_rate_hz)
    power_a = weighted**2 if weighted.ndim == 1 else np.mean(weighted**2, axis=0)
    power_z = x**2 if x.ndim == 1 else np.mean(x**2, axis=0)

    slow = time_weighted_power(power_a, time_constant_s=SLOW_TIME_CONSTANT_S, sampling_rate_hz=sampling_rate_hz)
    fast = time_weighted_power(power_a, time_constant_s=FAST_TIME_CONSTANT_S, sampling_rate_hz=sampling_rate_hz)
    hop = max(1, int(round(sampling_rate_hz / LEVEL_FRAME_RATE_HZ)))
    slow_frames_db = power_db(slow[hop - 1 :: hop]) + level_offset_db if n >= hop else power_db(slow[-1:]) + level_offset_db
    fast_frames_db = power_db(fast[::hop]) + level_offset_db
    fast_frames_db = np.maximum(fast_frames_db, floor_dba)

    span = int(LEVEL_FRAME_RATE_HZ)  # frames per second
    if fast_frames_db.size > 1:
        lag = min(span, fast_frames_db.size - 1)
        rises = [fast_frames_db[k:] - fast_frames_db[:-k] for k in range(1, lag + 1)]
        max_rise = max(float(max(r.max() for r in rises)), 0.0)
    else:
        max_rise = 0.0

    return LevelReport(
        leq_dba=_db_or_minus_inf(power_a.mean()) + level_offset_db,
        l10_dba=float(np.percentile(slow_frames_db, 90)),
        l50_dba=float(np.percentile(slow_frames_db, 50)),
        lmax_dba=float(power_db(slow.max()) + level_offset_db),
        max_rise_db_per_s=max_rise,
        lzeq_db=_db_or_minus_inf(power_z.mean()) + level_offset_db,
        duration_s=n / float(sampling_rate_hz),
    )


def gain_db_to_reach(report: LevelReport, *, leq_dba: float | None = None, l10_dba: float | None = None,
                     lmax_dba: float | None = None) -> float:
    """The (negative or zero) gain in dB that brings every measured level down to its cap.

    Levels scale exactly with gain, so one measurement suffices; positive gain is never returned.

    >>> r = LevelReport(50.0, 53.0, 49.0, 70.0, 2.0, 55.0, 60.0)
    >>> gain_db_to_reach(r, leq_dba=45, l10_dba=50, lmax_dba=65)
    -5.0
    """
    gains = [0.0]
    for measured, cap in ((report.leq_dba, leq_dba), (report.l10_dba, l10_dba), (report.lmax_dba, lmax_dba)):
        if cap is not None and np.isfinite(measured):
            gains.append(cap - measured)
    return float(min(gains))
