"""Read queries behind the web pages that the core service does not offer as one call.

Each function authorises through :func:`cadenza.clinic.service.get_client_for_actor` (or filters on
the actor's own clients) and appends audit events, like the service; they flush, never commit.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, lazyload, selectinload

from cadenza.clinic import service
from cadenza.clinic.change import ChangeCheck, check_change
from cadenza.clinic.access import child_of
from cadenza.clinic.models import (INCLUDE_REMOVED, AuditEvent, Client, Goal, Measurement, Therapist,
                                   TherapySession, measurement_order)
from cadenza.errors import NotFoundError, ParameterError, PermissionDeniedError

from cadenza.clinic.paging import (  # noqa: F401  (the pages' names, as the record's callers import them from here)
    MAX_PAGE_SIZE, Page, _check_limit, _check_offset, decode_cursor, encode_cursor)


@dataclass(frozen=True)
class GoalStatus:
    """Where a goal stands: the latest linked value and the share of the way from baseline to target."""

    goal: Goal
    client_code: str
    n_measurements: int
    latest_value: float | None
    progress_fraction: float
    met: bool
    change: ChangeCheck | None = None  # against the instrument's MCID and reliable change (review M6)


@dataclass(frozen=True)
class ClientOverview:
    client: Client
    goals: list[GoalStatus]
    # Newest first. With a page asked for, one page of them as record_rows.SessionRow and the measurements as
    # record_rows.MeasurementRow (read-only rows that read like the models).
    sessions: list[TherapySession]
    measurements: list[Measurement]  # in session order
    sessions_page: Page | None = None  # the keyset page the sessions are, when the caller asked for a page
    removed_goals: list[Goal] | None = None  # newest removal first: read with the goals (one statement fewer)

    @property
    def charted_measures(self) -> list[str]:
        """Instruments measured more than once that no goal covers, first measured first: each gets its own
        chart on the client page (walk-through problem 4: STAI-6 taken every session is charted too)."""
        covered = {status.goal.instrument_code for status in self.goals}
        counts: dict[str, int] = {}
        for measurement in self.measurements:
            counts[measurement.instrument_code] = counts.get(measurement.instrument_code, 0) + 1
        return [code for code, n in counts.items() if n >= 2 and code not in covered]


# The ORM session lists show no addenda: they are loaded only if something reads them (a statement fewer per
# list; issue 23). Reports and exports load them eagerly.
_NO_ADDENDA = lazyload(TherapySession.addenda)


@dataclass(frozen=True)
class RecentSession:
    session: TherapySession
    client_code: str


def goal_progress(goal: Goal, values: list[float]) -> tuple[float, bool]:
    """(fraction of the way from baseline to target reached by the latest value, target met).

    The fraction is 0 at baseline, 1 at target, negative when the latest value moved the wrong way,
    and NaN without values.

    >>> g = Goal(baseline=60.0, target=40.0, direction="decrease")
    >>> goal_progress(g, [55.0, 45.0])
    (0.75, False)
    >>> goal_progress(g, [])[1]
    False
    """
    if not values:
        return math.nan, False
    latest = values[-1]
    span = goal.target - goal.baseline
    fraction = (latest - goal.baseline) / span if span else math.nan
    met = latest <= goal.target if goal.direction == "decrease" else latest >= goal.target
    return fraction, met


def goal_statuses(goals: list[Goal], measurements: list[Measurement], codes: dict[int, str]) -> list[GoalStatus]:
    """Each goal's :class:`GoalStatus` from ``measurements`` (in measurement order; those that
    :func:`service.counts_toward` a goal are its values) and the client codes by client id."""
    statuses = []
    for goal in goals:
        values = [m.value for m in measurements if service.counts_toward(goal, m)]
        fraction, met = goal_progress(goal, values)
        change = check_change(goal.instrument_code, baseline=goal.baseline, latest=values[-1],
                              direction=goal.direction) if values else None
        statuses.append(
            GoalStatus(
                goal=goal, client_code=codes.get(goal.client_id, ""), n_measurements=len(values),
                latest_value=values[-1] if values else None, progress_fraction=fraction, met=met, change=change,
            )
        )
    return statuses


def client_overview(db: Session, *, actor: Therapist, client_id: int, sessions_limit: int | None = None,
                    sessions_after: str | None = None, sessions_before: str | None = None) -> ClientOverview:
    """Everything the client page shows, behind one authorisation check and one audit event.

    With ``sessions_limit`` the session history is one keyset page, newest first: the first, the one after
    the cursor ``sessions_after`` or the one before ``sessions_before`` (:attr:`Page.next_after`,
    :attr:`Page.prev_before` of the page shown); without it, every session (reports need them all).
    """
    if sessions_limit is not None:
        _check_limit(sessions_limit)
    elif sessions_after is not None or sessions_before is not None:
        raise ParameterError("sessions_limit is required with a sessions_after or sessions_before cursor")
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    # The goals and the removed ones (the page lists those to restore) in one statement (issue 23).
    every_goal = list(db.scalars(select(Goal).where(Goal.client_id == client.id).order_by(Goal.id)
                                 .execution_options(**{INCLUDE_REMOVED: True})))
    goals = [goal for goal in every_goal if goal.removed_at is None]
    removed_goals = sorted((goal for goal in every_goal if goal.removed_at is not None),
                           key=lambda goal: goal.removed_at, reverse=True)
    page = None
    if sessions_limit is None:
        query = select(TherapySession).where(TherapySession.client_id == client.id)
        sessions = list(db.scalars(query.options(selectinload(TherapySession.measurements))
                                   .order_by(TherapySession.session_date.desc(), TherapySession.id.desc())))
        measurements = list(db.scalars(service.measurement_query(client.id)))
    else:
        # A page of the history, read-only: plain rows, no ORM object (issue 23). Its sessions' measurements are
        # taken from the client's measurements, which the goals need anyway.
        from cadenza.clinic import record_rows

        measurements = record_rows.client_measurement_rows(db, client_id=client.id)
        page = record_rows.session_history_page(db, client_id=client.id, measurements=measurements,
                                                limit=sessions_limit, after=sessions_after, before=sessions_before)
        sessions = page.items
    return ClientOverview(
        client=client,
        goals=goal_statuses(goals, measurements, {client.id: client.code}),
        sessions=sessions,
        measurements=measurements,
        sessions_page=page,
        removed_goals=removed_goals,
    )


def recent_sessions(db: Session, *, actor: Therapist, limit: int = 10) -> list[RecentSession]:
    """The actor's latest documented sessions across all their clients, newest first (sessions a therapist
    held: what clients recorded at home is on their own pages)."""
    _check_limit(limit)
    rows = db.execute(
        select(TherapySession, Client.code)
        .join(Client, TherapySession.client_id == Client.id)
        .where(Client.therapist_id == actor.id, TherapySession.source == "therapist")
        .options(_NO_ADDENDA)
        .order_by(TherapySession.session_date.desc(), TherapySession.id.desc())
        .limit(limit)
    ).all()
    service.audit(db, actor, "list", "therapy_session")
    return [RecentSession(session=row[0], client_code=row[1]) for row in rows]


def audit_dashboard_view(db: Session, *, actor: Therapist) -> None:
    """The audit events of a dashboard view, for a view shown from a kept copy of its lists: the same events
    :func:`clients_page`, :func:`goals_due` and :func:`recent_sessions` write when they read."""
    if not isinstance(actor, Therapist) or not actor.active:
        raise PermissionDeniedError(f"actor must be an active Therapist account, got {actor!r}")
    for entity in ("client", "goal", "therapy_session"):
        service.audit(db, actor, "list", entity)


def sessions_on(db: Session, *, actor: Therapist, day: dt.date, limit: int = MAX_PAGE_SIZE) -> list[RecentSession]:
    """The actor's clients' documented sessions dated ``day``, held by a therapist (the dashboard's "today";
    no audit row of its own: the dashboard audits its client list)."""
    _check_limit(limit)
    rows = db.execute(
        select(TherapySession, Client.code)
        .join(Client, TherapySession.client_id == Client.id)
        .where(Client.therapist_id == actor.id, TherapySession.session_date == day,
               TherapySession.source == "therapist")
        .options(_NO_ADDENDA)
        .order_by(Client.code, TherapySession.id)
        .limit(limit)
    ).all()
    return [RecentSession(session=row[0], client_code=row[1]) for row in rows]


def latest_session(db: Session, *, client: Client) -> TherapySession | None:
    """``client``'s most recent session (by date), for copying its plan forward; authorised by the caller."""
    return db.scalars(select(TherapySession).where(TherapySession.client_id == client.id)
                      .order_by(TherapySession.session_date.desc(), TherapySession.id.desc()).limit(1)).first()


