"""Login sessions, login attempts and lockout, the password policy, and API tokens.

Tables: ``login_session`` (server-side browser sessions), ``login_attempt`` (the rate-limit and
lockout ledger) and ``api_token`` (bearer tokens for ``/api/v1``). Only SHA-256 digests of session
and API tokens are stored, so a leaked database does not yield working credentials.

Targets from ``shared/research/reliability_anchors.md``: T7 (argon2id, lazy rehash), T8 (at most
:data:`MAX_FAILURES_PER_ACCOUNT` password checks per account per window, IP throttling, lockout is
temporary), T9 (new session id at login, logout revokes, disabling a user revokes all sessions),
T10 (idle timeout 30 min, absolute 12 h).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Boolean, ForeignKey, Integer, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic import passwords
from cadenza.clinic.models import Base, Therapist, utcnow
from cadenza.errors import ParameterError, PermissionDeniedError

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_LIFETIME = dt.timedelta(hours=12)
# last_seen_at is refreshed at most this often, so reads do not each cost a write.
TOUCH_INTERVAL = dt.timedelta(seconds=60)

LOCKOUT_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 128
# Short deny-list of the most common passwords long enough to pass the length rule (ASVS 6.2.4
# asks for a check against breached passwords; a full list belongs in data, not code).
_COMMON_PASSWORDS = frozenset(
    {
        "123456789012", "1234567890123", "password1234", "password12345", "passwordpassword",
        "qwertyuiop12", "qwertyuiopasdf", "iloveyou1234", "administrator", "letmein12345",
        "welcome12345", "changeme1234", "abcdefghijkl", "111111111111", "000000000000",
        "aaaaaaaaaaaa", "qwerty123456", "musictherapy", "musictherapy1", "cadenzacadenza",
    }
)

LOGIN_FAILED_MESSAGE = "Wrong username or password, or the account is locked for a while."


class LoginSession(Base):
    """A browser login; the cookie carries the token, the table only its SHA-256 digest."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    ip_address: Mapped[str] = mapped_column(String(64), default="")


class LoginAttempt(Base):
    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip_address: Mapped[str] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    # False for attempts refused unchecked during a lockout: they count against the address but
    # do not extend the account's lockout, so an attacker cannot keep an account locked forever.
    password_checked: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


@dataclass(frozen=True)
class SessionGrant:
    """What a successful login hands to the web layer: the cookie value and the CSRF token."""

    token: str
    csrf_token: str
    therapist: Therapist


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- passwords ---------------------------------------------------------------------------------


def password_problems(password: str, *, username: str = "") -> list[str]:
    """Reasons ``password`` fails the policy (empty when it passes).

    The policy follows ASVS 6.2: at least 12 and at most 128 characters, no composition rules,
    not a common password, and not containing the username.

    >>> password_problems("short")
    ['password must have at least 12 characters, got 5']
    >>> password_problems("tuba-sunrise-42-marimba")
    []
    """
    problems = []
    if len(password) < MIN_PASSWORD_CHARS:
        problems.append(f"password must have at least {MIN_PASSWORD_CHARS} characters, got {len(password)}")
    if len(password) > MAX_PASSWORD_CHARS:
        problems.append(f"password must have at most {MAX_PASSWORD_CHARS} characters, got {len(password)}")
    if password.lower() in _COMMON_PASSWORDS or len(set(password)) <= 2:
        problems.append("password is too common or repetitive; choose a longer passphrase")
    if username and len(username) >= 3 and username.lower() in password.lower():
        problems.append("password must not contain the username")
    return problems


def check_password_policy(password: str, *, username: str = "") -> None:
    """Raise :class:`ParameterError` naming every problem with ``password``."""
    problems = password_problems(password, username=username)
    if problems:
        raise ParameterError("; ".join(problems))


def hash_password(password: str, *, username: str = "") -> str:
    """Check the policy, then hash with the clinic's argon2id hasher."""
    check_password_policy(password, username=username)
    return passwords.hash_password(password)


_dummy_hashes: dict[int, str] = {}


