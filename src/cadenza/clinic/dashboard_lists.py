"""The dashboard's lists as plain rows, in few statements (issue 23).

The dashboard computed afresh (after any change to the therapist's caseload) read its lists with one ORM
statement each (the client list, goals due, recent sessions, notes to sign, today's sessions, safety flags,
planned sessions) plus a relationship load per session list, building an ORM object per row and a new
statement per call. Here the same lists are read as plain rows of the columns the page shows, with
statements built once at import: the three session lists in one ``UNION ALL`` (each branch keeps its own
order and limit) and their interventions in one more. Each function returns what the ORM function it stands
for returns (:mod:`cadenza.clinic.dashboard`, :mod:`cadenza.clinic.schedule`), the same rows in the same
order, with light row objects in place of the ORM ones; removed sessions and measurements are left out as
the ORM leaves them out (``tests/clinic/test_dashboard_lists.py`` checks both against each other).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from cadenza.clinic import dashboard, service
from cadenza.clinic.accounts import check_actor
from cadenza.clinic.dashboard import FlaggedItem, GoalStatus, Page, RecentSession
from cadenza.clinic.models import Client, Goal, Measurement, SessionIntervention, Therapist, TherapySession
from cadenza.clinic.schedule import PlannedSession
from cadenza.errors import ParameterError, PermissionDeniedError

_CLIENT = Client.__table__
_SESSION = TherapySession.__table__
_THERAPIST = Therapist.__table__
_INTERVENTION = SessionIntervention.__table__
_MEASUREMENT = Measurement.__table__
_PLANNED = PlannedSession.__table__
_GOAL = Goal.__table__


@dataclass(frozen=True, slots=True)
class ClientLine:
    """A client as the dashboard's list shows it (and as the tools' ``overview_many`` read it)."""

    id: int
    therapist_id: int
    code: str
    birth_year: int | None
    conditions: list[str]
    safety_flags: list[str]
    status: str


@dataclass(frozen=True, slots=True)
class SessionLine:
    """A documented session as the dashboard's session lists show it: its columns, the username of the
    therapist who held it and its interventions as ``(code, minutes)`` in the order recorded."""

    id: int
    client_id: int
    therapist_id: int
    therapist_username: str
    session_date: dt.date
    minutes: int
    intervention_code: str
    signed_at: dt.datetime | None
    source: str
    interventions: tuple[tuple[str, int], ...] = ()

    # The model's own definitions, so the lists read a row exactly as they read a TherapySession.
    is_signed = TherapySession.is_signed
    is_client_recorded = TherapySession.is_client_recorded

    @property
    def intervention_minutes(self) -> list[tuple[str, int]]:
        """As :attr:`TherapySession.intervention_minutes`: a session stored without intervention rows reads as
        its one intervention for the whole session."""
        return list(self.interventions) or [(self.intervention_code, self.minutes)]


@dataclass(frozen=True, slots=True)
class GoalLine:
    """A goal as the dashboard's "goals due" shows it and its progress reads it (the columns of
    :class:`~cadenza.clinic.models.Goal` they use)."""

    id: int
    client_id: int
    instrument_code: str
    description: str
    baseline: float
    target: float
    direction: str
    target_date: dt.date | None


@dataclass(frozen=True, slots=True)
class MeasuredValue:
    """A measurement's value with what :func:`cadenza.clinic.service.counts_toward` reads of it."""

    client_id: int
    instrument_code: str
    goal_id: int | None
    value: float


@dataclass(frozen=True, slots=True)
class PlannedLine:
    """A booking as the dashboard shows it (the columns of :class:`~cadenza.clinic.schedule.PlannedSession`
    the page reads)."""

    id: int
    client_id: int
    planned_date: dt.date
    start_time: dt.time | None
    minutes: int
    purpose: str


@dataclass(frozen=True, slots=True)
class PlannedRow:
    planned: PlannedLine
    client_code: str


@dataclass(frozen=True)
class SessionLists:
    """The dashboard's three session lists: ``recent`` (newest first), ``unsigned`` (notes to sign, oldest
    first) and ``on_day`` (the day's sessions by client code)."""

    recent: list[RecentSession]
    unsigned: list[RecentSession]
    on_day: list[RecentSession]


def _check_actor(actor: Any) -> None:
    if not isinstance(actor, Therapist) or not actor.active:
        raise PermissionDeniedError(f"actor must be an active Therapist account, got {actor!r}")


