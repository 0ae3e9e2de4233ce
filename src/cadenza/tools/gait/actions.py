"""The gait workflow both faces call: analyse an IMU recording and, with a session, store its cadence there.

``cadenza gait analyze`` and the page ``/clients/{client_id}/gait`` only parse their input and present the
result; the analysis options, the notes shown and the audit trail come from here, so they are the same
from both. Without a session nothing touches the record (:func:`analyse_walk`, also the notebook path);
with one, :func:`record_walk` stores the cadence and is audited the same way whichever face called it:
the session is read (and must be the client's when the page names one), then updated with a new
``cadence`` measurement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from cadenza.clinic import service
from cadenza.clinic.models import Measurement, Therapist
from cadenza.gait import GaitAnalysis, analyze_gait
from cadenza.gait.insole import InsoleGait, analyze_insoles
from cadenza.io.imu import ImuRecording
from cadenza.io.insole import InsoleRecording
from cadenza.tools.gait import records

PLACEMENTS = ("lower-back", "foot")  # IMU placements; force insoles go through analyse_insole_walk


@dataclass(frozen=True)
class WalkReport:
    """One analysed walk: the ``analysis`` (steps, bouts, cadence), the ``notes`` for the reader (the
    loader's, then the analysis'), and ``stored``, the cadence measurement when a session was given, with
    ``stored_asymmetry``, the step-time asymmetry measurement when the steps' sides were known."""

    analysis: GaitAnalysis
    notes: tuple[str, ...] = ()
    stored: Measurement | None = None
    stored_asymmetry: Measurement | None = None


def analyse_walk(recording: ImuRecording, *, placement: str = "lower-back") -> WalkReport:
    """Steps, walking bouts and cadence of one IMU recording; nothing is stored.

    ``placement`` is where the sensor was worn (one of :data:`PLACEMENTS`); a bad value is a
    ParameterError from :func:`cadenza.gait.analyze_gait`.
    """
    analysis = analyze_gait(recording.acc_m_s2, sampling_rate_hz=recording.sampling_rate_hz,
                            placement=placement, gyr_deg_s=recording.gyr_deg_s)
    return WalkReport(analysis, notes=(*recording.notes, *analysis.notes))


def record_walk(
    db: Session,
    *,
    actor: Therapist,
    recording: ImuRecording,
    session_id: int,
    placement: str = "lower-back",
    client_id: int | None = None,
) -> WalkReport:
    """Analyse the walk, then store its cadence as a ``cadence`` measurement on the session.

    The analysis runs before the record is touched, so no lock is held while it runs. The session is
    read with ``actor``'s rights (NotFoundError for one they may not see); with ``client_id`` it must be
    that client's (ParameterError otherwise, as for a walk with no bout of 8 or more steps: see
    :func:`cadenza.tools.gait.records.store_gait_cadence`). Flushes, never commits.
    """
    report = analyse_walk(recording, placement=placement)
    if client_id is None:
        client_id = service.get_session(db, actor=actor, session_id=session_id).client_id
    stored = records.store_gait_cadence(db, actor=actor, session_id=session_id, analysis=report.analysis,
                                        client_id=client_id)
    asymmetry = records.store_gait_asymmetry(db, actor=actor, session_id=session_id, analysis=report.analysis)
    return replace(report, stored=stored, stored_asymmetry=asymmetry)


@dataclass(frozen=True)
class InsoleReport:
    """One walk on force insoles: the ``gait`` timing measures, the ``notes`` for the reader (the
    loader's, then the analysis'), and ``stored``, the measurements when a session was given."""

    gait: InsoleGait
    notes: tuple[str, ...] = ()
    stored: tuple[Measurement, ...] = ()


