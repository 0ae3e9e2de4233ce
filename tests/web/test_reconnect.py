"""The served app outlives its database connections: after PostgreSQL ends every backend of the app (as a
restart does), the next requests are answered, promptly and without an error (issue 23: the pool checks
its connections by their sockets instead of a ping per request, clinic.db.drop_closed_connections)."""

from __future__ import annotations

import atexit
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cadenza.clinic import audit_chain, auth
from cadenza.clinic.db import make_engine, session_scope
from cadenza.clinic.models import Therapist
from cadenza.settings import Settings
from cadenza.web.main import create_app


def _end_every_backend_but_mine(database_url: str) -> int:
    """Terminate every other backend of the database and wait until they are gone; how many there were."""
    killer = make_engine(database_url)
    try:
        with killer.connect() as connection:
            pids = connection.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND pid <> pg_backend_pid()")).all()
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM unnest(:pids) AS pid"), {"pids": pids})
            deadline = time.monotonic() + 5
            connection.commit()
            while connection.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                                    {"pids": pids}):
                connection.commit()  # the activity view is read once per transaction
                assert time.monotonic() < deadline, "the terminated backends did not end"
                time.sleep(0.02)
    finally:
        killer.dispose()
    return len(pids)


def test_requests_after_the_database_ended_every_connection_are_answered(database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL server's backends")
    app = create_app(Settings(database_url=database_url, data_dir=tmp_path))
    engine = app.state.session_factory.kw["bind"]
    try:
        with session_scope(app.state.session_factory) as db:
            therapist = Therapist(username="reconnect1", password_hash="x", role="therapist")
            db.add(therapist)
            db.flush()
            token, _ = auth.create_api_token(db, therapist_id=therapist.id)
        bearer = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as http:
            for _ in range(3):
                assert http.get("/api/v1/me", headers=bearer).status_code == 200
            assert _end_every_backend_but_mine(database_url) >= 1  # the requests' connection and the sealer's
            for _ in range(5):
                started = time.monotonic()
                answer = http.get("/api/v1/me", headers=bearer)
                assert answer.status_code == 200, answer.text
                assert time.monotonic() - started < 5
                assert answer.json()["username"] == "reconnect1"
    finally:
        sealer = audit_chain.background_sealer(engine)
        if sealer is not None:
            sealer.stop()
            atexit.unregister(sealer.stop)  # its database is dropped with the module
        engine.dispose()