# ---- the client list --------------------------------------------------------------------------------

_CLIENT_COLUMNS = (_CLIENT.c.id, _CLIENT.c.therapist_id, _CLIENT.c.code, _CLIENT.c.birth_year, _CLIENT.c.conditions,
                   _CLIENT.c.safety_flags, _CLIENT.c.status)


def _client_line(*columns: Any) -> ClientLine:
    return ClientLine(*columns)


def client_lines_page(db: Session, *, actor: Therapist, limit: int = dashboard.MAX_PAGE_SIZE,
                      after: str | None = None, before: str | None = None) -> Page:
    """:func:`cadenza.clinic.dashboard.clients_page` (keyset pages only) with :class:`ClientLine` items: the same
    page, cursors and total, and the same audit event."""
    _check_actor(actor)
    query = select(*_CLIENT_COLUMNS).where(_CLIENT.c.therapist_id == actor.id)
    page = dashboard.keyset_page(db, query, columns=(_CLIENT.c.code, _CLIENT.c.id), descending=False,
                                 kinds=("str", "int"), key_of=lambda c: (c.code, c.id), limit=limit, after=after,
                                 before=before, row_factory=_client_line)
    service.audit(db, actor, "list", "client")
    return page


def audit_client_lines_page(db: Session, *, actor: Therapist) -> None:
    """The audit event of :func:`client_lines_page`, for a view shown from a kept copy of its page."""
    _check_actor(actor)
    service.audit(db, actor, "list", "client")


def clients_of_lines(db: Session, lines: list[ClientLine]) -> list[Client]:
    """The ORM rows of the clients ``lines`` list (already authorised), in the same order: for a tool whose
    overview takes one :class:`~cadenza.clinic.models.Client` at a time."""
    by_id = {row.id: row for row in db.scalars(select(Client).where(Client.id.in_([line.id for line in lines])))}
    return [by_id[line.id] for line in lines]


# ---- the session lists: one statement for the three, one for their interventions -------------------------

_RECENT, _UNSIGNED, _ON_DAY = 0, 1, 2


def _session_branch(which: int, where: tuple, order: tuple, limit_name: str, *, numbered: bool):
    """One list's rows (limited, in its order) with its number; ``numbered``: with each row's place in the list
    (the day's list, ordered by client code in the database's collation; the other two are put back in order by
    their date and id, which is cheaper than numbering every session of the caseload)."""
    return select(
        literal(which, Integer).label("list"),
        (func.row_number().over(order_by=order) if numbered else literal(0, Integer)).label("place"),
        _SESSION.c.id, _SESSION.c.client_id, _SESSION.c.therapist_id, _SESSION.c.session_date, _SESSION.c.minutes,
        _SESSION.c.intervention_code, _SESSION.c.signed_at, _SESSION.c.source, _CLIENT.c.code,
    ).select_from(
        _SESSION.join(_CLIENT, _SESSION.c.client_id == _CLIENT.c.id)
    ).where(
        _CLIENT.c.therapist_id == bindparam("therapist_id"), _SESSION.c.source == "therapist",
        _SESSION.c.removed_at.is_(None), *where,
    ).order_by(*order).limit(bindparam(limit_name, type_=Integer)).subquery()


def _session_lists_statement():
    newest_first = (_SESSION.c.session_date.desc(), _SESSION.c.id.desc())
    branches = (
        _session_branch(_RECENT, (), newest_first, "recent_limit", numbered=False),
        _session_branch(_UNSIGNED, (_SESSION.c.signed_at.is_(None),), (_SESSION.c.session_date, _SESSION.c.id),
                        "unsigned_limit", numbered=False),
        _session_branch(_ON_DAY, (_SESSION.c.session_date == bindparam("day"),), (_CLIENT.c.code, _SESSION.c.id),
                        "day_limit", numbered=True),
    )
    every = union_all(*(select(branch) for branch in branches)).subquery()
    # Who held each listed session (the notes to co-sign name their author): joined to the few rows listed.
    return select(every, _THERAPIST.c.username).join(_THERAPIST, every.c.therapist_id == _THERAPIST.c.id)


_SESSION_LISTS = _session_lists_statement()
_INTERVENTIONS = (select(_INTERVENTION.c.session_id, _INTERVENTION.c.intervention_code, _INTERVENTION.c.minutes)
                  .where(_INTERVENTION.c.session_id.in_(bindparam("session_ids", expanding=True)))
                  .order_by(_INTERVENTION.c.session_id, _INTERVENTION.c.position))


