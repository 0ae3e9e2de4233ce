"""A number per therapist that changes with every change to their clients' records (issue 23).

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

Writes that bypass the ORM session (a backup restore, a bulk load with Core on a bare connection) do not
raise it: restart the app after them, as after any restore.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import event, inspect, or_, select, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from cadenza.clinic.models import Client, SessionIntervention, Therapist, TherapySession

# Rows no caseload page shows: changing them (every request writes some) moves no number.
IGNORED_TABLES = frozenset({
    "audit_event", "audit_seal", "login_session", "login_attempt", "api_token", "mfa_challenge",
    "therapist_mfa", "idempotency_key", "form_draft", "person_device", "note_template",
})
_DONE_KEY = "cadenza_caseload_raised"  # session.info: what this transaction already raised
_EVERYONE = "everyone"


def _table_name(obj: Any) -> str | None:
    table = getattr(type(obj), "__table__", None)
    return getattr(table, "name", None)


def _touched(session: Session) -> tuple[set[int], set[int], set[int], bool]:
    """(therapist ids, client ids, therapy-session ids, everyone) whose caseload the pending flush changes."""
    therapists: set[int] = set()
    clients: set[int] = set()
    sessions: set[int] = set()
    everyone = False
    changed = [obj for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    for obj in chain(session.new, changed, session.deleted):
        table = _table_name(obj)
        if table in IGNORED_TABLES:
            continue
        if isinstance(obj, Client):
            history = inspect(obj).attrs.therapist_id.history
            therapists.update(t for t in chain([obj.therapist_id], history.deleted or ()) if t is not None)
        elif isinstance(obj, SessionIntervention) and obj.session_id is not None:
            sessions.add(obj.session_id)
        elif table is not None and "client_id" in type(obj).__table__.c and getattr(obj, "client_id", None) is not None:
            clients.add(obj.client_id)
            history = inspect(obj).attrs.client_id.history  # a row moved to another client changes both
            clients.update(c for c in history.deleted or () if c is not None)
        else:
            everyone = True
    return therapists, clients, sessions, everyone


def _raise(session: Session, connection: Any, *, therapists=(), clients=(), sessions=(), everyone=False) -> None:
    done = session.info.setdefault(_DONE_KEY, set())
    if _EVERYONE in done:
        return
    if everyone:
        connection.execute(update(Therapist).values(caseload_version=Therapist.caseload_version + 1))
        done.add(_EVERYONE)
        return
    therapists = {t for t in therapists if ("t", t) not in done}
    clients = {c for c in clients if ("c", c) not in done}
    sessions = {s for s in sessions if ("s", s) not in done}
    if not (therapists or clients or sessions):
        return
    which = []
    if therapists:
        which.append(Therapist.id.in_(sorted(therapists)))
    if clients:
        which.append(Therapist.id.in_(select(Client.therapist_id).where(Client.id.in_(sorted(clients)))))
    if sessions:
        which.append(Therapist.id.in_(select(Client.therapist_id).join(TherapySession, TherapySession.client_id == Client.id)
                                      .where(TherapySession.id.in_(sorted(sessions)))))
    connection.execute(update(Therapist).where(or_(*which)).values(caseload_version=Therapist.caseload_version + 1))
    done.update({("t", t) for t in therapists} | {("c", c) for c in clients} | {("s", s) for s in sessions})


def _after_flush(session: Session, _flush_context: Any) -> None:
    therapists, clients, sessions, everyone = _touched(session)
    if therapists or clients or sessions or everyone:
        _raise(session, session.connection(), therapists=therapists, clients=clients, sessions=sessions,
               everyone=everyone)


def _bulk_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in IGNORED_TABLES:
        return
    _raise(state.session, state.session.connection(), everyone=True)


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
