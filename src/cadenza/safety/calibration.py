"""Output calibration: from digital samples to the sound level at the listener's ear.

The user plays :func:`render_calibration_tone` (a 1 kHz sine at ``CALIBRATION_TONE_RMS_DBFS``) on
their device at the volume they normally use and enters the level measured with a sound level meter
(or known from the device/headphone specification). At 1 kHz the A-weighting is 0 dB, so the tone's
digital level and its measured dB(A) give the offset for every other signal on that device.

Without a measurement Cadenza assumes :data:`DEFAULT_CALIBRATION`: the calibration tone plays at
80 dB(A), i.e. a full-scale signal would reach about 100 dB(A), the maximum output EN 50332-1 allows
for personal music players sold in the EU [recalled; conservative because real devices at normal
volume are quieter]. Over-estimating the level errs on the safe side: tracks are turned down, never up.

>>> cal = Calibration.from_measurement(72.0, device="ward speaker")
>>> cal.level_offset_db
92.0
>>> DEFAULT_CALIBRATION.is_default
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError

CALIBRATION_TONE_HZ = 1000.0
CALIBRATION_TONE_RMS_DBFS = -20.0  # 20 dB of headroom; RMS in dB re full scale (full-scale sine = -3.01)
DEFAULT_TONE_LEVEL_DBA = 80.0
PLAUSIBLE_MEASURED_DBA = (20.0, 130.0)


@dataclass(frozen=True)
class Calibration:
    """How loud the calibration tone is at the listener on one device (and volume setting)."""

    tone_level_dba: float
    tone_rms_dbfs: float = CALIBRATION_TONE_RMS_DBFS
    device: str = "default"
    is_default: bool = False

    @property
    def level_offset_db(self) -> float:
        """dB(A) SPL of a signal whose A-weighted RMS is full scale (1.0) on this device."""
        return float(self.tone_level_dba - self.tone_rms_dbfs)

    @classmethod
    def from_measurement(cls, measured_level_dba: float, *, device: str = "default",
                         tone_rms_dbfs: float = CALIBRATION_TONE_RMS_DBFS) -> "Calibration":
        """A calibration from the level measured (or known) while the calibration tone played."""
        low, high = PLAUSIBLE_MEASURED_DBA
        if not np.isfinite(measured_level_dba) or not low <= measured_level_dba <= high:
            raise ParameterError(
                f"measured_level_dba must be a sound level between {low} and {high} dB(A), "
                f"got {measured_level_dba!r} (enter the meter's A-weighted reading, not a volume percentage)"
            )
        if not np.isfinite(tone_rms_dbfs) or tone_rms_dbfs > 0:
            raise ParameterError(f"tone_rms_dbfs must be <= 0 dB re full scale, got {tone_rms_dbfs!r}")
        if not device or not device.strip():
            raise ParameterError(f"device must be a non-empty name, got {device!r}")
        return cls(tone_level_dba=float(measured_level_dba), tone_rms_dbfs=float(tone_rms_dbfs),
                   device=device.strip(), is_default=False)


DEFAULT_CALIBRATION = Calibration(tone_level_dba=DEFAULT_TONE_LEVEL_DBA, device="default", is_default=True)


def render_calibration_tone(*, duration_s: float = 30.0, sampling_rate_hz: int = 44_100,
                            rms_dbfs: float = CALIBRATION_TONE_RMS_DBFS) -> np.ndarray:
    """A 1 kHz sine at ``rms_dbfs`` with 50 ms ramps (no click when it starts or stops).

    >>> tone = render_calibration_tone(duration_s=2.0)
    >>> round(float(20 * np.log10(np.sqrt(np.mean(tone[4410:-4410] ** 2)))), 2)
    -20.0
    """
    if not np.isfinite(duration_s) or duration_s <= 0 or duration_s > 600:
        raise ParameterError(f"duration_s must be in (0, 600] seconds, got {duration_s!r}")
    if sampling_rate_hz < 8000:
        raise ParameterError(f"sampling_rate_hz must be >= 8000, got {sampling_rate_hz!r}")
    if not np.isfinite(rms_dbfs) or rms_dbfs > -3.02:
        raise ParameterError(f"rms_dbfs must be <= -3.02 (a full-scale sine), got {rms_dbfs!r}")
    n = int(round(duration_s * sampling_rate_hz))
    t = np.arange(n) / sampling_rate_hz
    tone = np.sqrt(2.0) * 10 ** (rms_dbfs / 20.0) * np.sin(2 * np.pi * CALIBRATION_TONE_HZ * t)
    ramp = min(n // 2, int(0.05 * sampling_rate_hz))
    if ramp:
        env = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
        tone[:ramp] *= env
        tone[n - ramp:] *= env[::-1]
    return tone.astype(np.float32)