def unsigned_sessions(db: Session, *, actor: Therapist, limit: int = 20) -> list[RecentSession]:
    """The notes still to sign (drafts) on the actor's clients, oldest first: a to-do list for the dashboard
    (walk-through problem 3). The actor's own, and those a previous therapist left unsigned on a client since
    moved to the actor (caseload reassignment), which the actor co-signs (:func:`service.sign_session`); the
    author no longer holds the client, so they are never on the author's list. A client-recorded session (a
    home task the person did on their own) is no note and never listed. The dashboard view is audited by its
    other lists; no row of its own."""
    _check_limit(limit)
    rows = db.execute(
        select(TherapySession, Client.code)
        .join(Client, TherapySession.client_id == Client.id)
        .where(Client.therapist_id == actor.id, TherapySession.signed_at.is_(None),
               TherapySession.source == "therapist")
        .options(joinedload(TherapySession.therapist), _NO_ADDENDA)
        .order_by(TherapySession.session_date, TherapySession.id)
        .limit(limit)
    ).all()
    return [RecentSession(session=row[0], client_code=row[1]) for row in rows]


@dataclass(frozen=True)
class FlaggedItem:
    """A questionnaire safety item flagged in a recent session (clinical review H1)."""

    client_id: int
    client_code: str
    session_id: int
    session_date: dt.date
    instrument_code: str


