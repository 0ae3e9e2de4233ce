"""Enforcing a listener's audio policy on rendered samples: NICU sound limits and ear-level caps.

This lives in ``cadenza.safety`` (not ``cadenza.nicu``) so every audio tool, RAS cues, playlists, MIT
phrases, can call :func:`apply_audio_policy` and get NICU limits automatically for an NICU-flagged
listener; ``cadenza.nicu.limits`` re-exports the NICU part.

Limits in the infant's space (Recommended Standards for Newborn ICU Design, Standard 23, as quoted in
``shared/research/clinical_anchors.md`` section 5): hourly **Leq <= 45 dB(A), L10 <= 50 dB(A),
Lmax <= 65 dB(A)** (slow response). The AAP (1997, "Noise: a hazard for the fetus and newborn") asks for
< 45 dB(A); music in NICU studies was played at 55-65 dB (PAL at 65 dB(C); Standley's
neurodevelopmental protocol <= 60 dB), which this module does not allow by default: a render alone must
not spend the room's hourly budget.

"No sudden dynamics" is made a number here: the Fast-weighted level may rise by at most
``max_rise_db_per_s`` over any second (default 10 dB/s, counted from ``floor_dba``). No published
figure exists for it; it is a design choice that a startle-free lullaby passes with room to spare
and a door-slam-like step does not.

>>> NICU_LIMITS.leq_dba, NICU_LIMITS.l10_dba, NICU_LIMITS.lmax_dba
(45.0, 50.0, 65.0)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cadenza.errors import DataQualityError, ParameterError
from cadenza.render.levels import (
    FAST_TIME_CONSTANT_S,
    LevelReport,
    gain_db_to_reach,
    measure_levels,
    power_db,
    time_weighted_power,
)
from cadenza.render.weighting import apply_a_weighting
from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration
from cadenza.safety.flags import NICU_MAX_LEVEL_DBA, AudioPolicy

LIMIT_MARGIN_DB = 1.0  # renders aim this far under each cap: meters and calibrations are +-1 dB


@dataclass(frozen=True)
class NicuLimits:
    """Caps for one NICU render in the infant's space, all dB(A)."""

    leq_dba: float = NICU_MAX_LEVEL_DBA
    l10_dba: float = 50.0
    lmax_dba: float = 65.0
    max_rise_db_per_s: float = 10.0
    floor_dba: float = 35.0  # quieter than any measured NICU; rises are counted from here

    def __post_init__(self) -> None:
        for name in ("leq_dba", "l10_dba", "lmax_dba"):
            value = getattr(self, name)
            if not np.isfinite(value) or not 20.0 <= value <= 70.0:
                raise ParameterError(
                    f"{name} must be between 20 and 70 dB(A) for a NICU limit, got {value!r} "
                    "(65 dB(A) Lmax is the Standard 23 ceiling)"
                )
        if not self.leq_dba <= self.l10_dba <= self.lmax_dba:
            raise ParameterError(
                f"limits must satisfy leq_dba <= l10_dba <= lmax_dba, got {self.leq_dba!r}, "
                f"{self.l10_dba!r}, {self.lmax_dba!r}"
            )
        if not np.isfinite(self.max_rise_db_per_s) or not 1.0 <= self.max_rise_db_per_s <= 30.0:
            raise ParameterError(f"max_rise_db_per_s must be in [1, 30] dB/s, got {self.max_rise_db_per_s!r}")
        if not np.isfinite(self.floor_dba) or not 0 <= self.floor_dba < self.leq_dba:
            raise ParameterError(f"floor_dba must be in [0, leq_dba), got {self.floor_dba!r}")

    def with_target(self, *, leq_dba: float) -> "NicuLimits":
        """A stricter copy with a lower Leq cap (a clinician may ask for quieter, never louder)."""
        if leq_dba > self.leq_dba:
            raise ParameterError(f"leq_dba may only lower the cap of {self.leq_dba} dB(A), got {leq_dba!r}")
        return replace(self, leq_dba=float(leq_dba), floor_dba=min(self.floor_dba, float(leq_dba) - 5.0))

    def as_dict(self) -> dict[str, float]:
        return {"leq_dba": self.leq_dba, "l10_dba": self.l10_dba, "lmax_dba": self.lmax_dba,
                "max_rise_db_per_s": self.max_rise_db_per_s, "floor_dba": self.floor_dba}


NICU_LIMITS = NicuLimits()


