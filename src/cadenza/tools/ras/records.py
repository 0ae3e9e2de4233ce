"""RAS in the clinical record: stored session plans per client, and synchronisation figures as measurements.

Services follow ``docs/clinic_api.md``: session first, ``actor=`` keyword, flush but never commit, one
authorisation check (``get_client_for_actor`` / the session service) that also audits. A plan is kept
whole (stages, figures with their evidence, warnings) so what the therapist saw is what is on record;
synchronisation outcomes go in as measurements on the therapy session so progress charts, goals and
the FHIR export see them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic import corrections, service
from cadenza.clinic.access import child_of
from cadenza.clinic.instruments import Instrument, register_instrument
from cadenza.clinic.models import Base, Client, Measurement, Removable, Therapist, utcnow
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import NotFoundError, ParameterError
from cadenza.ras.plan import CONDITIONS, RasPlan, plan_ras_sessions
from cadenza.ras.sync import SyncReport

RAS_SYNC_R = register_instrument(Instrument(
    code="ras_sync_r", name="RAS step-beat synchronisation (resultant vector length R)", unit="1", minimum=0,
    maximum=1, better="increase", source="cadenza.ras.sync; circular statistics of relative phase"))
RAS_MEAN_ASYNCHRONY_MS = register_instrument(Instrument(
    code="ras_mean_asynchrony_ms", name="RAS mean step-beat asynchrony (negative = step before beat)", unit="ms",
    minimum=-1000, maximum=1000, better=None, source="cadenza.ras.sync; latency-corrected"))
RAS_STEPS_IN_WINDOW_PCT = register_instrument(Instrument(
    code="ras_steps_in_window_pct", name="RAS steps within +-window of the beat", unit="%", minimum=0, maximum=100,
    better="increase", source="cadenza.ras.sync"))
RAS_STEPS_LOCKED_PCT = register_instrument(Instrument(
    code="ras_steps_locked_pct", name="RAS steps in locked segments", unit="%", minimum=0, maximum=100,
    better="increase", source="cadenza.ras.sync (local R >= 0.9 over 8 steps, mean asynchrony within window)"))


class RasPlanRecord(Removable, Base):
    """A RAS session plan as given to the client (the full plan is kept as JSON)."""

    __tablename__ = "ras_plan"
    __table_args__ = (
        CheckConstraint("condition IN ('parkinsons', 'stroke', 'other')", name="condition"),
        CheckConstraint("baseline_cadence_spm > 0", name="baseline_cadence_spm"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("therapist.id", ondelete="SET NULL"), nullable=True)
    condition: Mapped[str] = mapped_column(String(20))
    baseline_cadence_spm: Mapped[float] = mapped_column(Float)
    session_minutes: Mapped[int] = mapped_column(Integer)
    sessions_per_week: Mapped[int] = mapped_column(Integer)
    max_increase_percent: Mapped[float] = mapped_column(Float)
    override_used: Mapped[bool] = mapped_column(Boolean, default=False)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Who removed it (clinic.corrections), without a foreign key: SQLite can drop a plain column again when
    # 0024_admin_corrections is downgraded, and record_change keeps the remover's name anyway.
    removed_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


def store_ras_plan(db: Session, *, actor: Therapist, client_id: int, plan: RasPlan) -> RasPlanRecord:
    """Keep ``plan`` on the client's record."""
    if not isinstance(plan, RasPlan):
        raise ParameterError(f"plan must be a RasPlan (from cadenza.ras.plan), got {type(plan).__name__}")
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    row = RasPlanRecord(client_id=client.id, therapist_id=actor.id, condition=plan.condition,
                        baseline_cadence_spm=plan.baseline_cadence_spm, session_minutes=plan.session_minutes,
                        sessions_per_week=plan.sessions_per_week, max_increase_percent=plan.max_increase_percent,
                        override_used=plan.override_used, plan=_plain(plan.to_dict()), created_at=utcnow())
    db.add(row)
    db.flush()
    service.audit(db, actor, "create", "ras_plan", entity_id=row.id, client_id=client.id)
    return row