def flagged_safety_items(
    db: Session, *, actor: Therapist, within_days: int = 14, today: dt.date | None = None, limit: int = 20
) -> list[FlaggedItem]:
    """Safety items flagged (e.g. PHQ-9 item 9 above "not at all") in the actor's clients' sessions of the
    last ``within_days`` days, newest first. Shown on the dashboard so a flag is never only on one page;
    the dashboard view is audited by its other lists, so this adds no audit row of its own."""
    if isinstance(within_days, bool) or not isinstance(within_days, int) or not 0 <= within_days <= 366:
        raise ParameterError(f"within_days must be a whole number 0..366, got {within_days!r}")
    _check_limit(limit)
    today = today or dt.datetime.now(dt.UTC).date()
    rows = db.execute(
        select(Client.id, Client.code, TherapySession.id, TherapySession.session_date, Measurement.instrument_code)
        .join(TherapySession, Measurement.session_id == TherapySession.id)
        .join(Client, TherapySession.client_id == Client.id)
        .where(Client.therapist_id == actor.id, Measurement.safety_followup.is_(True),
               TherapySession.session_date >= today - dt.timedelta(days=within_days))
        .order_by(TherapySession.session_date.desc(), TherapySession.id.desc())
        .limit(limit)
    ).all()
    return [FlaggedItem(*row) for row in rows]


def goals_due(
    db: Session, *, actor: Therapist, within_days: int = 14, today: dt.date | None = None, limit: int = 50
) -> list[GoalStatus]:
    """Unmet goals whose target date is past or within ``within_days``, soonest first."""
    if isinstance(within_days, bool) or not isinstance(within_days, int) or not 0 <= within_days <= 366:
        raise ParameterError(f"within_days must be a whole number 0..366, got {within_days!r}")
    _check_limit(limit)
    today = today or dt.datetime.now(dt.UTC).date()
    rows = db.execute(
        select(Goal, Client.code)
        .join(Client, Goal.client_id == Client.id)
        .where(
            Client.therapist_id == actor.id,
            Goal.target_date.is_not(None),
            Goal.target_date <= today + dt.timedelta(days=within_days),
        )
        .order_by(Goal.target_date, Goal.id)
        .limit(limit)
    ).all()
    service.audit(db, actor, "list", "goal")
    if not rows:
        return []
    goals = [row[0] for row in rows]
    codes = {row[0].client_id: row[1] for row in rows}
    measurements = list(
        db.scalars(
            select(Measurement)
            .join(TherapySession, Measurement.session_id == TherapySession.id)
            .where(Measurement.client_id.in_(sorted({g.client_id for g in goals})),
                   Measurement.instrument_code.in_(sorted({g.instrument_code for g in goals})))
            .order_by(*measurement_order())
        )
    )
    return [s for s in goal_statuses(goals, measurements, codes) if not s.met]


