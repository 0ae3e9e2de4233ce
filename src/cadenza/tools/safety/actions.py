"""The hearing-safety workflows both faces call: log listening, calibrate, the weekly dose report, and a
track checked against the listener's policy.

``cadenza safety ...`` and the pages under ``/clients/{client_id}/safety`` (with the sound-dose API) only
parse their input and present the result; what is stored, what is checked and which audit rows are written
come from here, so they are the same from both. The ledger and the calibrations themselves live in the
record core (:mod:`cadenza.clinic.listening`), which every audio tool reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from cadenza.clinic import access, listening
from cadenza.clinic.listening import Listener, ListeningCalibration, SoundDoseEntry
from cadenza.clinic.models import Therapist
from cadenza.errors import ParameterError
from cadenza.safety.dose import WEEK_S, DosePreview, WeeklyDose
from cadenza.safety.flags import AudioPolicy

if TYPE_CHECKING:  # the science modules pull in numpy/scipy: imported inside the functions
    import numpy as np

TONE_RATE_HZ = 44_100


# --- the ledger ----------------------------------------------------------------------------------


def record_listening(db: Session, *, actor: Therapist, client_id: int, level_dba: float, duration_s: float,
                     started_at: dt.datetime | None = None, source: str = "manual", label: str = "",
                     now: dt.datetime | None = None) -> SoundDoseEntry:
    """Enter one listening period in the client's dose ledger: from ``started_at``, or (without it) the
    ``duration_s`` that ended ``now``. The level and duration are checked before any time is computed
    from them."""
    listening.check_entry(level_dba=level_dba, duration_s=duration_s, source=source, label=label)
    if started_at is None:
        started_at = listening.aware(now, "now") - dt.timedelta(seconds=float(duration_s))
    return listening.add_dose_entry(db, actor=actor, client_id=client_id, level_dba=level_dba, duration_s=duration_s,
                                    started_at=started_at, source=source, label=label)


@dataclass(frozen=True)
class DoseReport:
    """A client's rolling 7-day dose under their audio policy, and what a planned session would add."""

    week: WeeklyDose
    policy: AudioPolicy
    planned: DosePreview | None = None

    def as_dict(self) -> dict[str, Any]:
        payload = self.week.as_dict()
        if self.planned is not None:
            p = self.planned
            payload["planned"] = {"level_dba": p.level_dba, "minutes": p.duration_s / 60.0,
                                  "adds_percent": round(100 * p.added_fraction, 2),
                                  "total_percent_after": round(100 * p.fraction_after, 2), "warning": p.warning}
        return payload


def dose_report(db: Session, *, actor: Therapist, client_id: int, plan_level_dba: float | None = None,
                plan_duration_s: float | None = None, now: dt.datetime | None = None) -> DoseReport:
    """The client's rolling 7-day dose (WHO/ITU-T H.870, warning at 100 %) in the dose mode their record
    imposes; with a planned level and duration, what that session would bring the week to. One audited read."""
    if (plan_level_dba is None) != (plan_duration_s is None):
        raise ParameterError("plan_level_dba and plan_duration_s go together (a planned level and how long)")
    end = listening.aware(now, "now")
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id)
    ledger = listening.dose_ledger_of(db, client=client, since=end - dt.timedelta(seconds=WEEK_S))
    planned = None
    if plan_level_dba is not None:
        planned = ledger.preview(level_dba=plan_level_dba, duration_s=plan_duration_s, now=end)
    return DoseReport(ledger.weekly(now=end), listening.policy_of(client), planned)


# --- calibration ---------------------------------------------------------------------------------


def calibrate(db: Session, *, actor: Therapist, client_id: int, measured_level_dba: float,
              device: str | None = "default") -> ListeningCalibration:
    """Store the level measured at the listener while the calibration tone played on ``device``
    (``"default"`` when none is named)."""
    return listening.record_calibration(db, actor=actor, client_id=client_id, measured_level_dba=measured_level_dba,
                                        device=device or "default")


def calibration_tone(*, duration_s: float) -> np.ndarray:
    """The 1 kHz calibration tone (at :data:`TONE_RATE_HZ`): play it at the usual volume and measure
    the level at the ear (or the infant's head)."""
    from cadenza.safety.calibration import render_calibration_tone

    return render_calibration_tone(duration_s=duration_s, sampling_rate_hz=TONE_RATE_HZ)


# --- a track and the listener's policy -----------------------------------------------------------


@dataclass(frozen=True)
class TrackCheck:
    """One play of a track for a listener: its level and dose (``track``), any NICU limit it breaks, and
    whether it is within the listener's policy."""

    track: Any  # cadenza.safety.dose.TrackDose
    nicu_problems: tuple[str, ...]

    @property
    def within_policy(self) -> bool:
        return self.track.gain_db_to_cap >= 0 and not self.nicu_problems


def check_track(samples: np.ndarray, *, sampling_rate_hz: float, listener: Listener) -> TrackCheck:
    """The estimated level at the ear and weekly-dose share of one play, against the listener's cap and,
    for an NICU infant, the NICU limits."""
    from cadenza.render.levels import measure_levels
    from cadenza.safety.dose import assess_track
    from cadenza.safety.enforce import NICU_LIMITS, check_limits

    track = assess_track(samples, sampling_rate_hz=sampling_rate_hz, calibration=listener.calibration,
                         mode=listener.policy.dose_mode, max_level_dba=listener.policy.max_level_dba)
    problems: tuple[str, ...] = ()
    if listener.policy.nicu_limits:
        import numpy as np

        mono = np.asarray(samples, dtype=float)
        mono = mono.mean(axis=0) if mono.ndim == 2 else mono
        report = measure_levels(mono, sampling_rate_hz=sampling_rate_hz,
                                level_offset_db=listener.calibration.level_offset_db, floor_dba=NICU_LIMITS.floor_dba)
        problems = check_limits(report)
    return TrackCheck(track, problems)


def fit_to_policy(samples: np.ndarray, *, sampling_rate_hz: int, listener: Listener) -> Any:
    """A copy of a track turned down to the listener's cap (NICU limits for an NICU infant);
    a :class:`cadenza.safety.enforce.PolicyRender`."""
    from cadenza.safety.enforce import apply_audio_policy

    return apply_audio_policy(samples, sampling_rate_hz=sampling_rate_hz, policy=listener.policy,
                              calibration=listener.calibration)
