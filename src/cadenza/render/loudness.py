"""Loudness normalisation to a target integrated loudness (ITU-R BS.1770 LUFS) with hard ceilings.

Two ceilings protect hearing whatever the caller asks for: the target loudness may not exceed
``MAX_TARGET_LUFS`` (lowered further by the listener's safety policy), and the sample peak may not
exceed ``PEAK_CEILING_DBFS``. If the peak ceiling binds, the result is quieter than the target and the
report says so; nothing is ever made louder to compensate.

Digital loudness is not the level at the ear: that depends on the playback device and its volume.
The caps here are a safety net for the file; the therapist still sets a comfortable volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError

DEFAULT_TARGET_LUFS = -23.0  # EBU R 128 programme loudness: comfortable headroom for cues over speech
MAX_TARGET_LUFS = -14.0  # the loudest mainstream streaming normalisation level; never louder
PEAK_CEILING_DBFS = -1.0  # leaves headroom for lossy encoders (OGG) so decoded peaks do not clip
REFERENCE_MAX_LEVEL_DBA = 85.0  # the unflagged listener's cap in cadenza.safety.flags
MIN_MEASURE_S = 0.4  # one BS.1770 gating block


@dataclass(frozen=True)
class LoudnessResult:
    """Loudness-normalised samples with the measured and output loudness (LUFS) and the gain applied."""

    samples: np.ndarray
    measured_lufs: float  # input loudness (NaN if silent or too short)
    output_lufs: float  # estimated output loudness
    gain_db: float
    target_lufs: float  # after the cap
    peak_limited: bool  # True if the peak ceiling made the output quieter than the target


def loudness_cap_lufs(*, max_level_dba: float = REFERENCE_MAX_LEVEL_DBA) -> float:
    """The loudest allowed target for a listener whose policy caps the ear level at ``max_level_dba``.

    A stricter policy (hearing loss: 80 dBA) lowers the cap by the same number of dB.

    >>> loudness_cap_lufs(), loudness_cap_lufs(max_level_dba=80.0)
    (-14.0, -19.0)
    """
    if not np.isfinite(max_level_dba) or not 30 <= max_level_dba <= 100:
        raise ParameterError(f"max_level_dba must be between 30 and 100 dBA, got {max_level_dba!r}")
    return MAX_TARGET_LUFS - max(0.0, REFERENCE_MAX_LEVEL_DBA - max_level_dba)


def measure_loudness_lufs(samples: np.ndarray, *, sampling_rate_hz: int) -> float:
    """Integrated loudness (LUFS) of ``(n,)`` or ``(channels, n)`` samples; NaN if silent or < 0.4 s."""
    import pyloudnorm

    samples = _check_samples(samples)
    if samples.shape[-1] < MIN_MEASURE_S * sampling_rate_hz or not np.any(samples):
        return float("nan")
    meter = pyloudnorm.Meter(int(sampling_rate_hz))
    data = samples.T if samples.ndim == 2 else samples
    value = float(meter.integrated_loudness(data.astype(np.float64)))
    return value if np.isfinite(value) else float("nan")


def _check_samples(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples)
    if samples.ndim not in (1, 2):
        raise ParameterError(f"samples must be (n,) or (channels, n), got shape {samples.shape!r}")
    if not np.all(np.isfinite(samples)):
        raise ParameterError("samples contain NaN or infinite values")
    return samples


@dataclass(frozen=True)
class LoudnessGain:
    gain_db: float
    target_lufs: float  # after the cap
    output_lufs: float
    peak_limited: bool


def plan_loudness_gain(
    measured_lufs: float, *, peak: float, target_lufs: float = DEFAULT_TARGET_LUFS,
    max_level_dba: float = REFERENCE_MAX_LEVEL_DBA,
) -> LoudnessGain:
    """The gain that brings a signal of ``measured_lufs`` and sample ``peak`` to the capped target.

    >>> g = plan_loudness_gain(-30.0, peak=0.5, target_lufs=-10.0)
    >>> g.target_lufs, round(g.gain_db, 2), g.peak_limited
    (-14.0, 5.02, True)
    """
    if not np.isfinite(target_lufs) or not -70 <= target_lufs <= 0:
        raise ParameterError(f"target_lufs must be between -70 and 0 LUFS, got {target_lufs!r}")
    target = min(float(target_lufs), loudness_cap_lufs(max_level_dba=max_level_dba))
    if not np.isfinite(measured_lufs) or not peak > 0:
        return LoudnessGain(gain_db=0.0, target_lufs=target, output_lufs=float("nan"), peak_limited=False)
    gain_db = target - measured_lufs
    peak_room_db = PEAK_CEILING_DBFS - 20 * np.log10(peak)
    limited = gain_db > peak_room_db
    gain_db = float(min(gain_db, peak_room_db))
    return LoudnessGain(gain_db=gain_db, target_lufs=target, output_lufs=float(measured_lufs + gain_db),
                        peak_limited=bool(limited))


def normalize_loudness(
    samples: np.ndarray,
    *,
    sampling_rate_hz: int,
    target_lufs: float = DEFAULT_TARGET_LUFS,
    max_level_dba: float = REFERENCE_MAX_LEVEL_DBA,
    measured_lufs: float | None = None,
) -> LoudnessResult:
    """Scale ``samples`` to ``target_lufs`` (capped), never letting the peak exceed -1 dBFS.

    ``measured_lufs`` lets a caller pass a loudness measured on a representative excerpt.
    Silent input is returned unchanged.
    """
    samples = _check_samples(samples)
    if measured_lufs is None:
        measured_lufs = measure_loudness_lufs(samples, sampling_rate_hz=sampling_rate_hz)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    plan = plan_loudness_gain(measured_lufs, peak=peak, target_lufs=target_lufs, max_level_dba=max_level_dba)
    out = samples.astype(np.float32, copy=True)
    out *= np.float32(10 ** (plan.gain_db / 20))
    return LoudnessResult(samples=out, measured_lufs=float(measured_lufs) if peak > 0 else float("nan"),
                          output_lufs=plan.output_lufs, gain_db=plan.gain_db, target_lufs=plan.target_lufs,
                          peak_limited=plan.peak_limited)
