"""Two-factor login with TOTP (reliability anchor T12): enrolment, the code step, replay and drift,
lockout, the administrator gate, API tokens and ``cadenza admin reset-mfa``.

Time is frozen by replacing ``cadenza.clinic.auth.utcnow`` with a clock the test moves; codes are
computed with pyotp from the secret, as an authenticator app would.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import time

import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from cadenza.clinic import auth
from cadenza.clinic.auth import LoginAttempt, LoginSession, MfaChallenge, TherapistMfa
from cadenza.clinic.models import AuditEvent, Base
from cadenza.errors import ConflictError, ParameterError, PermissionDeniedError
from cadenza.web import deps

MFA_TABLES = {"therapist_mfa", "mfa_challenge"}
ENROLMENT_ROUTES = {("GET", "/account/mfa"), ("POST", "/account/mfa/setup"), ("POST", "/account/mfa/confirm"),
                    ("POST", "/account/mfa/disable"), ("POST", "/logout")}


class Clock:
    """A settable UTC clock, started 5 s into a 30-s step so that one test's steps are predictable."""

    def __init__(self) -> None:
        self.now = dt.datetime.fromtimestamp((int(time.time()) // 30) * 30 + 5, dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr(auth, "utcnow", frozen)
    return frozen


def _code(secret: str, at: dt.datetime, *, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(at, counter_offset=steps)


def _enrol(db_session, therapist, clock: Clock) -> str:
    """Enrol through the service, then move to the next step (enrolment used this step's code)."""
    enrolment = auth.start_mfa_enrolment(db_session, actor=therapist, now=clock.now)
    auth.confirm_mfa_enrolment(db_session, actor=therapist, code=_code(enrolment.secret, clock.now), now=clock.now)
    db_session.commit()
    clock.advance(seconds=30)
    return enrolment.secret


def _password_step(browser, web, username: str, *, next_path: str = "/"):
    return browser.post("/login", data={"username": username, "password": web.password,
                                        "csrf_token": web.login_csrf(browser), "next": next_path})


def _code_step(browser, code: str, *, next_path: str = "/"):
    page = browser.get("/login/mfa", params={"next": next_path})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    return browser.post("/login/mfa", data={"code": code, "csrf_token": token, "next": next_path})


def _failed_attempts(db_session, username: str) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count(LoginAttempt.id)).where(
        LoginAttempt.username == username, LoginAttempt.succeeded.is_(False)))


def _audit_actions(db_session, action: str) -> list[AuditEvent]:
    db_session.expire_all()
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# ---- storage and the TOTP arithmetic -----------------------------------------------------------


def test_migration_matches_the_mfa_models(db_engine):
    with db_engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert not [d for d in diffs if any(t in str(d) for t in MFA_TABLES)]


def test_rfc6238_reference_codes_are_accepted_at_their_time(db_session, make_therapist):
    """RFC 6238 appendix B (SHA-1 seed "12345678901234567890"): 94287082 at T=59 s and 07081804 at
    T=1111111109 s; authenticator apps show the last six digits."""
    ann = make_therapist("ann")
    secret = base64.b32encode(b"12345678901234567890").decode()
    db_session.add(TherapistMfa(therapist_id=ann.id, secret=secret, enabled_at=auth.utcnow()))
    db_session.commit()
    auth.verify_second_factor(db_session, ann, code="287082", now=dt.datetime.fromtimestamp(59, dt.UTC))
    auth.verify_second_factor(db_session, ann, code="081 804", now=dt.datetime.fromtimestamp(1111111109, dt.UTC))
    db_session.expire_all()
    assert db_session.get(TherapistMfa, ann.id).last_used_step == 1111111109 // 30
    with pytest.raises(PermissionDeniedError):  # right digits, wrong time: decades away
        auth.verify_second_factor(db_session, ann, code="287082", now=dt.datetime.fromtimestamp(1111111139, dt.UTC))


@settings(max_examples=40, deadline=None)
@given(secret=st.binary(min_size=20, max_size=20).map(lambda b: base64.b32encode(b).decode()),
       at_s=st.integers(10**9, 4 * 10**9), offset=st.integers(-4, 4))
def test_a_code_is_valid_one_step_either_side_only(secret, at_s, offset):
    now = dt.datetime.fromtimestamp(at_s, dt.UTC)
    code = _code(secret, now, steps=offset)
    step = auth._matching_step(secret, code, now=now, after_step=None)
    if abs(offset) <= auth.MFA_DRIFT_STEPS:
        assert step == auth.mfa_step(now) + offset
    elif step is not None:  # a code of a far step can collide with a near one's (one in 10**6)
        assert abs(step - auth.mfa_step(now)) <= auth.MFA_DRIFT_STEPS
        assert _code(secret, now, steps=step - auth.mfa_step(now)) == code
    # Never accepted for a step at or before the last used one (replay).
    assert auth._matching_step(secret, code, now=now, after_step=auth.mfa_step(now) + 1) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６", "12 34 5"])
def test_malformed_codes_never_match(code):
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    assert auth._matching_step(pyotp.random_base32(), code, now=now, after_step=None) is None


def test_naive_time_is_refused():
    with pytest.raises(ParameterError, match="now"):
        auth.mfa_step(dt.datetime(2026, 11, 25))


# ---- enrolment ---------------------------------------------------------------------------------


def test_enrolment_shows_the_secret_once_and_needs_a_valid_code(make_therapist, login_as, web, db_session, clock):
    ann = make_therapist("ann")
    browser, elsewhere = login_as("ann"), login_as("ann")
    token, _ = auth.create_api_token(db_session, therapist_id=ann.id)
    db_session.commit()
    page = browser.get("/account/mfa")
    assert page.status_code == 200 and "off" in page.text and "mfa-secret" not in page.text
    csrf = web.page_csrf(browser, "/account/mfa")
    setup = browser.post("/account/mfa/setup", data={"csrf_token": csrf, "password": web.password})
    secret = re.search(r'id="mfa-secret">(\w+)<', setup.text)[1]
    assert 'src="data:image/svg+xml' in setup.text  # the QR code, allowed by the CSP's img-src
    pending = db_session.get(TherapistMfa, ann.id)
    assert pending.secret == secret and pending.enabled_at is None
    assert auth.pending_mfa_enrolment(db_session, actor=ann).uri.startswith("otpauth://totp/Cadenza:ann?secret=")

    wrong = browser.post("/account/mfa/confirm", data={"csrf_token": csrf, "code": _code(secret, clock.now, steps=3)})
    assert wrong.status_code == 422 and "6-digit code" in wrong.text
    assert secret in wrong.text  # the same pending secret, so no new scan is needed
    assert not auth.mfa_enabled(db_session, therapist_id=ann.id)
    ok = browser.post("/account/mfa/confirm", data={"csrf_token": csrf, "code": _code(secret, clock.now)})
    assert ok.status_code == 200 and "is on" in ok.text and secret not in ok.text
    assert auth.mfa_enabled(db_session, therapist_id=ann.id)
    # Credentials opened with the password alone end; the enrolling session goes on.
    assert elsewhere.get("/").headers["location"].startswith("/login")
    assert browser.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert browser.get("/").status_code == 200
    assert secret not in browser.get("/account/mfa").text
    again = browser.post("/account/mfa/setup", data={"csrf_token": csrf, "password": web.password})
    assert again.status_code == 409 and "already enabled" in again.text
    assert [e.entity_id for e in _audit_actions(db_session, "mfa_enable")] == [ann.id]


def test_enrolment_needs_the_password_again(make_therapist, login_as, web, db_session):
    """L2: a session cookie alone cannot bind the account to another phone; wrong passwords count."""
    ann = make_therapist("ann")
    browser = login_as("ann")
    page = browser.get("/account/mfa")
    assert 'name="password"' in page.text and 'autocomplete="current-password"' in page.text
    csrf = web.page_csrf(browser, "/account/mfa")
    for password in ("", "not-the-password-1"):
        refused = browser.post("/account/mfa/setup", data={"csrf_token": csrf, "password": password})
        assert refused.status_code == 422 and "password is not correct" in refused.text
        assert "mfa-secret" not in refused.text
    assert db_session.get(TherapistMfa, ann.id) is None
    assert _failed_attempts(db_session, "ann") == 2
    assert len(_audit_actions(db_session, "password_failed")) == 2
    ok = browser.post("/account/mfa/setup", data={"csrf_token": csrf, "password": web.password})
    assert ok.status_code == 200 and "mfa-secret" in ok.text


def test_enrolment_pages_require_csrf(make_therapist, login_as):
    make_therapist("ann")
    browser = login_as("ann")
    for path in ("/account/mfa/setup", "/account/mfa/confirm", "/account/mfa/disable"):
        assert browser.post(path, data={"code": "123456"}).status_code == 403
        assert browser.post(path, data={"code": "123456", "csrf_token": "forged"}).status_code == 403


def test_every_page_links_to_the_enrolment_page(make_therapist, login_as):
    make_therapist("ann")
    browser = login_as("ann")
    for path in ("/", "/evidence", "/account/password"):
        assert 'href="/account/mfa"' in browser.get(path).text, path


def test_a_pending_enrolment_does_not_ask_for_a_code(make_therapist, client, web, db_session):
    ann = make_therapist("ann")
    auth.start_mfa_enrolment(db_session, actor=ann)
    db_session.commit()
    response = _password_step(client, web, "ann")
    assert response.headers["location"] == "/"
    assert client.cookies.get(deps.SESSION_COOKIE)


# ---- the code step -----------------------------------------------------------------------------


def test_login_with_password_then_code(make_therapist, client, web, db_session, clock):
    ann = make_therapist("ann")
    secret = _enrol(db_session, ann, clock)
    first = _password_step(client, web, "ann", next_path="/evidence")
    assert first.status_code == 303 and first.headers["location"] == "/login/mfa?next=/evidence"
    assert client.cookies.get(deps.SESSION_COOKIE) is None
    assert client.cookies.get(deps.MFA_PENDING_COOKIE)
    second = _code_step(client, _code(secret, clock.now), next_path="/evidence")
    assert second.status_code == 303 and second.headers["location"] == "/evidence"
    assert client.cookies.get(deps.SESSION_COOKIE)
    assert client.get("/evidence").status_code == 200
    db_session.expire_all()
    assert db_session.scalar(select(func.count(MfaChallenge.id))) == 0  # single use


def test_the_pending_cookie_is_not_a_logged_in_session(make_therapist, client, web, db_session, clock):
    ann = make_therapist("ann")
    _enrol(db_session, ann, clock)
    _password_step(client, web, "ann")
    pending = client.cookies.get(deps.MFA_PENDING_COOKIE)
    for path in ("/", "/account/tokens", "/account/mfa"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    client.cookies.set(deps.SESSION_COOKIE, pending)  # promoting the challenge token by hand
    assert client.get("/").headers["location"].startswith("/login")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {pending}"}).status_code == 401
    db_session.expire_all()
    assert db_session.scalar(select(func.count(LoginSession.id))) == 0


def test_over_https_the_pending_cookie_is_a_secure_host_cookie(web_app, make_therapist, web, db_session, clock):
    from fastapi.testclient import TestClient

    ann = make_therapist("ann")
    secret = _enrol(db_session, ann, clock)
    with TestClient(web_app, base_url="https://testserver", follow_redirects=False) as browser:
        first = _password_step(browser, web, "ann")
        cookie = next(v for k, v in first.headers.multi_items() if k == "set-cookie" and "mfa_pending=" in v)
        assert cookie.startswith("__Host-cadenza_mfa_pending=")
        assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=strict", "Path=/"))
        second = _code_step(browser, _code(secret, clock.now))
        assert second.status_code == 303
        cleared = [v for k, v in second.headers.multi_items() if k == "set-cookie" and "mfa_pending=" in v]
        assert cleared and "Max-Age=0" in cleared[0]
        assert browser.get("/").status_code == 200


def test_the_code_page_without_a_password_step_goes_back_to_login(client, clock):
    assert client.get("/login/mfa").headers["location"] == "/login"
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    response = client.post("/login/mfa", data={"code": "123456", "csrf_token": token})
    assert response.status_code == 401 and "log in again" in response.text


def test_the_code_form_requires_the_login_csrf_token(make_therapist, client, web, db_session, clock):
    ann = make_therapist("ann")
    secret = _enrol(db_session, ann, clock)
    _password_step(client, web, "ann")
    forged = client.post("/login/mfa", data={"code": _code(secret, clock.now), "csrf_token": "forged"})
    assert forged.status_code == 403 and client.cookies.get(deps.SESSION_COOKIE) is None


def test_wrong_codes_are_refused_audited_and_count_towards_lockout(make_therapist, client, web, db_session, clock):
    ann = make_therapist("ann")
    secret = _enrol(db_session, ann, clock)
    assert _password_step(client, web, "ann").status_code == 303
    right = _code(secret, clock.now)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        response = _code_step(client, wrong)
        assert response.status_code == 401 and auth.MFA_FAILED_MESSAGE in response.text
    assert _failed_attempts(db_session, "ann") == auth.MAX_FAILURES_PER_ACCOUNT
    failed = _audit_actions(db_session, "mfa_failed")
    assert [(e.actor_id, e.entity_id) for e in failed] == [(ann.id, ann.id)] * auth.MAX_FAILURES_PER_ACCOUNT
    assert all(wrong not in f"{e.entity} {e.actor_username}" for e in failed)
    # Locked: now even the right code and the right password are refused, unchecked.
    assert _code_step(client, right).status_code == 401
    assert _password_step(client, web, "ann").status_code == 401
    assert client.cookies.get(deps.SESSION_COOKIE) is None
    # The lockout is temporary; the next login asks for a code again and a fresh one works.
    clock.advance(minutes=16)
    assert _password_step(client, web, "ann").headers["location"].startswith("/login/mfa")
    assert _code_step(client, _code(secret, clock.now)).status_code == 303


def test_a_used_code_is_refused_within_its_window(make_therapist, login_as, client, web, db_session, clock):
    ann = make_therapist("ann")
    secret = _enrol(db_session, ann, clock)
    code = _code(secret, clock.now)
    _password_step(client, web, "ann")
    assert _code_step(client, code).status_code == 303
    client.post("/logout", data={"csrf_token": web.page_csrf(client, "/")})
    clock.advance(seconds=10)  # same 30-s step: the code is still "valid" on the phone
    _password_step(client, web, "ann")
    replay = _code_step(client, code)
    assert replay.status_code == 401 and client.cookies.get(deps.SESSION_COOKIE) is None
    earlier = _code_step(client, _code(secret, clock.now, steps=-1))  # an earlier step after a later one
    assert earlier.status_code == 401
    clock.advance(seconds=30)
    assert _code_step(client, _code(secret, clock.now)).status_code == 303


@pytest.mark.parametrize(("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_clock_drift_of_one_step_is_accepted_two_are_not(make_therapist, client, web, db_session, clock,
                                                        offset, accepted):
    ann = make_therapist("ann")
    secret = _enrol(db_session, ann, clock)
    clock.advance(seconds=60)  # two steps past the enrolment, so -1 and -2 are not replays
    _password_step(client, web, "ann")
    response = _code_step(client, _code(secret, clock.now, steps=offset))
    assert (response.status_code == 303) is accepted


def test_an_unfinished_login_expires(make_therapist, client, web, db_session, clock):
    ann = make_therapist("ann")
    secret = _enrol(db_session, ann, clock)
    _password_step(client, web, "ann")
    clock.advance(seconds=auth.MFA_CHALLENGE_LIFETIME.total_seconds() + 1)
    late = _code_step(client, _code(secret, clock.now))
    assert late.status_code == 401 and "log in again" in late.text
    assert client.cookies.get(deps.SESSION_COOKIE) is None


def test_disabling_needs_password_and_a_fresh_code(make_therapist, client, web, db_session, clock):
    ann = make_therapist("ann")
    secret = _enrol(db_session, ann, clock)
    _password_step(client, web, "ann")
    used = _code(secret, clock.now)
    assert _code_step(client, used).status_code == 303
    csrf = web.page_csrf(client, "/account/mfa")
    no_password = client.post("/account/mfa/disable", data={"csrf_token": csrf, "password": "not-it-at-all-1",
                                                             "code": _code(secret, clock.now, steps=1)})
    assert no_password.status_code == 422 and "password is not correct" in no_password.text
    replayed = client.post("/account/mfa/disable", data={"csrf_token": csrf, "password": web.password, "code": used})
    assert replayed.status_code == 422 and auth.mfa_enabled(db_session, therapist_id=ann.id)
    off = client.post("/account/mfa/disable", data={"csrf_token": csrf, "password": web.password,
                                                     "code": _code(secret, clock.now, steps=1)})
    assert off.status_code == 200 and "is off" in off.text
    assert not auth.mfa_enabled(db_session, therapist_id=ann.id)
    assert len(_audit_actions(db_session, "mfa_disable")) == 1
    assert _failed_attempts(db_session, "ann") == 2  # the wrong password and the replayed code


def test_guessing_codes_on_the_disable_form_locks_it(make_therapist, client, web, db_session, clock):
    ann = make_therapist("ann")
    secret = _enrol(db_session, ann, clock)
    _password_step(client, web, "ann")
    _code_step(client, _code(secret, clock.now))
    browser = client  # say its cookie was stolen, and the password with it
    csrf = web.page_csrf(browser, "/account/mfa")
    clock.advance(seconds=30)
    right = _code(secret, clock.now)
    for guess in range(auth.MAX_FAILURES_PER_ACCOUNT):
        response = browser.post("/account/mfa/disable", data={"csrf_token": csrf, "password": web.password,
                                                                "code": f"{(int(right) + 1 + guess) % 10**6:06d}"})
        assert response.status_code == 422
    locked = browser.post("/account/mfa/disable", data={"csrf_token": csrf, "password": web.password, "code": right})
    assert locked.status_code == 422 and "too many" in locked.text
    assert auth.mfa_enabled(db_session, therapist_id=ann.id)


# ---- administrators ----------------------------------------------------------------------------


def _routes(app):
    for context in iter_route_contexts(app.routes):
        for method in sorted((getattr(context, "methods", None) or set()) - {"HEAD", "OPTIONS"}):
            yield method, context.path, context.original_route


def _depends_on(route, target) -> bool:
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if dependant.call is target:
            return True
        stack.extend(dependant.dependencies)
    return False


def test_only_the_enrolment_pages_skip_the_admin_gate(web_app):
    logged_in_only = {(m, p) for m, p, route in _routes(web_app) if isinstance(route, APIRoute)
                      and _depends_on(route, deps.current_user_page)
                      and not _depends_on(route, deps.current_enrolled_page)}
    assert logged_in_only == ENROLMENT_ROUTES


def test_an_admin_without_mfa_can_only_enrol(web_app, make_therapist, login_as, client, web, db_session, clock):
    root = make_therapist("root", role="admin")
    browser = login_as("root")  # the password alone opens an enrolment-only session
    token, _ = auth.create_api_token(db_session, therapist_id=root.id)  # e.g. one issued before 0010_mfa
    db_session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    csrf = web.page_csrf(browser, "/account/mfa")
    checked = 0
    for method, path, route in _routes(web_app):
        if not isinstance(route, APIRoute) or (method, path) in ENROLMENT_ROUTES:
            continue
        if not (_depends_on(route, deps.current_user_page) or _depends_on(route, deps.current_user_api)):
            continue  # public
        url = re.sub(r"\{(\w+)\}", lambda m: "root" if m[1] == "username" else "1", path)
        if path.startswith("/api/"):
            response = browser.request(method, url, headers=bearer)
            assert response.status_code == 403 and "two-factor" in response.json()["detail"], (method, path)
        else:
            response = browser.request(method, url, data={"csrf_token": csrf})
            assert response.status_code == 303 and response.headers["location"] == "/account/mfa", (method, path)
        checked += 1
    assert checked >= 40
    assert browser.get("/", headers={"HX-Request": "true"}).headers["hx-redirect"] == "/account/mfa"
    refused = client.post("/api/v1/auth/token", json={"username": "root", "password": web.password})
    assert refused.status_code == 403
    page = browser.get("/account/mfa")
    assert page.status_code == 200 and "must use two-factor login" in page.text

    setup = browser.post("/account/mfa/setup", data={"csrf_token": csrf, "password": web.password})
    secret = re.search(r'id="mfa-secret">(\w+)<', setup.text)[1]
    assert browser.post("/account/mfa/confirm", data={"csrf_token": csrf, "code": _code(secret, clock.now)}).is_success
    assert browser.get("/admin/therapists").status_code == 200
    assert client.get("/api/v1/therapists", headers=bearer).status_code == 401  # made without a second factor
    issued = client.post("/api/v1/auth/token", json={"username": "root", "password": web.password,
                                                      "code": _code(secret, clock.now, steps=1)})
    fresh = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert client.get("/api/v1/therapists", headers=fresh).status_code == 200
    kept = browser.post("/account/mfa/disable", data={"csrf_token": csrf, "password": web.password,
                                                       "code": _code(secret, clock.now, steps=1)})
    assert kept.status_code == 422 and auth.mfa_enabled(db_session, therapist_id=root.id)
    with pytest.raises(ConflictError):
        auth.start_mfa_enrolment(db_session, actor=root)


# ---- API tokens --------------------------------------------------------------------------------


def test_api_token_endpoint_asks_for_the_code(make_therapist, client, web, db_session, clock):
    ann = make_therapist("ann")
    secret = _enrol(db_session, ann, clock)
    body = {"username": "ann", "password": web.password}
    assert client.post("/api/v1/auth/token", json=body).status_code == 401
    code = _code(secret, clock.now)
    issued = client.post("/api/v1/auth/token", json={**body, "code": code})
    assert issued.status_code == 200, issued.text
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/token", json={**body, "code": code}).status_code == 401  # replay
    assert _failed_attempts(db_session, "ann") == 2


def test_tokens_made_in_a_two_factor_session_need_no_code(make_therapist, client, web, db_session, clock):
    ann = make_therapist("ann")
    secret = _enrol(db_session, ann, clock)
    _password_step(client, web, "ann")
    _code_step(client, _code(secret, clock.now))
    created = client.post("/account/tokens", data={"csrf_token": web.page_csrf(client, "/account/tokens"),
                                                  "password": web.password})
    token = re.search(r'id="new-token">([^<]+)<', created.text)[1]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


# ---- reset by the command line -----------------------------------------------------------------


def test_reset_mfa_service_revokes_and_audits(make_therapist, db_session, web, clock):
    ann, root = make_therapist("ann"), make_therapist("root", role="admin")
    _enrol(db_session, ann, clock)
    grant = auth.login(db_session, username="root", password=web.password)
    with pytest.raises(PermissionDeniedError):
        auth.reset_mfa(db_session, actor=ann, username="root")
    auth.reset_mfa(db_session, actor=root, username="ann")
    assert not auth.mfa_enabled(db_session, therapist_id=ann.id)
    assert auth.resolve_session(db_session, grant.token) is not None  # only ann's sessions end
    with pytest.raises(ParameterError, match="no two-factor"):
        auth.reset_mfa(db_session, actor=None, username="ann")


def test_reset_mfa_cli_removes_the_factor_ends_sessions_and_is_audited(tmp_path, monkeypatch, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the command line test uses its own SQLite file; once is enough")
    from typer.testing import CliRunner

    from cadenza.cli.main import app
    from cadenza.clinic.db import make_engine, make_session_factory, session_scope
    from cadenza.settings import Settings

    password = "a perfectly long passphrase"
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    runner = CliRunner()
    created = runner.invoke(app, ["admin", "create", "ana", "--password-stdin"], input=password + "\n")
    assert created.exit_code == 0 and "/account/mfa" in created.output  # how the first admin enrols
    engine = make_engine(Settings.from_env().database_url)
    try:
        with session_scope(make_session_factory(engine)) as db:
            ana = db.scalar(select(auth.Therapist).where(auth.Therapist.username == "ana"))
            _enrol(db, ana, Clock())
            cookie = auth.complete_mfa_login(
                db, challenge_token=auth.login(db, username="ana", password=password).token,
                code=_code(db.get(TherapistMfa, ana.id).secret, auth.utcnow(), steps=1),
            ).token
        result = runner.invoke(app, ["admin", "reset-mfa", "ana"])
        assert result.exit_code == 0, result.output
        assert "revoked" in result.output
        with session_scope(make_session_factory(engine)) as db:
            assert not auth.mfa_enabled(db, therapist_id=ana.id)
            assert auth.resolve_session(db, cookie) is None
            events = db.scalars(select(AuditEvent).where(AuditEvent.action == "mfa_reset")).all()
            assert [(e.actor_username, e.entity_id) for e in events] == [("system", ana.id)]
            # The admin is back to an enrolment-only password login.
            assert isinstance(auth.login(db, username="ana", password=password), auth.SessionGrant)
            assert auth.needs_mfa_enrolment(db, ana)
        again = runner.invoke(app, ["admin", "reset-mfa", "ana"])
        assert again.exit_code == 2 and "no two-factor" in again.output
        unknown = runner.invoke(app, ["admin", "reset-mfa", "nobody"])
        assert unknown.exit_code == 1 and "nobody" in unknown.output
    finally:
        engine.dispose()


# ---- in a real browser -------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_admin_enrols_and_logs_in_with_a_code_in_chromium(tmp_path, database_url, chromium):
    """The first admin's path in Chromium: password, forced enrolment (the QR image must load under
    the CSP), then a fresh login that asks for the code."""
    import shutil
    import socket
    import threading

    if not database_url.startswith("sqlite"):
        pytest.skip("the browser test runs its own SQLite server; once is enough")
    if shutil.which("chromium") is None:
        pytest.skip("chromium is absent; scripts/setup installs Debian's chromium")
    import uvicorn

    from cadenza.clinic import service
    from cadenza.clinic.db import make_engine, make_session_factory, migrate, session_scope
    from cadenza.settings import Settings
    from cadenza.web.main import create_app

    password = "oboe-lantern-evening-31"
    url = f"sqlite:///{tmp_path / 'mfa.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        service.create_therapist(db, actor=None, username="root", password=password, role="admin")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(database_url=url, data_dir=tmp_path),
                                                      session_factory=factory),
                                           host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        browser = chromium()  # the session's Chromium; the test's contexts are closed after it
        page = browser.new_context().new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

        page.goto(f"{base}/admin/therapists")
        page.fill("#username", "root")
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/account/mfa")  # the admin page sent it on to enrolment
        page.fill("#f-password", password)  # setting up asks for the password again
        page.click("button:has-text('Set up two-factor login')")
        page.wait_for_function("() => { const i = document.querySelector('img.qr'); "
                               "return i && i.complete && i.naturalWidth > 0; }")
        secret = page.inner_text("#mfa-secret")
        page.fill("#f-code", pyotp.TOTP(secret).now())
        page.click("button:has-text('Turn on two-factor login')")
        assert "Two-factor login is on" in page.content()
        page.goto(f"{base}/admin/therapists")
        assert page.url == f"{base}/admin/therapists"

        page.click("button:has-text('Log out')")
        page.wait_for_url(f"{base}/login")
        page.fill("#username", "root")
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/login/mfa?next=/")
        # The enrolment used this step's code; the next step's is within the allowed drift.
        page.fill("#code", pyotp.TOTP(secret).at(time.time(), counter_offset=1))
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        assert "root" in page.inner_text("header")
        assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
