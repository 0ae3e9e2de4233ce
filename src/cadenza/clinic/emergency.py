"""Emergency ("break-glass") access: an administrator opens one client's record for a few hours.

When a client's therapist is away and the client is in crisis, nobody else may read the record
(:func:`cadenza.clinic.access.get_client_for_actor` hides it). HIPAA 164.312(a)(2)(ii) requires an
emergency access procedure and ONC 170.315(d)(6) certifies one; this module is Cadenza's
(reliability anchor T6):

* **Who.** An active administrator with two-factor login grants access *to themselves*, for one
  client, with a written reason of at least :data:`MIN_REASON_CHARS` characters.
* **How long.** :data:`DEFAULT_DURATION_H` hours unless asked otherwise, never more than
  :data:`MAX_DURATION_H`; any administrator may end a grant early (revoke).
* **What.** Read only. The grant opens the two ownership checks in :mod:`cadenza.clinic.access` for
  reads; any other action (update, create, export) is refused, and a unit of work that used a grant
  cannot flush changes to clinical rows (:func:`_refuse_writes_after_emergency_read`, installed on
  the record's sessions by :func:`install`), so a write that a domain service performs after a
  "read" check is refused too.
* **Audit.** Every check passed under a grant writes its own ``read_emergency`` audit event whose
  ``entity_id`` is the grant (the reason lives on the grant), next to the ordinary ``read`` event;
  granting and revoking are audited as ``grant_emergency`` and ``revoke_emergency``.
* **Alerting.** The owning therapist sees who opened the record, when and why on the client page and
  the dashboard (:func:`notices_for_client`, :func:`notices_for_therapist`); every administrator
  sees all grants (:func:`list_grants`).

The normal path costs nothing: grants are consulted only when the actor is an administrator who
does not own the client (one indexed query).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text, bindparam, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from cadenza.clinic.audit import audit
from cadenza.clinic.auth import mfa_enabled
from cadenza.clinic.models import Base, Client, Therapist, utcnow
from cadenza.errors import ConflictError, NotFoundError, ParameterError, PermissionDeniedError

MIN_REASON_CHARS = 20
MAX_REASON_CHARS = 2000
DEFAULT_DURATION_H = 4.0
MAX_DURATION_H = 12.0
# How far back the owning therapist's dashboard reports emergency openings of their records.
NOTICE_WINDOW = dt.timedelta(days=30)
MAX_LISTED = 100
READ_ACTIONS = frozenset({"read"})
AUDIT_READ = "read_emergency"
AUDIT_GRANT = "grant_emergency"
AUDIT_REVOKE = "revoke_emergency"

# Rows a read-only emergency unit of work may still write: its own audit trail and the login
# bookkeeping that every request touches.
_WRITABLE_TABLES = frozenset({"audit_event", "audit_seal", "emergency_access", "login_session",
                              "login_attempt", "api_token", "mfa_challenge", "therapist_mfa"})
_READ_ONLY_KEY = "cadenza_emergency_read_only"


class EmergencyAccess(Base):
    """One break-glass grant. ``client_id`` has no foreign key, like ``audit_event.client_id``: the
    record of who opened a file and why must outlive the file."""

    __tablename__ = "emergency_access"
    __table_args__ = (
        CheckConstraint("expires_at > granted_at", name="expires_after_grant"),
        CheckConstraint(f"length(reason) >= {MIN_REASON_CHARS}", name="reason_length"),
        Index("ix_emergency_access_admin_client", "admin_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    client_id: Mapped[int] = mapped_column(Integer, index=True)
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[dt.datetime] = mapped_column()
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("therapist.id"), nullable=True)

    def is_active(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and self.granted_at <= now < self.expires_at

    def __repr__(self) -> str:
        return (f"EmergencyAccess(id={self.id!r}, admin_id={self.admin_id!r}, client_id={self.client_id!r}, "
                f"expires_at={self.expires_at!r}, revoked_at={self.revoked_at!r})")


@dataclass(frozen=True)
class GrantView:
    """A grant as pages show it: names resolved, state decided at one instant."""

    id: int
    client_id: int
    client_code: str | None
    admin_username: str
    reason: str
    granted_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by_username: str | None
    active: bool


# --- the check the service calls ----------------------------------------------------------------


def permits(db: Session, *, actor: Therapist, client: Client, action: str = "read") -> bool:
    """True if ``actor`` holds an active grant on ``client`` and ``action`` is a read; audits it.

    Called by the service's ownership checks only when ``actor`` does not own ``client``. A
    non-administrator costs no query. With an active grant, a non-read ``action`` raises
    :class:`PermissionDeniedError` (emergency access is read-only).
    """
    if actor.role != "admin":
        return False
    grant = active_grant(db, admin_id=actor.id, client_id=client.id)
    if grant is None:
        return False
    if action not in READ_ACTIONS:
        raise PermissionDeniedError(
            f"emergency access grant {grant.id} is read-only; action {action!r} on client {client.id!r} refused"
        )
    if not is_installed(db):
        raise PermissionDeniedError(
            f"emergency access grant {grant.id} needs a session that enforces read-only access; "
            "make sessions with cadenza.clinic.db.make_session_factory"
        )
    audit(db, actor, AUDIT_READ, "emergency_access", entity_id=grant.id, client_id=client.id)
    db.info[_READ_ONLY_KEY] = grant.id
    return True


def active_grant(db: Session, *, admin_id: int, client_id: int, now: dt.datetime | None = None
                 ) -> EmergencyAccess | None:
    """The administrator's grant on the client that is in force at ``now``, if any."""
    now = now or utcnow()
    return db.scalar(
        select(EmergencyAccess)
        .where(EmergencyAccess.admin_id == admin_id, EmergencyAccess.client_id == client_id,
               EmergencyAccess.revoked_at.is_(None), EmergencyAccess.expires_at > now,
               EmergencyAccess.granted_at <= now)
        .order_by(EmergencyAccess.expires_at.desc())
        .limit(1)
    )


