"""The gait tool's records: cadence, step-time asymmetry and gait speed as measurements on a session.

No tables of its own: a gait analysis becomes ``cadence`` ({steps}/min) and, when the sides of the steps
are known, ``step_time_asymmetry`` (%) measurements; a timed walk becomes ``gait_speed`` (m/s). They go
through the clinic service, so progress charts, goals and the FHIR export see them like any other
outcome. Step-time asymmetry is what a stroke RAS plan checks before it raises the cue above +5 %
(clinical review M5, W12).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy.orm import Session

from cadenza.clinic import service
from cadenza.clinic.instruments import TEN_METRE_WALK_TIMED_DISTANCE_M, Instrument, register_instrument
from cadenza.clinic.models import Measurement, Therapist
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ParameterError
from cadenza.gait import GaitAnalysis, gait_speed_m_s


STEP_TIME_ASYMMETRY = register_instrument(Instrument(
    code="step_time_asymmetry", name="Step-time asymmetry (left/right)", unit="%", minimum=0, maximum=100,
    better="decrease", min_age_years=1, age_note="project convention: a gait measure needs someone who walks, not an infant",
    source="|mean left step time - mean right step time| / mean of both x 100, from an IMU gait analysis with the "
           "feet told apart (cadenza.gait.cadence.step_time_asymmetry); 0 % is symmetric; local code"))


def _check_session_client(db: Session, actor: Therapist, session_id: int, client_id: int) -> None:
    row = service.get_session(db, actor=actor, session_id=session_id)
    if row.client_id != client_id:
        raise ParameterError(f"session_id {session_id!r} is not a session of client {client_id!r}")


def store_gait_cadence(
    db: Session,
    *,
    actor: Therapist,
    session_id: int,
    analysis: GaitAnalysis,
    goal_id: int | None = None,
    measured_at: dt.datetime | None = None,
    include_low_confidence: bool = False,
    client_id: int | None = None,
) -> Measurement:
    """Store the pooled cadence of the analysis' bouts as a ``cadence`` measurement.

    Only bouts with at least 8 steps count unless ``include_low_confidence``; with none, nothing
    is stored and a ParameterError says why (a cadence from 4-6 steps is too uncertain to chart).
    """
    if client_id is not None:
        _check_session_client(db, actor, session_id, client_id)
    if analysis.placement not in ("lower-back", "foot"):
        raise ParameterError(f"analysis.placement must be 'lower-back' or 'foot', got {analysis.placement!r}")
    cadence = analysis.overall_cadence_spm(include_low_confidence=include_low_confidence)
    if not np.isfinite(cadence):
        n_short = sum(b.low_confidence for b in analysis.bouts)
        reason = (
            f"only {n_short} bout(s) with fewer than 8 steps (low confidence)"
            if n_short
            else "no walking bout was found" + (f" (flags: {', '.join(analysis.flags)})" if analysis.flags else "")
        )
        raise ParameterError(f"analysis has no cadence to store: {reason}")
    return service.add_measurement(
        db,
        actor=actor,
        session_id=session_id,
        measurement=MeasurementInput(
            "cadence", value=round(cadence, 1), goal_id=goal_id, measured_at=measured_at
        ),
    )


def store_gait_asymmetry(
    db: Session,
    *,
    actor: Therapist,
    session_id: int,
    analysis: GaitAnalysis,
    goal_id: int | None = None,
    measured_at: dt.datetime | None = None,
) -> Measurement | None:
    """Store the analysis' step-time asymmetry as a ``step_time_asymmetry`` measurement (%), or nothing
    (None) when no bout of 8 or more steps has its steps' sides known."""
    asymmetry = analysis.overall_step_time_asymmetry()
    if not np.isfinite(asymmetry):
        return None
    return service.add_measurement(
        db, actor=actor, session_id=session_id,
        measurement=MeasurementInput(STEP_TIME_ASYMMETRY.code, value=round(min(asymmetry * 100, 100.0), 1),
                                     goal_id=goal_id, measured_at=measured_at))


def latest_step_time_asymmetry(db: Session, *, actor: Therapist, client_id: int) -> Measurement | None:
    """The client's most recent ``step_time_asymmetry`` measurement, or None."""
    rows = service.list_measurements(db, actor=actor, client_id=client_id, instrument_code=STEP_TIME_ASYMMETRY.code)
    return rows[-1] if rows else None


def store_timed_walk(
    db: Session,
    *,
    actor: Therapist,
    session_id: int,
    duration_s: float,
    distance_m: float = TEN_METRE_WALK_TIMED_DISTANCE_M,
    goal_id: int | None = None,
    measured_at: dt.datetime | None = None,
) -> Measurement:
    """Store the speed of a timed walk as a ``gait_speed`` measurement, with the distance timed.

    ``distance_m`` is the distance the time was taken over: for the 10-metre walk test, the middle 6 m
    (:data:`cadenza.clinic.instruments.TEN_METRE_WALK_TIMED_DISTANCE_M`), not 10 m. It is stored with the
    speed (``timed_distance_m``), so every later reader sees both.
    """
    speed = gait_speed_m_s(distance_m, duration_s)
    return service.add_measurement(
        db,
        actor=actor,
        session_id=session_id,
        measurement=MeasurementInput("gait_speed", value=round(speed, 3), goal_id=goal_id, measured_at=measured_at,
                                     timed_distance_m=distance_m),
    )
