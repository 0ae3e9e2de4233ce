"""Planned sessions: a session booked for today or a later date, before it is documented.

A documented session (:class:`~cadenza.clinic.models.TherapySession`) is recorded once it has taken
place, so its date is never in the future. What is booked ahead is a :class:`PlannedSession`: a client,
a date, an optional start time, the planned minutes and a short purpose. It carries no note and no
measurement, and is shown as *planned* on the dashboard until the session is recorded (it then links the
documented session) or cancelled. It is part of the client's record: audited like the rest, owned by the
client's therapist, read-only under an emergency grant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Time, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic.access import child_of, get_client_for_actor
from cadenza.clinic.accounts import check_actor
from cadenza.clinic.audit import audit
from cadenza.clinic.models import Base, Client, Therapist, TherapySession, utcnow
from cadenza.errors import ConflictError, ParameterError

MAX_PURPOSE_CHARS = 200
MAX_PLANNED_MINUTES = 600
MAX_DAYS_AHEAD = 366
# A clinic ahead of UTC (up to UTC+14) books "today" while UTC is still on yesterday.
PAST_GRACE = dt.timedelta(days=1)


class PlannedSession(Base):
    """A session booked for a date; ``session_id`` is set once it is documented."""

    __tablename__ = "planned_session"
    __table_args__ = (CheckConstraint("minutes > 0", name="minutes_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    planned_date: Mapped[dt.date] = mapped_column(Date, index=True)
    start_time: Mapped[dt.time | None] = mapped_column(Time, nullable=True)
    minutes: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(MAX_PURPOSE_CHARS), default="", server_default="")
    session_id: Mapped[int | None] = mapped_column(ForeignKey("therapy_session.id", ondelete="SET NULL"),
                                                   nullable=True)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def status(self) -> str:
        """``"planned"``, ``"documented"`` or ``"cancelled"``."""
        if self.cancelled_at is not None:
            return "cancelled"
        return "documented" if self.session_id is not None else "planned"


def _check_planned_date(planned_date: Any, today: dt.date) -> dt.date:
    if not isinstance(planned_date, dt.date) or isinstance(planned_date, dt.datetime):
        raise ParameterError(f"planned_date must be a date (YYYY-MM-DD), got {planned_date!r}")
    if planned_date < today - PAST_GRACE:
        raise ParameterError(f"planned_date {planned_date.isoformat()} is in the past; record a session that "
                             "took place with 'Record a session' instead")
    if planned_date > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise ParameterError(f"planned_date {planned_date.isoformat()} is more than {MAX_DAYS_AHEAD} days ahead")
    return planned_date


def plan_session(db: Session, *, actor: Therapist, client_id: int, planned_date: dt.date, minutes: int,
                 start_time: dt.time | None = None, purpose: str = "", today: dt.date | None = None) -> PlannedSession:
    """Book a session for ``client_id`` on ``planned_date`` (today up to a year ahead)."""
    today = today or utcnow().date()
    _check_planned_date(planned_date, today)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 < minutes <= MAX_PLANNED_MINUTES:
        raise ParameterError(f"minutes must be a whole number 1..{MAX_PLANNED_MINUTES}, got {minutes!r}")
    if start_time is not None and not isinstance(start_time, dt.time):
        raise ParameterError(f"start_time must be a time of day (HH:MM) or empty, got {start_time!r}")
    if not isinstance(purpose, str) or len(purpose.strip()) > MAX_PURPOSE_CHARS:
        raise ParameterError(f"purpose must be text of at most {MAX_PURPOSE_CHARS} characters, got {purpose!r}")
    client = get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    row = PlannedSession(client_id=client.id, therapist_id=actor.id, planned_date=planned_date, minutes=minutes,
                         start_time=start_time, purpose=purpose.strip())
    db.add(row)
    db.flush()
    audit(db, actor, "create", "planned_session", entity_id=row.id, client_id=client.id)
    return row


def cancel_planned(db: Session, *, actor: Therapist, client_id: int, planned_id: int) -> PlannedSession:
    """Cancel a booking that is not documented yet (it is kept, marked cancelled)."""
    client = get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    row = child_of(db, client, PlannedSession, planned_id, "planned session")
    if row.status != "planned":
        raise ConflictError(f"planned session {row.id} is already {row.status}")
    row.cancelled_at = utcnow()
    audit(db, actor, "update", "planned_session", entity_id=row.id, client_id=client.id)
    db.flush()
    return row


def mark_documented(db: Session, *, actor: Therapist, client: Client, planned_id: int,
                    session: TherapySession) -> PlannedSession:
    """Link a booking to the session that documents it (``client`` already authorised for update)."""
    row = child_of(db, client, PlannedSession, planned_id, "planned session")
    if session.client_id != client.id:
        raise ParameterError(f"session {session.id!r} is not a session of client {client.code!r}")
    if row.status != "planned":
        raise ConflictError(f"planned session {row.id} is already {row.status}")
    row.session_id = session.id
    audit(db, actor, "update", "planned_session", entity_id=row.id, client_id=client.id)
    db.flush()
    return row


def client_planned(db: Session, *, client: Client, today: dt.date | None = None) -> list[PlannedSession]:
    """``client``'s open bookings from yesterday on, soonest first (authorised by the caller)."""
    today = today or utcnow().date()
    return list(db.scalars(
        select(PlannedSession)
        .where(PlannedSession.client_id == client.id, PlannedSession.session_id.is_(None),
               PlannedSession.cancelled_at.is_(None), PlannedSession.planned_date >= today - PAST_GRACE)
        .order_by(PlannedSession.planned_date, PlannedSession.start_time.asc().nulls_last(), PlannedSession.id)))


@dataclass(frozen=True)
class PlannedRow:
    planned: PlannedSession
    client_code: str


def upcoming(db: Session, *, actor: Therapist, today: dt.date, days: int = 7, limit: int = 100) -> list[PlannedRow]:
    """The actor's open bookings from ``today`` to ``today + days``, soonest first (no audit row: the
    dashboard that shows them audits its client list)."""
    check_actor(actor)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS_AHEAD:
        raise ParameterError(f"days must be a whole number 0..{MAX_DAYS_AHEAD}, got {days!r}")
    rows = db.execute(
        select(PlannedSession, Client.code)
        .join(Client, PlannedSession.client_id == Client.id)
        .where(Client.therapist_id == actor.id, PlannedSession.session_id.is_(None),
               PlannedSession.cancelled_at.is_(None), PlannedSession.planned_date >= today,
               PlannedSession.planned_date <= today + dt.timedelta(days=days))
        .order_by(PlannedSession.planned_date, PlannedSession.start_time.asc().nulls_last(), PlannedSession.id)
        .limit(limit)).all()
    return [PlannedRow(row[0], row[1]) for row in rows]