def _dummy_hash() -> str:
    """A hash to verify against when the username is unknown, so timing does not reveal which
    usernames exist; made with the current hasher's cost (tests swap in a cheap one)."""
    key = id(passwords.HASHER)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = passwords.HASHER.hash(secrets.token_urlsafe(16))
    return _dummy_hashes[key]


# ---- login, lockout ----------------------------------------------------------------------------


def _recent_failures(db: Session, *, now: dt.datetime, username: str | None = None, ip: str | None = None) -> int:
    query = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.at > now - LOCKOUT_WINDOW
    )
    if username is not None:
        query = query.where(LoginAttempt.username == username, LoginAttempt.password_checked.is_(True))
    if ip is not None:
        query = query.where(LoginAttempt.ip_address == ip)
    return int(db.scalar(query) or 0)


def is_locked_out(db: Session, *, username: str, ip_address: str, now: dt.datetime | None = None) -> bool:
    """True while the account or the address has too many recent failures; it expires by itself."""
    now = now or utcnow()
    return (
        _recent_failures(db, now=now, username=username) >= MAX_FAILURES_PER_ACCOUNT
        or _recent_failures(db, now=now, ip=ip_address) >= MAX_FAILURES_PER_IP
    )


def authenticate(
    db: Session, *, username: str, password: str, ip_address: str = "", now: dt.datetime | None = None
) -> Therapist:
    """The active therapist with these credentials, or :class:`PermissionDeniedError`.

    Every failure gives the same message, so it reveals neither whether the account exists nor
    whether it is locked. The attempt is recorded and committed either way.
    """
    now = now or utcnow()
    username = username.replace("\x00", "").strip()[:64]
    ip_address = ip_address.replace("\x00", "")[:64]
    if is_locked_out(db, username=username, ip_address=ip_address, now=now):
        db.add(
            LoginAttempt(
                username=username, ip_address=ip_address, succeeded=False, password_checked=False, at=now
            )
        )
        db.commit()
        raise PermissionDeniedError(LOGIN_FAILED_MESSAGE)
    therapist = db.scalar(select(Therapist).where(Therapist.username == username))
    if therapist is None:
        passwords.verify_password(_dummy_hash(), password)
        ok = False
    else:
        ok = passwords.verify_password(therapist.password_hash, password) and therapist.active
    db.add(LoginAttempt(username=username, ip_address=ip_address, succeeded=ok, at=now))
    if not ok:
        db.commit()
        raise PermissionDeniedError(LOGIN_FAILED_MESSAGE)
    if passwords.HASHER.check_needs_rehash(therapist.password_hash):
        therapist.password_hash = passwords.hash_password(password)
    db.commit()
    return therapist


def login(
    db: Session, *, username: str, password: str, ip_address: str = "", now: dt.datetime | None = None
) -> SessionGrant:
    """:func:`authenticate`, then open a new server-side session with its own CSRF token."""
    now = now or utcnow()
    therapist = authenticate(db, username=username, password=password, ip_address=ip_address, now=now)
    token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    db.add(
        LoginSession(
            token_sha256=_digest(token),
            therapist_id=therapist.id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            ip_address=ip_address[:64],
        )
    )
    db.commit()
    return SessionGrant(token=token, csrf_token=csrf_token, therapist=therapist)


