"""The gait tool's records: cadence, step-time asymmetry, gait speed, stride-time variability and swing
asymmetry as measurements on a session.

No tables of its own: a gait analysis becomes ``cadence`` ({steps}/min) and, when the sides of the steps
are known, ``step_time_asymmetry`` (%) measurements; a timed walk becomes ``gait_speed`` (m/s); a
force-insole walk ``stride_time_cv`` and ``swing_asymmetry`` (%). They go through the clinic service, so
progress charts, goals and the FHIR export see them like any other outcome. Step-time asymmetry is what a
stroke RAS plan checks before it raises the cue above +5 % (clinical review M5, W12).
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
from cadenza.gait.insole import InsoleGait

_WALKING_AGE_NOTE = "project convention: a gait measure needs someone who walks, not an infant"

# Both lower is better; both need steady walking (the insole analysis flags too few strides).
STRIDE_TIME_CV = Instrument(
    code="stride_time_cv", name="Stride-time variability (CV)", unit="%", minimum=0, maximum=100,
    better="decrease", min_age_years=1, age_note=_WALKING_AGE_NOTE,
    source="SD / mean of steady stride times (0.5-1.5x the median), per foot, averaged over the feet; higher in "
           "Parkinson's disease than in healthy older adults (Hausdorff et al. 1998, Mov Disord 13:428); local code",
)
SWING_ASYMMETRY = Instrument(
    code="swing_asymmetry", name="Swing-time asymmetry", unit="%", minimum=0, maximum=200,
    better="decrease", min_age_years=1, age_note=_WALKING_AGE_NOTE,
    source="100 x |ln(mean right swing / mean left swing)| (Yogev et al. 2007, Exp Brain Res 177:336): higher in "
           "Parkinson's disease and in elderly fallers than in healthy older adults; local code",
)


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


def store_insole_measures(
    db: Session,
    *,
    actor: Therapist,
    session_id: int,
    gait: InsoleGait,
    goal_ids: dict[str, int] | None = None,
    client_id: int | None = None,
) -> list[Measurement]:
    """Store the walk's stride-time CV and swing asymmetry (%) as measurements on the session.

    ``goal_ids`` links a measurement to a goal by instrument code. A measure the walk could not give
    (fewer than 5 steady strides per foot: see ``gait.flags``) is not stored; with neither, a
    ParameterError says why and nothing is stored.
    """
    if client_id is not None:
        _check_session_client(db, actor, session_id, client_id)
    values = [(STRIDE_TIME_CV.code, gait.stride_time_cv_pct), (SWING_ASYMMETRY.code, gait.swing_asymmetry_pct)]
    values = [(code, round(float(v), 2)) for code, v in values if np.isfinite(v)]
    if not values:
        raise ParameterError("the walk has no stride-time CV or swing asymmetry to store: "
                             + ("; ".join(gait.notes) or "too few steady strides"))
    goal_ids = goal_ids or {}
    unknown = set(goal_ids) - {STRIDE_TIME_CV.code, SWING_ASYMMETRY.code}
    if unknown:
        raise ParameterError(f"goal_ids names {sorted(unknown)!r}; only stride_time_cv and swing_asymmetry are stored")
    return [
        service.add_measurement(db, actor=actor, session_id=session_id,
                                measurement=MeasurementInput(code, value=value, goal_id=goal_ids.get(code)))
        for code, value in values
    ]
