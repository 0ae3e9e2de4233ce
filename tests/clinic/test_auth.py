"""Account lockout under concurrency (T8) and re-authentication (``clinic/auth.py``), on SQLite and PostgreSQL.

The concurrent tests use real threads, each with its own session and connection, on the module's
migrated database (``database_url``), like ``test_concurrency.py``. Each test uses its own usernames:
the database is shared by the module.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from cadenza.clinic import auth, passwords, service
from cadenza.clinic.auth import LoginAttempt
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.clinic.models import AuditEvent
from cadenza.errors import ParameterError, PermissionDeniedError

PASSWORD = "correct horse battery"
GUESSERS = 25
# Each verification sleeps this long, so unserialised attempts would overlap in the
# count-then-insert window (with the test's cheap hasher they would rarely race by chance).
VERIFY_DELAY_S = 0.02


@pytest.fixture
def counted_verifications(monkeypatch) -> list[int]:
    """Every password verification, counted across threads (and made slow enough to race)."""
    calls: list[int] = []
    lock = threading.Lock()
    real = passwords.verify_password

    def verify(password_hash: str, password: str) -> bool:
        with lock:
            calls.append(1)
        time.sleep(VERIFY_DELAY_S)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", verify)
    return calls


@pytest.fixture
def factory(database_url):
    engine = make_engine(database_url, pool_size=GUESSERS, max_overflow=5)
    yield make_session_factory(engine)
    engine.dispose()


def _attempts(factory, username: str) -> list[tuple[bool, bool]]:
    with session_scope(factory) as db:
        rows = db.execute(select(LoginAttempt.succeeded, LoginAttempt.password_checked)
                          .where(LoginAttempt.username == username)).all()
    return [tuple(row) for row in rows]


def _guess_in_parallel(factory, username, password: str, *, address=lambda i: "192.0.2.1",
                       guessers: int = GUESSERS) -> list[bool]:
    """``guessers`` simultaneous logins; ``username`` is a name or a function of the guess's index."""
    barrier = threading.Barrier(guessers)
    name = username if callable(username) else (lambda i: username)

    def guess(index: int) -> bool:
        barrier.wait()
        try:
            with session_scope(factory) as db:
                auth.authenticate(db, username=name(index), password=password, ip_address=address(index))
            return True
        except PermissionDeniedError:
            return False

    with ThreadPoolExecutor(max_workers=guessers) as pool:
        return list(pool.map(guess, range(guessers)))


def test_parallel_wrong_passwords_verify_at_most_the_limit_then_lock(factory, counted_verifications):
    """M2: 25 simultaneous wrong guesses for one account check at most 5 passwords; then even the right
    one is refused while the lockout lasts."""
    with session_scope(factory) as db:
        service.create_therapist(db, actor=None, username="racer", password=PASSWORD)
    # Each guess from its own address, so only the per-account limit can stop them (the forged
    # X-Forwarded-For rotation of the probe).
    results = _guess_in_parallel(factory, "racer", "wrong-guess-123456", address=lambda i: f"198.51.100.{i}")
    assert not any(results)
    attempts = _attempts(factory, "racer")
    assert len(attempts) == GUESSERS
    checked = [a for a in attempts if a[1]]
    assert len(checked) == auth.MAX_FAILURES_PER_ACCOUNT
    assert len(counted_verifications) == auth.MAX_FAILURES_PER_ACCOUNT
    with session_scope(factory) as db, pytest.raises(PermissionDeniedError):
        auth.authenticate(db, username="racer", password=PASSWORD, ip_address="203.0.113.9")
    assert len(counted_verifications) == auth.MAX_FAILURES_PER_ACCOUNT  # refused unchecked


def test_unknown_usernames_are_throttled_the_same_way(factory, counted_verifications):
    results = _guess_in_parallel(factory, "ghost", "wrong-guess-123456", address=lambda i: f"198.51.100.{i}")
    assert not any(results)
    assert sum(checked for _, checked in _attempts(factory, "ghost")) == auth.MAX_FAILURES_PER_ACCOUNT
    assert len(counted_verifications) == auth.MAX_FAILURES_PER_ACCOUNT  # dummy-hash checks count too


def test_parallel_guesses_over_many_usernames_from_one_address_check_at_most_the_address_limit(
        factory, counted_verifications):
    """Spraying one guess at each of many usernames from one address at once: the per-address limit holds
    under concurrency too (each guess passes the per-account check, so only the address count can stop them)."""
    guessers = auth.MAX_FAILURES_PER_IP + 5
    results = _guess_in_parallel(factory, lambda i: f"spray{i}", "wrong-guess-123456", address=lambda i: "192.0.2.77",
                                 guessers=guessers)
    assert not any(results)
    assert len(counted_verifications) == auth.MAX_FAILURES_PER_IP
    with session_scope(factory) as db:
        checked = db.scalar(select(func.count(LoginAttempt.id)).where(
            LoginAttempt.ip_address == "192.0.2.77", LoginAttempt.password_checked.is_(True)))
    assert checked == auth.MAX_FAILURES_PER_IP


def test_other_accounts_are_not_held_up_by_a_locked_one(factory, counted_verifications):
    with session_scope(factory) as db:
        service.create_therapist(db, actor=None, username="calm", password=PASSWORD)
    _guess_in_parallel(factory, "stormy", "wrong-guess-123456")
    with session_scope(factory) as db:
        assert auth.authenticate(db, username="calm", password=PASSWORD, ip_address="192.0.2.99").username == "calm"


# ---- re-authentication (L1, L2) -------------------------------------------------------------------


def test_wrong_current_passwords_count_as_failed_logins_and_lock(db_session):
    """L1: a stolen session cannot guess the password through the change-password form."""
    ana = service.create_therapist(db_session, actor=None, username="ana.reauth", password=PASSWORD)
    db_session.commit()
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(ParameterError, match="current_password is not correct"):
            auth.change_password(db_session, actor=ana, current_password="wrong-guess-123456",
                                 new_password="bright-viola-evening-9", ip_address="192.0.2.7")
        db_session.rollback()  # what the page does; the failure was committed before the error
    with pytest.raises(ParameterError, match="current_password: too many failed attempts"):
        auth.change_password(db_session, actor=ana, current_password=PASSWORD,
                             new_password="bright-viola-evening-9", ip_address="192.0.2.7")
    db_session.rollback()
    assert passwords.verify_password(ana.password_hash, PASSWORD)  # unchanged
    rows = db_session.execute(select(LoginAttempt.succeeded, LoginAttempt.password_checked, LoginAttempt.ip_address)
                              .where(LoginAttempt.username == "ana.reauth")).all()
    assert sorted(map(tuple, rows)) == [(False, False, "192.0.2.7")] + [(False, True, "192.0.2.7")] * 5
    audited = db_session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "password_failed", AuditEvent.entity_id == ana.id))
    assert audited == auth.MAX_FAILURES_PER_ACCOUNT
    # The same ledger as the login page: the account is locked there too.
    with pytest.raises(PermissionDeniedError):
        auth.authenticate(db_session, username="ana.reauth", password=PASSWORD, ip_address="203.0.113.1")


def test_verify_current_password_accepts_the_right_one_silently(db_session):
    bo = service.create_therapist(db_session, actor=None, username="bo.reauth", password=PASSWORD)
    db_session.commit()
    auth.verify_current_password(db_session, actor=bo, password=PASSWORD)
    with pytest.raises(ParameterError, match="^password is not correct"):
        auth.verify_current_password(db_session, actor=bo, password="")
    assert db_session.scalar(select(func.count(LoginAttempt.id)).where(LoginAttempt.username == "bo.reauth")) == 1
