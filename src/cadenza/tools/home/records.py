"""The person's side in the clinical record: invitations, devices, home tasks and their completions.

A therapist invites a client (or a caregiver acting for them) with a one-time link that expires
(:class:`PersonInvite`). Opening it on a phone makes a :class:`PersonDevice`: a device-bound session
(the cookie holds a random token; the table only its SHA-256 digest) unlocked with a short PIN. The
therapist can revoke any device. A device reaches exactly one client's home programme and nothing
else: every lookup here starts from the device's ``client_id``, never from an id in the request.

:class:`HomeTask` is one assigned task (listening, a RAS walk, relaxation) with its schedule and
music; :class:`TaskCompletion` is one time it was done, with the before/after ratings and the seconds
actually played. A completion carries the device's own id for it (``client_uuid``), so a completion
queued offline and sent twice is stored once.

Therapist-side services take ``actor=`` and authorise with :func:`~cadenza.clinic.access.get_client_for_actor`
(which audits); the person's side is audited with the device as the actor (``person:device-<id>``).
Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic import passwords
from cadenza.clinic.access import child_of, get_client_for_actor
from cadenza.clinic.audit import audit
from cadenza.clinic.models import AuditEvent, Base, Client, Therapist, utcnow
from cadenza.errors import ConflictError, NotFoundError, ParameterError, PermissionDeniedError

INVITE_LIFETIME = dt.timedelta(hours=72)
# A phone stays a known device for this long without use; after that the person asks for a new link.
DEVICE_IDLE_LIFETIME = dt.timedelta(days=90)
# After this long without the app open, the PIN is asked again (a phone left on a table).
UNLOCK_LIFETIME = dt.timedelta(hours=12)
MAX_PIN_FAILURES = 5  # then the device is locked until the therapist sends a new invitation
PIN_DIGITS = (4, 8)
ROLES = ("client", "caregiver")
TASK_KINDS = ("listening", "relaxation", "ras_walk")
RATINGS = {  # code -> (label shown to the person, low, high, what low and high mean)
    "vas_anxiety": ("How worried or tense do you feel?", 0, 100, "not at all", "as much as can be"),
    "nrs_pain": ("How much pain do you have?", 0, 10, "no pain", "worst pain"),
    "mood": ("How is your mood?", 0, 10, "very low", "very good"),
}
MAX_LABEL_CHARS = 60
MAX_TITLE_CHARS = 120
MAX_INSTRUCTIONS_CHARS = 2000
MAX_NOTE_CHARS = 1000
MAX_PLAYED_S = 4 * 3600.0
MAX_TRACKS_PER_TASK = 40
# The device may send a completion days late (offline); it may not claim to come from the future.
MAX_CLOCK_SKEW = dt.timedelta(minutes=10)
MAX_COMPLETION_AGE = dt.timedelta(days=60)


class PersonInvite(Base):
    """A one-time link that lets one phone into one client's home programme."""

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


