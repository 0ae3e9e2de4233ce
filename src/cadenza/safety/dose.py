"""Weekly sound dose after WHO/ITU-T H.870 (2018, rev. 2022), "Guidelines for safe listening devices/systems".

Public API (stable; other tools call it to show each track's level and dose):

- ``estimate_listening_level_dba(samples_or_lufs, calibration=None, *, sampling_rate_hz=None) -> float``:
  the level at the ear of a rendered track (A-weighted Leq of the samples) or of a track known only by
  its integrated loudness in LUFS (approximation: LUFS is K-weighted and gated; on the shared music
  corpus it read 1.6-6 dB above the A-weighted Leq, so the shortcut errs loud); ``calibration`` is a
  :class:`cadenza.safety.calibration.Calibration`, default the conservative
  :data:`~cadenza.safety.calibration.DEFAULT_CALIBRATION`.
- ``dose_fraction(level_dba, duration_s, *, mode="adult"|"sensitive") -> float``: the share of the weekly
  allowance (1.0 = 100 %) that listening at ``level_dba`` for ``duration_s`` uses.
- ``allowed_duration_s(level_dba, *, mode, used_fraction=0.0) -> float``: listening time left at a level.
- ``assess_track(samples, *, sampling_rate_hz, calibration, mode, max_level_dba) -> TrackDose``:
  level, dose and the gain needed to respect a policy cap, in one call.
- ``DoseLedger(listener, mode=...)`` with ``.add(level_dba=, duration_s=, started_at=)``,
  ``.weekly(now=)`` -> :class:`WeeklyDose` (rolling 7 days, warning at 100 %), and
  ``.preview(level_dba=, duration_s=, now=)`` -> :class:`DosePreview` (what a planned session would add).

Figures (H.870, as summarised in ``shared/research/clinical_anchors.md`` section 6):

- Mode 1 (adults): weekly allowance 1.6 Pa^2 h, i.e. 80 dB(A) for 40 h/week.
- Mode 2 (sensitive users, children): 75 dB(A) for 40 h/week = 0.506 Pa^2 h (H.870 rounds to 0.51).
- Dose is the time integral of the A-weighted squared sound pressure (p0 = 20 uPa), summed over a
  rolling 7 days; at 100 % the user is to be warned and the level should drop.

>>> round(dose_fraction(80.0, 40 * 3600), 6)
1.0
>>> round(dose_fraction(83.0, 20 * 3600), 2)  # +3 dB halves the allowed time
1.0
>>> round(allowed_duration_s(75.0, mode="sensitive") / 3600, 3)
40.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np

from cadenza.errors import ParameterError
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration

DoseMode = Literal["adult", "sensitive"]

REFERENCE_PRESSURE_PA = 20e-6
WEEK_S = 7 * 24 * 3600.0
REFERENCE_HOURS_PER_WEEK = 40.0
REFERENCE_LEVEL_DBA: dict[str, float] = {"adult": 80.0, "sensitive": 75.0}  # H.870 mode 1 / mode 2
PLAUSIBLE_LEVEL_DBA = (-20.0, 150.0)
NOTICE_FRACTION = 0.8  # early notice before the 100 % warning


def _check_mode(mode: str) -> str:
    if mode not in REFERENCE_LEVEL_DBA:
        raise ParameterError(f"mode must be one of {sorted(REFERENCE_LEVEL_DBA)}, got {mode!r}")
    return mode


def _check_level(level_dba: float, name: str = "level_dba") -> float:
    low, high = PLAUSIBLE_LEVEL_DBA
    if not isinstance(level_dba, (int, float, np.floating, np.integer)) or not np.isfinite(level_dba) \
            or not low <= level_dba <= high:
        raise ParameterError(
            f"{name} must be a sound level in dB(A) between {low} and {high}, got {level_dba!r} "
            "(a LUFS or dBFS value needs a calibration first: estimate_listening_level_dba)"
        )
    return float(level_dba)


def _check_duration(duration_s: float) -> float:
    if not isinstance(duration_s, (int, float, np.floating, np.integer)) or not np.isfinite(duration_s) \
            or duration_s < 0:
        raise ParameterError(f"duration_s must be a finite number of seconds >= 0, got {duration_s!r}")
    return float(duration_s)


def weekly_allowance_pa2h(*, mode: DoseMode = "adult") -> float:
    """The weekly sound-dose allowance in Pa^2 h (1.6 adult, 0.506 sensitive).

    >>> round(weekly_allowance_pa2h(mode="adult"), 3), round(weekly_allowance_pa2h(mode="sensitive"), 3)
    (1.6, 0.506)
    """
    _check_mode(mode)
    return level_dba_to_pa2(REFERENCE_LEVEL_DBA[mode]) * REFERENCE_HOURS_PER_WEEK


def level_dba_to_pa2(level_dba: float) -> float:
    """Mean squared A-weighted sound pressure in Pa^2 of a level in dB(A) re 20 uPa.

    >>> round(level_dba_to_pa2(80.0), 6)
    0.04
    """
    return float(REFERENCE_PRESSURE_PA**2 * 10.0 ** (level_dba / 10.0))


def sound_dose_pa2h(level_dba: float, duration_s: float) -> float:
    """Sound dose in Pa^2 h of ``duration_s`` at ``level_dba``."""
    return level_dba_to_pa2(_check_level(level_dba)) * _check_duration(duration_s) / 3600.0


def dose_fraction(level_dba: float, duration_s: float, *, mode: DoseMode = "adult") -> float:
    """Share of the weekly allowance used by ``duration_s`` at ``level_dba`` (1.0 = 100 %)."""
    _check_mode(mode)
    return sound_dose_pa2h(level_dba, duration_s) / weekly_allowance_pa2h(mode=mode)


def allowed_duration_s(level_dba: float, *, mode: DoseMode = "adult", used_fraction: float = 0.0) -> float:
    """Listening time left this week at ``level_dba`` after ``used_fraction`` of the allowance is spent."""
    _check_mode(mode)
    _check_level(level_dba)
    if not np.isfinite(used_fraction) or used_fraction < 0:
        raise ParameterError(f"used_fraction must be >= 0 (1.0 = 100 %), got {used_fraction!r}")
    remaining = max(0.0, 1.0 - used_fraction) * weekly_allowance_pa2h(mode=mode)
    return remaining / level_dba_to_pa2(level_dba) * 3600.0


def estimate_listening_level_dba(samples_or_lufs: np.ndarray | float, calibration: Calibration | None = None,
                                 *, sampling_rate_hz: float | None = None) -> float:
    """Estimated A-weighted level at the ear of a track (samples) or of a loudness value in LUFS.

    >>> from cadenza.safety.calibration import Calibration
    >>> estimate_listening_level_dba(-23.0, Calibration.from_measurement(75.0))
    72.0
    """
    cal = DEFAULT_CALIBRATION if calibration is None else calibration
    if not isinstance(cal, Calibration):
        raise ParameterError(f"calibration must be a Calibration or None, got {calibration!r}")
    if np.ndim(samples_or_lufs) == 0:
        lufs = float(samples_or_lufs)
        if not np.isfinite(lufs) and lufs != -np.inf:
            raise ParameterError(f"samples_or_lufs as loudness must be a finite LUFS value, got {samples_or_lufs!r}")
        if lufs > 0:
            raise ParameterError(f"samples_or_lufs as loudness must be <= 0 LUFS, got {samples_or_lufs!r}")
        return lufs + cal.level_offset_db
    if sampling_rate_hz is None:
        raise ParameterError("sampling_rate_hz is required when samples_or_lufs is an array of samples")
    report = measure_levels(np.asarray(samples_or_lufs), sampling_rate_hz=sampling_rate_hz,
                            level_offset_db=cal.level_offset_db)
    return report.leq_dba


@dataclass(frozen=True)
class TrackDose:
    """Level and weekly dose of one track, and the gain that keeps it under a cap."""

    level_dba: float
    duration_s: float
    dose_fraction: float
    mode: str
    max_level_dba: float | None
    gain_db_to_cap: float
    calibrated: bool

    def as_dict(self) -> dict:
        return {
            "level_dba": round(self.level_dba, 1) if np.isfinite(self.level_dba) else None,
            "duration_s": round(self.duration_s, 2),
            "dose_percent": round(100 * self.dose_fraction, 3),
            "mode": self.mode,
            "max_level_dba": self.max_level_dba,
            "gain_db_to_cap": round(self.gain_db_to_cap, 2),
            "calibrated": self.calibrated,
        }


def assess_track(samples: np.ndarray, *, sampling_rate_hz: float, calibration: Calibration | None = None,
                 mode: DoseMode = "adult", max_level_dba: float | None = None) -> TrackDose:
    """Level at the ear, weekly-dose share and the gain (<= 0 dB) needed to respect ``max_level_dba``.

    Pass ``max_level_dba=audio_policy(flags).max_level_dba`` so a flag's cap applies.
    """
    _check_mode(mode)
    if max_level_dba is not None:
        _check_level(max_level_dba, "max_level_dba")
    cal = DEFAULT_CALIBRATION if calibration is None else calibration
    x = np.asarray(samples)
    if x.ndim not in (1, 2):
        raise ParameterError(f"samples must be 1-D or (channels, n), got shape {x.shape!r}")
    duration_s = x.shape[-1] / float(sampling_rate_hz)
    level = estimate_listening_level_dba(x, cal, sampling_rate_hz=sampling_rate_hz)
    if not np.isfinite(level):
        return TrackDose(level, duration_s, 0.0, mode, max_level_dba, 0.0, not cal.is_default)
    level = max(level, PLAUSIBLE_LEVEL_DBA[0])
    gain = 0.0 if max_level_dba is None else min(0.0, max_level_dba - level)
    return TrackDose(level, duration_s, dose_fraction(level, duration_s, mode=mode), mode, max_level_dba,
                     gain, not cal.is_default)


@dataclass(frozen=True)
class DoseEntry:
    """One listening period: when it started, how long, how loud at the ear."""

    started_at: datetime
    level_dba: float
    duration_s: float
    label: str = ""

    @property
    def ended_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.duration_s)


@dataclass(frozen=True)
class WeeklyDose:
    """The rolling 7-day dose of one listener at ``window_end``."""

    listener: str
    mode: str
    window_start: datetime
    window_end: datetime
    dose_pa2h: float
    allowance_pa2h: float
    entries_counted: int
    warning: str | None

    @property
    def fraction(self) -> float:
        return self.dose_pa2h / self.allowance_pa2h

    def preview(self, *, level_dba: float, duration_s: float) -> DosePreview:
        """What listening at ``level_dba`` for ``duration_s`` would bring this week to.

        >>> ledger = DoseLedger("C-001", mode="adult")
        >>> week = ledger.weekly(now=datetime(2026, 11, 25, 12, tzinfo=UTC))
        >>> round(week.preview(level_dba=80.0, duration_s=40 * 3600).fraction_after, 3)
        1.0
        """
        added = dose_fraction(level_dba, duration_s, mode=self.mode)
        return DosePreview(float(level_dba), float(duration_s), added, self.fraction, self.fraction + added,
                           _dose_warning(self.fraction + added, self.mode))

    def as_dict(self) -> dict:
        return {
            "listener": self.listener,
            "mode": self.mode,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "dose_pa2h": round(self.dose_pa2h, 6),
            "allowance_pa2h": round(self.allowance_pa2h, 4),
            "dose_percent": round(100 * self.fraction, 2),
            "entries_counted": self.entries_counted,
            "warning": self.warning,
        }


@dataclass(frozen=True)
class DosePreview:
    """What a planned session adds to the week."""

    level_dba: float
    duration_s: float
    added_fraction: float
    fraction_before: float
    fraction_after: float
    warning: str | None


def _dose_warning(fraction: float, mode: str) -> str | None:
    if fraction >= 1.0:
        return (f"Weekly sound dose at {100 * fraction:.0f} % of the WHO/ITU-T H.870 {mode} allowance: "
                "lower the volume or stop listening for the rest of the week.")
    if fraction >= NOTICE_FRACTION:
        return f"Weekly sound dose at {100 * fraction:.0f} % of the {mode} allowance; consider a lower volume."
    return None


def require_utc(value: datetime, name: str) -> datetime:
    """``value`` in UTC; :class:`ParameterError` naming ``name`` if it is not a timezone-aware datetime."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ParameterError(f"{name} must be a timezone-aware datetime, got {value!r}")
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):  # e.g. 9999-12-31T23:59:59-12:00 is in year 10000 in UTC
        raise ParameterError(f"{name} must be a datetime whose UTC time is within years 1-9999, got "
                             f"{value.isoformat()!r}") from None


