"""Login, logout, session cookies, CSRF, lockout, security headers (reliability anchors T7-T11, T37)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from cadenza.clinic import auth
from cadenza.clinic.auth import LoginAttempt, LoginSession


def test_login_page_renders_with_csrf_field_and_headers(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_login_sets_httponly_lax_session_cookie_and_redirects(client, make_therapist, web):
    make_therapist("ann")
    response = web.log_in(client, "ann")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "cadenza_session=" in v)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie


def test_https_login_uses_secure_host_cookie(web_app, make_therapist, web):
    from fastapi.testclient import TestClient

    make_therapist("ann")
    with TestClient(web_app, base_url="https://testserver", follow_redirects=False) as secure_client:
        response = web.log_in(secure_client, "ann")
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "session=" in v)
    assert cookie.startswith("__Host-cadenza_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert "max-age=31536000" in response.headers["strict-transport-security"]
    with TestClient(web_app, base_url="https://testserver", follow_redirects=False) as secure_client:
        web.log_in(secure_client, "ann")
        token = web.page_csrf(secure_client, "/")
        out = secure_client.post("/logout", data={"csrf_token": token})
    cleared = next(v for k, v in out.headers.multi_items() if k == "set-cookie" and "__Host-" in v)
    assert "Max-Age=0" in cleared and "Secure" in cleared and "Path=/" in cleared


def test_wrong_password_is_refused_with_generic_message(client, make_therapist, db_session, web):
    make_therapist("ann")
    response = web.log_in(client, "ann", "not-the-password-at-all")
    assert response.status_code == 401
    assert auth.LOGIN_FAILED_MESSAGE in response.text
    unknown = web.log_in(client, "nobody", "not-the-password-at-all")
    assert unknown.status_code == 401
    assert unknown.text.count(auth.LOGIN_FAILED_MESSAGE) == 1


def test_login_without_csrf_token_is_refused(client, make_therapist, web):
    make_therapist("ann")
    web.login_csrf(client)
    response = client.post("/login", data={"username": "ann", "password": web.password, "csrf_token": "forged"})
    assert response.status_code == 403
    assert "cadenza_session" not in client.cookies


def test_open_redirect_is_neutralised(client, make_therapist, web):
    make_therapist("ann")
    token = web.login_csrf(client)
    response = client.post(
        "/login",
        data={"username": "ann", "password": web.password, "csrf_token": token, "next": "//evil.example/x"},
    )
    assert response.headers["location"] == "/"


def test_lockout_after_five_failures_stops_checking_passwords(client, make_therapist, db_session, web):
    make_therapist("ann")
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        assert web.log_in(client, "ann", "wrong-password-123456").status_code == 401
    # Right password, but locked: refused, and the password was not even checked.
    assert web.log_in(client, "ann").status_code == 401
    attempts = db_session.scalars(select(LoginAttempt).where(LoginAttempt.username == "ann")).all()
    assert sum(a.password_checked for a in attempts) == auth.MAX_FAILURES_PER_ACCOUNT


def test_lockout_is_temporary(db_session, make_therapist, web):
    make_therapist("ann")
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    for i in range(auth.MAX_FAILURES_PER_ACCOUNT + 3):
        try:
            auth.login(db_session, username="ann", password="wrong-password-123456", now=start + dt.timedelta(seconds=i))
        except Exception:
            pass
    assert auth.is_locked_out(db_session, username="ann", ip_address="", now=start + dt.timedelta(minutes=1))
    later = start + auth.LOCKOUT_WINDOW + dt.timedelta(seconds=10)
    assert auth.login(db_session, username="ann", password=web.password, now=later).therapist.username == "ann"


def test_ip_throttle_spans_accounts(db_session, make_therapist):
    for i in range(auth.MAX_FAILURES_PER_IP):
        try:
            auth.login(db_session, username=f"user{i}", password="wrong-password-123456", ip_address="10.0.0.9")
        except Exception:
            pass
    make_therapist("ann")
    assert auth.is_locked_out(db_session, username="ann", ip_address="10.0.0.9")
    assert not auth.is_locked_out(db_session, username="ann", ip_address="10.0.0.10")


def test_logout_revokes_the_session_and_a_replayed_cookie_fails(client, make_therapist, web):
    make_therapist("ann")
    web.log_in(client, "ann")
    cookie = client.cookies.get("cadenza_session")
    token = web.page_csrf(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    client.cookies.clear()
    client.cookies.set("cadenza_session", cookie)
    response = client.get("/")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_logout_without_csrf_is_refused(client, make_therapist, web):
    make_therapist("ann")
    web.log_in(client, "ann")
    assert client.post("/logout", data={"csrf_token": "nope"}).status_code == 403
    assert client.get("/").status_code == 200


def test_pre_login_cookie_is_not_promoted(client, make_therapist, web):
    make_therapist("ann")
    client.cookies.set("cadenza_session", "attacker-chosen-value")
    response = web.log_in(client, "ann")
    issued = response.cookies.get("cadenza_session")
    assert issued and issued != "attacker-chosen-value"
    client.cookies.clear()
    client.cookies.set("cadenza_session", "attacker-chosen-value")
    assert client.get("/").status_code == 303


def test_idle_and_absolute_timeouts(db_session, make_therapist, web):
    make_therapist("ann")
    now = dt.datetime.now(dt.UTC)
    grant = auth.login(db_session, username="ann", password=web.password, now=now)
    assert auth.resolve_session(db_session, grant.token, now=now + dt.timedelta(minutes=29)) is not None
    assert auth.resolve_session(db_session, grant.token, now=now + dt.timedelta(minutes=29) + auth.IDLE_TIMEOUT + dt.timedelta(seconds=1)) is None
    grant2 = auth.login(db_session, username="ann", password=web.password, now=now)
    t = now
    while t < now + auth.ABSOLUTE_LIFETIME - dt.timedelta(minutes=20):
        t += dt.timedelta(minutes=20)
        assert auth.resolve_session(db_session, grant2.token, now=t) is not None
    assert auth.resolve_session(db_session, grant2.token, now=now + auth.ABSOLUTE_LIFETIME + dt.timedelta(seconds=1)) is None


def test_disabling_a_user_kills_their_sessions_and_tokens(db_session, make_therapist, web):
    ann = make_therapist("ann")
    grant = auth.login(db_session, username="ann", password=web.password)
    token, _ = auth.create_api_token(db_session, therapist_id=ann.id)
    auth.revoke_all_sessions(db_session, therapist_id=ann.id)
    assert auth.resolve_session(db_session, grant.token) is None
    assert auth.resolve_api_token(db_session, token) is None
    rows = db_session.scalars(select(LoginSession).where(LoginSession.therapist_id == ann.id)).all()
    assert all(r.revoked_at is not None for r in rows)


def test_inactive_user_cannot_log_in(client, make_therapist, web):
    make_therapist("ann", active=False)
    assert web.log_in(client, "ann").status_code == 401


def test_only_token_digests_are_stored(db_session, make_therapist, web):
    ann = make_therapist("ann")
    grant = auth.login(db_session, username="ann", password=web.password)
    token, row = auth.create_api_token(db_session, therapist_id=ann.id)
    stored = db_session.scalars(select(LoginSession.token_sha256)).all()
    assert grant.token not in stored and token != row.token_sha256 and len(row.token_sha256) == 64


def test_password_policy():
    assert auth.password_problems("tuba-sunrise-42-marimba") == []
    assert any("12 characters" in p for p in auth.password_problems("short"))
    assert any("common" in p for p in auth.password_problems("password1234"))
    assert any("username" in p for p in auth.password_problems("annabel-plays-cello", username="annabel"))
    assert any("128" in p for p in auth.password_problems("x" * 129 + "yz"))
    import pytest

    from cadenza.errors import ParameterError

    with pytest.raises(ParameterError, match="password"):
        auth.check_password_policy("aaaaaaaaaaaaaaaa")


def test_api_token_endpoint(client, make_therapist, web):
    make_therapist("ann")
    bad = client.post("/api/v1/auth/token", json={"username": "ann", "password": "wrong-password-99"})
    assert bad.status_code == 401 and bad.json()["detail"] == auth.LOGIN_FAILED_MESSAGE
    good = client.post("/api/v1/auth/token", json={"username": "ann", "password": web.password})
    assert good.status_code == 200 and good.json()["access_token"].startswith("cdz_")


def test_expired_api_token_is_refused(db_session, make_therapist):
    ann = make_therapist("ann")
    token, row = auth.create_api_token(db_session, therapist_id=ann.id, lifetime=dt.timedelta(hours=1))
    assert auth.resolve_api_token(db_session, token).id == ann.id
    assert auth.resolve_api_token(db_session, token, now=row.expires_at + dt.timedelta(seconds=1)) is None
    assert auth.resolve_api_token(db_session, "cdz_made-up") is None


def test_change_password_checks_the_current_one_and_ends_other_sessions(make_therapist, login_as, web, client,
                                                                      api_token_for, web_app):
    from fastapi.testclient import TestClient

    make_therapist("ann")
    other = login_as("ann")
    headers = api_token_for("ann")
    browser = login_as("ann")
    token = web.page_csrf(browser, "/account/password")
    wrong = browser.post("/account/password", data={"csrf_token": token, "current_password": "nope-nope-nope-1",
                                                    "new_password": "bright-viola-evening-9",
                                                    "confirm_password": "bright-viola-evening-9"})
    assert wrong.status_code == 422 and "current_password is not correct" in wrong.text
    weak = browser.post("/account/password", data={"csrf_token": token, "current_password": web.password,
                                                   "new_password": "short", "confirm_password": "short"})
    assert weak.status_code == 422 and "12 characters" in weak.text and 'value="short"' not in weak.text
    ok = browser.post("/account/password", data={"csrf_token": token, "current_password": web.password,
                                                 "new_password": "bright-viola-evening-9",
                                                 "confirm_password": "bright-viola-evening-9"})
    assert ok.status_code == 200 and "Password changed" in ok.text
    assert browser.get("/").status_code == 200  # this session stays
    assert other.get("/").status_code == 303  # the other one ended
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    with TestClient(web_app, follow_redirects=False) as fresh:
        assert web.log_in(fresh, "ann").status_code == 401
        assert web.log_in(fresh, "ann", "bright-viola-evening-9").status_code == 303


def test_wrong_current_passwords_are_counted_audited_and_lock_the_form(make_therapist, login_as, web, db_session):
    """L1: the change-password form is no way around the login lockout."""
    from sqlalchemy import func

    from cadenza.clinic.models import AuditEvent

    make_therapist("ann")
    browser = login_as("ann")
    token = web.page_csrf(browser, "/account/password")
    change = {"csrf_token": token, "new_password": "bright-viola-evening-9", "confirm_password": "bright-viola-evening-9"}
    for guess in range(auth.MAX_FAILURES_PER_ACCOUNT):
        wrong = browser.post("/account/password", data={**change, "current_password": f"guess-number-{guess}-x"})
        assert wrong.status_code == 422 and "current_password is not correct" in wrong.text
    locked = browser.post("/account/password", data={**change, "current_password": web.password})
    assert locked.status_code == 422 and "too many failed attempts" in locked.text
    db_session.expire_all()
    checked = db_session.scalars(select(LoginAttempt.password_checked).where(LoginAttempt.username == "ann",
                                                                           LoginAttempt.succeeded.is_(False))).all()
    assert sorted(checked) == [False] + [True] * auth.MAX_FAILURES_PER_ACCOUNT
    assert db_session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "password_failed")) == 5
    assert web.log_in(browser, "ann").status_code == 401  # locked at the login page too
