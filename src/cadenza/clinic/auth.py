"""Login sessions, login attempts and lockout, the password policy, API tokens and two-factor login.

Tables: ``login_session`` (server-side browser sessions), ``login_attempt`` (the rate-limit and
lockout ledger) and ``api_token`` (bearer tokens for ``/api/v1``), from migration ``0002_auth``;
``therapist_mfa`` (TOTP secrets) and ``mfa_challenge`` (logins waiting for their code), from
``0010_mfa``. Only SHA-256 digests of session, API and challenge tokens are stored, so a leaked
database does not yield working credentials; TOTP secrets cannot be stored as digests (the server
must compute the codes), so they are stored sealed with the data key (``0013_mfa_sealed``), see
:class:`TherapistMfa`.

Targets from ``shared/research/reliability_anchors.md``: T7 (argon2id, lazy rehash), T8 (at most
:data:`MAX_FAILURES_PER_ACCOUNT` password checks per account per window, IP throttling, lockout is
temporary), T9 (new session id at login, logout revokes, disabling a user revokes all sessions),
T10 (idle timeout 30 min, absolute 12 h), T12 (optional TOTP per user, required for admins, a code
is never accepted twice).
"""

from __future__ import annotations

import datetime as dt
import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, cast, delete, event, func, or_, select, update
from sqlalchemy.engine import URL
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from cadenza.clinic import passwords
from cadenza.clinic.accounts import check_admin, get_therapist_by_username
from cadenza.clinic.audit import audit
from cadenza.clinic.models import Base, Therapist, utcnow
from cadenza.clinic.passwords import MAX_PASSWORD_CHARS as MAX_PASSWORD_CHARS
from cadenza.clinic.passwords import MIN_PASSWORD_CHARS as MIN_PASSWORD_CHARS
from cadenza.clinic.passwords import check_password_policy
from cadenza.clinic.passwords import password_problems as password_problems
from cadenza.clinic.secrets_at_rest import data_key, open_sealed, seal
from cadenza.errors import ConflictError, DataQualityError, NotFoundError, ParameterError, PermissionDeniedError

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_LIFETIME = dt.timedelta(hours=12)
# last_seen_at is refreshed at most this often, so reads do not each cost a write.
TOUCH_INTERVAL = dt.timedelta(seconds=60)

LOCKOUT_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20

LOGIN_FAILED_MESSAGE = "Wrong username or password, or the account is locked for a while."
REAUTH_LOCKED_MESSAGE = "too many failed attempts; try again in a quarter of an hour"


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
    # When the login was first found lapsed; it is audited as ``timeout`` then, once (not revoked: a form
    # typed while it lapsed can still be kept as a draft, see lapsed_session_owner).
    timed_out_at: Mapped[dt.datetime | None] = mapped_column()


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


# The policy lives with the hasher (:mod:`cadenza.clinic.passwords`); these names stay importable here.
hash_password = passwords.hash_new_password


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


