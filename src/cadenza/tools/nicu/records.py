"""Storage for the NICU tool: each infant's stop-rule thresholds, the stop-rule decisions and PAL session
summaries. Services follow ``docs/clinic_api.md``: session first, ``actor=`` keyword, flush but never
commit, one authorisation check (``get_client_for_actor``) that also audits; the ``client_*`` readers
take a client the caller has already authorised (no audit row of their own), for a page that reads its
client once.

Stop-rule thresholds and PAL sessions are for clients with the ``nicu_infant`` flag only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sqlalchemy import (JSON, Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint,
                        select)
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic import access, listening, service
from cadenza.clinic.audit import audit
from cadenza.clinic.instruments import Instrument, register_instrument
from cadenza.clinic.models import Base, Client, Therapist, TherapySession, utcnow
from cadenza.errors import ParameterError
from cadenza.nicu.age import InfantAge
from cadenza.nicu.pal import PalSummary
from cadenza.nicu.stop_rules import InfantThresholds, StopEvent

STOP_ACTIONS = ("start", "pause", "resume", "stop")

PAL_SUCKS_PER_MIN = register_instrument(Instrument(
    code="pal_sucks_per_min", name="PAL criterion sucks per minute", unit="/min", minimum=0, maximum=200,
    better="increase", source="cadenza.nicu.pal; local code (Standley 2000 PAL design)"))


class InfantThreshold(Base):
    """The stop-rule thresholds a clinician set for one infant (one row per client, replaced on change)."""

    __tablename__ = "infant_threshold"
    __table_args__ = (UniqueConstraint("client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NicuStopLog(Base):
    """One decision of the infant-led stop rules (start, pause, resume, stop) and why."""

    __tablename__ = "nicu_stop_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("therapy_session.id", ondelete="SET NULL"))
    run_started_at: Mapped[dt.datetime] = mapped_column()
    time_s: Mapped[float] = mapped_column(Float)
    action: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)


class PalSessionSummary(Base):
    """What one pacifier-activated-lullaby session did."""

    __tablename__ = "pal_session_summary"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("therapy_session.id", ondelete="SET NULL"))
    started_at: Mapped[dt.datetime] = mapped_column()
    duration_s: Mapped[float] = mapped_column(Float)
    sucks: Mapped[int] = mapped_column(Integer)
    criterion_sucks: Mapped[int] = mapped_column(Integer)
    sucks_per_minute: Mapped[list[str]] = mapped_column(JSON, default=list)
    criterion_sucks_per_minute: Mapped[list[str]] = mapped_column(JSON, default=list)
    playback_s: Mapped[float] = mapped_column(Float)
    start_criterion_mmhg: Mapped[float] = mapped_column(Float)
    end_criterion_mmhg: Mapped[float] = mapped_column(Float)
    stopped_early: Mapped[bool] = mapped_column(Boolean, default=False)
    stop_reason: Mapped[str | None] = mapped_column(Text)
    pma_days: Mapped[int | None] = mapped_column(Integer)  # postmenstrual age on the day, if recorded (M1)
    age_override_reason: Mapped[str | None] = mapped_column(Text)  # a clinician's reason for PAL below 34 weeks


class InfantAgeRecord(Base):
    """An NICU infant's gestational age at birth and postmenstrual age on a date, in days (review M1)."""

    __tablename__ = "infant_age"
    __table_args__ = (
        UniqueConstraint("client_id"),
        CheckConstraint("gestational_age_at_birth_days BETWEEN 154 AND 315", name="gestational_age_at_birth_days"),
        CheckConstraint("postmenstrual_age_days >= gestational_age_at_birth_days AND postmenstrual_age_days <= 420",
                        name="postmenstrual_age_days"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    gestational_age_at_birth_days: Mapped[int] = mapped_column(Integer)
    postmenstrual_age_days: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("therapist.id", ondelete="SET NULL"))
    set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def as_age(self) -> InfantAge:
        return InfantAge(self.gestational_age_at_birth_days, self.postmenstrual_age_days, self.assessed_on)


def _session_of(db: Session, client: Client, session_id: int | None) -> int | None:
    if session_id is None:
        return None
    return access.child_of(db, client, TherapySession, session_id, "session").id


def _require_nicu(client: Client, what: str) -> None:
    if not listening.policy_of(client).nicu_limits:
        raise ParameterError(f"client {client.code!r} has no nicu_infant flag; {what} are for NICU infants")


# --- stop-rule thresholds ----------------------------------------------------------------------------


def set_infant_thresholds(db: Session, *, actor: Therapist, client_id: int,
                          thresholds: InfantThresholds) -> InfantThreshold:
    """Store the clinician's stop-rule thresholds for an NICU infant (replacing earlier ones)."""
    if not isinstance(thresholds, InfantThresholds):
        raise ParameterError(f"thresholds must be InfantThresholds, got {thresholds!r}")
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id)
    _require_nicu(client, "stop-rule thresholds")
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(thresholds).items()}
    row = db.scalar(select(InfantThreshold).where(InfantThreshold.client_id == client.id))
    if row is None:
        row = InfantThreshold(client_id=client.id)
        db.add(row)
    row.settings, row.set_at = settings, utcnow()
    db.flush()
    audit(db, actor, "update", "infant_threshold", entity_id=row.id, client_id=client.id)
    return row


