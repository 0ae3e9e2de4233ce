"""Level and weekly dose of a playlist: tracks known by their integrated loudness and duration.

A track's level at the ear is estimated from its integrated loudness (LUFS) with the listener's
calibration (:func:`cadenza.safety.dose.estimate_listening_level_dba`); the playlist's dose is the sum of
its tracks' shares of the weekly allowance, in the dose mode the listener's safety flags impose. A track
of unknown loudness counts as a loud modern master (-14 LUFS), so an estimate errs loud.

>>> dose = playlist_dose([-20.0, -14.0], [600.0, 600.0], safety_flags=["hearing_loss"])
>>> dose.mode, round(dose.level_dba, 1), dose.max_level_dba, dose.calibrated
('sensitive', 86.0, 75.0, False)
>>> round(100 * dose.dose_fraction, 1)  # percent of the weekly allowance for sensitive listeners
6.6
>>> dose.warnings[1]
"estimated level 86 dB(A) exceeds this client's cap of 75 dB(A): turn the volume down"
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cadenza.errors import ParameterError
from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration
from cadenza.safety.dose import dose_fraction, estimate_listening_level_dba
from cadenza.safety.flags import audio_policy

UNKNOWN_LOUDNESS_LUFS = -14.0  # a loud modern master: the conservative guess for a track never measured


@dataclass(frozen=True)
class PlaylistDose:
    """Estimated listening level of a playlist and the share of the weekly sound allowance it uses."""

    level_dba: float  # the loudest track's estimated level at the ear
    leq_dba: float  # energy-average level over the playlist
    dose_fraction: float  # this playlist alone (1.0 = the whole weekly allowance)
    max_level_dba: float  # the listener's cap
    mode: str  # the dose mode: "adult" or "sensitive"
    calibrated: bool  # False: estimated with the conservative default calibration
    warnings: tuple[str, ...]
    weekly_fraction_after: float | None = None  # the listener's rolling 7 days including this playlist


def playlist_dose(loudness_lufs: Sequence[float], durations_s: Sequence[float], *,
                  safety_flags: Sequence[str] = (), calibration: Calibration | None = None) -> PlaylistDose:
    """Level and dose of tracks played one after the other, for a listener with ``safety_flags``.

    ``loudness_lufs[i]`` is track i's integrated loudness (NaN when unknown), ``durations_s[i]`` its
    length. ``calibration`` ties digital level to the level at the ear (default: the conservative
    uncalibrated default, and a warning says so). An empty playlist has NaN levels and no dose.
    """
    if len(loudness_lufs) != len(durations_s):
        raise ParameterError(f"loudness_lufs and durations_s must have one value per track, got "
                             f"{len(loudness_lufs)} and {len(durations_s)}")
    cal = calibration or DEFAULT_CALIBRATION
    policy = audio_policy(safety_flags)
    levels, fraction = [], 0.0
    for lufs, duration_s in zip(loudness_lufs, durations_s, strict=True):
        lufs = lufs if math.isfinite(lufs) else UNKNOWN_LOUDNESS_LUFS
        level = estimate_listening_level_dba(min(lufs, 0.0), cal)
        levels.append(level)
        fraction += dose_fraction(level, duration_s, mode=policy.dose_mode)
    top = max(levels) if levels else float("nan")
    total_s = float(sum(durations_s))
    leq = (10.0 * math.log10(sum(10 ** (lv / 10) * d for lv, d in zip(levels, durations_s, strict=True)) / total_s)
           if total_s > 0 else float("nan"))
    warnings = list(policy.warnings)
    if levels and top > policy.max_level_dba:
        warnings.append(f"estimated level {top:.0f} dB(A) exceeds this client's cap of {policy.max_level_dba:.0f} dB(A): "
                        "turn the volume down")
    calibrated = not cal.is_default
    if not calibrated:
        warnings.append("level estimated without a calibration of this listening set-up (conservative default)")
    return PlaylistDose(top, leq, fraction, policy.max_level_dba, policy.dose_mode, calibrated, tuple(warnings))
