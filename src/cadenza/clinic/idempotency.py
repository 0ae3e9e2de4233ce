"""Idempotent creates: a double tap or a retried request stores one row, not two (reliability anchor T30).

A client names each create with a key (the ``Idempotency-Key`` header of the JSON API, or the one-time
form id of a page). The first request with that key :func:`claim`\\ s it, performs the create and
:func:`complete`\\ s the claim with the response it sends, all in the caller's one unit of work; a repeat
with the same key gets the stored response back without writing anything.

* **Per actor.** Keys are unique per therapist, ``(actor_id, key)``; another therapist's identical
  key is a different key, and a replay never shows one therapist another's response.
* **Same request only.** The key is bound to the route and the SHA-256 of the request body; the same
  key with another route or body is refused (:class:`~cadenza.errors.ParameterError`, a 422 on the
  web), because silently replaying the first answer would drop what the second request said.
* **Only successes are kept.** The claim row is written in the create's transaction, so a create
  that fails rolls its claim back with it and the client may retry with the same key.
* **Concurrency.** The unique constraint decides the race. A second request with the key of a
  create still in flight waits on the constraint (PostgreSQL row lock on the index entry; SQLite
  holds one writer at a time) until the first commits, then replays its response; if the first
  rolls back, the waiting request performs the create itself. Callers never see a 409 for an
  in-flight key, only the replayed 2xx.
* **Expiry.** A key lives :data:`KEY_TTL_H` hours; every claim first deletes expired keys, so a key
  reused after a day starts afresh.

Stripe's API popularised this contract; the IETF draft "The Idempotency-Key HTTP Header Field"
(draft-ietf-httpapi-idempotency-key-header) names the header. The unique-constraint race fix follows
HAPI FHIR PR #4609 (issues #3141 and #4597: duplicate conditional creates under concurrency).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic.models import Base, Therapist, utcnow
from cadenza.errors import ParameterError

KEY_TTL_H = 24
MAX_KEY_CHARS = 200
MAX_ROUTE_CHARS = 400
# Printable ASCII: a header value must be latin-1, and control characters never belong in a key.
_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F))


class IdempotencyKey(Base):
    """One claimed key and, once the create has run, the response it produced."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("actor_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    key: Mapped[str] = mapped_column(String(MAX_KEY_CHARS))
    route: Mapped[str] = mapped_column(String(MAX_ROUTE_CHARS))
    request_sha256: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


@dataclass(frozen=True)
class StoredResponse:
    """The response of the first request with a key, to send again unchanged."""

    status_code: int
    body: str


def validate_key(key: str) -> str:
    """``key`` if it is 1 to 200 printable ASCII characters, else :class:`ParameterError`.

    >>> validate_key("retry-7f3a")
    'retry-7f3a'
    """
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_CHARS:
        shown = key if not isinstance(key, str) or len(key) <= 40 else key[:40] + "..."
        raise ParameterError(f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} characters, got {shown!r}")
    if not set(key) <= _PRINTABLE:
        raise ParameterError(f"Idempotency-Key must be printable ASCII (no control or non-ASCII characters), "
                             f"got {key[:40]!r}")
    return key


def request_sha256(payload: Any) -> str:
    """The SHA-256 of a request body as canonical JSON (sorted keys), so whitespace and key order in
    what the client sent do not make a retry look like another request.

    >>> request_sha256({"b": 1, "a": [2]}) == request_sha256({"a": [2], "b": 1})
    True
    """
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_form_id() -> str:
    """A fresh one-time id for a rendered form (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def claim(db: Session, *, actor: Therapist, key: str, route: str, body_sha256: str,
          now: dt.datetime | None = None) -> IdempotencyKey | StoredResponse:
    """Claim ``key`` for this create, or return the response already stored under it.

    Returns the new (flushed) :class:`IdempotencyKey` row when the key is free: perform the create,
    then call :func:`complete`. Returns a :class:`StoredResponse` when ``actor`` already used the key
    for the same ``route`` and body. Raises :class:`ParameterError` when the key was used for another
    route or body, or is malformed. Waits while another transaction holds the key uncommitted.
    """
    validate_key(key)
    if len(route) > MAX_ROUTE_CHARS:
        raise ParameterError(f"route must be at most {MAX_ROUTE_CHARS} characters, got {len(route)}")
    now = now or utcnow()
    if now.tzinfo is None:
        raise ParameterError(f"now must be timezone-aware (UTC), got {now!r}")
    db.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - dt.timedelta(hours=KEY_TTL_H)))
    existing = _find(db, actor_id=actor.id, key=key)
    if existing is None:
        row = IdempotencyKey(actor_id=actor.id, key=key, route=route, request_sha256=body_sha256, created_at=now)
        try:
            with db.begin_nested():
                db.add(row)
                db.flush()
            return row
        except IntegrityError:
            # Another request with this key committed while we waited on the constraint.
            existing = _find(db, actor_id=actor.id, key=key)
            if existing is None:  # pragma: no cover - the winner's row vanished (expired) in between
                raise
    return _replay(existing, route=route, body_sha256=body_sha256)


def complete(db: Session, row: IdempotencyKey, *, status_code: int, body: str) -> None:
    """Store the response of the create that ``row`` claimed (same unit of work as the create)."""
    if not 100 <= status_code <= 599:
        raise ParameterError(f"status_code must be an HTTP status (100-599), got {status_code!r}")
    row.response_status = status_code
    row.response_body = body
    db.flush()


def _find(db: Session, *, actor_id: int, key: str) -> IdempotencyKey | None:
    return db.scalar(select(IdempotencyKey).where(IdempotencyKey.actor_id == actor_id, IdempotencyKey.key == key)
                     .execution_options(populate_existing=True))


def _replay(row: IdempotencyKey, *, route: str, body_sha256: str) -> StoredResponse:
    if row.route != route:
        raise ParameterError(f"Idempotency-Key {row.key!r} was already used for {row.route!r}, not {route!r}; "
                             f"use a new key for a new request")
    if row.request_sha256 != body_sha256:
        raise ParameterError(f"Idempotency-Key {row.key!r} was already used with a different request body; "
                             f"use a new key for a new request, or resend the original body to get its result")
    if row.response_status is None or row.response_body is None:  # pragma: no cover - claim and complete share a transaction
        raise ParameterError(f"Idempotency-Key {row.key!r} has no stored response yet; retry shortly")
    return StoredResponse(status_code=row.response_status, body=row.response_body)