@dataclass
class DoseLedger:
    """Listening periods of one listener, added up over a rolling week (pure; storage lives in clinic).

    >>> ledger = DoseLedger("C-001", mode="adult")
    >>> now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    >>> _ = ledger.add(level_dba=80.0, duration_s=20 * 3600, started_at=now - timedelta(days=2))
    >>> round(ledger.weekly(now=now).fraction, 3)
    0.5
    >>> round(ledger.preview(level_dba=80.0, duration_s=20 * 3600, now=now).fraction_after, 3)
    1.0
    """

    listener: str
    mode: DoseMode = "adult"
    entries: list[DoseEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check_mode(self.mode)
        if not isinstance(self.listener, str) or not self.listener.strip():
            raise ParameterError(f"listener must be a non-empty code, got {self.listener!r}")

    def add(self, *, level_dba: float, duration_s: float, started_at: datetime, label: str = "") -> DoseEntry:
        entry = DoseEntry(require_utc(started_at, "started_at"), _check_level(level_dba),
                          _check_duration(duration_s), label)
        self.entries.append(entry)
        return entry

    def weekly(self, *, now: datetime) -> WeeklyDose:
        end = require_utc(now, "now")
        start = end - timedelta(seconds=WEEK_S)
        dose = 0.0
        counted = 0
        for e in self.entries:
            overlap_s = (min(e.ended_at, end) - max(e.started_at, start)).total_seconds()
            if overlap_s > 0:
                dose += level_dba_to_pa2(e.level_dba) * overlap_s / 3600.0
                counted += 1
        allowance = weekly_allowance_pa2h(mode=self.mode)
        return WeeklyDose(self.listener, self.mode, start, end, dose, allowance, counted,
                          _dose_warning(dose / allowance, self.mode))

    def preview(self, *, level_dba: float, duration_s: float, now: datetime) -> DosePreview:
        return self.weekly(now=now).preview(level_dba=level_dba, duration_s=duration_s)