class HomeTask(Base):
    """One task of a client's home programme: what to do, how often, with which music."""

    __tablename__ = "home_task"
    __table_args__ = (
        CheckConstraint("kind IN ('listening', 'relaxation', 'ras_walk')", name="kind_known"),
        CheckConstraint("days_per_week BETWEEN 1 AND 7", name="days_per_week_range"),
        CheckConstraint("minutes BETWEEN 1 AND 120", name="minutes_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(MAX_TITLE_CHARS))
    instructions: Mapped[str] = mapped_column(Text, default="")
    days_per_week: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    # listening/relaxation: {"track_ids": [...], "gains": {track_id: linear gain cap}};
    # ras_walk: {"tempo_bpm": float, "gain": linear gain cap (the cue is rendered within the cap)}
    music: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ratings: Mapped[list[str]] = mapped_column(JSON, default=list)  # codes of RATINGS asked before and after
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TaskCompletion(Base):
    """One time a home task was done, as the device reported it."""

    __tablename__ = "task_completion"
    __table_args__ = (UniqueConstraint("client_id", "client_uuid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("home_task.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("person_device.id", ondelete="SET NULL"), nullable=True)
    client_uuid: Mapped[str] = mapped_column(String(36))
    completed_at: Mapped[dt.datetime] = mapped_column()  # on the device, when the person pressed "done"
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    played_s: Mapped[float] = mapped_column(default=0.0)
    max_gain: Mapped[float] = mapped_column(default=0.0)  # the loudest gain the player used (<= the cap)
    before: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def _text(name: str, value: Any, limit: int, *, required: bool = False) -> str:
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


# --- the therapist's side ---------------------------------------------------------------------------------

def create_invite(db: Session, *, actor: Therapist, client: Client, role: str = "client", label: str = "",
                  now: dt.datetime | None = None) -> tuple[PersonInvite, str]:
    """A new invitation for an authorised ``client``; returns the row and the token (shown once)."""
    if role not in ROLES:
        raise ParameterError(f"role must be one of {ROLES}, got {role!r}")
    label = _text("label", label, MAX_LABEL_CHARS)
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
    return [row for row in rows if _aware(row.expires_at) > now]


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


def add_task(db: Session, *, actor: Therapist, client: Client, kind: str, title: str, instructions: str = "",
             days_per_week: int, minutes: int, music: dict[str, Any], ratings: list[str],
             start_date: dt.date, end_date: dt.date | None = None) -> HomeTask:
    """Store a task whose ``music`` the caller has already checked (see :mod:`~cadenza.tools.home.actions`)."""
    if kind not in TASK_KINDS:
        raise ParameterError(f"kind must be one of {TASK_KINDS}, got {kind!r}")
    title = _text("title", title, MAX_TITLE_CHARS, required=True)
    instructions = _text("instructions", instructions, MAX_INSTRUCTIONS_CHARS)
    for name, value, low, high in (("days_per_week", days_per_week, 1, 7), ("minutes", minutes, 1, 120)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ParameterError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    unknown = [code for code in ratings if code not in RATINGS]
    if unknown:
        raise ParameterError(f"ratings must be among {sorted(RATINGS)}, got {unknown!r}")
    if end_date is not None and end_date < start_date:
        raise ParameterError(f"end_date must not be before start_date ({start_date}), got {end_date}")
    task = HomeTask(client_id=client.id, created_by_id=actor.id, kind=kind, title=title, instructions=instructions,
                    days_per_week=days_per_week, minutes=minutes, music=music, ratings=list(dict.fromkeys(ratings)),
                    start_date=start_date, end_date=end_date)
    db.add(task)
    db.flush()
    audit(db, actor, "create", "home_task", entity_id=task.id, client_id=client.id)
    return task


def end_task(db: Session, *, actor: Therapist, client: Client, task_id: Any) -> HomeTask:
    task = child_of(db, client, HomeTask, task_id, "home task")
    if task.active:
        task.active = False
        audit(db, actor, "update", "home_task", entity_id=task.id, client_id=client.id)
    return task


def client_tasks(db: Session, client_id: int, *, active_only: bool = False) -> list[HomeTask]:
    query = select(HomeTask).where(HomeTask.client_id == client_id)
    if active_only:
        query = query.where(HomeTask.active.is_(True))
    return list(db.scalars(query.order_by(HomeTask.id)))


def client_completions(db: Session, client_id: int, *, since: dt.datetime | None = None) -> list[TaskCompletion]:
    query = select(TaskCompletion).where(TaskCompletion.client_id == client_id)
    if since is not None:
        query = query.where(TaskCompletion.completed_at >= since)
    return list(db.scalars(query.order_by(TaskCompletion.completed_at, TaskCompletion.id)))


def therapist_client(db: Session, *, actor: Therapist, client_id: int) -> Client:
    """The one authorisation (and audited read) of a therapist-side request."""
    return get_client_for_actor(db, actor=actor, client_id=client_id)


# --- the person's side ------------------------------------------------------------------------------------

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
    label = _text("label", label, MAX_LABEL_CHARS)
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
    if invite is None or invite.used_at is not None or invite.revoked_at is not None or _aware(invite.expires_at) <= now:
        return None
    return invite


def resolve_device(db: Session, token: Any, *, now: dt.datetime | None = None) -> PersonDevice | None:
    """The device a cookie names if it is neither revoked nor idle too long (locked or not)."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    now = now or utcnow()
    device = db.scalar(select(PersonDevice).where(PersonDevice.token_sha256 == _digest(token)))
    if device is None or device.revoked_at is not None or _aware(device.last_seen_at) + DEVICE_IDLE_LIFETIME <= now:
        return None
    return device


def is_unlocked(device: PersonDevice, *, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    return (device.pin_failures < MAX_PIN_FAILURES and device.unlocked_until is not None
            and _aware(device.unlocked_until) > now)


def touch(device: PersonDevice, *, now: dt.datetime | None = None) -> None:
    """Keep an unlocked device open while it is used (sliding unlock window, written at most each minute)."""
    now = now or utcnow()
    if now - _aware(device.last_seen_at) >= dt.timedelta(minutes=1):
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


def device_task(db: Session, device: PersonDevice, task_id: Any) -> HomeTask:
    """One of the device's client's active tasks; any other id is the same 404."""
    client = db.get(Client, device.client_id)
    task = child_of(db, client, HomeTask, task_id, "task")
    if not task.active:
        raise NotFoundError(f"task {task_id!r} not found")
    return task


def check_uuid(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise ParameterError(f"client_uuid must be a UUID, got {str(value)[:60]!r}") from None


def check_ratings(task: HomeTask, name: str, values: Any) -> dict[str, float]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ParameterError(f"{name} must map rating codes to numbers, got {type(values).__name__}")
    out: dict[str, float] = {}
    for code, value in values.items():
        if code not in task.ratings:
            raise ParameterError(f"{name}: this task does not ask for {str(code)[:40]!r} (it asks {task.ratings})")
        _, low, high, _, _ = RATINGS[code]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or not low <= value <= high:
            raise ParameterError(f"{name}.{code} must be a number from {low} to {high}, got {value!r}")
        out[code] = float(value)
    return out


def store_completion(db: Session, device: PersonDevice, task: HomeTask, *, client_uuid: str,
                     completed_at: dt.datetime, played_s: float, max_gain: float, before: dict[str, float],
                     after: dict[str, float], note: str = "",
                     now: dt.datetime | None = None) -> tuple[TaskCompletion, bool]:
    """Store one completion once: a repeat of ``client_uuid`` returns the stored row and False."""
    now = now or utcnow()
    existing = db.scalar(select(TaskCompletion).where(TaskCompletion.client_id == device.client_id,
                                                      TaskCompletion.client_uuid == client_uuid))
    if existing is not None:
        if existing.task_id != task.id:
            raise ConflictError(f"client_uuid {client_uuid} was already used for another task")
        return existing, False
    completed_at = _aware(completed_at)
    if completed_at > now + MAX_CLOCK_SKEW or completed_at < now - MAX_COMPLETION_AGE:
        raise ParameterError(f"completed_at must be within the last {MAX_COMPLETION_AGE.days} days, got {completed_at.isoformat()}")
    if not (0 <= played_s <= MAX_PLAYED_S):
        raise ParameterError(f"played_s must be between 0 and {MAX_PLAYED_S:g}, got {played_s!r}")
    row = TaskCompletion(task_id=task.id, client_id=device.client_id, device_id=device.id, client_uuid=client_uuid,
                         completed_at=completed_at, received_at=now, played_s=float(played_s), max_gain=float(max_gain),
                         before=before, after=after, note=_text("note", note, MAX_NOTE_CHARS))
    try:
        with db.begin_nested():  # a twin sent at the same moment fails here, not the caller's transaction
            db.add(row)
    except IntegrityError:
        twin = db.scalar(select(TaskCompletion).where(TaskCompletion.client_id == device.client_id,
                                                      TaskCompletion.client_uuid == client_uuid))
        if twin is None:
            raise
        return twin, False
    audit_device(db, device, "create", "task_completion", entity_id=row.id)
    return row, True


def client_of_device(db: Session, device: PersonDevice) -> Client:
    client = db.get(Client, device.client_id)
    if client is None:  # the client was deleted; the cascade removes the device in the same commit
        raise NotFoundError("this programme no longer exists")
    return client


def device_completions(db: Session, device: PersonDevice, *, since: dt.datetime) -> list[TaskCompletion]:
    return client_completions(db, device.client_id, since=since)


def log_listening(db: Session, device: PersonDevice, *, level_dba: float, duration_s: float, started_at: dt.datetime,
                  source: str, label: str) -> None:
    """Add what the person actually played to their hearing-dose ledger (the record's own table), audited
    with the device as the actor."""
    from cadenza.clinic.listening import SoundDoseEntry, check_entry

    check_entry(level_dba=level_dba, duration_s=duration_s, source=source, label=label)
    row = SoundDoseEntry(client_id=device.client_id, started_at=_aware(started_at), duration_s=float(duration_s),
                         level_dba=float(level_dba), source=source, label=label)
    db.add(row)
    db.flush()
    audit_device(db, device, "create", "sound_dose_entry", entity_id=row.id)


def block_track(db: Session, device: PersonDevice, task: HomeTask, track_id: Any) -> None:
    """The person never wants to hear this song again: it is red-flagged in their library (the library
    tool's table, written through the record), so no playlist and no player offers it any more."""
    table = Base.metadata.tables.get("library_track")
    if table is None or not isinstance(track_id, int) or track_id not in task.music.get("track_ids", []):
        raise NotFoundError(f"track {track_id!r} not found")
    done = db.execute(table.update().where(table.c.id == track_id, table.c.client_id == device.client_id)
                      .values(red_flag=True, red_flag_reason="blocked by the person in their app", red_flag_at=utcnow()))
    if done.rowcount != 1:
        raise NotFoundError(f"track {track_id!r} not found")
    audit_device(db, device, "update", "library_track", entity_id=track_id)