def list_ras_plans(db: Session, *, actor: Therapist, client_id: int) -> list[RasPlanRecord]:
    """A client's stored plans, newest first."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    return list(db.scalars(select(RasPlanRecord).where(RasPlanRecord.client_id == client.id)
                           .order_by(RasPlanRecord.created_at.desc(), RasPlanRecord.id.desc())))


def get_ras_plan(db: Session, *, actor: Therapist, client_id: int, plan_id: int) -> RasPlanRecord:
    """One stored plan of the client (NotFoundError for a missing plan or another therapist's client)."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    return child_of(db, client, RasPlanRecord, plan_id, "RAS plan")


def remove_ras_plan(db: Session, *, actor: Therapist, plan_id: int, reason: str,
                    client_id: int | None = None) -> RasPlanRecord:
    """Remove a plan made in error (kept with the reason, restorable; :mod:`cadenza.clinic.corrections`)."""
    return corrections.remove_row(db, actor=actor, model=RasPlanRecord, row_id=plan_id, entity="ras_plan",
                                  what="RAS plan", reason=reason, client_id=client_id)


def restore_ras_plan(db: Session, *, actor: Therapist, plan_id: int, reason: str = "",
                     client_id: int | None = None) -> RasPlanRecord:
    return corrections.restore_row(db, actor=actor, model=RasPlanRecord, row_id=plan_id, entity="ras_plan",
                                   what="RAS plan", reason=reason, client_id=client_id)


def removed_ras_plans(db: Session, *, client: Client) -> list[RasPlanRecord]:
    """``client``'s removed plans (authorised by the caller), newest removal first."""
    return corrections.removed_rows(db, client=client, model=RasPlanRecord)


def plan_tempo_knots(row: RasPlanRecord) -> tuple[np.ndarray, np.ndarray]:
    """(knot_times_s, knot_tempi_bpm) of a stored plan's stages, for the cue renderer."""
    times, tempi = [], []
    for stage in row.plan["stages"]:
        start_s = float(stage["start_min"]) * 60
        times += [start_s, start_s + float(stage["duration_min"]) * 60]
        tempi += [float(stage["tempo_bpm"])] * 2
    return np.asarray(times), np.asarray(tempi)


def latest_cadence_spm(db: Session, *, actor: Therapist, client_id: int) -> float | None:
    """The client's most recent ``cadence`` measurement (steps/min), or None."""
    rows = service.list_measurements(db, actor=actor, client_id=client_id, instrument_code="cadence")
    return float(rows[-1].value) if rows and rows[-1].value is not None else None


def plan_from_latest_cadence(db: Session, *, actor: Therapist, client_id: int, condition: str | None = None,
                             **options: Any) -> RasPlan:
    """A plan from the client's latest measured cadence; the condition defaults from the client record."""
    cadence = latest_cadence_spm(db, actor=actor, client_id=client_id)
    if cadence is None:
        raise ParameterError(f"client {client_id!r} has no cadence measurement yet; measure gait or enter a cadence")
    if condition is None:
        client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
        known = " ".join(client.conditions or []).lower()
        condition = "parkinsons" if "parkinson" in known else "stroke" if "stroke" in known else "other"
    if condition not in CONDITIONS:
        raise ParameterError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    return plan_ras_sessions(cadence, condition=condition, **options)


def store_sync_measurements(
    db: Session, *, actor: Therapist, session_id: int, report: SyncReport, goal_id: int | None = None,
) -> list[Measurement]:
    """Store R, mean asynchrony, % of steps within the window and % locked on a therapy session.

    A report with fewer than 8 steps inside the cue stores nothing (a ParameterError says why).
    """
    if not isinstance(report, SyncReport):
        raise ParameterError(f"report must be a SyncReport, got {type(report).__name__}")
    summary = report.summary()
    if summary["n_steps_in_cue"] < 8:
        raise ParameterError(
            f"only {int(summary['n_steps_in_cue'])} steps fall inside the cue; at least 8 are needed to store figures"
        )
    values = {
        RAS_SYNC_R.code: round(summary["resultant_length"], 3),
        RAS_MEAN_ASYNCHRONY_MS.code: round(summary["mean_asynchrony_ms"], 1),
        RAS_STEPS_IN_WINDOW_PCT.code: round(summary["percent_within_window"], 1),
        RAS_STEPS_LOCKED_PCT.code: round(summary["percent_steps_locked"], 1),
    }
    stored = []
    for code, value in values.items():
        if not np.isfinite(value):
            continue
        stored.append(service.add_measurement(
            db, actor=actor, session_id=session_id,
            measurement=MeasurementInput(code, value=float(value), goal_id=goal_id if code == RAS_SYNC_R.code else None)))
    return stored


def record_sync_analysis(
    db: Session, *, actor: Therapist, client_id: int, report: SyncReport, session_id: int | None = None,
) -> list[Measurement]:
    """Audit a synchronisation analysis of the client's walk and, with ``session_id`` (one of this
    client's sessions), store its figures there. Returns the stored measurements (none without a session)."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id, action="create")
    service.audit(db, actor, "create", "ras_sync_report", client_id=client.id)
    if session_id is None:
        return []
    session_row = service.get_session(db, actor=actor, session_id=session_id)
    if session_row.client_id != client.id:
        raise NotFoundError(f"session {session_id!r} not found for client {client_id!r}")
    return store_sync_measurements(db, actor=actor, session_id=session_id, report=report)


def _plain(value: Any) -> Any:
    """JSON-safe copy (tuples to lists, numpy scalars to Python)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
