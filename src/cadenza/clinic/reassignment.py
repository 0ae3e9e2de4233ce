"""Caseload reassignment: an administrator moves a therapist's clients to another therapist (one who
leaves, goes on leave, or hands over a ward).

The record's access rule is unchanged: a client is seen and changed by the therapist who holds it
(:mod:`cadenza.clinic.access`). Moving a client moves that right; the sessions keep the therapist who
held them (``therapy_session.therapist_id``), so the notes still say who wrote them. The administrator
reads no clinical content here: only the clients' pseudonymous codes. Every moved client is audited as
``reassign`` (actor = the admin) on the client, in the same transaction as the move.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cadenza.clinic.accounts import check_admin, get_therapist_by_username
from cadenza.clinic.audit import audit
from cadenza.clinic.models import Client, Therapist, utcnow
from cadenza.errors import ConflictError, ParameterError


@dataclass(frozen=True)
class Reassignment:
    """What moved: the clients' ids and codes, from whom to whom."""

    from_username: str
    to_username: str
    client_ids: tuple[int, ...]
    codes: tuple[str, ...]


def caseload_sizes(db: Session, *, actor: Therapist | None) -> dict[int, int]:
    """{therapist id: number of clients} for the admin's account list."""
    check_admin(actor)
    rows = db.execute(select(Client.therapist_id, func.count()).group_by(Client.therapist_id))
    return {therapist_id: count for therapist_id, count in rows}


def caseload_codes(db: Session, *, actor: Therapist | None, username: str) -> list[str]:
    """The pseudonymous codes of one therapist's clients (no clinical content), sorted."""
    check_admin(actor)
    therapist = get_therapist_by_username(db, username)
    return list(db.scalars(select(Client.code).where(Client.therapist_id == therapist.id).order_by(Client.code)))


def _codes(codes: Iterable[str] | None) -> list[str] | None:
    if codes is None:
        return None
    if isinstance(codes, str):
        raise ParameterError(f"codes must be a list of client codes, got the text {codes!r}")
    cleaned = [c.strip() for c in codes if isinstance(c, str) and c.strip()]
    if len(cleaned) != len(list(codes)):
        raise ParameterError(f"codes must be non-empty client codes, got {list(codes)!r}")
    return sorted(set(cleaned))


def reassign_caseload(db: Session, *, actor: Therapist | None, from_username: str, to_username: str,
                      codes: Iterable[str] | None = None) -> Reassignment:
    """Move ``from_username``'s clients (all of them, or only those with ``codes``) to ``to_username``.

    ``actor`` must be an admin (``None``: the local command line). The receiving account must be active;
    the giving one may be disabled (a therapist who left). Refused, with nothing moved: the same account
    twice, an unknown code, or a code the receiving therapist already uses for a client of their own
    (codes are unique per therapist), named in the :class:`ConflictError`.
    """
    check_admin(actor)
    source = get_therapist_by_username(db, from_username)
    target = get_therapist_by_username(db, to_username)
    if source.id == target.id:
        raise ParameterError(f"to_username must differ from from_username, got {to_username!r} twice")
    if not target.active:
        raise ConflictError(f"to_username {to_username!r} is a disabled account; enable it or choose another")
    wanted = _codes(codes)
    query = select(Client).where(Client.therapist_id == source.id)
    if wanted is not None:
        if not wanted:
            raise ParameterError("codes must name at least one client (leave it out to move the whole caseload)")
        query = query.where(Client.code.in_(wanted))
    clients = list(db.scalars(query.order_by(Client.code).with_for_update()))
    if wanted is not None:
        missing = sorted(set(wanted) - {c.code for c in clients})
        if missing:
            raise ParameterError(f"codes {missing!r} are not clients of {from_username!r}")
    clashes = sorted(db.scalars(select(Client.code).where(Client.therapist_id == target.id,
                                                          Client.code.in_([c.code for c in clients]))))
    if clashes:
        raise ConflictError(f"{to_username!r} already has clients with the codes {clashes!r}; rename one of each "
                            "pair first (codes are unique per therapist)")
    now = utcnow()
    for client in clients:
        client.therapist_id = target.id
        client.updated_at = now
        audit(db, actor, "reassign", "client", entity_id=client.id, client_id=client.id)
    db.flush()
    return Reassignment(source.username, target.username, tuple(c.id for c in clients), tuple(c.code for c in clients))