def check_limits(report: LevelReport, limits: NicuLimits = NICU_LIMITS) -> tuple[str, ...]:
    """Every limit the measured render breaks, as readable sentences (empty tuple = within limits)."""
    problems = []
    for label, measured, cap in (("Leq", report.leq_dba, limits.leq_dba), ("L10", report.l10_dba, limits.l10_dba),
                                 ("Lmax", report.lmax_dba, limits.lmax_dba)):
        if not measured <= cap:  # NaN fails too
            problems.append(f"{label} {measured:.1f} dB(A) exceeds the NICU cap of {cap:.1f} dB(A)")
    if not report.max_rise_db_per_s <= limits.max_rise_db_per_s:
        problems.append(f"level rises {report.max_rise_db_per_s:.1f} dB/s, faster than "
                        f"{limits.max_rise_db_per_s:.1f} dB/s")
    return tuple(problems)


@dataclass(frozen=True)
class NicuRender:
    """Samples that passed the NICU limits, with their measured levels."""

    samples: np.ndarray
    sampling_rate_hz: int
    report: LevelReport
    limits: NicuLimits
    calibration: Calibration
    gain_db: float

    @property
    def duration_s(self) -> float:
        return self.samples.shape[-1] / self.sampling_rate_hz

    def as_dict(self) -> dict:
        return {
            "duration_s": round(self.duration_s, 2),
            "sampling_rate_hz": self.sampling_rate_hz,
            "levels": self.report.as_dict(),
            "limits": self.limits.as_dict(),
            "calibration": {"device": self.calibration.device, "tone_level_dba": self.calibration.tone_level_dba,
                            "is_default": self.calibration.is_default},
            "gain_db": round(self.gain_db, 2),
        }


