"""Bounded database waits become clear answers (security probe C1, L3): a row lock not granted in time
is 409, a cancelled statement or a busy SQLite file 503 with Retry-After, and a 500 carries the
security headers like every other answer."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from cadenza.clinic import db as clinic_db
from cadenza.web.errors import database_wait_status, install_error_handlers
from cadenza.web.middleware import SECURITY_HEADERS, SecurityHeadersMiddleware


class _Orig(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _error(message: str, sqlstate: str | None = None) -> OperationalError:
    return OperationalError("UPDATE therapy_session ...", {}, _Orig(message, sqlstate))


@pytest.mark.parametrize(("error", "status"), [
    (_error("canceling statement due to lock timeout", "55P03"), 409),
    (_error("canceling statement due to statement timeout", "57014"), 503),
    (_error("database is locked"), 503),
    (_error("disk I/O error"), None),
])
def test_database_wait_status(error, status):
    assert database_wait_status(error) == status


def _app(error: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/boom")
    def boom() -> dict:
        raise error

    app.add_middleware(SecurityHeadersMiddleware)
    return app


def test_a_lock_timeout_is_409_and_a_busy_database_503():
    with TestClient(_app(_error("lock timeout", "55P03")), raise_server_exceptions=False) as http:
        answer = http.get("/api/boom")
    assert answer.status_code == 409
    assert "Someone else is saving this record" in answer.json()["detail"]
    with TestClient(_app(_error("database is locked")), raise_server_exceptions=False) as http:
        answer = http.get("/api/boom")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"


def test_a_500_carries_the_security_headers():
    with TestClient(_app(RuntimeError("unexpected")), raise_server_exceptions=False) as http:
        answer = http.get("/api/boom")
    assert answer.status_code == 500
    assert "unexpected" not in answer.text
    for name, value in SECURITY_HEADERS:
        assert answer.headers[name.decode()] == value.decode()


@pytest.mark.postgres
def test_postgres_request_engine_gives_up_on_a_held_row_lock(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("lock_timeout is a PostgreSQL setting; SQLite waits on its busy timeout")
    engine = clinic_db.make_engine(database_url, request_timeouts=True)
    holder_engine = clinic_db.make_engine(database_url)
    try:
        with engine.connect() as connection:
            shown = connection.exec_driver_sql("SHOW lock_timeout").scalar()
        assert shown == f"{clinic_db.POSTGRES_LOCK_TIMEOUT_MS // 1000}s"
        with holder_engine.begin() as setup:
            setup.execute(text("CREATE TABLE IF NOT EXISTS lock_probe (id int primary key, n int)"))
            setup.execute(text("INSERT INTO lock_probe VALUES (1, 0) ON CONFLICT DO NOTHING"))
        locked, release = threading.Event(), threading.Event()

        def hold_the_row() -> None:
            with holder_engine.begin() as holder:
                holder.execute(text("SELECT n FROM lock_probe WHERE id = 1 FOR UPDATE"))
                locked.set()
                release.wait(30)

        thread = threading.Thread(target=hold_the_row)
        thread.start()
        assert locked.wait(10)
        started = time.monotonic()
        with pytest.raises(OperationalError) as caught, engine.begin() as waiter:
            waiter.execute(text("UPDATE lock_probe SET n = n + 1 WHERE id = 1"))
        waited_s = time.monotonic() - started
        release.set()
        thread.join(30)
        assert database_wait_status(caught.value) == 409
        assert clinic_db.POSTGRES_LOCK_TIMEOUT_MS / 1000 - 0.5 < waited_s < clinic_db.POSTGRES_LOCK_TIMEOUT_MS / 1000 + 5
    finally:
        with holder_engine.begin() as cleanup:
            cleanup.execute(text("DROP TABLE IF EXISTS lock_probe"))
        engine.dispose()
        holder_engine.dispose()