@dataclass(frozen=True)
class GoalSeries:
    """A goal and the measurements counting toward it (``service.counts_toward``) as (session date, value)
    pairs, in session order."""

    goal: Goal
    unit: str
    dates: list[dt.date]
    values: list[float]


@dataclass(frozen=True)
class MeasureSeries:
    """Every value of one instrument for one client as (session date, value) pairs, in session order."""

    instrument_code: str
    dates: list[dt.date]
    values: list[float]


def measure_series(db: Session, *, actor: Therapist, client_id: int, instrument_code: str) -> MeasureSeries:
    """The data behind one measure's chart, goal or not (audited as a read of the client's measurements)."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    rows = db.execute(
        select(TherapySession.session_date, Measurement.value)
        .join(TherapySession, Measurement.session_id == TherapySession.id)
        .where(Measurement.client_id == client.id, Measurement.instrument_code == instrument_code)
        .order_by(TherapySession.session_date, Measurement.measured_at, Measurement.id)
    ).all()
    service.audit(db, actor, "read", "measurement", client_id=client.id)
    return MeasureSeries(instrument_code, [r[0] for r in rows], [float(r[1]) for r in rows])


def goal_of_client(db: Session, *, actor: Therapist, client_id: int, goal_id: int) -> Goal:
    """The goal if it belongs to this client of the actor's, else :class:`NotFoundError` (audited read)."""
    goal = service.get_goal(db, actor=actor, goal_id=goal_id)
    if goal.client_id != client_id:
        raise NotFoundError(f"goal {goal_id!r} not found")
    return goal


def goal_series(db: Session, *, actor: Therapist, client_id: int, goal_id: int) -> GoalSeries:
    """The data behind one goal's progress chart; a goal of another client is not found."""
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    goal = child_of(db, client, Goal, goal_id, "goal")
    service.audit(db, actor, "read", "goal", entity_id=goal.id, client_id=client.id)
    rows = db.execute(
        select(TherapySession.session_date, Measurement.value, Measurement.unit)
        .join(TherapySession, Measurement.session_id == TherapySession.id)
        .where(*service.goal_measurement_where(goal))
        .order_by(*measurement_order())
    ).all()
    from cadenza.clinic.instruments import get_instrument

    try:
        unit = get_instrument(goal.instrument_code).unit
    except NotFoundError:
        unit = rows[0][2] if rows else ""
    return GoalSeries(goal=goal, unit=unit, dates=[r[0] for r in rows], values=[float(r[1]) for r in rows])


def _page(db: Session, query, *, limit: int, offset: int, key_of=None, after=None) -> Page:
    """One page of ``query``. With ``key_of`` (a row's sort key) the page carries the next page's cursor;
    ``after`` (a WHERE clause from a cursor) starts the page after a key. ``total`` counts the whole list."""
    if after is None:
        items, total = _rows_and_total(db, query.limit(limit).offset(offset))
        if total is None:  # past the end: no row to carry the count
            total = _count(db, query)
        before = 0
    else:
        total = _count(db, query)
        query = query.where(after)
        before = total - _count(db, query)
        items = list(db.scalars(query.limit(limit).offset(offset)))
    more = before + offset + len(items) < total
    next_after = encode_cursor(key_of(items[-1])) if key_of is not None and items and more else None
    return Page(items=items, total=total, limit=limit, offset=before + offset, next_after=next_after)


def _after_ascending(columns: tuple[Any, ...], values: tuple[Any, ...]):
    """Rows whose key (``columns``, all ascending, none NULL) comes after ``values``."""
    from sqlalchemy import tuple_

    return tuple_(*columns) > tuple_(*values)


