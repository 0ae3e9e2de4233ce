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
from cadenza.io.imu import ImuRecording
from cadenza.tools.gait import records

PLACEMENTS = ("lower-back", "foot")


@dataclass(frozen=True)
class WalkReport:
    """One analysed walk: the ``analysis`` (steps, bouts, cadence), the ``notes`` for the reader (the
    loader's, then the analysis'), and ``stored``, the cadence measurement when a session was given."""

    analysis: GaitAnalysis
    notes: tuple[str, ...] = ()
    stored: Measurement | None = None


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
    return replace(report, stored=stored)
