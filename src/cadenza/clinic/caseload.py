"""The client list: search by code, filters, and keyset paging.

A therapist lists their own clients. An administrator may also list another therapist's caseload (or
everyone's) to see who holds which client and how many notes wait to be signed: codes, holders and
counts only, the same administrative view as reassigning a caseload; filtering on conditions and
reading anything clinical stays with the client's own therapist (or an emergency grant).

Pages follow a keyset cursor (the last row's ``(code, id)``), never ``OFFSET``: a page costs the same
wherever it is in a long list, and a client added meanwhile neither repeats nor skips a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from cadenza.clinic.accounts import check_actor
from cadenza.clinic.audit import audit
from cadenza.clinic.models import CLIENT_STATUSES, Client, Therapist, TherapySession
from cadenza.errors import ParameterError

MAX_PAGE_SIZE = 100
MAX_QUERY_CHARS = 64
_CURSOR = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]{0,63})~([1-9][0-9]{0,9})")


@dataclass(frozen=True)
class ClientRow:
    client: Client
    therapist_username: str
    unsigned_notes: int


@dataclass(frozen=True)
class ClientListPage:
    rows: list[ClientRow]
    next_cursor: str | None  # pass as ``after`` for the next page; None on the last page
    limit: int


def encode_cursor(client: Client) -> str:
    """The cursor after ``client``: ``code~id`` (codes never hold ``~``)."""
    return f"{client.code}~{client.id}"


def decode_cursor(cursor: Any) -> tuple[str, int]:
    """``"C001~7"`` -> ``("C001", 7)``; anything else is a ParameterError naming ``after``.

    >>> decode_cursor("C001~7")
    ('C001', 7)
    """
    match = _CURSOR.fullmatch(cursor) if isinstance(cursor, str) else None
    if match is None or int(match.group(2)) > 2**31 - 1:
        raise ParameterError(f"after must be a cursor from the previous page such as 'C001~7', got {cursor!r:.80}")
    return match.group(1), int(match.group(2))


def _unsigned_count():
    return (select(func.count(TherapySession.id))
            .where(TherapySession.client_id == Client.id, TherapySession.signed_at.is_(None),
                   TherapySession.source == "therapist", TherapySession.removed_at.is_(None))
            .correlate(Client).scalar_subquery())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_clients(db: Session, *, actor: Therapist, query: str = "", therapist_id: int | None = None,
                 condition: str = "", unsigned_only: bool = False, after: str | None = None,
                 limit: int = 50, status: str = "") -> ClientListPage:
    """One page of clients by code, filtered.

    ``query`` matches anywhere in the code, ignoring case. ``therapist_id`` (administrators: any
    account, or None for every caseload; therapists: only their own) picks the caseload.
    ``condition`` matches a recorded condition (own clients only), ``unsigned_only`` keeps clients with
    a note still to sign, ``status`` (one of :data:`~cadenza.clinic.models.CLIENT_STATUSES`, or "" for
    all) keeps clients in that state of care. ``after`` is the previous page's ``next_cursor``.
    """
    check_actor(actor)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ParameterError(f"limit must be a whole number 1..{MAX_PAGE_SIZE}, got {limit!r}")
    if not isinstance(query, str) or len(query.strip()) > MAX_QUERY_CHARS:
        raise ParameterError(f"query must be text of at most {MAX_QUERY_CHARS} characters, got {query!r:.80}")
    if not isinstance(condition, str) or len(condition.strip()) > 200:
        raise ParameterError(f"condition must be text of at most 200 characters, got {condition!r:.80}")
    if status not in ("", *CLIENT_STATUSES):
        raise ParameterError(f"status must be one of {CLIENT_STATUSES} or empty, got {status!r:.80}")
    if therapist_id is not None and (isinstance(therapist_id, bool) or not isinstance(therapist_id, int)):
        raise ParameterError(f"therapist_id must be an account id or None, got {therapist_id!r}")
    if not actor.is_admin:
        if therapist_id not in (None, actor.id):
            raise ParameterError(f"therapist_id {therapist_id!r}: a therapist lists only their own clients")
        therapist_id = actor.id
    own_only = therapist_id == actor.id
    if condition.strip() and not own_only:
        raise ParameterError("condition: conditions are clinical; filter on them within your own caseload only")

    unsigned = _unsigned_count().label("unsigned_notes")
    statement = (select(Client, Therapist.username, unsigned)
                 .join(Therapist, Client.therapist_id == Therapist.id))
    if therapist_id is not None:
        statement = statement.where(Client.therapist_id == therapist_id)
    if query.strip():
        statement = statement.where(func.lower(Client.code).like(f"%{_escape_like(query.strip().lower())}%",
                                                                 escape="\\"))
    if unsigned_only:
        statement = statement.where(exists().where(TherapySession.client_id == Client.id,
                                                   TherapySession.signed_at.is_(None),
                                                   TherapySession.source == "therapist",
                                                   TherapySession.removed_at.is_(None)))
    if status:
        statement = statement.where(Client.status == status)
    if after is not None:
        code, client_id = decode_cursor(after)
        statement = statement.where(or_(Client.code > code, and_(Client.code == code, Client.id > client_id)))
    statement = statement.order_by(Client.code, Client.id)
    wanted = condition.strip().lower()
    rows: list[ClientRow] = []
    if not wanted:
        result = db.execute(statement.limit(limit + 1)).all()
        rows = [ClientRow(r[0], r[1], int(r[2] or 0)) for r in result]
    else:
        # Conditions are a JSON list: matched in Python, reading on in batches until the page is full.
        cursor_statement = statement
        while len(rows) <= limit:
            batch = db.execute(cursor_statement.limit(200)).all()
            rows += [ClientRow(r[0], r[1], int(r[2] or 0)) for r in batch
                     if any(wanted in c for c in (r[0].conditions or []))]
            if len(batch) < 200:
                break
            last = batch[-1][0]
            cursor_statement = statement.where(or_(Client.code > last.code,
                                                   and_(Client.code == last.code, Client.id > last.id)))
    more = len(rows) > limit
    rows = rows[:limit]
    audit(db, actor, "list", "client")
    return ClientListPage(rows=rows, next_cursor=encode_cursor(rows[-1].client) if more and rows else None,
                          limit=limit)


def list_conditions(db: Session, *, actor: Therapist) -> list[str]:
    """The conditions recorded on the actor's own clients, for the filter's choices."""
    check_actor(actor)
    seen: set[str] = set()
    for conditions in db.scalars(select(Client.conditions).where(Client.therapist_id == actor.id)):
        seen.update(conditions or [])
    return sorted(seen)