def _serialise_account(db: Session, username: str, ip_address: str = "") -> None:
    """Make this transaction the only one checking credentials of ``username``, or from ``ip_address``,
    until it ends.

    Counting recent failures, checking the password and recording the attempt must not interleave
    with another request for the same account, or N parallel guesses all pass the "fewer than 5
    failures" check (T8); nor with another request from the same address, or guesses spread over many
    usernames all pass the per-address check. SQLite's ``BEGIN IMMEDIATE`` already serialises every
    transaction; on PostgreSQL transaction-scoped advisory locks on hashes of the address and the
    username do it, for unknown usernames too (there is no row to lock). Every transaction takes the
    address lock before the account lock, so two of them never wait on each other in a cycle. The
    locks end with the commit or rollback.
    """
    if db.get_bind().dialect.name != "postgresql":
        return
    for kind, value in (("ip", ip_address), ("login", username)):
        if kind == "ip" and not value:
            continue
        digest = hashlib.sha256(f"cadenza.{kind}:".encode() + value.encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        db.execute(select(func.pg_advisory_xact_lock(cast(key, BigInteger))))


def _locked_for_checks(db: Session, *, username: str, ip_address: str, now: dt.datetime) -> bool:
    """Serialise checks for ``username``; when it is locked out, record an unchecked attempt, commit, True."""
    _serialise_account(db, username, ip_address)
    if not is_locked_out(db, username=username, ip_address=ip_address, now=now):
        return False
    db.add(LoginAttempt(username=username, ip_address=ip_address, succeeded=False, password_checked=False, at=now))
    db.commit()
    return True


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
    _serialise_account(db, username, ip_address)
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
) -> SessionGrant | MfaChallengeGrant:
    """:func:`authenticate`, then open a new server-side session with its own CSRF token, or, when
    the account has two-factor login enabled, a short-lived challenge that
    :func:`complete_mfa_login` turns into the session once the code is right."""
    now = now or utcnow()
    therapist = authenticate(db, username=username, password=password, ip_address=ip_address, now=now)
    if mfa_enabled(db, therapist_id=therapist.id):
        return _open_challenge(db, therapist, ip_address=ip_address, now=now)
    return _open_session(db, therapist, ip_address=ip_address, now=now)


def _open_session(db: Session, therapist: Therapist, *, ip_address: str, now: dt.datetime) -> SessionGrant:
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
    # The session and its therapist in one statement (every page request asks).
    found = db.execute(select(LoginSession, Therapist).join(Therapist, Therapist.id == LoginSession.therapist_id)
                       .where(LoginSession.token_sha256 == _digest(token))).first()
    if found is None:
        return None
    row, therapist = found
    if row.revoked_at is not None:
        return None
    if now - row.last_seen_at > IDLE_TIMEOUT or now - row.created_at > ABSOLUTE_LIFETIME:
        _audit_lapse_once(db, row, now)
        return None
    if not therapist.active:
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        row.last_seen_at = now
        db.commit()
    return therapist, row


def _audit_lapse_once(db: Session, row: LoginSession, now: dt.datetime) -> None:
    """The automatic logoff, audited by the system the first time a lapsed login is presented (HIPAA
    164.312(a)(2)(iii); session timeout is on the CCHIT audited-event list). Two requests racing on the
    same lapsed cookie write it once: only the one whose UPDATE marks the row audits."""
    if row.timed_out_at is not None:
        return
    marked = db.execute(update(LoginSession)
                        .where(LoginSession.id == row.id, LoginSession.timed_out_at.is_(None))
                        .values(timed_out_at=now))
    if marked.rowcount == 1:
        audit(db, None, "timeout", "therapist", entity_id=row.therapist_id)
    db.commit()


# A login that lapsed (idle or past its lifetime, never logged out or revoked) still names its therapist
# this long after it was last used, for one purpose only: keeping what they were typing as a draft
# (clinic.drafts, walk-through problem 1). It opens nothing and shows nothing.
LAPSED_LOGIN_DRAFT_GRACE = dt.timedelta(hours=12)


def lapsed_session_owner(
    db: Session, token: str | None, csrf_token: str | None, *, now: dt.datetime | None = None
) -> Therapist | None:
    """The therapist of a lapsed (or live) browser session, if the form also carries its CSRF token.

    None for an unknown, revoked (logged out, disabled account) or long-lapsed session, a wrong token
    or an inactive account. The caller may only keep the submitted text as that therapist's draft.
    """
    if not token or not csrf_token:
        return None
    now = now or utcnow()
    row = db.scalar(select(LoginSession).where(LoginSession.token_sha256 == _digest(token)))
    if row is None or row.revoked_at is not None or now - row.last_seen_at > LAPSED_LOGIN_DRAFT_GRACE:
        return None
    if not csrf_matches(row.csrf_token, csrf_token):
        return None
    therapist = db.get(Therapist, row.therapist_id)
    return therapist if therapist is not None and therapist.active else None


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
    """Enable or disable an account (admins, or None for the local command line).

    Disabling ends every browser session and API token of the account at once, so a disabled account
    cannot keep acting through them. An admin's own account and the last active admin are refused.
    """
    check_admin(actor)
    therapist = get_therapist_by_username(db, username)
    if not active:
        if actor is not None and actor.id == therapist.id:
            raise ParameterError(f"an admin cannot disable their own account, got username={username!r}")
        _refuse_last_admin(db, therapist)
        revoke_all_sessions(db, therapist_id=therapist.id)
    therapist.active = bool(active)
    audit(db, actor, "update", "therapist", entity_id=therapist.id)
    db.flush()
    return therapist