def get_infant_thresholds(db: Session, *, actor: Therapist, client_id: int) -> InfantThresholds | None:
    """The stored thresholds, or None if the clinician has not set any (callers then say so)."""
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id)
    return client_thresholds(db, client=client)


def client_thresholds(db: Session, *, client: Client) -> InfantThresholds | None:
    """:func:`get_infant_thresholds` of a client already authorised by the caller."""
    row = db.scalar(select(InfantThreshold).where(InfantThreshold.client_id == client.id))
    if row is None:
        return None
    settings = dict(row.settings)
    settings["monitored"] = tuple(settings.get("monitored", ()))
    return InfantThresholds(**settings)


# --- gestational and postmenstrual age ---------------------------------------------------------------


def set_infant_age(db: Session, *, actor: Therapist, client_id: int, age: InfantAge) -> InfantAgeRecord:
    """Store the infant's GA at birth and PMA on a date (replacing an earlier record); NICU infants only."""
    if not isinstance(age, InfantAge):
        raise ParameterError(f"age must be an InfantAge, got {age!r}")
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    _require_nicu(client, "gestational and postmenstrual ages")
    row = db.scalar(select(InfantAgeRecord).where(InfantAgeRecord.client_id == client.id))
    if row is None:
        row = InfantAgeRecord(client_id=client.id)
        db.add(row)
    row.gestational_age_at_birth_days = age.gestational_age_at_birth_days
    row.postmenstrual_age_days = age.postmenstrual_age_days
    row.assessed_on, row.set_by_id, row.set_at = age.assessed_on, actor.id, utcnow()
    db.flush()
    audit(db, actor, "update", "infant_age", entity_id=row.id, client_id=client.id)
    return row


def client_infant_age(db: Session, *, client: Client) -> InfantAge | None:
    """The infant's recorded age (client already authorised by the caller), or None."""
    row = db.scalar(select(InfantAgeRecord).where(InfantAgeRecord.client_id == client.id))
    return row.as_age() if row is not None else None


# --- stop-rule decisions -----------------------------------------------------------------------------