def analyse_insole_walk(recording: InsoleRecording) -> InsoleReport:
    """Heel strikes, toe offs, stride-time CV, swing asymmetry and PCI of one insole walk; nothing stored."""
    gait = analyze_insoles(recording.left_force_n, recording.right_force_n,
                           sampling_rate_hz=recording.sampling_rate_hz)
    return InsoleReport(gait, notes=(*recording.notes, *gait.notes))


def record_insole_walk(
    db: Session,
    *,
    actor: Therapist,
    recording: InsoleRecording,
    session_id: int,
    client_id: int | None = None,
    goal_ids: dict[str, int] | None = None,
) -> InsoleReport:
    """Analyse the insole walk, then store its stride-time CV and swing asymmetry on the session
    (see :func:`cadenza.tools.gait.records.store_insole_measures`). Flushes, never commits."""
    report = analyse_insole_walk(recording)
    if client_id is None:
        client_id = service.get_session(db, actor=actor, session_id=session_id).client_id
    stored = records.store_insole_measures(db, actor=actor, session_id=session_id, gait=report.gait,
                                           client_id=client_id, goal_ids=goal_ids)
    return replace(report, stored=tuple(stored))


FREEZE_METHODS = ("detector", "freeze-index")


@dataclass(frozen=True)
class FreezeReport:
    """Freezing of gait in one recording: the ``detector`` (a fitted :class:`cadenza.gait.freezing.FreezeDetector`
    or the freeze-index baseline), which ``method`` and sensors were used, and the loader's ``notes``."""

    detector: object
    method: str
    placements: tuple[str, ...]
    sampling_rate_hz: float
    duration_s: float
    notes: tuple[str, ...] = ()

    @property
    def freeze_intervals_s(self):
        return self.detector.freeze_intervals_s_

    def to_dict(self, *, scores: bool = False) -> dict:
        from cadenza.gait.freezing import summarize_freezes

        out = {
            "method": self.method,
            "placements": list(self.placements),
            "sampling_rate_hz": self.sampling_rate_hz,
            "duration_s": round(self.duration_s, 3),
            "freeze_intervals_s": [[round(float(s), 3), round(float(e), 3)] for s, e in self.freeze_intervals_s],
            **summarize_freezes(self.freeze_intervals_s),
            "times": "decision time: when a live detector knows (a freeze starts typically ~1 s after its onset)",
            "notes": list(self.notes),
        }
        out["time_frozen_s"] = round(out["time_frozen_s"], 3)
        if scores:
            out["window_times_s"] = [round(float(t), 3) for t in self.detector.window_times_s_]
            out["window_scores"] = [None if s != s else round(float(s), 4) for s in self.detector.scores_]
        return out


def analyse_freezes(
    acc_m_s2: dict, *, sampling_rate_hz: float, method: str = "detector", notes: tuple[str, ...] = ()
) -> FreezeReport:
    """Freeze intervals of a recording given as ``{placement: (3, n) m/s^2}``; nothing is stored.

    ``method`` is ``"detector"`` (:class:`~cadenza.gait.freezing.FreezeDetector`, every sensor given)
    or ``"freeze-index"`` (the Moore/Bächlin baseline, on the one sensor given, or the shank of several).
    """
    from cadenza.gait.freezing import FreezeDetector, FreezeIndexDetector

    if method not in FREEZE_METHODS:
        from cadenza.errors import ParameterError

        raise ParameterError(f"method must be one of {FREEZE_METHODS!r}, got {method!r}")
    placements = tuple(acc_m_s2)
    if method == "detector":
        detector = FreezeDetector().detect(acc_m_s2, sampling_rate_hz=sampling_rate_hz)
    else:
        placement = "shank" if "shank" in acc_m_s2 else placements[0]
        detector = FreezeIndexDetector(placement=placement).detect(acc_m_s2, sampling_rate_hz=sampling_rate_hz)
        placements = (placement,)
    n = next(iter(acc_m_s2.values())).shape[-1]
    return FreezeReport(detector, method, placements, float(sampling_rate_hz), n / float(sampling_rate_hz), tuple(notes))
