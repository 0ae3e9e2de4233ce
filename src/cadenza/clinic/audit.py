"""The audit log's write side: :func:`audit` appends an ``audit_event`` row in the caller's transaction.

The lowest primitive of the record: every service (clinical, accounts, login, emergency access and the
domain ``*_records`` modules) calls it, so it imports nothing from the record but its models. A read
repeated within one unit of work is one access and is written once. The memory of written reads is
tied to the session's root transaction, so it needs no session event: a commit or rollback starts a
new unit of work whose reads are audited again, on any session however it was made.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cadenza.clinic.models import AuditEvent, Therapist, utcnow

SYSTEM_ACTOR = "system"
_READS_KEY = "cadenza_audited_reads"
_ONCE_PER_TRANSACTION = frozenset({"read", "read_emergency"})


def audit(
    db: Session,
    actor: Therapist | None,
    action: str,
    entity: str,
    *,
    entity_id: int | None = None,
    client_id: int | None = None,
) -> AuditEvent:
    """Append an audit event (also for other domains' ``*_records`` services).

    A read repeated within one transaction (one page view whose panels each check access, a command
    that looks the client up and then lists its parts) is one access: the identical ``read`` event
    is written once, and the first event is returned for the repeats.
    """
    key = (actor.id if actor is not None else None, action, entity, entity_id, client_id)
    seen = _reads_of_this_unit_of_work(db) if action in _ONCE_PER_TRANSACTION else None
    if seen is not None and key in seen:
        return seen[key]
    row = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_username=actor.username if actor is not None else SYSTEM_ACTOR,
        action=action,
        entity=entity,
        entity_id=entity_id,
        client_id=client_id,
        at=utcnow(),
    )
    db.add(row)  # begins the session's transaction if nothing else has
    if action in _ONCE_PER_TRANSACTION:
        if seen is None:
            seen = {}
            db.info[_READS_KEY] = (db.get_transaction(), seen)
        seen[key] = row
    return row


def _reads_of_this_unit_of_work(db: Session) -> dict | None:
    """The reads already audited in the session's current root transaction (savepoints inside it,
    ``begin_nested``, belong to it), or None when none were or the transaction has ended."""
    stored = db.info.get(_READS_KEY)
    root = db.get_transaction()
    if stored is None or root is None or stored[0] is not root:
        return None
    return stored[1]
