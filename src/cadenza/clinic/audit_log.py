"""The audit trail's read side for administrators: filter by user, client, action and date, newest
first, one keyset page at a time (walk-through missing feature 10: the trail was CLI-only).

Keyset paging (``before_id``): each page asks for rows with an id below the last one shown, so a page
costs the same at the millionth row as at the first and rows written meanwhile never shift a page.
Reading the trail is itself audited (``read`` of ``audit_event``), so who looked is on the trail too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadenza.clinic.accounts import check_admin
from cadenza.clinic.access import is_row_id
from cadenza.clinic.audit import audit
from cadenza.clinic.models import AuditEvent, Therapist
from cadenza.errors import ParameterError

DEFAULT_PAGE_ROWS = 50
MAX_PAGE_ROWS = 500


@dataclass(frozen=True)
class AuditFilter:
    """What to show; every field optional. ``until_date`` is inclusive (the whole day, UTC)."""

    username: str | None = None
    client_id: int | None = None
    action: str | None = None
    since_date: dt.date | None = None
    until_date: dt.date | None = None


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditEvent]
    next_before_id: int | None  # pass as before_id for the next (older) page; None on the last page


def _check(filters: AuditFilter, before_id: int | None, limit: int) -> None:
    if not isinstance(filters, AuditFilter):
        raise ParameterError(f"filters must be an AuditFilter, got {filters!r}")
    if filters.client_id is not None and not is_row_id(filters.client_id):
        raise ParameterError(f"client_id must be a positive integer id, got {filters.client_id!r}")
    if before_id is not None and not is_row_id(before_id):
        raise ParameterError(f"before_id must be a positive integer id, got {before_id!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_ROWS:
        raise ParameterError(f"limit must be 1-{MAX_PAGE_ROWS} rows, got {limit!r}")
    for name in ("username", "action"):
        value = getattr(filters, name)
        if value is not None and (not isinstance(value, str) or len(value) > 64 or "\x00" in value):
            raise ParameterError(f"{name} must be at most 64 characters of text, got {value!r}")
    for name in ("since_date", "until_date"):
        value = getattr(filters, name)
        if value is not None and (isinstance(value, dt.datetime) or not isinstance(value, dt.date)):
            raise ParameterError(f"{name} must be a date (YYYY-MM-DD), got {value!r}")
    if filters.since_date and filters.until_date and filters.since_date > filters.until_date:
        raise ParameterError(f"since_date {filters.since_date} is after until_date {filters.until_date}")


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def audit_page(db: Session, *, actor: Therapist | None, filters: AuditFilter = AuditFilter(),
               before_id: int | None = None, limit: int = DEFAULT_PAGE_ROWS) -> AuditPage:
    """One page of the trail, newest first (admins, or ``None`` for the local command line)."""
    check_admin(actor)
    _check(filters, before_id, limit)
    query = select(AuditEvent)
    if filters.username:
        query = query.where(AuditEvent.actor_username == filters.username.strip())
    if filters.client_id is not None:
        query = query.where(AuditEvent.client_id == filters.client_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action.strip())
    if filters.since_date:
        query = query.where(AuditEvent.at >= _day_start(filters.since_date))
    if filters.until_date:
        query = query.where(AuditEvent.at < _day_start(filters.until_date + dt.timedelta(days=1)))
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    rows = list(db.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    audit(db, actor, "read", "audit_event")
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(rows, rows[-1].id if more and rows else None)


def known_actions(db: Session, *, actor: Therapist | None) -> list[str]:
    """The actions that occur in the trail, for the filter's choices."""
    check_admin(actor)
    return sorted(db.scalars(select(AuditEvent.action).distinct()))
