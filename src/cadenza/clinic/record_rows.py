"""A client's sessions and measurements as plain rows, for the read-only lists (issue 23).

The API's session and measurement lists show rows exactly as stored: no ORM object is built for them, no
relationship loader runs, and every statement is the same from one request to the next (a page's child
rows are selected by the page's own query as a subquery, never by a list of ids bound one by one), so each
is compiled once per process. Each item is a dict of the row's columns (the removal bookkeeping left out:
removed rows are not listed). Authorisation and audit are those of the ORM pages in
:mod:`cadenza.clinic.dashboard`: :func:`cadenza.clinic.service.get_client_for_actor`, one ``read`` of the
client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from cadenza.clinic import service
from cadenza.clinic.dashboard import MAX_PAGE_SIZE, Page, _check_limit, _check_offset, decode_cursor, encode_cursor
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


def _dicts(db: Session, statement: Select) -> list[dict[str, Any]]:
    result = db.execute(statement)
    names = list(result.keys())
    return [dict(zip(names, row, strict=True)) for row in result.all()]  # all(): one fetch, not one per row


def _count(db: Session, statement: Select) -> int:
    return int(db.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0)


def session_rows_page(db: Session, *, actor: Therapist, client_id: int, limit: int = MAX_PAGE_SIZE,
                      after: str | None = None) -> Page:
    """A client's sessions in date order, one keyset page (``after``: the cursor of the page before), as
    :func:`cadenza.clinic.dashboard.sessions_page` lists them, each a dict of the session's columns with
    ``measurements``, ``addenda`` and ``interventions`` lists of dicts in the order the ORM relationships load
    them (by id, by id, by position). Four statements: the page with its total, then one per child table."""
    _check_limit(limit)
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    kept = (_SESSIONS.c.client_id == client.id, _SESSIONS.c.removed_at.is_(None))
    query = select(*_SESSION_COLUMNS).where(*kept)
    if after is None:
        beyond = ()
        rows = _dicts(db, query.add_columns(func.count().over().label("_total")).order_by(*_SESSION_KEY).limit(limit))
        total, position = (int(rows[0]["_total"]) if rows else 0), 0
        for row in rows:
            del row["_total"]
    else:
        beyond = (tuple_(*_SESSION_KEY) > tuple_(*decode_cursor(after, kinds=("date", "int"))),)
        rows = _dicts(db, query.where(*beyond).order_by(*_SESSION_KEY).limit(limit))
        total = _count(db, query)
        position = (_count(db, query.where(tuple_(*_SESSION_KEY) < tuple_(rows[0]["session_date"], rows[0]["id"])))
                    if rows else total)
    if rows:
        # The page's sessions, by the page's own query: one statement per child table whatever the page's size.
        page_ids = select(_SESSIONS.c.id).where(*kept, *beyond).order_by(*_SESSION_KEY).limit(limit)
        children = (
            ("measurements", select(*_MEASUREMENT_COLUMNS).where(_MEASUREMENTS.c.removed_at.is_(None)),
             _MEASUREMENTS, _MEASUREMENTS.c.id),
            ("addenda", select(_ADDENDA), _ADDENDA, _ADDENDA.c.id),
            ("interventions", select(_INTERVENTIONS), _INTERVENTIONS, _INTERVENTIONS.c.position),
        )
        for name, child_query, table, order in children:
            by_session = _by_session(_dicts(db, child_query.where(table.c.session_id.in_(page_ids)).order_by(order)))
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
    sessions, measurements = _SESSIONS, _MEASUREMENTS
    query = (select(*_MEASUREMENT_COLUMNS, sessions.c.session_date)
             .join(sessions, and_(measurements.c.session_id == sessions.c.id, sessions.c.removed_at.is_(None)))
             .where(measurements.c.client_id == client.id, measurements.c.removed_at.is_(None)))
    if instrument_code is not None:
        query = query.where(measurements.c.instrument_code == instrument_code)
    if goal_id is not None:
        query = query.where(measurements.c.goal_id == goal_id)
    query = query.order_by(sessions.c.session_date, measurements.c.measured_at.asc().nulls_first(), measurements.c.id)
    if after is None:
        rows = _dicts(db, query.add_columns(func.count().over().label("_total")).limit(limit).offset(offset))
        total = int(rows[0]["_total"]) if rows else _count(db, query)  # past the end: no row carries the count
        for row in rows:
            del row["_total"]
        before = 0
    else:
        total = _count(db, query)
        query = query.where(_after_measurement(decode_cursor(after, kinds=("date", "datetime?", "int"))))
        before = total - _count(db, query)
        rows = _dicts(db, query.limit(limit).offset(offset))
    more = before + offset + len(rows) < total
    last = rows[-1] if rows else None
    return Page(items=rows, total=total, limit=limit, offset=before + offset,
                next_after=encode_cursor((last["session_date"], last["measured_at"], last["id"])) if last and more
                else None)


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


def client_measurement_rows(db: Session, *, client_id: int) -> list[MeasurementRow]:
    """Every kept measurement of the client's kept sessions in the order they were taken (session date, time
    with untimed first, id: :func:`cadenza.clinic.models.measurement_order`); the caller has authorised the
    client."""
    query = (select(*_MEASUREMENT_ROW_COLUMNS)
             .join(_SESSIONS, and_(_MEASUREMENTS.c.session_id == _SESSIONS.c.id, _SESSIONS.c.removed_at.is_(None)))
             .where(_MEASUREMENTS.c.client_id == client_id, _MEASUREMENTS.c.removed_at.is_(None))
             .order_by(_SESSIONS.c.session_date, _MEASUREMENTS.c.measured_at.asc().nulls_first(), _MEASUREMENTS.c.id))
    return [MeasurementRow(*row) for row in db.execute(query).all()]


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
    newest_first = [column.desc() for column in _SESSION_KEY]
    query = select(*_HISTORY_COLUMNS).where(_SESSIONS.c.client_id == client_id, _SESSIONS.c.removed_at.is_(None))
    first_page = after is None and before is None
    if first_page:
        rows = db.execute(query.add_columns(func.count().over()).order_by(*newest_first).limit(limit)).all()
        total = int(rows[0][-1]) if rows else 0
        rows = [row[:-1] for row in rows]
    else:
        total = _count(db, query)
    if before is not None:
        values = decode_cursor(before, kinds=("date", "int"), name="before")
        rows = db.execute(query.where(key > tuple_(*values)).order_by(*_SESSION_KEY).limit(limit)).all()[::-1]
        if len(rows) < limit:  # the start of the list was reached: show a whole first page
            rows, first_page = db.execute(query.order_by(*newest_first).limit(limit)).all(), True
    elif after is not None:
        values = decode_cursor(after, kinds=("date", "int"))
        rows = db.execute(query.where(key < tuple_(*values)).order_by(*newest_first).limit(limit)).all()
    if first_page:
        position = 0
    elif rows:
        position = _count(db, query.where(key > tuple_(rows[0][2], rows[0][0])))
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
    # The page's sessions are the client's kept sessions between its first and last key (newest first).
    newest, oldest = (rows[0][2], rows[0][0]), (rows[-1][2], rows[-1][0])
    in_page = select(_SESSIONS.c.id).where(_SESSIONS.c.client_id == client_id, _SESSIONS.c.removed_at.is_(None),
                                          tuple_(*_SESSION_KEY) >= tuple_(*oldest),
                                          tuple_(*_SESSION_KEY) <= tuple_(*newest))
    interventions: dict[int, list[InterventionRow]] = {}
    for session_id, code, minutes in db.execute(
            select(_INTERVENTIONS.c.session_id, _INTERVENTIONS.c.intervention_code, _INTERVENTIONS.c.minutes)
            .where(_INTERVENTIONS.c.session_id.in_(in_page)).order_by(_INTERVENTIONS.c.position)).all():
        interventions.setdefault(session_id, []).append(InterventionRow(code, minutes))
    by_session: dict[int, list[MeasurementRow]] = {}
    for measurement in sorted(measurements, key=lambda m: m.id):
        by_session.setdefault(measurement.session_id, []).append(measurement)
    return [SessionRow(*row, measurements=by_session.get(row[0], []), interventions=interventions.get(row[0], []))
            for row in rows]
