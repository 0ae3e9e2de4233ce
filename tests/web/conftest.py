"""Web fixtures: the app on the test's rolled-back transaction, therapists, logged-in clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from cadenza.clinic import passwords
from cadenza.clinic.models import Therapist
from cadenza.settings import Settings
from cadenza.web.main import create_app

PASSWORD = "violin-harbour-sunrise-7"
MAX_UPLOAD_BYTES = 1024 * 1024


@pytest.fixture
def web_app(db_session, tmp_path):
    # Each request gets its own Session on the test's connection, so service commits only release
    # SAVEPOINTs and the whole test is rolled back at the end.
    factory = sessionmaker(
        bind=db_session.bind, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    settings = Settings(database_url="sqlite://", data_dir=tmp_path, max_upload_bytes=MAX_UPLOAD_BYTES)
    return create_app(settings, session_factory=factory)


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
