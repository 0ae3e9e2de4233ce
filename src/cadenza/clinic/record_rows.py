"""A client's sessions and measurements as plain rows, for the read-only lists (issue 23).

The API's session and measurement lists and the client page's history show rows exactly as stored: no ORM
object is built for them, no relationship loader runs, and every statement is the same from one request to the
next (a page's child rows are selected by the page's own query or key range as a subquery, never by a list of
ids bound one by one; the hot statements are built once with bound parameters), so each is compiled once per
process. The API lists' items are dicts of the row's columns (the removal bookkeeping left out: removed rows are
not listed); the history's are :class:`SessionRow` and :class:`MeasurementRow`, which read like the models.
Authorisation and audit are those of the ORM pages in :mod:`cadenza.clinic.dashboard`:
:func:`cadenza.clinic.service.get_client_for_actor`, one ``read`` of the client (the history's caller has done it).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Date, Integer, Select, String, and_, bindparam, func, or_, select, tuple_
from sqlalchemy.orm import Session

from cadenza.clinic import service
from cadenza.clinic.paging import MAX_PAGE_SIZE, Page, _check_limit, _check_offset, decode_cursor, encode_cursor
from cadenza.clinic.models import Measurement, SessionAddendum, SessionIntervention, Therapist, TherapySession
from cadenza.errors import ParameterError

_SESSIONS = TherapySession.__table__
_MEASUREMENTS = Measurement.__table__
_ADDENDA = SessionAddendum.__table__
_INTERVENTIONS = SessionIntervention.__table__
_REMOVAL = frozenset({"removed_at", "removed_by_id", "removed_reason"})


def _shown(table) -> list:
    return [column for column in table.c if column.name not in _REMOVAL]


_SESSION_COLUMNS = _shown(_SESSIONS)
_MEASUREMENT_COLUMNS = _shown(_MEASUREMENTS)
_SESSION_KEY = (_SESSIONS.c.session_date, _SESSIONS.c.id)
# The hot statements are built once with these parameters (building and keying a statement costs about as much
# as running a small one).
_CLIENT_ID = bindparam("client_id", type_=Integer)
_LIMIT = bindparam("limit", type_=Integer)
_OFFSET = bindparam("offset", type_=Integer)


def _dicts(db: Session, statement: Select, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    result = db.execute(statement, params)
    names = list(result.keys())
    return [dict(zip(names, row, strict=True)) for row in result.all()]  # all(): one fetch, not one per row


def _count(db: Session, statement: Select, params: dict[str, Any] | None = None) -> int:
    return int(db.scalar(select(func.count()).select_from(statement.order_by(None).subquery()), params) or 0)


_KEPT_SESSIONS = (_SESSIONS.c.client_id == _CLIENT_ID, _SESSIONS.c.removed_at.is_(None))
_LISTED = select(*_SESSION_COLUMNS).where(*_KEPT_SESSIONS)
_AFTER_KEY = tuple_(*_SESSION_KEY) > tuple_(bindparam("after_date", type_=Date), bindparam("after_id", type_=Integer))


def _children(*beyond) -> tuple[tuple[str, Select], ...]:
    """Per child list, the statement selecting the children of a page of sessions (the page's own query as a
    subquery: one statement per child table whatever the page's size)."""
    page_ids = select(_SESSIONS.c.id).where(*_KEPT_SESSIONS, *beyond).order_by(*_SESSION_KEY).limit(_LIMIT)
    return (
        ("measurements", select(*_MEASUREMENT_COLUMNS).where(_MEASUREMENTS.c.removed_at.is_(None),
                                                             _MEASUREMENTS.c.session_id.in_(page_ids))
         .order_by(_MEASUREMENTS.c.id)),
        ("addenda", select(_ADDENDA).where(_ADDENDA.c.session_id.in_(page_ids)).order_by(_ADDENDA.c.id)),
        ("interventions", select(_INTERVENTIONS).where(_INTERVENTIONS.c.session_id.in_(page_ids))
         .order_by(_INTERVENTIONS.c.position)),
    )


_FIRST_PAGE = _LISTED.add_columns(func.count().over().label("_total")).order_by(*_SESSION_KEY).limit(_LIMIT)
_FIRST_PAGE_CHILDREN = _children()
_PAGE_AFTER = _LISTED.where(_AFTER_KEY).order_by(*_SESSION_KEY).limit(_LIMIT)
_PAGE_AFTER_CHILDREN = _children(_AFTER_KEY)


def session_rows_page(db: Session, *, actor: Therapist, client_id: int, limit: int = MAX_PAGE_SIZE,
                      after: str | None = None) -> Page:
    """A client's sessions in date order, one keyset page (``after``: the cursor of the page before), as
    :func:`cadenza.clinic.dashboard.sessions_page` lists them, each a dict of the session's columns with
    ``measurements``, ``addenda`` and ``interventions`` lists of dicts in the order the ORM relationships load
    them (by id, by id, by position). Four statements: the page with its total, then one per child table."""
    _check_limit(limit)
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    bound: dict[str, Any] = {"client_id": client.id, "limit": limit}
    if after is None:
        rows = _dicts(db, _FIRST_PAGE, bound)
        total, position = (int(rows[0]["_total"]) if rows else 0), 0
        for row in rows:
            del row["_total"]
        children = _FIRST_PAGE_CHILDREN
    else:
        bound["after_date"], bound["after_id"] = decode_cursor(after, kinds=("date", "int"))
        rows = _dicts(db, _PAGE_AFTER, bound)
        total = _count(db, _LISTED, bound)
        position = (_count(db, _LISTED.where(tuple_(*_SESSION_KEY) < tuple_(rows[0]["session_date"], rows[0]["id"])),
                           bound) if rows else total)
        children = _PAGE_AFTER_CHILDREN
    if rows:
        for name, statement in children:
            by_session = _by_session(_dicts(db, statement, bound))
            for row in rows:
                row[name] = by_session.get(row["id"], [])
    more = position + len(rows) < total
    return Page(items=rows, total=total, limit=limit, offset=position,
                next_after=encode_cursor((rows[-1]["session_date"], rows[-1]["id"])) if rows and more else None,
                prev_before=encode_cursor((rows[0]["session_date"], rows[0]["id"])) if rows and position > 0 else None)


def _by_session(rows: Iterable[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["session_id"], []).append(row)
    return grouped


def measurement_rows_page(db: Session, *, actor: Therapist, client_id: int, instrument_code: str | None = None,
                          goal_id: int | None = None, limit: int = MAX_PAGE_SIZE, offset: int = 0,
                          after: str | None = None) -> Page:
    """:func:`cadenza.clinic.dashboard.measurements_page` as plain rows: the same page, total, position and
    cursors, each item a dict of the measurement's columns and its session's ``session_date`` (the first
    column of the sort key: the cursor needs no second read of the session)."""
    _check_limit(limit)
    _check_offset(offset)
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    query = _measurement_list(instrument_code is not None, goal_id is not None)
    bound = {"client_id": client.id, "instrument_code": instrument_code, "goal_id": goal_id, "limit": limit,
             "offset": offset}
    if after is None:
        rows = _dicts(db, _first_measurements(instrument_code is not None, goal_id is not None), bound)
        total = int(rows[0]["_total"]) if rows else _count(db, query, bound)  # past the end: no row has the count
        for row in rows:
            del row["_total"]
        before = 0
    else:
        total = _count(db, query, bound)
        query = query.where(_after_measurement(decode_cursor(after, kinds=("date", "datetime?", "int"))))
        before = total - _count(db, query, bound)
        rows = _dicts(db, query.limit(_LIMIT).offset(_OFFSET), bound)
    more = before + offset + len(rows) < total
    last = rows[-1] if rows else None
    return Page(items=rows, total=total, limit=limit, offset=before + offset,
                next_after=encode_cursor((last["session_date"], last["measured_at"], last["id"])) if last and more
                else None)


@functools.cache
def _measurement_list(by_instrument: bool, by_goal: bool) -> Select:
    """A client's measurements in the order taken (bound: ``client_id``, and ``instrument_code``, ``goal_id`` when
    filtered by them), each with its session's date; built once per kind of filter."""
    query = (select(*_MEASUREMENT_COLUMNS, _SESSIONS.c.session_date)
             .join(_SESSIONS, and_(_MEASUREMENTS.c.session_id == _SESSIONS.c.id, _SESSIONS.c.removed_at.is_(None)))
             .where(_MEASUREMENTS.c.client_id == _CLIENT_ID, _MEASUREMENTS.c.removed_at.is_(None)))
    if by_instrument:
        query = query.where(_MEASUREMENTS.c.instrument_code == bindparam("instrument_code", type_=String))
    if by_goal:
        query = query.where(_MEASUREMENTS.c.goal_id == bindparam("goal_id", type_=Integer))
    return query.order_by(_SESSIONS.c.session_date, _MEASUREMENTS.c.measured_at.asc().nulls_first(),
                          _MEASUREMENTS.c.id)


@functools.cache
def _first_measurements(by_instrument: bool, by_goal: bool) -> Select:
    """:func:`_measurement_list`'s page at ``limit`` and ``offset`` with the whole list's count on every row."""
    return (_measurement_list(by_instrument, by_goal).add_columns(func.count().over().label("_total"))
            .limit(_LIMIT).offset(_OFFSET))


def _after_measurement(key: tuple[Any, ...]):
    """Measurements after ``key`` (session date, time with untimed first, id): the order of
    :func:`cadenza.clinic.models.measurement_order`."""
    day, at, row_id = key
    measured_at, row = _MEASUREMENTS.c.measured_at, _MEASUREMENTS.c.id
    same_time = (and_(measured_at.is_(None), row > row_id) if at is None
                 else or_(measured_at > at, and_(measured_at == at, row > row_id)))
    later_in_day = or_(measured_at.is_not(None), same_time) if at is None else same_time
    return or_(_SESSIONS.c.session_date > day, and_(_SESSIONS.c.session_date == day, later_in_day))


# ---- the client page's history -------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasurementRow:
    """A stored measurement as the client page reads it (:func:`cadenza.clinic.service.counts_toward` and the
    history's cells take it like a :class:`~cadenza.clinic.models.Measurement`)."""

    id: int
    session_id: int
    client_id: int
    goal_id: int | None
    instrument_code: str
    value: float
    unit: str
    severity_band: str | None
    safety_followup: bool
    timed_distance_m: float | None
    measured_at: dt.datetime | None


@dataclass(frozen=True)
class InterventionRow:
    intervention_code: str
    minutes: int


@dataclass(frozen=True)
class SessionRow:
    """A session of the client page's history: what its row shows, read as plain values (no ORM object)."""

    id: int
    client_id: int
    session_date: dt.date
    minutes: int
    intervention_code: str
    source: str
    signed_at: dt.datetime | None
    measurements: list[MeasurementRow]  # by id, as the session's relationship loads them
    interventions: list[InterventionRow]  # by position

    # The model's own definitions, so the history reads a row exactly as it reads a TherapySession.
    is_signed = TherapySession.is_signed
    is_client_recorded = TherapySession.is_client_recorded
    intervention_minutes = TherapySession.intervention_minutes


_MEASUREMENT_ROW_COLUMNS = [_MEASUREMENTS.c[f.name] for f in fields(MeasurementRow)]
_HISTORY_COLUMNS = [_SESSIONS.c[f.name] for f in fields(SessionRow) if f.name not in ("measurements", "interventions")]


_CLIENT_MEASUREMENTS = (
    select(*_MEASUREMENT_ROW_COLUMNS)
    .join(_SESSIONS, and_(_MEASUREMENTS.c.session_id == _SESSIONS.c.id, _SESSIONS.c.removed_at.is_(None)))
    .where(_MEASUREMENTS.c.client_id == _CLIENT_ID, _MEASUREMENTS.c.removed_at.is_(None))
    .order_by(_SESSIONS.c.session_date, _MEASUREMENTS.c.measured_at.asc().nulls_first(), _MEASUREMENTS.c.id))
_NEWEST_FIRST = [column.desc() for column in _SESSION_KEY]
_HISTORY = select(*_HISTORY_COLUMNS).where(_SESSIONS.c.client_id == _CLIENT_ID, _SESSIONS.c.removed_at.is_(None))
_HISTORY_FIRST = _HISTORY.add_columns(func.count().over()).order_by(*_NEWEST_FIRST).limit(_LIMIT)
# The interventions of a page of the history: the client's kept sessions between the page's oldest and newest key.
_HISTORY_INTERVENTIONS = (
    select(_INTERVENTIONS.c.session_id, _INTERVENTIONS.c.intervention_code, _INTERVENTIONS.c.minutes)
    .where(_INTERVENTIONS.c.session_id.in_(
        select(_SESSIONS.c.id).where(
            _SESSIONS.c.client_id == _CLIENT_ID, _SESSIONS.c.removed_at.is_(None),
            tuple_(*_SESSION_KEY) >= tuple_(bindparam("oldest_date", type_=Date), bindparam("oldest_id", type_=Integer)),
            tuple_(*_SESSION_KEY) <= tuple_(bindparam("newest_date", type_=Date), bindparam("newest_id", type_=Integer)))))
    .order_by(_INTERVENTIONS.c.position))


def client_measurement_rows(db: Session, *, client_id: int) -> list[MeasurementRow]:
    """Every kept measurement of the client's kept sessions in the order they were taken (session date, time
    with untimed first, id: :func:`cadenza.clinic.models.measurement_order`); the caller has authorised the
    client."""
    return [MeasurementRow(*row) for row in db.execute(_CLIENT_MEASUREMENTS, {"client_id": client_id}).all()]


def session_history_page(db: Session, *, client_id: int, measurements: list[MeasurementRow], limit: int,
                         after: str | None = None, before: str | None = None) -> Page:
    """One keyset page of the client's sessions, newest first (the first, the one after the cursor ``after`` or
    the one before ``before``), as :func:`cadenza.clinic.dashboard.keyset_page` pages the ORM rows: the same
    items, position, total and cursors. Each item is a :class:`SessionRow` holding its interventions (one
    statement for the page) and its own of ``measurements`` (the client's, from
    :func:`client_measurement_rows`). The caller has authorised the client."""
    _check_limit(limit)
    if after is not None and before is not None:
        raise ParameterError("after and before cannot both be given: a page follows one cursor")
    key = tuple_(*_SESSION_KEY)
    bound = {"client_id": client_id, "limit": limit}
    first_page = after is None and before is None
    if first_page:
        rows = db.execute(_HISTORY_FIRST, bound).all()
        total = int(rows[0][-1]) if rows else 0
        rows = [row[:-1] for row in rows]
    else:
        total = _count(db, _HISTORY, bound)
    if before is not None:
        values = decode_cursor(before, kinds=("date", "int"), name="before")
        rows = db.execute(_HISTORY.where(key > tuple_(*values)).order_by(*_SESSION_KEY).limit(_LIMIT), bound).all()[::-1]
        if len(rows) < limit:  # the start of the list was reached: show a whole first page
            rows, first_page = db.execute(_HISTORY.order_by(*_NEWEST_FIRST).limit(_LIMIT), bound).all(), True
    elif after is not None:
        values = decode_cursor(after, kinds=("date", "int"))
        rows = db.execute(_HISTORY.where(key < tuple_(*values)).order_by(*_NEWEST_FIRST).limit(_LIMIT), bound).all()
    if first_page:
        position = 0
    elif rows:
        position = _count(db, _HISTORY.where(key > tuple_(rows[0][2], rows[0][0])), bound)
    else:  # past the end (rows removed since the cursor was made): nothing here, every row before
        position = total
    items = _history_rows(db, client_id, rows, measurements)
    more = position + len(items) < total
    first, last = (items[0], items[-1]) if items else (None, None)
    return Page(items=items, total=total, limit=limit, offset=position,
                next_after=encode_cursor((last.session_date, last.id)) if items and more else None,
                prev_before=(encode_cursor((first.session_date, first.id)) if items and position > 0
                             else (None if items else after)))


def _history_rows(db: Session, client_id: int, rows: list, measurements: list[MeasurementRow]) -> list[SessionRow]:
    if not rows:
        return []
    # The page's sessions are the client's kept sessions between its last and first key (newest first).
    page_range = {"client_id": client_id, "newest_date": rows[0][2], "newest_id": rows[0][0],
                  "oldest_date": rows[-1][2], "oldest_id": rows[-1][0]}
    interventions: dict[int, list[InterventionRow]] = {}
    for session_id, code, minutes in db.execute(_HISTORY_INTERVENTIONS, page_range).all():
        interventions.setdefault(session_id, []).append(InterventionRow(code, minutes))
    by_session: dict[int, list[MeasurementRow]] = {}
    for measurement in sorted(measurements, key=lambda m: m.id):
        by_session.setdefault(measurement.session_id, []).append(measurement)
    return [SessionRow(*row, measurements=by_session.get(row[0], []), interventions=interventions.get(row[0], []))
            for row in rows]