def _refuse_writes_after_emergency_read(session: Session, _context: Any, _instances: Any) -> None:
    grant_id = session.info.get(_READ_ONLY_KEY)
    if grant_id is None:
        return
    changed = [*session.new, *session.deleted, *(o for o in session.dirty if session.is_modified(o))]
    blocked = sorted({o.__table__.name for o in changed if o.__table__.name not in _WRITABLE_TABLES})
    if blocked:
        raise PermissionDeniedError(
            f"emergency access grant {grant_id} is read-only; refusing to change {', '.join(blocked)}"
        )


def _end_read_only(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_READ_ONLY_KEY, None)


def is_installed(db: Session) -> bool:
    """True if ``db`` enforces the read-only rule (it comes from a factory :func:`install` was given)."""
    return _refuse_writes_after_emergency_read in db.dispatch.before_flush


def install(factory: sessionmaker[Session]) -> None:
    """Make a unit of work of ``factory``'s sessions read-only once it has used a grant
    (:func:`cadenza.clinic.db.make_session_factory` calls this)."""
    event.listen(factory, "before_flush", _refuse_writes_after_emergency_read)
    event.listen(factory, "after_transaction_end", _end_read_only)


# --- granting and revoking ----------------------------------------------------------------------


def _check_admin(db: Session, actor: Therapist) -> None:
    if not isinstance(actor, Therapist):
        raise PermissionDeniedError(f"actor must be a Therapist account, got {actor!r}")
    if not actor.active:
        raise PermissionDeniedError(f"account {actor.username!r} is disabled")
    if actor.role != "admin":
        raise PermissionDeniedError(
            f"only administrators use emergency access; {actor.username!r} is a {actor.role}")
    if not mfa_enabled(db, therapist_id=actor.id):
        raise PermissionDeniedError(
            f"administrator {actor.username!r} must enrol in two-factor login before using emergency access")