def session_lists(db: Session, *, actor: Therapist, day: dt.date, recent_limit: int = 10, unsigned_limit: int = 20,
                  day_limit: int = dashboard.MAX_PAGE_SIZE) -> SessionLists:
    """What :func:`~cadenza.clinic.dashboard.recent_sessions`, :func:`~cadenza.clinic.dashboard.unsigned_sessions`
    and :func:`~cadenza.clinic.dashboard.sessions_on` return (the same sessions in the same order, each a
    :class:`SessionLine`), in two statements; audited like :func:`~cadenza.clinic.dashboard.recent_sessions`
    (the other two write no audit row of their own)."""
    for name, value in (("recent_limit", recent_limit), ("unsigned_limit", unsigned_limit), ("day_limit", day_limit)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= dashboard.MAX_PAGE_SIZE:
            raise ParameterError(f"{name} must be a whole number 1..{dashboard.MAX_PAGE_SIZE}, got {value!r}")
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise ParameterError(f"day must be a date, got {day!r}")
    _check_actor(actor)
    rows = db.execute(_SESSION_LISTS, {"therapist_id": actor.id, "day": day, "recent_limit": recent_limit,
                                       "unsigned_limit": unsigned_limit, "day_limit": day_limit}).all()
    service.audit(db, actor, "list", "therapy_session")
    interventions: dict[int, list[tuple[str, int]]] = {}
    if rows:
        for session_id, code, minutes in db.execute(_INTERVENTIONS, {"session_ids": sorted({r.id for r in rows})}):
            interventions.setdefault(session_id, []).append((code, minutes))
    lists: tuple[list[tuple[Any, RecentSession]], ...] = ([], [], [])
    for row in rows:
        line = SessionLine(row.id, row.client_id, row.therapist_id, row.username, row.session_date, row.minutes,
                           row.intervention_code, row.signed_at, row.source, tuple(interventions.get(row.id, ())))
        key = row.place if row.list == _ON_DAY else (row.session_date, row.id)  # (date, id) is unique
        lists[row.list].append((key, RecentSession(session=line, client_code=row.code)))  # type: ignore[arg-type]
    recent, unsigned, on_day = (sorted(found, key=lambda pair: pair[0], reverse=which == _RECENT)
                                for which, found in enumerate(lists))
    return SessionLists(recent=[r for _, r in recent], unsigned=[r for _, r in unsigned], on_day=[r for _, r in on_day])


# ---- goals due ----------------------------------------------------------------------------------------

_GOALS_DUE = (
    select(_GOAL.c.id, _GOAL.c.client_id, _GOAL.c.instrument_code, _GOAL.c.description, _GOAL.c.baseline,
           _GOAL.c.target, _GOAL.c.direction, _GOAL.c.target_date, _CLIENT.c.code)
    .select_from(_GOAL.join(_CLIENT, _GOAL.c.client_id == _CLIENT.c.id))
    .where(_CLIENT.c.therapist_id == bindparam("therapist_id"), _GOAL.c.removed_at.is_(None),
           _GOAL.c.target_date.is_not(None), _GOAL.c.target_date <= bindparam("last"))
    .order_by(_GOAL.c.target_date, _GOAL.c.id)
    .limit(bindparam("limit", type_=Integer))
)
_GOAL_VALUES = (
    select(_MEASUREMENT.c.client_id, _MEASUREMENT.c.instrument_code, _MEASUREMENT.c.goal_id, _MEASUREMENT.c.value)
    .select_from(_MEASUREMENT.join(_SESSION, _MEASUREMENT.c.session_id == _SESSION.c.id))
    .where(_MEASUREMENT.c.client_id.in_(bindparam("client_ids", expanding=True)),
           _MEASUREMENT.c.instrument_code.in_(bindparam("codes", expanding=True)),
           _MEASUREMENT.c.removed_at.is_(None), _SESSION.c.removed_at.is_(None))
    .order_by(_SESSION.c.session_date, _MEASUREMENT.c.measured_at.asc().nulls_first(), _MEASUREMENT.c.id)
)


def goals_due_lines(db: Session, *, actor: Therapist, today: dt.date, within_days: int = 14,
                    limit: int = 50) -> list[GoalStatus]:
    """:func:`cadenza.clinic.dashboard.goals_due` with a :class:`GoalLine` in each status: the same goals in the
    same order, the same progress, and the same audit event."""
    if isinstance(within_days, bool) or not isinstance(within_days, int) or not 0 <= within_days <= 366:
        raise ParameterError(f"within_days must be a whole number 0..366, got {within_days!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= dashboard.MAX_PAGE_SIZE:
        raise ParameterError(f"limit must be a whole number 1..{dashboard.MAX_PAGE_SIZE}, got {limit!r}")
    rows = db.execute(_GOALS_DUE, {"therapist_id": actor.id, "last": today + dt.timedelta(days=within_days),
                                   "limit": limit}).all()
    service.audit(db, actor, "list", "goal")
    if not rows:
        return []
    goals = [GoalLine(*row[:-1]) for row in rows]
    codes = {row.client_id: row.code for row in rows}
    values = [MeasuredValue(*row) for row in db.execute(_GOAL_VALUES, {
        "client_ids": sorted({goal.client_id for goal in goals}),
        "codes": sorted({goal.instrument_code for goal in goals})})]
    return [status for status in dashboard.goal_statuses(goals, values, codes) if not status.met]  # type: ignore[arg-type]


# ---- safety flags and planned sessions ------------------------------------------------------------------

_FLAGGED = (
    select(_CLIENT.c.id, _CLIENT.c.code, _SESSION.c.id, _SESSION.c.session_date, _MEASUREMENT.c.instrument_code)
    .select_from(_MEASUREMENT.join(_SESSION, _MEASUREMENT.c.session_id == _SESSION.c.id)
                 .join(_CLIENT, _SESSION.c.client_id == _CLIENT.c.id))
    .where(_CLIENT.c.therapist_id == bindparam("therapist_id"), _MEASUREMENT.c.safety_followup.is_(True),
           _MEASUREMENT.c.removed_at.is_(None), _SESSION.c.removed_at.is_(None),
           _SESSION.c.session_date >= bindparam("since"))
    .order_by(_SESSION.c.session_date.desc(), _SESSION.c.id.desc())
    .limit(bindparam("limit", type_=Integer))
)


def flagged_items(db: Session, *, actor: Therapist, today: dt.date, within_days: int = 14,
                  limit: int = 20) -> list[FlaggedItem]:
    """:func:`cadenza.clinic.dashboard.flagged_safety_items` from a statement built once (no audit row)."""
    if isinstance(within_days, bool) or not isinstance(within_days, int) or not 0 <= within_days <= 366:
        raise ParameterError(f"within_days must be a whole number 0..366, got {within_days!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= dashboard.MAX_PAGE_SIZE:
        raise ParameterError(f"limit must be a whole number 1..{dashboard.MAX_PAGE_SIZE}, got {limit!r}")
    rows = db.execute(_FLAGGED, {"therapist_id": actor.id, "since": today - dt.timedelta(days=within_days),
                                 "limit": limit})
    return [FlaggedItem(*row) for row in rows]


_UPCOMING = (
    select(_PLANNED.c.id, _PLANNED.c.client_id, _PLANNED.c.planned_date, _PLANNED.c.start_time, _PLANNED.c.minutes,
           _PLANNED.c.purpose, _CLIENT.c.code)
    .select_from(_PLANNED.join(_CLIENT, _PLANNED.c.client_id == _CLIENT.c.id))
    .where(_CLIENT.c.therapist_id == bindparam("therapist_id"), _PLANNED.c.session_id.is_(None),
           _PLANNED.c.cancelled_at.is_(None), _PLANNED.c.planned_date >= bindparam("first"),
           _PLANNED.c.planned_date <= bindparam("last"))
    .order_by(_PLANNED.c.planned_date, _PLANNED.c.start_time.asc().nulls_last(), _PLANNED.c.id)
    .limit(bindparam("limit", type_=Integer))
)


def upcoming_lines(db: Session, *, actor: Therapist, today: dt.date, days: int = 7,
                   limit: int = 100) -> list[PlannedRow]:
    """:func:`cadenza.clinic.schedule.upcoming` with :class:`PlannedLine` rows (no audit row)."""
    check_actor(actor)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 366:
        raise ParameterError(f"days must be a whole number 0..366, got {days!r}")
    rows = db.execute(_UPCOMING, {"therapist_id": actor.id, "first": today, "last": today + dt.timedelta(days=days),
                                  "limit": limit})
    return [PlannedRow(PlannedLine(*row[:-1]), row[-1]) for row in rows]