def log_stop_events(db: Session, *, actor: Therapist, client_id: int, events: Iterable[StopEvent],
                    run_started_at: dt.datetime | None = None, session_id: int | None = None) -> list[NicuStopLog]:
    """Keep one run of the stop rules (its decisions and why) in the client's stop log; with
    ``session_id`` (a session of this client) the run is linked to that session."""
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    sid = _session_of(db, client, session_id)
    started = listening.aware(run_started_at, "run_started_at")
    rows = []
    for e in events:
        if e.action not in STOP_ACTIONS:
            raise ParameterError(f"stop event action must be one of {STOP_ACTIONS}, got {e.action!r}")
        rows.append(NicuStopLog(client_id=client.id, session_id=sid, run_started_at=started, time_s=float(e.time_s),
                                action=e.action, reasons=list(e.reasons)))
    db.add_all(rows)
    db.flush()
    audit(db, actor, "create", "nicu_stop_log", client_id=client.id)
    return rows


def list_stop_events(db: Session, *, actor: Therapist, client_id: int) -> list[NicuStopLog]:
    """The client's stop log, oldest run first."""
    return client_stop_events(db, client=access.get_client_for_actor(db, actor=actor, client_id=client_id))


def client_stop_events(db: Session, *, client: Client) -> list[NicuStopLog]:
    """:func:`list_stop_events` of a client already authorised by the caller."""
    return list(db.scalars(select(NicuStopLog).where(NicuStopLog.client_id == client.id)
                           .order_by(NicuStopLog.run_started_at, NicuStopLog.time_s, NicuStopLog.id)))


# --- PAL sessions ------------------------------------------------------------------------------------


def record_pal_summary(db: Session, *, actor: Therapist, client_id: int, summary: PalSummary,
                       started_at: dt.datetime | None = None, session_id: int | None = None,
                       pma_days: int | None = None, age_override_reason: str | None = None) -> PalSessionSummary:
    """Store a PAL session; with ``session_id`` its criterion sucks per minute also become a measurement.
    ``pma_days`` and ``age_override_reason`` record the infant's age that day and a clinician's override
    (the age gate itself is :func:`cadenza.tools.nicu.actions.record_pal`'s)."""
    if not isinstance(summary, PalSummary):
        raise ParameterError(f"summary must be a PalSummary, got {summary!r}")
    client = access.get_client_for_actor(db, actor=actor, client_id=client_id)
    _require_nicu(client, "PAL sessions")
    sid = _session_of(db, client, session_id)
    row = PalSessionSummary(
        client_id=client.id, session_id=sid, started_at=listening.aware(started_at, "started_at"),
        duration_s=summary.duration_s, sucks=summary.sucks, criterion_sucks=summary.criterion_sucks,
        sucks_per_minute=list(summary.sucks_per_minute),
        criterion_sucks_per_minute=list(summary.criterion_sucks_per_minute), playback_s=summary.playback_s,
        start_criterion_mmhg=summary.start_criterion_mmhg, end_criterion_mmhg=summary.end_criterion_mmhg,
        stopped_early=summary.stopped_early, stop_reason=summary.stop_reason, pma_days=pma_days,
        age_override_reason=age_override_reason)
    db.add(row)
    db.flush()
    audit(db, actor, "create", "pal_session_summary", entity_id=row.id, client_id=client.id)
    if age_override_reason:
        audit(db, actor, "override", "pal_age_gate", entity_id=row.id, client_id=client.id)
    if sid is not None and summary.duration_s > 0:
        rate = summary.criterion_sucks / (summary.duration_s / 60.0)
        service.add_measurement(db, actor=actor, session_id=sid, measurement=service.MeasurementInput(
            PAL_SUCKS_PER_MIN.code, value=round(rate, 2)))
    return row


def list_pal_summaries(db: Session, *, actor: Therapist, client_id: int) -> list[PalSessionSummary]:
    """The client's PAL sessions, oldest first."""
    return client_pal_summaries(db, client=access.get_client_for_actor(db, actor=actor, client_id=client_id))


def client_pal_summaries(db: Session, *, client: Client) -> list[PalSessionSummary]:
    """:func:`list_pal_summaries` of a client already authorised by the caller."""
    return list(db.scalars(select(PalSessionSummary).where(PalSessionSummary.client_id == client.id)
                           .order_by(PalSessionSummary.started_at)))
