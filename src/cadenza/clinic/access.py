"""Who may see which client: the ownership checks every service starts with.

A therapist sees only their own clients; another therapist's client (or a row of one) is reported as
not found, the same answer as for a missing one, so its existence does not leak. An administrator
holding an emergency grant (:mod:`cadenza.clinic.emergency`) may read, never change.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from cadenza.clinic import emergency
from cadenza.clinic.accounts import check_actor
from cadenza.clinic.audit import audit
from cadenza.clinic.models import Client, Therapist
from cadenza.errors import NotFoundError, ParameterError

MAX_ROW_ID = 2**31 - 1  # INTEGER primary keys; a larger id names no row (and overflows the driver)

Row = TypeVar("Row")


def is_row_id(value: Any) -> bool:
    """True for an int that can be a primary key (1..:data:`MAX_ROW_ID`); others name no row.

    >>> is_row_id(7), is_row_id(0), is_row_id(True), is_row_id(2**40), is_row_id("7")
    (True, False, False, False, False)
    """
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ROW_ID


def get_client_for_actor(db: Session, *, actor: Therapist, client_id: int, action: str = "read") -> Client:
    """The client if ``actor`` owns it, else :class:`NotFoundError`; audits the access.

    Other domains' services use this as their single authorisation check.
    """
    check_actor(actor)
    if isinstance(client_id, bool) or not isinstance(client_id, int):
        raise ParameterError(f"client_id must be an integer, got {client_id!r}")
    client = db.get(Client, client_id) if is_row_id(client_id) else None
    if client is None or (client.therapist_id != actor.id
                          and not emergency.permits(db, actor=actor, client=client, action=action)):
        raise NotFoundError(f"client {client_id!r} not found")
    audit(db, actor, action, "client", entity_id=client.id, client_id=client.id)
    _hold(db, client)
    return client


_HELD_KEY = "cadenza_authorised_clients"


def _hold(db: Session, client: Client) -> None:
    """Keep ``client`` referenced until the unit of work ends. The session's identity map holds rows weakly,
    so a page whose services each authorise the same client (the session page: the session's owner, then the
    client, then its goals) would otherwise read the client row again after each caller let it go. A new
    root transaction starts a new hold, so nothing is kept across requests or commits."""
    held = db.info.get(_HELD_KEY)
    root = db.get_transaction()
    if held is None or held[0] is not root:
        held = (root, {})
        db.info[_HELD_KEY] = held
    held[1][client.id] = client


def owned_row(db: Session, actor: Therapist, model: type[Row], row_id: Any, what: str) -> tuple[Row, Client]:
    """A client-owned row (assessment, goal, session) and its client if ``actor`` owns the client;
    :class:`NotFoundError` otherwise, so another therapist's rows look absent rather than forbidden."""
    check_actor(actor)
    row = db.get(model, row_id) if is_row_id(row_id) else None
    if row is not None and getattr(row, "removed_at", None) is not None:
        row = None  # removed (clinic.corrections): db.get may still hold it from earlier in this unit of work
    client = db.get(Client, row.client_id) if row is not None else None
    if row is None or client is None or (client.therapist_id != actor.id
                                         and not emergency.permits(db, actor=actor, client=client)):
        raise NotFoundError(f"{what} {row_id!r} not found")
    _hold(db, client)
    return row, client


def child_of(db: Session, client: Client, model: type[Row], row_id: Any, what: str) -> Row:
    """The ``model`` row ``row_id`` if it belongs to ``client`` (already authorised by the caller),
    else :class:`NotFoundError`: a row of another client gets the same answer as a missing one.

    ``what`` names the row in the message (``"goal"``, ``"RAS plan"``).
    """
    row = db.get(model, row_id) if is_row_id(row_id) else None
    if row is None or row.client_id != client.id or getattr(row, "removed_at", None) is not None:
        raise NotFoundError(f"{what} {row_id!r} not found")
    return row