def grant_emergency_access(
    db: Session, *, actor: Therapist, client_id: int, reason: str, duration_h: float = DEFAULT_DURATION_H,
    now: dt.datetime | None = None,
) -> EmergencyAccess:
    """Open ``client_id``'s record to ``actor`` (an administrator) for reading, for ``duration_h`` hours."""
    _check_admin(db, actor)
    if isinstance(client_id, bool) or not isinstance(client_id, int):
        raise ParameterError(f"client_id must be an integer, got {client_id!r}")
    if not isinstance(reason, str):
        raise ParameterError(f"reason must be text, got {reason!r}")
    reason = reason.strip()
    if not MIN_REASON_CHARS <= len(reason) <= MAX_REASON_CHARS:
        raise ParameterError(
            f"reason must be {MIN_REASON_CHARS}-{MAX_REASON_CHARS} characters saying why the record is "
            f"needed now, got {len(reason)} characters: {reason!r}"
        )
    if (isinstance(duration_h, bool) or not isinstance(duration_h, int | float) or not math.isfinite(duration_h)
            or not 0 < duration_h <= MAX_DURATION_H):
        raise ParameterError(
            f"duration_h must be a number of hours in (0, {MAX_DURATION_H:g}], got {duration_h!r} "
            "(hours, not minutes)"
        )
    now = now or utcnow()
    client = db.get(Client, client_id)
    if client is None:
        raise NotFoundError(f"client {client_id!r} not found")
    if client.therapist_id == actor.id:
        raise ParameterError(f"client_id {client_id!r} is {actor.username!r}'s own client; no emergency access needed")
    current = active_grant(db, admin_id=actor.id, client_id=client_id, now=now)
    if current is not None:
        raise ConflictError(
            f"grant {current.id} on client {client_id!r} is already active until {current.expires_at.isoformat()}"
        )
    grant = EmergencyAccess(admin_id=actor.id, client_id=client_id, reason=reason, granted_at=now,
                            expires_at=now + dt.timedelta(hours=float(duration_h)))
    db.add(grant)
    db.flush()
    audit(db, actor, AUDIT_GRANT, "emergency_access", entity_id=grant.id, client_id=client_id)
    return grant


def find_client_id(db: Session, *, actor: Therapist, therapist_username: str, code: str) -> int | None:
    """The id of ``therapist_username``'s client ``code`` (codes are unique per therapist), or None;
    how an administrator names the record to open ("ann's client C001")."""
    _check_admin(db, actor)
    if not isinstance(therapist_username, str) or not isinstance(code, str):
        raise ParameterError(f"therapist_username and code must be text, got {therapist_username!r}, {code!r}")
    return db.scalar(select(Client.id).join(Therapist, Therapist.id == Client.therapist_id)
                     .where(Therapist.username == therapist_username, Client.code == code))


def revoke_emergency_access(db: Session, *, actor: Therapist, grant_id: int,
                            now: dt.datetime | None = None) -> EmergencyAccess:
    """End a grant now; the granting administrator or any other may do it."""
    _check_admin(db, actor)
    if isinstance(grant_id, bool) or not isinstance(grant_id, int):
        raise ParameterError(f"grant_id must be an integer, got {grant_id!r}")
    now = now or utcnow()
    grant = db.get(EmergencyAccess, grant_id)
    if grant is None:
        raise NotFoundError(f"emergency access grant {grant_id!r} not found")
    if not grant.is_active(now):
        raise ConflictError(f"emergency access grant {grant_id!r} has already ended")
    grant.revoked_at = now
    grant.revoked_by_id = actor.id
    db.flush()
    audit(db, actor, AUDIT_REVOKE, "emergency_access", entity_id=grant.id, client_id=grant.client_id)
    return grant


# --- listing and alerting -----------------------------------------------------------------------


def _views(db: Session, rows: list[EmergencyAccess], now: dt.datetime) -> list[GrantView]:
    ids = {r.admin_id for r in rows} | {r.revoked_by_id for r in rows if r.revoked_by_id is not None}
    names = dict(db.execute(select(Therapist.id, Therapist.username).where(Therapist.id.in_(ids))).all()) if ids else {}
    client_ids = {r.client_id for r in rows}
    codes = dict(db.execute(select(Client.id, Client.code).where(Client.id.in_(client_ids))).all()) if client_ids else {}
    return [GrantView(id=r.id, client_id=r.client_id, client_code=codes.get(r.client_id),
                      admin_username=names.get(r.admin_id, "?"), reason=r.reason, granted_at=r.granted_at,
                      expires_at=r.expires_at, revoked_at=r.revoked_at,
                      revoked_by_username=names.get(r.revoked_by_id) if r.revoked_by_id else None,
                      active=r.is_active(now))
            for r in rows]