def _refuse_last_admin(db: Session, therapist: Therapist) -> None:
    if therapist.role != "admin" or not therapist.active:
        return
    others = db.scalar(select(func.count()).select_from(Therapist).where(
        Therapist.role == "admin", Therapist.active.is_(True), Therapist.id != therapist.id))
    if not others:
        raise ConflictError(f"{therapist.username!r} is the last active admin; enable or create another admin first")


def verify_current_password(
    db: Session, *, actor: Therapist, password: str, field: str = "password", ip_address: str = "",
    now: dt.datetime | None = None,
) -> None:
    """Re-authenticate a logged-in ``actor`` before a sensitive change, or raise :class:`ParameterError`
    naming ``field``.

    A wrong password here is a failed login: it goes into the same ``login_attempt`` ledger and
    lockout (:data:`MAX_FAILURES_PER_ACCOUNT` per :data:`LOCKOUT_WINDOW`), so a stolen session cannot
    guess the password, and it is audited as ``password_failed``. While the account is locked the
    password is not checked at all. Failures are committed before the error is raised.
    """
    now = now or utcnow()
    ip_address = ip_address.replace("\x00", "")[:64]
    if _locked_for_checks(db, username=actor.username, ip_address=ip_address, now=now):
        raise ParameterError(f"{field}: {REAUTH_LOCKED_MESSAGE}")
    if passwords.verify_password(actor.password_hash, password):
        return
    db.add(LoginAttempt(username=actor.username, ip_address=ip_address, succeeded=False, at=now))
    _audit(db, actor, "password_failed", actor.id)
    db.commit()
    raise ParameterError(f"{field} is not correct")


def change_password(
    db: Session, *, actor: Therapist, current_password: str, new_password: str, keep_session_token: str | None = None,
    ip_address: str = "", now: dt.datetime | None = None,
) -> None:
    """Replace the actor's password after checking the current one; every other browser session and
    every API token of the account ends (the one making the change may be kept).

    A wrong current password counts as a failed login (:func:`verify_current_password`)."""
    verify_current_password(db, actor=actor, password=current_password, field="current_password",
                            ip_address=ip_address, now=now)
    if new_password == current_password:
        raise ParameterError("new_password must differ from the current password")
    check_password_policy(new_password, username=actor.username)
    actor.password_hash = passwords.hash_password(new_password)
    actor.must_change_password = False
    _revoke_other_credentials(db, therapist_id=actor.id, keep_session_token=keep_session_token, now=utcnow())
    audit(db, actor, "update", "therapist", entity_id=actor.id)
    db.flush()


PASSWORD_CHANGE_REQUIRED_MESSAGE = "Choose your own password first: an administrator set a temporary one."
# No look-alike characters (0/O, 1/l/I): the temporary password is read out or copied by hand.
_TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
TEMPORARY_PASSWORD_GROUPS = 4


def temporary_password() -> str:
    """A random one-time password, four groups of five characters (about 114 bits), e.g. ``'h7Ks2-...'``."""
    return "-".join("".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(5))
                    for _ in range(TEMPORARY_PASSWORD_GROUPS))