def smooth_level_rises(samples: np.ndarray, *, sampling_rate_hz: int, max_rise_db_per_s: float,
                       floor_db: float = -60.0) -> np.ndarray:
    """Turn down any part whose level rises faster than ``max_rise_db_per_s`` (a slow leveller).

    Levels are A-weighted and Fast, in dB re full scale, as in :func:`measure_levels`; the gain never
    exceeds 0 dB, so nothing gets louder.
    """
    x = np.asarray(samples, dtype=float)
    hop = max(1, sampling_rate_hz // 100)
    n_frames = int(np.ceil(x.size / hop))
    if n_frames < 2:
        return x.copy()
    env = time_weighted_power(apply_a_weighting(x, sampling_rate_hz=sampling_rate_hz) ** 2,
                              time_constant_s=FAST_TIME_CONSTANT_S, sampling_rate_hz=sampling_rate_hz)
    frame_db = np.maximum(power_db(env[::hop][:n_frames]), floor_db)
    # same rule as the measurement: no level more than max_rise above any level in the second before
    window = sampling_rate_hz // hop
    allowed = np.empty_like(frame_db)
    allowed[0] = floor_db
    for i in range(1, n_frames):
        allowed[i] = min(frame_db[i], allowed[max(0, i - window):i].min() + max_rise_db_per_s)
    gain_db = np.minimum(allowed - frame_db, 0.0)
    # look ahead one fast time constant: the gain is already down when the attack arrives
    lead = max(1, int(FAST_TIME_CONSTANT_S * sampling_rate_hz) // hop)
    padded = np.concatenate([gain_db, np.zeros(lead)])
    gain_db = np.min(np.lib.stride_tricks.sliding_window_view(padded, lead + 1), axis=1)[:n_frames]
    gain = 10 ** (np.interp(np.arange(x.size), np.arange(n_frames) * hop, gain_db) / 20)
    return x * gain


def enforce_nicu_limits(samples: np.ndarray, *, sampling_rate_hz: int, calibration: Calibration | None = None,
                        limits: NicuLimits = NICU_LIMITS) -> NicuRender:
    """Scale ``samples`` so every NICU limit holds (with ``LIMIT_MARGIN_DB`` to spare), measure, verify.

    Level rises faster than the limit are smoothed first; the result is measured from its own samples
    and the calibration, and :class:`DataQualityError` is raised if any limit still fails, so nothing
    out of limits is ever returned.
    """
    cal = DEFAULT_CALIBRATION if calibration is None else calibration
    if not isinstance(limits, NicuLimits):
        raise ParameterError(f"limits must be NicuLimits, got {limits!r}")
    x = np.asarray(samples, dtype=float)
    if x.ndim != 1:
        raise ParameterError(f"samples must be mono (1-D), got shape {x.shape!r}")
    if x.size == 0 or not np.any(x):
        raise ParameterError("samples are empty or silent; nothing to render")
    if not np.all(np.isfinite(x)):
        raise ParameterError("samples contain NaN or infinite values")
    offset = cal.level_offset_db
    margin = LIMIT_MARGIN_DB
    total_gain_db = 0.0
    report = measure_levels(x, sampling_rate_hz=sampling_rate_hz, level_offset_db=offset,
                            floor_dba=limits.floor_dba)
    for _ in range(4):
        gain_db = gain_db_to_reach(report, leq_dba=limits.leq_dba - margin, l10_dba=limits.l10_dba - margin,
                                   lmax_dba=limits.lmax_dba - margin)
        x = x * 10 ** (gain_db / 20)
        total_gain_db += gain_db
        x = smooth_level_rises(x, sampling_rate_hz=sampling_rate_hz,
                               max_rise_db_per_s=limits.max_rise_db_per_s * 0.8,
                               floor_db=limits.floor_dba - offset)
        report = measure_levels(x, sampling_rate_hz=sampling_rate_hz, level_offset_db=offset,
                                floor_dba=limits.floor_dba)
        if not check_limits(report, limits):
            break
    problems = check_limits(report, limits)
    if problems:
        raise DataQualityError("render cannot be brought within NICU limits: " + "; ".join(problems))
    if np.abs(x).max() > 1.0:
        raise DataQualityError("render would clip at this calibration; check the calibration level")
    return NicuRender(x.astype(np.float32), int(sampling_rate_hz), report, limits, cal, total_gain_db)


@dataclass(frozen=True)
class PolicyRender:
    """Samples that respect a listener's audio policy, their measured levels, and what to tell the user."""

    samples: np.ndarray
    sampling_rate_hz: int
    report: LevelReport
    gain_db: float
    policy: AudioPolicy
    calibration: Calibration
    nicu_limits: NicuLimits | None

    def as_dict(self) -> dict:
        return {
            "levels": self.report.as_dict(),
            "gain_db": round(self.gain_db, 2),
            "policy": self.policy.as_dict(),
            "nicu_limits": None if self.nicu_limits is None else self.nicu_limits.as_dict(),
            "calibration": {"device": self.calibration.device, "tone_level_dba": self.calibration.tone_level_dba,
                            "is_default": self.calibration.is_default},
        }


def apply_audio_policy(samples: np.ndarray, *, sampling_rate_hz: int, policy: AudioPolicy,
                       calibration: Calibration | None = None) -> PolicyRender:
    """Bring rendered samples within ``policy``: NICU limits for an NICU infant, else the Leq cap at the ear.

    Never turns anything up. Multichannel input is capped as one listener (mean power over channels);
    NICU rendering needs mono (an incubator speaker). Callers still show ``policy.warnings`` and honour
    ``policy.autoplay_allowed`` themselves: a file cannot refuse to be auto-played.

    >>> from cadenza.safety.flags import audio_policy
    >>> sr = 16_000
    >>> loud = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(5 * sr) / sr)
    >>> out = apply_audio_policy(loud, sampling_rate_hz=sr, policy=audio_policy(["hearing_loss"]))
    >>> round(out.report.leq_dba, 1) <= 75.0
    True
    >>> out = apply_audio_policy(loud, sampling_rate_hz=sr, policy=audio_policy(["nicu_infant"]))
    >>> bool(out.report.leq_dba <= 45.0 and out.report.lmax_dba <= 65.0)
    True
    """
    if not isinstance(policy, AudioPolicy):
        raise ParameterError(f"policy must be an AudioPolicy (cadenza.safety.flags.audio_policy), got {policy!r}")
    cal = DEFAULT_CALIBRATION if calibration is None else calibration
    if policy.nicu_limits:
        limits = NICU_LIMITS.with_target(leq_dba=min(NICU_LIMITS.leq_dba, policy.max_level_dba))
        x = np.asarray(samples, dtype=float)
        if x.ndim == 2:
            x = x.mean(axis=0)
        r = enforce_nicu_limits(x, sampling_rate_hz=sampling_rate_hz, calibration=cal, limits=limits)
        return PolicyRender(r.samples, r.sampling_rate_hz, r.report, r.gain_db, policy, cal, limits)
    x = np.asarray(samples, dtype=float)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ParameterError(f"samples must be non-empty (n,) or (channels, n), got shape {x.shape!r}")
    if not np.all(np.isfinite(x)):
        raise ParameterError("samples contain NaN or infinite values")
    report = measure_levels(x, sampling_rate_hz=sampling_rate_hz, level_offset_db=cal.level_offset_db)
    gain_db = gain_db_to_reach(report, leq_dba=policy.max_level_dba)
    if gain_db < 0:
        x = x * 10 ** (gain_db / 20)
        report = measure_levels(x, sampling_rate_hz=sampling_rate_hz, level_offset_db=cal.level_offset_db)
    return PolicyRender(x.astype(np.float32), int(sampling_rate_hz), report, gain_db, policy, cal, None)