def _count(db: Session, query) -> int:
    return int(db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def _rows_and_total(db: Session, query, row_factory=None) -> tuple[list[Any], int | None]:
    """The entities of ``query`` (one entity, already limited) and how many rows the query has without its
    LIMIT/OFFSET, in one statement (``count(*) OVER ()`` is computed before the limit: issue 23, a statement
    fewer per page). The total is None when the page is empty and so carries no count. With ``row_factory``
    the query selects columns, and each item is ``row_factory(*columns)``."""
    rows = db.execute(query.add_columns(func.count().over())).all()
    items = [row[0] for row in rows] if row_factory is None else [row_factory(*row[:-1]) for row in rows]
    return items, (int(rows[0][-1]) if rows else None)


def _fetch(db: Session, query, row_factory=None) -> list[Any]:
    """The entities of ``query``, or with ``row_factory`` each row of columns made into an item."""
    if row_factory is None:
        return list(db.scalars(query))
    return [row_factory(*row) for row in db.execute(query)]


def keyset_page(db: Session, query, *, columns: tuple[Any, ...], descending: bool, kinds: tuple[str, ...], key_of,
                limit: int, after: str | None = None, before: str | None = None, row_factory=None) -> Page:
    """One page of ``query`` ordered by ``columns`` (a unique key, all ascending or all ``descending``, none
    NULL): the first page, the one after the cursor ``after`` or the one before the cursor ``before``. The
    items are the query's entities, or with ``row_factory`` (a query of columns) ``row_factory(*columns)``
    of each row.

    No offset is skipped: each page is a range of the key (the page before is read in reverse and turned
    round), so a page costs the same deep in the list, and rows written or removed meanwhile never make a
    row repeat or go missing between pages. The page carries both cursors, its position and the total.
    """
    from sqlalchemy import tuple_

    _check_limit(limit)
    if after is not None and before is not None:
        raise ParameterError("after and before cannot both be given: a page follows one cursor")
    key = tuple_(*columns)
    forward = [c.desc() for c in columns] if descending else list(columns)
    backward = list(columns) if descending else [c.desc() for c in columns]

    def beyond(values: tuple[Any, ...]):  # rows that come after ``values`` in the list's order
        return key < tuple_(*values) if descending else key > tuple_(*values)

    def ahead(values: tuple[Any, ...]):  # rows that come before ``values``
        return key > tuple_(*values) if descending else key < tuple_(*values)

    first_page = after is None and before is None
    if first_page:  # the usual request: the page and the total in one statement
        items, total = _rows_and_total(db, query.order_by(*forward).limit(limit), row_factory)
        total = total or 0  # an empty first page: an empty list
    else:
        total = _count(db, query)
    if before is not None:
        items = _fetch(db, query.where(ahead(decode_cursor(before, kinds=kinds, name="before")))
                       .order_by(*backward).limit(limit), row_factory)[::-1]
        if len(items) < limit:  # the start of the list was reached: show a whole first page
            items, first_page = _fetch(db, query.order_by(*forward).limit(limit), row_factory), True
    elif after is not None:
        items = _fetch(db, query.where(beyond(decode_cursor(after, kinds=kinds))).order_by(*forward).limit(limit),
                       row_factory)
    if first_page:
        position = 0
    elif items:
        position = _count(db, query.where(ahead(key_of(items[0]))))
    else:  # past the end (rows removed since the cursor was made): nothing here, every row before
        position = total
    more = position + len(items) < total
    return Page(items=items, total=total, limit=limit, offset=position,
                next_after=encode_cursor(key_of(items[-1])) if items and more else None,
                # past the end, the way back is the cursor that led here
                prev_before=encode_cursor(key_of(items[0])) if items and position > 0 else (None if items else after))


def clients_page(db: Session, *, actor: Therapist, limit: int = MAX_PAGE_SIZE, offset: int = 0,
                 after: str | None = None, before: str | None = None) -> Page:
    """The actor's clients by code, one keyset page at a time (audited like the full list): the first page,
    the one after the cursor ``after`` (:attr:`Page.next_after` of the page before) or the one before
    ``before`` (:attr:`Page.prev_before`). A non-zero ``offset`` is the API's old position paging, kept for
    old scripts only; every link pages by key.

    ``limit`` is at most :data:`MAX_PAGE_SIZE`, so a caseload never comes back in one unbounded answer.
    """
    _check_limit(limit)
    _check_offset(offset)
    if not isinstance(actor, Therapist) or not actor.active:
        raise PermissionDeniedError(f"actor must be an active Therapist account, got {actor!r}")
    query = select(Client).where(Client.therapist_id == actor.id)
    if offset:
        where = None if after is None else _after_ascending((Client.code, Client.id),
                                                            decode_cursor(after, kinds=("str", "int")))
        page = _page(db, query.order_by(Client.code, Client.id), limit=limit, offset=offset,
                     key_of=lambda c: (c.code, c.id), after=where)
    else:
        page = keyset_page(db, query, columns=(Client.code, Client.id), descending=False, kinds=("str", "int"),
                           key_of=lambda c: (c.code, c.id), limit=limit, after=after, before=before)
    service.audit(db, actor, "list", "client")
    return page


def sessions_page(db: Session, *, actor: Therapist, client_id: int, limit: int = MAX_PAGE_SIZE,
                  offset: int = 0, after: str | None = None) -> Page:
    """A client's sessions in date order (with their measurements), one keyset page at a time (``after``:
    the cursor of the page before; a non-zero ``offset`` is the API's old position paging)."""
    _check_limit(limit)
    _check_offset(offset)
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    query = (select(TherapySession).where(TherapySession.client_id == client.id)
             .options(selectinload(TherapySession.measurements)))
    if not offset:
        return keyset_page(db, query, columns=(TherapySession.session_date, TherapySession.id), descending=False,
                           kinds=("date", "int"), key_of=lambda r: (r.session_date, r.id), limit=limit, after=after)
    where = None if after is None else _after_ascending((TherapySession.session_date, TherapySession.id),
                                                        decode_cursor(after, kinds=("date", "int")))
    return _page(db, query.order_by(TherapySession.session_date, TherapySession.id), limit=limit, offset=offset,
                 key_of=lambda r: (r.session_date, r.id), after=where)


def measurements_page(db: Session, *, actor: Therapist, client_id: int, instrument_code: str | None = None,
                      goal_id: int | None = None, limit: int = MAX_PAGE_SIZE, offset: int = 0,
                      after: str | None = None) -> Page:
    """A client's measurements in session order (then measurement time, untimed first), optionally for one
    instrument or goal, one page at a time (``after``: the cursor of the page before)."""
    _check_limit(limit)
    _check_offset(offset)
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    query = service.measurement_query(client.id, instrument_code=instrument_code, goal_id=goal_id)
    where = None if after is None else _after_measurement(decode_cursor(after, kinds=("date", "datetime?", "int")))
    return _page(db, query, limit=limit, offset=offset, after=where,
                 key_of=lambda m: (m.therapy_session.session_date, m.measured_at, m.id))


def _after_measurement(key: tuple[Any, ...]):
    """Measurements after ``key`` in :func:`measurement_order` (session date, time with untimed first, id)."""
    from sqlalchemy import and_, or_

    day, at, row_id = key
    same_time = (and_(Measurement.measured_at.is_(None), Measurement.id > row_id) if at is None
                 else or_(Measurement.measured_at > at, and_(Measurement.measured_at == at, Measurement.id > row_id)))
    later_in_day = or_(Measurement.measured_at.is_not(None), same_time) if at is None else same_time
    return or_(TherapySession.session_date > day, and_(TherapySession.session_date == day, later_in_day))


def client_audit_page(
    db: Session, *, actor: Therapist, client_id: int, limit: int = MAX_PAGE_SIZE, offset: int = 0,
    before_id: int | None = None,
) -> Page:
    """One page of a client's audit trail, newest first (the trail grows with every read, so it is
    never returned whole).

    Every read adds an event at the top, so offsets drift between requests; ``before_id`` (the id of
    the last event already seen) is a cursor that does not, and ``total`` then counts what is left.
    """
    _check_limit(limit)
    _check_offset(offset)
    if before_id is not None and (isinstance(before_id, bool) or not isinstance(before_id, int) or before_id < 1):
        raise ParameterError(f"before_id must be a whole number >= 1 or None, got {before_id!r}")
    client = service.get_client_for_actor(db, actor=actor, client_id=client_id)
    # Reading the trail is itself an audited event (who looked at who looked), not just a page view.
    service.audit(db, actor, "read", "audit_event", client_id=client.id)
    db.flush()  # the reads just audited are part of the trail they return
    query = select(AuditEvent).where(AuditEvent.client_id == client.id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return _page(db, query.order_by(AuditEvent.id.desc()), limit=limit, offset=offset)