def list_grants(db: Session, *, actor: Therapist, now: dt.datetime | None = None) -> list[GrantView]:
    """The newest :data:`MAX_LISTED` grants of every administrator, for administrators."""
    _check_admin(db, actor)
    now = now or utcnow()
    rows = list(db.scalars(select(EmergencyAccess).order_by(EmergencyAccess.granted_at.desc(),
                                                            EmergencyAccess.id.desc()).limit(MAX_LISTED)))
    return _views(db, rows, now)


def get_grant(db: Session, *, actor: Therapist, grant_id: int, now: dt.datetime | None = None) -> GrantView:
    """One grant as administrators see it."""
    _check_admin(db, actor)
    grant = db.get(EmergencyAccess, grant_id) if isinstance(grant_id, int) and not isinstance(grant_id, bool) else None
    if grant is None:
        raise NotFoundError(f"emergency access grant {grant_id!r} not found")
    return _views(db, [grant], now or utcnow())[0]


def _notices_statement(*where: Any) -> Any:
    """The grants ``where`` picks as :class:`GrantView` columns (client code and names joined in), newest first,
    at most :data:`MAX_LISTED`: one statement, built once per page that shows notices."""
    grants, clients = EmergencyAccess.__table__, Client.__table__
    admin, revoker = Therapist.__table__.alias("admin"), Therapist.__table__.alias("revoker")
    return (select(grants.c.id, grants.c.client_id, clients.c.code, admin.c.username, grants.c.reason,
                   grants.c.granted_at, grants.c.expires_at, grants.c.revoked_at, revoker.c.username)
            .select_from(grants)
            .outerjoin(clients, clients.c.id == grants.c.client_id)
            .outerjoin(admin, admin.c.id == grants.c.admin_id)
            .outerjoin(revoker, revoker.c.id == grants.c.revoked_by_id)
            .where(*where)
            .order_by(grants.c.granted_at.desc(), grants.c.id.desc())
            .limit(MAX_LISTED))


_GRANTS = EmergencyAccess.__table__
_NOTICES_OF_CLIENT = _notices_statement(_GRANTS.c.client_id == bindparam("client_id"))
_NOTICES_OF_THERAPIST = _notices_statement(
    Client.__table__.c.therapist_id == bindparam("therapist_id"),
    (_GRANTS.c.granted_at >= bindparam("since")) | (_GRANTS.c.expires_at > bindparam("now")))


def _notice_views(db: Session, statement: Any, parameters: dict[str, Any], now: dt.datetime) -> list[GrantView]:
    # Plain rows, the same views _views makes of the grant objects. Without flushing the session first: what a
    # page has added by then (its audit rows) goes with its commit, and the grants' own changes are flushed by
    # grant_emergency_access and revoke_emergency_access.
    with db.no_autoflush:
        rows = db.execute(statement, parameters).all()
    return [GrantView(id=grant_id, client_id=client_id, client_code=code, admin_username=admin or "?",
                      reason=reason, granted_at=granted_at, expires_at=expires_at, revoked_at=revoked_at,
                      revoked_by_username=revoker, active=revoked_at is None and granted_at <= now < expires_at)
            for grant_id, client_id, code, admin, reason, granted_at, expires_at, revoked_at, revoker in rows]


def notices_for_client(db: Session, *, client: Client, now: dt.datetime | None = None) -> list[GrantView]:
    """Every grant on ``client`` (newest first, at most :data:`MAX_LISTED`), for its page's banner.

    The caller has already loaded ``client`` through the ownership check.
    """
    now = now or utcnow()
    return _notice_views(db, _NOTICES_OF_CLIENT, {"client_id": client.id}, now)


def notices_for_therapist(db: Session, *, therapist_id: int, now: dt.datetime | None = None) -> list[GrantView]:
    """Grants made in the last :data:`NOTICE_WINDOW` (or still active) on the therapist's clients."""
    now = now or utcnow()
    return _notice_views(db, _NOTICES_OF_THERAPIST,
                         {"therapist_id": therapist_id, "since": now - NOTICE_WINDOW, "now": now}, now)
