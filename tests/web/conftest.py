"""Web fixtures: the app on the test's rolled-back transaction, therapists, logged-in clients."""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from cadenza.clinic import passwords
from cadenza.clinic.db import make_session_factory
from cadenza.clinic.models import Therapist
from cadenza.settings import Settings
from cadenza.web.main import create_app

PASSWORD = "violin-harbour-sunrise-7"
MAX_UPLOAD_BYTES = 1024 * 1024


@pytest.fixture
def web_app(make_web_app, tmp_path):
    # Each request gets its own Session on the test's connection, so service commits only release
    # SAVEPOINTs and the whole test is rolled back at the end.
    return make_web_app(Settings(database_url="sqlite://", data_dir=tmp_path, max_upload_bytes=MAX_UPLOAD_BYTES))


@pytest.fixture
def client(web_app) -> Iterator[TestClient]:
    with TestClient(web_app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def make_therapist(db_session) -> Callable[..., Therapist]:
    def _make(username: str, *, role: str = "therapist", active: bool = True) -> Therapist:
        therapist = Therapist(
            username=username, password_hash=passwords.hash_password(PASSWORD), role=role, active=active
        )
        db_session.add(therapist)
        db_session.commit()
        return therapist

    return _make


def login_csrf(test_client: TestClient) -> str:
    page = test_client.get("/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def log_in(test_client: TestClient, username: str, password: str = PASSWORD):
    token = login_csrf(test_client)
    return test_client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"}
    )


def page_csrf(test_client: TestClient, path: str = "/") -> str:
    page = test_client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


class WebHelpers:
    """Helpers handed to tests as the ``web`` fixture (test modules cannot import each other)."""

    password = PASSWORD
    login_csrf = staticmethod(login_csrf)
    log_in = staticmethod(log_in)
    page_csrf = staticmethod(page_csrf)


@pytest.fixture
def web() -> type[WebHelpers]:
    return WebHelpers


@pytest.fixture
def login_as(web_app) -> Iterator[Callable[[str], TestClient]]:
    """``login_as("ann")`` -> a TestClient with ann's session cookie (one per user)."""
    opened: list[TestClient] = []

    def _login(username: str) -> TestClient:
        test_client = TestClient(web_app, follow_redirects=False)
        test_client.__enter__()
        opened.append(test_client)
        response = log_in(test_client, username)
        assert response.status_code == 303, response.text
        return test_client

    yield _login
    for test_client in opened:
        test_client.__exit__(None, None, None)


@pytest.fixture
def api_token_for(client) -> Callable[[str], dict[str, str]]:
    def _token(username: str) -> dict[str, str]:
        response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return _token


AUTHZ_DIR = Path(__file__).with_name("authz")


@functools.cache
def _authz_modules() -> dict[str, ModuleType]:
    """Every file in tests/web/authz/, one per area, by file stem (loaded by path: test files cannot
    import each other)."""
    modules = {}
    for path in sorted(AUTHZ_DIR.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"_cadenza_authz_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules[path.stem] = module
    return modules


def _declared_authz_samples() -> dict:
    """The AUTHZ_SAMPLES of every file in tests/web/authz/. A route may be declared in one file only."""
    samples: dict = {}
    for stem, module in _authz_modules().items():
        clash = samples.keys() & module.AUTHZ_SAMPLES.keys()
        assert not clash, f"{stem}.py declares routes already declared in another file: {sorted(clash)}"
        samples.update(module.AUTHZ_SAMPLES)
    return samples


@pytest.fixture(scope="session")
def authz_modules() -> SimpleNamespace:
    """The sample files of tests/web/authz/ as attributes, for tests that reuse their setup helpers,
    e.g. ``authz_modules.library.make_track(db, actor, client_id)``."""
    return SimpleNamespace(**_authz_modules())


@pytest.fixture(scope="session")
def authz_samples(tmp_path_factory) -> dict:
    """Authorisation-matrix samples per (method, path template), for every route the app serves.

    Declared in tests/web/authz/<area>.py (see docs/web.md, "Authorisation matrix"). As a fallback, a
    route module that still carries a module-level ``AUTHZ_SAMPLES`` (none today; a transitional path
    for modules not yet migrated) is read too, wherever the app mounts it from. No database: the app
    is built only to list the modules behind its routes.
    """
    from cadenza.clinic.db import make_engine, make_session_factory

    app = create_app(Settings(database_url="sqlite://", data_dir=tmp_path_factory.mktemp("authz")),
                     session_factory=make_session_factory(make_engine("sqlite://")))
    route_modules = {context.original_route.endpoint.__module__ for context in iter_route_contexts(app.routes)
                     if getattr(context, "methods", None)}
    samples = dict(_declared_authz_samples())
    for name in sorted(route_modules):
        samples.update(getattr(sys.modules.get(name), "AUTHZ_SAMPLES", {}))
    return samples


@pytest.fixture
def admin_browser(web_app, db_session) -> Iterator[Callable[[str], TestClient]]:
    """``admin_browser("root")`` -> a TestClient logged in as that administrator, past two-factor login."""
    import datetime as dt

    import pyotp
    from sqlalchemy import select

    from cadenza.clinic import auth

    opened: list[TestClient] = []

    def _open(username: str) -> TestClient:
        admin = db_session.scalar(select(Therapist).where(Therapist.username == username))
        enrolment = auth.start_mfa_enrolment(db_session, actor=admin)
        totp = pyotp.TOTP(enrolment.secret)
        now = dt.datetime.now(dt.UTC)
        auth.confirm_mfa_enrolment(db_session, actor=admin, code=totp.at(now))
        db_session.commit()
        browser = TestClient(web_app, follow_redirects=False)
        browser.__enter__()
        opened.append(browser)
        log_in(browser, username)
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login/mfa", params={"next": "/"}).text)[1]
        # The enrolment used this step's code; the next step's is within the accepted drift and unused.
        done = browser.post("/login/mfa", data={"code": totp.at(now, counter_offset=1), "csrf_token": token, "next": "/"})
        assert done.status_code == 303, done.text
        return browser

    yield _open
    for browser in opened:
        browser.__exit__(None, None, None)


@pytest.fixture
def admin_token_for(db_session) -> Callable[[str], dict[str, str]]:
    """``admin_token_for("root")`` -> API headers of that administrator, enrolled in two-factor login
    (administrators' tokens are refused without it)."""
    import pyotp
    from sqlalchemy import select

    from cadenza.clinic import auth

    def _headers(username: str) -> dict[str, str]:
        admin = db_session.scalar(select(Therapist).where(Therapist.username == username))
        if not auth.mfa_enabled(db_session, therapist_id=admin.id):
            enrolment = auth.start_mfa_enrolment(db_session, actor=admin)
            auth.confirm_mfa_enrolment(db_session, actor=admin, code=pyotp.TOTP(enrolment.secret).now())
        token, _ = auth.create_api_token(db_session, therapist_id=admin.id)
        db_session.commit()
        return {"Authorization": f"Bearer {token}"}

    return _headers