def resolve_session(
    db: Session, token: str | None, *, now: dt.datetime | None = None
) -> tuple[Therapist, LoginSession] | None:
    """The therapist and session behind a cookie token, or None if missing, expired or revoked."""
    if not token:
        return None
    now = now or utcnow()
    row = db.scalar(select(LoginSession).where(LoginSession.token_sha256 == _digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    if now - row.last_seen_at > IDLE_TIMEOUT or now - row.created_at > ABSOLUTE_LIFETIME:
        return None
    therapist = db.get(Therapist, row.therapist_id)
    if therapist is None or not therapist.active:
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        row.last_seen_at = now
        db.commit()
    return therapist, row


def logout(db: Session, token: str | None) -> None:
    """Revoke the session behind ``token``; a replayed cookie is then refused."""
    if not token:
        return
    db.execute(
        update(LoginSession)
        .where(LoginSession.token_sha256 == _digest(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.commit()


def revoke_all_sessions(db: Session, *, therapist_id: int) -> None:
    """End every browser session and API token of a therapist (flushes; the caller commits)."""
    now = utcnow()
    db.execute(
        update(LoginSession)
        .where(LoginSession.therapist_id == therapist_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.execute(
        update(ApiToken)
        .where(ApiToken.therapist_id == therapist_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.flush()


def set_therapist_active(db: Session, *, actor: Therapist | None, username: str, active: bool) -> Therapist:
    """Enable or disable an account (admins, or None for the local command line); disabling also ends
    all its sessions and API tokens, so a disabled account cannot keep acting through them."""
    from cadenza.clinic import service

    if actor is not None and actor.username == username and not active:
        raise ParameterError(f"an admin cannot disable their own account, got username={username!r}")
    therapist = service.set_therapist_active(db, actor=actor, username=username, active=active)
    if not active:
        revoke_all_sessions(db, therapist_id=therapist.id)
    return therapist


def change_password(
    db: Session, *, actor: Therapist, current_password: str, new_password: str, keep_session_token: str | None = None
) -> None:
    """Replace the actor's password after checking the current one; every other browser session and
    every API token of the account ends (the one making the change may be kept)."""
    if not passwords.verify_password(actor.password_hash, current_password):
        raise ParameterError("current_password is not correct")
    if new_password == current_password:
        raise ParameterError("new_password must differ from the current password")
    check_password_policy(new_password, username=actor.username)
    actor.password_hash = passwords.hash_password(new_password)
    keep = _digest(keep_session_token) if keep_session_token else None
    now = utcnow()
    sessions = update(LoginSession).where(LoginSession.therapist_id == actor.id, LoginSession.revoked_at.is_(None))
    if keep is not None:
        sessions = sessions.where(LoginSession.token_sha256 != keep)
    db.execute(sessions.values(revoked_at=now))
    db.execute(
        update(ApiToken)
        .where(ApiToken.therapist_id == actor.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    from cadenza.clinic import service

    service.audit(db, actor, "update", "therapist", entity_id=actor.id)
    db.flush()


def list_api_tokens(db: Session, *, therapist_id: int) -> list[ApiToken]:
    return list(
        db.scalars(select(ApiToken).where(ApiToken.therapist_id == therapist_id).order_by(ApiToken.id.desc()))
    )


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())


# ---- API tokens --------------------------------------------------------------------------------

API_TOKEN_PREFIX = "cdz_"


def create_api_token(
    db: Session, *, therapist_id: int, label: str = "", lifetime: dt.timedelta | None = dt.timedelta(days=90)
) -> tuple[str, ApiToken]:
    """A new bearer token; the plain value is returned once and never stored."""
    if len(label) > 64:
        raise ParameterError(f"label must have at most 64 characters, got {len(label)}")
    if lifetime is not None and lifetime <= dt.timedelta(0):
        raise ParameterError(f"lifetime must be positive, got {lifetime!r}")
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(
        token_sha256=_digest(token),
        therapist_id=therapist_id,
        label=label,
        created_at=now,
        expires_at=None if lifetime is None else now + lifetime,
    )
    db.add(row)
    db.flush()
    return token, row


def resolve_api_token(db: Session, token: str | None, *, now: dt.datetime | None = None) -> Therapist | None:
    if not token or not token.startswith(API_TOKEN_PREFIX):
        return None
    now = now or utcnow()
    row = db.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(token)))
    if row is None or row.revoked_at is not None or (row.expires_at is not None and now >= row.expires_at):
        return None
    therapist = db.get(Therapist, row.therapist_id)
    if therapist is None or not therapist.active:
        return None
    if row.last_used_at is None or now - row.last_used_at > TOUCH_INTERVAL:
        row.last_used_at = now
        db.commit()
    return therapist


def revoke_api_token(db: Session, *, therapist_id: int, token_id: int) -> None:
    row = db.get(ApiToken, token_id)
    if row is None or row.therapist_id != therapist_id:
        raise PermissionDeniedError(f"no API token {token_id!r} for this account")
    row.revoked_at = utcnow()
    db.flush()