def reset_password(db: Session, *, actor: Therapist | None, username: str) -> str:
    """An administrator's password reset (local command line: ``actor=None``): the account gets a new
    random temporary password, returned once and stored only as its hash, and must choose its own at
    the next login (:attr:`Therapist.must_change_password`; every page but the password page is closed
    until then). Every browser session and API token of the account ends. Two-factor login is left as
    it is. Audited as ``password_reset``.

    An admin's own password is changed on the password page, with the current one, never reset here.
    """
    check_admin(actor)
    therapist = get_therapist_by_username(db, username)
    if actor is not None and actor.id == therapist.id:
        raise ParameterError(f"username {username!r} is your own account: change your password on the password "
                             "page (it asks for the current one)")
    password = temporary_password()
    therapist.password_hash = passwords.hash_password(password)
    therapist.must_change_password = True
    revoke_all_sessions(db, therapist_id=therapist.id)
    _audit(db, actor, "password_reset", therapist.id)
    db.flush()
    return password


def _revoke_other_credentials(
    db: Session, *, therapist_id: int, keep_session_token: str | None, now: dt.datetime
) -> None:
    """End every browser session but the one kept, and every API token, of one therapist."""
    sessions = update(LoginSession).where(LoginSession.therapist_id == therapist_id, LoginSession.revoked_at.is_(None))
    if keep_session_token:
        sessions = sessions.where(LoginSession.token_sha256 != _digest(keep_session_token))
    db.execute(sessions.values(revoked_at=now))
    db.execute(
        update(ApiToken)
        .where(ApiToken.therapist_id == therapist_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


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
    _audit_token(db, therapist_id, "create", row.id)
    return token, row


def _audit_token(db: Session, therapist_id: int, action: str, token_id: int) -> None:
    audit(db, db.get(Therapist, therapist_id), action, "api_token", entity_id=token_id)


def resolve_api_token(db: Session, token: str | None, *, now: dt.datetime | None = None) -> Therapist | None:
    if not token or not token.startswith(API_TOKEN_PREFIX):
        return None
    now = now or utcnow()
    found = db.execute(select(ApiToken, Therapist).join(Therapist, Therapist.id == ApiToken.therapist_id)
                       .where(ApiToken.token_sha256 == _digest(token))).first()
    if found is None:
        return None
    row, therapist = found
    if row.revoked_at is not None or (row.expires_at is not None and now >= row.expires_at):
        return None
    if not therapist.active:
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
    _audit_token(db, therapist_id, "revoke", token_id)


# ---- two-factor login (TOTP) -------------------------------------------------------------------
# RFC 6238 with the parameters authenticator apps assume when the otpauth:// URI names none:
# HMAC-SHA-1, 30-second steps, 6 digits.

MFA_STEP_S = 30
MFA_DIGITS = 6
# One step either side covers phone clocks up to ~30 s off (RFC 6238 section 5.2 recommends at
# most one step of drift) while keeping at most three codes valid at once.
MFA_DRIFT_STEPS = 1
MFA_ISSUER = "Cadenza"
MFA_CHALLENGE_LIFETIME = dt.timedelta(minutes=5)

MFA_FAILED_MESSAGE = "Wrong or already used code, or the account is locked for a while."
MFA_CHALLENGE_EXPIRED_MESSAGE = "The login took too long or was already used; please log in again."
MFA_ENROLMENT_REQUIRED_MESSAGE = (
    "Administrator accounts must use two-factor login: set it up on the Two-factor login page "
    "(/account/mfa) before doing anything else."
)


class MfaChallengeExpired(PermissionDeniedError):
    """The password step is missing, expired or already completed: start the login again."""


class MfaEnrolmentRequired(PermissionDeniedError):
    """An administrator without two-factor login may only enrol."""


MFA_SEAL_PURPOSE = "totp"
MFA_SEALED_CHARS = 255
_UNSEALED = ""  # the column value while a newly set secret waits for the flush that seals it


def seal_mfa_secret(secret: str, *, url: str | URL) -> str:
    """The column text for a base32 TOTP secret: the sealed blob (data key of ``url``) in base64."""
    blob = seal(secret.encode("ascii"), purpose=MFA_SEAL_PURPOSE, key=data_key(url))
    return base64.b64encode(blob).decode("ascii")


def open_mfa_secret(stored: str, *, url: str | URL) -> str:
    """The base32 TOTP secret from its column text; :class:`DataQualityError` if the key cannot open it."""
    try:
        blob = base64.b64decode(stored.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise DataQualityError("a stored two-factor secret is not sealed data; run `cadenza db upgrade`") from None
    return open_sealed(blob, purpose=MFA_SEAL_PURPOSE, key=data_key(url, create=False)).decode("ascii")


def _bind_url(bind: Any) -> URL:
    return bind.engine.url  # an Engine's .engine is itself; a Connection's is its engine


class TherapistMfa(Base):
    """A therapist's TOTP secret; ``enabled_at`` is None while enrolment waits for its first code.

    The secret cannot be a digest: the server has to compute the codes. The column ``secret`` holds
    it sealed with the data key (AES-256-GCM, purpose ``"totp"``, :mod:`cadenza.clinic.secrets_at_rest`),
    so a leaked database or backup without the key file exposes no second factors; the attribute
    :attr:`secret` reads and writes the base32 text, sealed at flush time with the key of the
    database it is written to. It is shown once, on the enrolment page, and never logged or shown
    again. If the data key is lost the secrets cannot be opened and :func:`reset_mfa`
    (``cadenza admin reset-mfa``) is the remedy. ``last_used_step`` is the time step of the last
    accepted code: only codes of later steps are accepted (no replay).
    """

    __tablename__ = "therapist_mfa"

    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"), primary_key=True)
    secret_sealed: Mapped[str] = mapped_column("secret", String(MFA_SEALED_CHARS))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    enabled_at: Mapped[dt.datetime | None] = mapped_column()
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def secret(self) -> str:
        """The base32 TOTP secret (opened with the data key of the session's database)."""
        stored = self.secret_sealed
        cached = self.__dict__.get("_secret_cache")
        if cached is not None and cached[0] == stored:
            return cached[1]
        session = object_session(self)
        if session is None:
            raise ParameterError("a detached two-factor row cannot open its secret; load it in a session")
        plain = open_mfa_secret(stored, url=_bind_url(session.get_bind()))
        self.__dict__["_secret_cache"] = (stored, plain)
        return plain

    @secret.setter
    def secret(self, value: str) -> None:
        self.__dict__["_secret_cache"] = (_UNSEALED, value)
        self.secret_sealed = _UNSEALED


@event.listens_for(TherapistMfa, "before_insert")
@event.listens_for(TherapistMfa, "before_update")
def _seal_pending_secret(_mapper: Any, connection: Any, target: TherapistMfa) -> None:
    cached = target.__dict__.get("_secret_cache")
    if cached is not None and cached[0] == _UNSEALED and target.secret_sealed == _UNSEALED:
        sealed = seal_mfa_secret(cached[1], url=_bind_url(connection))
        target.secret_sealed = sealed
        target.__dict__["_secret_cache"] = (sealed, cached[1])


class MfaChallenge(Base):
    """A login whose password was right and whose code is still due; the browser holds the token."""

    __tablename__ = "mfa_challenge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ip_address: Mapped[str] = mapped_column(String(64), default="")


@dataclass(frozen=True)
class MfaChallengeGrant:
    """The password was right; the browser keeps ``token`` until it sends the code."""

    token: str
    therapist: Therapist


@dataclass(frozen=True)
class MfaEnrolment:
    """A new secret, for the enrolment page only: ``uri`` is what the QR code carries."""

    secret: str
    uri: str


def mfa_step(now: dt.datetime) -> int:
    """The RFC 6238 time step (30 s) that ``now`` falls in.

    >>> mfa_step(dt.datetime(1970, 1, 1, 0, 0, 59, tzinfo=dt.UTC))
    1
    """
    if now.tzinfo is None:
        raise ParameterError(f"now must be timezone-aware (UTC), got {now!r}")
    return int(now.timestamp()) // MFA_STEP_S


def _totp(secret: str):
    import pyotp

    return pyotp.TOTP(secret, digits=MFA_DIGITS, interval=MFA_STEP_S, issuer=MFA_ISSUER)


def _matching_step(secret: str, code: str, *, now: dt.datetime, after_step: int | None) -> int | None:
    """The step within the drift window whose code is ``code`` and that is later than ``after_step``."""
    code = code.replace(" ", "").strip()
    if len(code) != MFA_DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = _totp(secret)
    current = mfa_step(now)
    found = None
    for step in range(max(current - MFA_DRIFT_STEPS, 0), current + MFA_DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    return found


def mfa_enabled(db: Session, *, therapist_id: int) -> bool:
    """True when the therapist has confirmed an authenticator (pending enrolments do not count)."""
    return db.scalar(
        select(TherapistMfa.therapist_id).where(
            TherapistMfa.therapist_id == therapist_id, TherapistMfa.enabled_at.is_not(None)
        )
    ) is not None


def needs_mfa_enrolment(db: Session, therapist: Therapist) -> bool:
    """Administrators must use two-factor login; until they enrol they may do nothing else."""
    return therapist.is_admin and not mfa_enabled(db, therapist_id=therapist.id)


def _audit(db: Session, actor: Therapist | None, action: str, therapist_id: int) -> None:
    audit(db, actor, action, "therapist", entity_id=therapist_id)


def _open_challenge(db: Session, therapist: Therapist, *, ip_address: str, now: dt.datetime) -> MfaChallengeGrant:
    # A therapist has at most one pending login; older challenges (and any that expired) go.
    db.execute(delete(MfaChallenge).where(MfaChallenge.therapist_id == therapist.id))
    db.execute(delete(MfaChallenge).where(MfaChallenge.created_at < now - MFA_CHALLENGE_LIFETIME))
    token = secrets.token_urlsafe(32)
    db.add(MfaChallenge(token_sha256=_digest(token), therapist_id=therapist.id, created_at=now,
                        ip_address=ip_address[:64]))
    db.commit()
    return MfaChallengeGrant(token=token, therapist=therapist)


def verify_second_factor(
    db: Session, therapist: Therapist, *, code: str, ip_address: str = "", now: dt.datetime | None = None
) -> None:
    """Accept ``code`` once for ``therapist`` or raise :class:`PermissionDeniedError`.

    The code must belong to the current time step or one either side, and to a step later than the
    last accepted code's (a code seen once, e.g. over someone's shoulder, is useless afterwards).
    A wrong code is a failed login attempt: it counts towards the same lockout as wrong passwords,
    and it is audited (``mfa_failed``), never with the code itself. Failures are committed.
    """
    now = now or utcnow()
    ip_address = ip_address.replace("\x00", "")[:64]
    if _locked_for_checks(db, username=therapist.username, ip_address=ip_address, now=now):
        raise PermissionDeniedError(MFA_FAILED_MESSAGE)
    row = db.get(TherapistMfa, therapist.id)
    step = None
    if row is not None and row.enabled_at is not None:
        step = _matching_step(row.secret, code, now=now, after_step=row.last_used_step)
    if step is not None:
        # A conditional update, so two requests racing with the same code cannot both succeed.
        claimed = db.execute(
            update(TherapistMfa)
            .where(TherapistMfa.therapist_id == therapist.id,
                   or_(TherapistMfa.last_used_step.is_(None), TherapistMfa.last_used_step < step))
            .values(last_used_step=step)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.expire(row)
        if claimed == 1:
            return
    db.add(LoginAttempt(username=therapist.username, ip_address=ip_address, succeeded=False, at=now))
    _audit(db, therapist, "mfa_failed", therapist.id)
    db.commit()
    raise PermissionDeniedError(MFA_FAILED_MESSAGE)


def complete_mfa_login(
    db: Session, *, challenge_token: str | None, code: str, ip_address: str = "", now: dt.datetime | None = None
) -> SessionGrant:
    """The second step: a valid code for the challenge's account opens the login session."""
    now = now or utcnow()
    challenge = None
    if challenge_token:
        challenge = db.scalar(select(MfaChallenge).where(MfaChallenge.token_sha256 == _digest(challenge_token)))
    if challenge is None or now - challenge.created_at > MFA_CHALLENGE_LIFETIME:
        raise MfaChallengeExpired(MFA_CHALLENGE_EXPIRED_MESSAGE)
    therapist = db.get(Therapist, challenge.therapist_id)
    if therapist is None or not therapist.active:
        raise MfaChallengeExpired(MFA_CHALLENGE_EXPIRED_MESSAGE)
    verify_second_factor(db, therapist, code=code, ip_address=ip_address, now=now)
    db.delete(challenge)
    return _open_session(db, therapist, ip_address=ip_address, now=now)


def authenticate_with_code(
    db: Session, *, username: str, password: str, code: str | None, ip_address: str = "",
    now: dt.datetime | None = None,
) -> Therapist:
    """Both factors in one call, for the API token endpoint: the password, then the code when the
    account uses two-factor login. An administrator without it is refused
    (:class:`MfaEnrolmentRequired`): API tokens must not become a way around enrolment."""
    now = now or utcnow()
    therapist = authenticate(db, username=username, password=password, ip_address=ip_address, now=now)
    if mfa_enabled(db, therapist_id=therapist.id):
        verify_second_factor(db, therapist, code=code or "", ip_address=ip_address, now=now)
        db.commit()
    elif therapist.is_admin:
        raise MfaEnrolmentRequired(MFA_ENROLMENT_REQUIRED_MESSAGE)
    return therapist


def start_mfa_enrolment(db: Session, *, actor: Therapist, now: dt.datetime | None = None) -> MfaEnrolment:
    """A fresh secret for ``actor``, pending until :func:`confirm_mfa_enrolment` sees a valid code.

    Starting again replaces a pending secret (it was shown once and may have been seen); an enabled
    one must be switched off first (:func:`disable_mfa`).
    """
    import pyotp

    now = now or utcnow()
    row = db.get(TherapistMfa, actor.id)
    if row is not None and row.enabled_at is not None:
        raise ConflictError("two-factor login is already enabled; switch it off before enrolling a new authenticator")
    secret = pyotp.random_base32()
    if row is None:
        db.add(TherapistMfa(therapist_id=actor.id, secret=secret, created_at=now))
    else:
        row.secret, row.created_at, row.last_used_step = secret, now, None
    db.flush()
    return _enrolment(actor, secret)


def _enrolment(actor: Therapist, secret: str) -> MfaEnrolment:
    return MfaEnrolment(secret=secret, uri=_totp(secret).provisioning_uri(name=actor.username, issuer_name=MFA_ISSUER))


def pending_mfa_enrolment(db: Session, *, actor: Therapist) -> MfaEnrolment | None:
    """The enrolment ``actor`` started and has not confirmed yet (to retry a mistyped code)."""
    row = db.get(TherapistMfa, actor.id)
    if row is None or row.enabled_at is not None:
        return None
    return _enrolment(actor, row.secret)


def confirm_mfa_enrolment(
    db: Session, *, actor: Therapist, code: str, keep_session_token: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Enable two-factor login once the authenticator shows a valid code (proof it holds the secret).

    Every other browser session and every API token of the account ends: they were opened with the
    password alone, and a token must stand for a session that passed both factors. The session
    making the change (``keep_session_token``) stays.
    """
    now = now or utcnow()
    row = db.get(TherapistMfa, actor.id)
    if row is None or row.enabled_at is not None:
        raise ParameterError("code: no two-factor enrolment is waiting for a code; start the set-up again")
    step = _matching_step(row.secret, code, now=now, after_step=None)
    if step is None:
        raise ParameterError(
            f"code must be the {MFA_DIGITS}-digit code the authenticator app shows now; "
            "check that the phone's clock is set automatically"
        )
    row.enabled_at, row.last_used_step = now, step
    _revoke_other_credentials(db, therapist_id=actor.id, keep_session_token=keep_session_token, now=now)
    _audit(db, actor, "mfa_enable", actor.id)
    db.flush()


def disable_mfa(
    db: Session, *, actor: Therapist, password: str, code: str, ip_address: str = "",
    now: dt.datetime | None = None,
) -> None:
    """Switch two-factor login off; needs the password and a fresh code. Administrators cannot.

    Wrong passwords and codes here are failed logins too (same ledger and lockout; committed), so
    a hijacked session cannot guess its way to switching the second factor off.
    """
    now = now or utcnow()
    ip_address = ip_address.replace("\x00", "")[:64]
    if actor.is_admin:
        raise ParameterError(
            "code: administrators must keep two-factor login; to move to a new phone, another "
            "administrator runs `cadenza admin reset-mfa` and you enrol again"
        )
    row = db.get(TherapistMfa, actor.id)
    if row is None or row.enabled_at is None:
        raise ParameterError("code: two-factor login is not enabled for this account")
    _serialise_account(db, actor.username, ip_address)
    if is_locked_out(db, username=actor.username, ip_address=ip_address, now=now):
        raise ParameterError(f"code: {REAUTH_LOCKED_MESSAGE}")
    problem = None
    if not passwords.verify_password(actor.password_hash, password):
        problem = "password is not correct"
    elif _matching_step(row.secret, code, now=now, after_step=row.last_used_step) is None:
        problem = "code is wrong or was already used"
    if problem is not None:
        db.add(LoginAttempt(username=actor.username, ip_address=ip_address, succeeded=False, at=now))
        _audit(db, actor, "mfa_failed", actor.id)
        db.commit()
        raise ParameterError(problem)
    db.delete(row)
    _audit(db, actor, "mfa_disable", actor.id)
    db.flush()


def unreadable_mfa_usernames(db: Session) -> list[str]:
    """Accounts whose stored two-factor secret does not open with this database's data key (a restore
    on a new machine without the source's ``data.key``); each needs ``cadenza admin reset-mfa``."""
    rows = db.execute(select(Therapist.username, TherapistMfa.secret_sealed)
                      .join(TherapistMfa, TherapistMfa.therapist_id == Therapist.id)
                      .order_by(Therapist.username)).all()
    url = _bind_url(db.get_bind())
    unreadable = []
    for username, stored in rows:
        try:
            open_mfa_secret(stored, url=url)
        except (DataQualityError, ParameterError):
            unreadable.append(username)
    return unreadable


def reset_mfa(db: Session, *, actor: Therapist | None, username: str) -> Therapist:
    """Remove a locked-out therapist's authenticator (local command line: ``actor=None``).

    Every session and API token of the account ends too, since whoever holds the lost phone may
    also hold them; an administrator must then enrol again at the next login. Audited as
    ``mfa_reset``.
    """
    if actor is not None and not actor.is_admin:
        raise PermissionDeniedError("only administrators may reset two-factor login")
    therapist = get_therapist_by_username(db, username)
    row = db.get(TherapistMfa, therapist.id)
    if row is None:
        raise ParameterError(f"username {username!r} has no two-factor login to reset")
    db.delete(row)
    db.execute(delete(MfaChallenge).where(MfaChallenge.therapist_id == therapist.id))
    revoke_all_sessions(db, therapist_id=therapist.id)
    _audit(db, actor, "mfa_reset", therapist.id)
    db.flush()
    return therapist
