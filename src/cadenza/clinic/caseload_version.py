"""A number per therapist that changes with every change to their clients' records, and a second one for
the dashboard's client list, bookings and tools' alerts (issue 23).

``therapist.caseload_version`` is raised in the same transaction as the change, so a reader that sees the
change also sees the new number, in any worker: a page may keep what it computed from a therapist's
caseload under ``(therapist id, caseload_version)`` and use it until the number moves
(:mod:`cadenza.web.dashboard_cache`). The number comes with the therapist row the login reads on every
request, so asking costs no statement.

What raises it, on every session of :func:`cadenza.clinic.db.make_session_factory` (:func:`install`):

- a flush that inserts, changes or deletes a row with a ``client_id`` (sessions, measurements, goals,
  plans, home tasks and their completions, care documents, every tool's rows): the client's therapist;
- a client row itself: its therapist, and the previous one when it moved (caseload reassignment);
- a session's interventions (rows without a ``client_id``): the therapist of the session's client;
- anything else, and bulk ``UPDATE``/``DELETE``/``INSERT`` statements sent through the session: every
  therapist (a change this module cannot place is assumed to touch everyone);

except the rows that never show on a caseload page (:data:`IGNORED_TABLES`: the audit trail, logins,
tokens, drafts, idempotency keys, devices). Each therapist's number is raised once per transaction.

A second number, ``therapist.roster_version``, is raised with it (in the same statement) by every one of
these changes that can move the dashboard's client list, its bookings or the tools' alerts: everything but
the rows of :data:`ROSTER_FREE_TABLES` (a session written or changed, its interventions and measurements,
goals), which none of those lists reads. The lists' rows are kept under it
(:mod:`cadenza.web.dashboard_cache`), so a documented session leaves them in place.

Writes that bypass the ORM session (a backup restore, a bulk load with Core on a bare connection) do not
raise it: restart the app after them, as after any restore.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import bindparam, case, event, inspect, or_, select, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from cadenza.clinic.models import Client, SessionIntervention, Therapist, TherapySession

# Rows no caseload page shows: changing them (every request writes some) moves no number.
IGNORED_TABLES = frozenset({
    "audit_event", "audit_seal", "login_session", "login_attempt", "api_token", "mfa_challenge",
    "therapist_mfa", "idempotency_key", "form_draft", "person_device", "note_template",
})
# Rows none of the roster lists (the dashboard's client list, bookings and tools' alerts) reads: a session's
# notes, interventions and measurements and the goals move the caseload number only. A deleted session does
# move the roster (see _leaves_roster).
ROSTER_FREE_TABLES = frozenset({"therapy_session", "session_intervention", "measurement", "goal"})
_DONE_KEY = "cadenza_caseload_raised"  # session.info: what this transaction already raised
_EVERYONE = "everyone"
_ROSTER = "roster:"  # the prefix of the roster numbers' entries in _DONE_KEY


def _table_name(obj: Any) -> str | None:
    table = getattr(type(obj), "__table__", None)
    return getattr(table, "name", None)


class _Touched:
    """Whose numbers a flush raises: therapists, clients and therapy sessions (each placed through its client),
    or everyone."""

    __slots__ = ("therapists", "clients", "sessions", "everyone")

    def __init__(self) -> None:
        self.therapists: set[int] = set()
        self.clients: set[int] = set()
        self.sessions: set[int] = set()
        self.everyone = False

    def __bool__(self) -> bool:
        return bool(self.therapists or self.clients or self.sessions or self.everyone)


def _leaves_roster(obj: Any, table: str | None, *, deleted: bool) -> bool:
    # A deleted session may give its booking back to the bookings list (planned_session.session_id is set to
    # NULL by the database), so only a session written or changed leaves the roster alone.
    return table in ROSTER_FREE_TABLES and not (deleted and table == "therapy_session")


def _touched(session: Session) -> tuple[_Touched, _Touched]:
    """(every change, the changes that can move the roster lists) of the pending flush."""
    caseload, roster = _Touched(), _Touched()
    changed = [obj for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    deleted = session.deleted
    for obj in chain(session.new, changed, deleted):
        table = _table_name(obj)
        if table in IGNORED_TABLES:
            continue
        found = (caseload,) if _leaves_roster(obj, table, deleted=obj in deleted) else (caseload, roster)
        if isinstance(obj, Client):
            history = inspect(obj).attrs.therapist_id.history
            ids = [t for t in chain([obj.therapist_id], history.deleted or ()) if t is not None]
            for touched in found:
                touched.therapists.update(ids)
        elif isinstance(obj, SessionIntervention) and obj.session_id is not None:
            for touched in found:
                touched.sessions.add(obj.session_id)
        elif table is not None and "client_id" in type(obj).__table__.c and getattr(obj, "client_id", None) is not None:
            history = inspect(obj).attrs.client_id.history  # a row moved to another client changes both
            ids = [obj.client_id, *(c for c in history.deleted or () if c is not None)]
            for touched in found:
                touched.clients.update(ids)
        else:
            for touched in found:
                touched.everyone = True
    return caseload, roster


_THERAPIST = Therapist.__table__
_CLIENT = Client.__table__
_SESSION = TherapySession.__table__


def _picks(prefix: str) -> tuple:
    """The three conditions on ``therapist`` that pick therapists by id, by their clients' ids and by their
    clients' sessions' ids, each list a bound parameter named after ``prefix``."""
    return (
        _THERAPIST.c.id.in_(bindparam(prefix + "therapists", expanding=True)),
        _THERAPIST.c.id.in_(select(_CLIENT.c.therapist_id)
                            .where(_CLIENT.c.id.in_(bindparam(prefix + "clients", expanding=True)))
                            .scalar_subquery()),
        _THERAPIST.c.id.in_(select(_CLIENT.c.therapist_id)
                            .join(_SESSION, _SESSION.c.client_id == _CLIENT.c.id)
                            .where(_SESSION.c.id.in_(bindparam(prefix + "sessions", expanding=True)))
                            .scalar_subquery()),
    )


_CASELOAD_PICKS = _picks("caseload_")
_ROSTER_PICKS = _picks("roster_")


def _shape(touched: _Touched) -> tuple[bool, bool, bool]:
    return bool(touched.therapists), bool(touched.clients), bool(touched.sessions)


def _parameters(touched: _Touched, prefix: str) -> dict[str, list[int]]:
    lists = (("therapists", touched.therapists), ("clients", touched.clients), ("sessions", touched.sessions))
    return {prefix + name: sorted(ids) for name, ids in lists if ids}


@lru_cache(maxsize=None)  # at most 2 * 2**3 * (2**3 + 1) shapes
def _raise_statement(everyone: bool, caseload_shape: tuple[bool, bool, bool],
                     roster_shape: tuple[bool, bool, bool] | None) -> Any:
    """The ``UPDATE therapist`` for one shape of raise, built once: ``everyone`` raises every caseload number,
    ``caseload_shape`` and ``roster_shape`` say which of the id lists (therapists, clients, sessions) are given
    for each number; a ``roster_shape`` of ``None`` raises every roster number."""
    values: dict[str, Any] = {"caseload_version": _THERAPIST.c.caseload_version + 1}
    roster_which = [] if roster_shape is None else [
        pick for pick, given in zip(_ROSTER_PICKS, roster_shape) if given]
    if roster_shape is None:
        values["roster_version"] = _THERAPIST.c.roster_version + 1
    elif roster_which:
        values["roster_version"] = _THERAPIST.c.roster_version + case((or_(*roster_which), 1), else_=0)
    statement = update(_THERAPIST).values(**values)
    if not everyone:
        caseload_which = [pick for pick, given in zip(_CASELOAD_PICKS, caseload_shape) if given]
        statement = statement.where(or_(*caseload_which, *roster_which))
    return statement


def _not_done(touched: _Touched, done: set, prefix: str) -> _Touched:
    left = _Touched()
    if prefix + _EVERYONE in done:
        return left
    left.therapists = {t for t in touched.therapists if (prefix + "t", t) not in done}
    left.clients = {c for c in touched.clients if (prefix + "c", c) not in done}
    left.sessions = {s for s in touched.sessions if (prefix + "s", s) not in done}
    left.everyone = touched.everyone
    return left


def _mark_done(touched: _Touched, done: set, prefix: str) -> None:
    done.update({(prefix + "t", t) for t in touched.therapists} | {(prefix + "c", c) for c in touched.clients}
                | {(prefix + "s", s) for s in touched.sessions})
    if touched.everyone:
        done.add(prefix + _EVERYONE)


def _raise(session: Session, connection: Any, caseload: _Touched, roster: _Touched) -> None:
    """Raise the caseload numbers ``caseload`` names and both numbers of those ``roster`` names (a subset), in
    one statement, each at most once per transaction."""
    done = session.info.setdefault(_DONE_KEY, set())
    caseload = _not_done(caseload, done, "")
    roster = _not_done(roster, done, _ROSTER)
    if not (caseload or roster):
        return
    if roster.everyone:
        caseload.everyone = True
    statement = _raise_statement(caseload.everyone, _shape(caseload), None if roster.everyone else _shape(roster))
    parameters = {} if caseload.everyone else _parameters(caseload, "caseload_")
    if not roster.everyone:
        parameters.update(_parameters(roster, "roster_"))
    connection.execute(statement, parameters)
    _mark_done(caseload, done, "")
    _mark_done(roster, done, _ROSTER)


def _after_flush(session: Session, _flush_context: Any) -> None:
    caseload, roster = _touched(session)
    if caseload:
        _raise(session, session.connection(), caseload, roster)


def _bulk_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in IGNORED_TABLES:
        return
    everyone = _Touched()
    everyone.everyone = True
    _raise(state.session, state.session.connection(), everyone, everyone)


def _forget(session: Session, transaction: Any) -> None:
    # The end of the transaction or of any savepoint (rolled back or released) forgets what was raised: raising
    # again is harmless, skipping a raise that was rolled back would not be. A flush's own subtransaction
    # ends at every flush and is not one of these.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_DONE_KEY, None)


def install(factory: sessionmaker[Session]) -> None:
    """Raise the caseload versions of what the sessions of ``factory`` change (see the module's text)."""
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "do_orm_execute", _bulk_statement)
    event.listen(factory, "after_transaction_end", _forget)


def is_installed(db: Session) -> bool:
    return _after_flush in db.dispatch.after_flush
