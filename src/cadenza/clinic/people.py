"""The person as an actor of the record: the client, or a caregiver acting for them, on their own device.

A therapist invites the person with a one-time link that expires (:class:`PersonInvite`). Opening it makes a
:class:`PersonDevice`: a device-bound session (the cookie holds a random token; the table only its SHA-256
digest) opened with a short PIN or a passkey. The therapist can revoke any device. A device reaches exactly
one client and nothing else: every person-facing page starts from the device's ``client_id``, never from an
id in the request (``web.deps.PersonPage``). Tools put the person's own pages under ``/me`` on top of this
(the home programme is the first; its table of tasks is the tool's).

Therapist-side functions take ``actor=`` and an authorised ``client``; the person's side is audited with the
device as the actor (``person:device-<id>``). Functions flush, never commit. Migration ``0020_home``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic import passwords
from cadenza.clinic.access import child_of
from cadenza.clinic.audit import audit
from cadenza.clinic.models import AuditEvent, Base, Client, Therapist, utcnow
from cadenza.errors import NotFoundError, ParameterError, PermissionDeniedError

INVITE_LIFETIME = dt.timedelta(hours=72)
# A phone stays a known device for this long without use; after that the person asks for a new link.
DEVICE_IDLE_LIFETIME = dt.timedelta(days=90)
# After this long without the app open, the PIN is asked again (a phone left on a table).
UNLOCK_LIFETIME = dt.timedelta(hours=12)
MAX_PIN_FAILURES = 5  # then the device is locked until the therapist sends a new invitation
PIN_DIGITS = (4, 8)
ROLES = ("client", "caregiver")
MAX_LABEL_CHARS = 60


class PersonInvite(Base):
    """A one-time link that lets one phone (the client's or a caregiver's) into one client's own pages."""

    __tablename__ = "person_invite"
    __table_args__ = (CheckConstraint("role IN ('client', 'caregiver')", name="role_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(MAX_LABEL_CHARS), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    # The challenge of a passkey registration begun on the invitation page (one at a time).
    webauthn_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)


class PersonDevice(Base):
    """A phone or computer the person (or their caregiver) uses; the cookie holds the token."""

    __tablename__ = "person_device"
    __table_args__ = (CheckConstraint("role IN ('client', 'caregiver')", name="role_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("person_invite.id", ondelete="SET NULL"), nullable=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    pin_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(MAX_LABEL_CHARS), default="")
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    unlocked_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    # A passkey instead of the PIN (WebAuthn): the credential id and COSE public key, base64url.
    passkey_id: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    passkey_public_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    passkey_sign_count: Mapped[int] = mapped_column(Integer, default=0)
    webauthn_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)

    @property
    def has_pin(self) -> bool:
        return bool(self.pin_hash)

    @property
    def actor_label(self) -> str:
        return f"person:device-{self.id}"

    @property
    def sound_device_name(self) -> str:
        """The name this phone's sound-delay calibration is kept under: its label (what the therapist calls
        it on the rhythm page) or, without one, its own id."""
        return self.label.strip() or self.actor_label


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def aware(value: dt.datetime) -> dt.datetime:
    """``value`` with UTC attached when the database returned it naive (SQLite)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def check_text(name: str, value: Any, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise ParameterError(f"{name} must be text, got {type(value).__name__}")
    if "\x00" in value:
        raise ParameterError(f"{name} must not contain NUL characters")
    value = value.strip()
    if len(value) > limit:
        raise ParameterError(f"{name} must be at most {limit} characters, got {len(value)}")
    if required and not value:
        raise ParameterError(f"{name} must not be empty")
    return value


def audit_device(db: Session, device: PersonDevice, action: str, entity: str, *, entity_id: int | None = None) -> None:
    """An audit row with the device as the actor (the person has no therapist account)."""
    db.add(AuditEvent(actor_id=None, actor_username=device.actor_label, action=action, entity=entity,
                      entity_id=entity_id, client_id=device.client_id, at=utcnow()))


def create_invite(db: Session, *, actor: Therapist, client: Client, role: str = "client", label: str = "",
                  now: dt.datetime | None = None) -> tuple[PersonInvite, str]:
    """A new invitation for an authorised ``client``; returns the row and the token (shown once)."""
    if role not in ROLES:
        raise ParameterError(f"role must be one of {ROLES}, got {role!r}")
    label = check_text("label", label, MAX_LABEL_CHARS)
    now = now or utcnow()
    token = secrets.token_urlsafe(24)
    row = PersonInvite(client_id=client.id, created_by_id=actor.id, token_sha256=_digest(token), role=role,
                       label=label, created_at=now, expires_at=now + INVITE_LIFETIME)
    db.add(row)
    db.flush()
    audit(db, actor, "create", "person_invite", entity_id=row.id, client_id=client.id)
    return row, token


def client_devices(db: Session, client: Client) -> list[PersonDevice]:
    return list(db.scalars(select(PersonDevice).where(PersonDevice.client_id == client.id).order_by(PersonDevice.id)))


def open_invites(db: Session, client: Client, *, now: dt.datetime | None = None) -> list[PersonInvite]:
    now = now or utcnow()
    rows = db.scalars(select(PersonInvite).where(PersonInvite.client_id == client.id, PersonInvite.used_at.is_(None),
                                                 PersonInvite.revoked_at.is_(None)).order_by(PersonInvite.id))
    return [row for row in rows if aware(row.expires_at) > now]


def revoke_device(db: Session, *, actor: Therapist, client: Client, device_id: Any) -> PersonDevice:
    device = child_of(db, client, PersonDevice, device_id, "device")
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        device.unlocked_until = None
        audit(db, actor, "revoke", "person_device", entity_id=device.id, client_id=client.id)
    return device


def revoke_invite(db: Session, *, actor: Therapist, client: Client, invite_id: Any) -> PersonInvite:
    invite = child_of(db, client, PersonInvite, invite_id, "invitation")
    if invite.revoked_at is None and invite.used_at is None:
        invite.revoked_at = utcnow()
        audit(db, actor, "revoke", "person_invite", entity_id=invite.id, client_id=client.id)
    return invite


def check_pin(pin: Any) -> str:
    low, high = PIN_DIGITS
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit() or not low <= len(pin) <= high:
        raise ParameterError(f"pin must be {low} to {high} digits")
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise ParameterError("pin must not be all one digit or a simple run like 1234; choose another")
    return pin


INVALID_INVITE = "this invitation link is not valid any more; ask your therapist for a new one"


def redeem_invite(db: Session, *, token: str, pin: str | None, label: str = "",
                  passkey: tuple[str, str, int] | None = None, open_without_pin: bool = False,
                  now: dt.datetime | None = None) -> tuple[PersonDevice, str]:
    """Turn an unused, unexpired invitation into a device; returns the device and its cookie token.

    The device opens with ``pin`` or, instead, with a ``passkey`` already verified by the caller
    (``(credential id, public key, sign count)``, base64url). An unknown, used, revoked or expired
    link gets one and the same answer, so a guessed link tells nothing.
    """
    now = now or utcnow()
    if open_without_pin:  # self-care on the person's own computer: no PIN, the server listens locally only
        if pin is not None or passkey is not None:
            raise ParameterError("open_without_pin takes neither a pin nor a passkey")
        pin_hash = ""
    elif passkey is None:
        pin_hash = passwords.HASHER.hash(check_pin(pin))
    elif pin is None:
        pin_hash = ""  # a passkey-only device: no PIN opens it
    else:
        raise ParameterError("pin and passkey are alternatives: give one")
    label = check_text("label", label, MAX_LABEL_CHARS)
    invite = find_invite(db, token, now=now)
    if invite is None:
        raise NotFoundError(INVALID_INVITE)
    invite.used_at = now
    invite.webauthn_challenge = None
    device_token = secrets.token_urlsafe(32)
    device = PersonDevice(client_id=invite.client_id, invite_id=invite.id, token_sha256=_digest(device_token),
                          csrf_token=secrets.token_urlsafe(32), pin_hash=pin_hash, role=invite.role,
                          label=label or invite.label, created_at=now, last_seen_at=now,
                          unlocked_until=now + UNLOCK_LIFETIME, passkey_sign_count=0)
    if passkey is not None:
        device.passkey_id, device.passkey_public_key, device.passkey_sign_count = passkey
    db.add(device)
    db.flush()
    audit_device(db, device, "create", "person_device", entity_id=device.id)
    return device, device_token


def find_invite(db: Session, token: Any, *, now: dt.datetime | None = None) -> PersonInvite | None:
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    now = now or utcnow()
    invite = db.scalar(select(PersonInvite).where(PersonInvite.token_sha256 == _digest(token)))
    if invite is None or invite.used_at is not None or invite.revoked_at is not None or aware(invite.expires_at) <= now:
        return None
    return invite


def resolve_device(db: Session, token: Any, *, now: dt.datetime | None = None) -> PersonDevice | None:
    """The device a cookie names if it is neither revoked nor idle too long (locked or not)."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    now = now or utcnow()
    device = db.scalar(select(PersonDevice).where(PersonDevice.token_sha256 == _digest(token)))
    if device is None or device.revoked_at is not None or aware(device.last_seen_at) + DEVICE_IDLE_LIFETIME <= now:
        return None
    return device


def is_unlocked(device: PersonDevice, *, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    return (device.pin_failures < MAX_PIN_FAILURES and device.unlocked_until is not None
            and aware(device.unlocked_until) > now)


def touch(device: PersonDevice, *, now: dt.datetime | None = None) -> None:
    """Keep an unlocked device open while it is used (sliding unlock window, written at most each minute)."""
    now = now or utcnow()
    if now - aware(device.last_seen_at) >= dt.timedelta(minutes=1):
        device.last_seen_at = now
        device.unlocked_until = now + UNLOCK_LIFETIME


def unlock(db: Session, device: PersonDevice, pin: Any, *, now: dt.datetime | None = None) -> None:
    """Open a locked device with its PIN; :data:`MAX_PIN_FAILURES` wrong PINs lock it for good."""
    now = now or utcnow()
    if device.pin_failures >= MAX_PIN_FAILURES:
        raise PermissionDeniedError("this device is locked after too many wrong PINs; ask your therapist for a new link")
    if not isinstance(pin, str) or len(pin) > 16 or not hmac.compare_digest(pin, pin.strip()) or not _pin_ok(device, pin):
        device.pin_failures += 1
        audit_device(db, device, "login_failed", "person_device", entity_id=device.id)
        left = MAX_PIN_FAILURES - device.pin_failures
        raise PermissionDeniedError(f"that PIN is not right; {left} tries left" if left
                                    else "that PIN is not right; this device is now locked, ask your therapist for a new link")
    device.pin_failures = 0
    device.last_seen_at = now
    device.unlocked_until = now + UNLOCK_LIFETIME
    audit_device(db, device, "login", "person_device", entity_id=device.id)


def _pin_ok(device: PersonDevice, pin: str) -> bool:
    if not device.pin_hash:
        return False  # a passkey-only device
    try:
        return passwords.HASHER.verify(device.pin_hash, pin)
    except Exception:  # argon2 raises VerifyMismatchError (and InvalidHash for a damaged row)
        return False


def unlock_with_passkey(db: Session, device: PersonDevice, *, sign_count: int, now: dt.datetime | None = None) -> None:
    """Open a device whose passkey assertion the caller has verified; keeps the authenticator's counter."""
    now = now or utcnow()
    if device.pin_failures >= MAX_PIN_FAILURES:
        raise PermissionDeniedError("this device is locked; ask your therapist for a new link")
    device.passkey_sign_count = int(sign_count)
    device.webauthn_challenge = None
    device.last_seen_at = now
    device.unlocked_until = now + UNLOCK_LIFETIME
    audit_device(db, device, "login", "person_device", entity_id=device.id)


def lock(db: Session, device: PersonDevice) -> None:
    device.unlocked_until = None
    audit_device(db, device, "logout", "person_device", entity_id=device.id)


def client_of_device(db: Session, device: PersonDevice) -> Client:
    client = db.get(Client, device.client_id)
    if client is None:  # the client was deleted; the cascade removes the device in the same commit
        raise NotFoundError("this programme no longer exists")
    return client
