"""The README's main job: `cadenza serve` migrates an embedded SQLite database, prints its URL and
answers HTTP 200 on /health."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

_needs_web = pytest.mark.skipif(importlib.util.find_spec("cadenza.web.main") is None,
                                reason="cadenza.web.main (the web app factory) does not exist yet")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_serve(tmp_path, *args):
    """``cadenza serve --port PORT *args`` on a fresh data directory, its output in ``tmp_path/serve.log``:
    returns ``(process, port, env, log)``; the caller stops it with :func:`_stop`."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("CADENZA_DATABASE_URL", "CADENZA_USER")}
    env["CADENZA_DATA_DIR"] = str(tmp_path / "data")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "cadenza.cli.main", "serve", "--port", str(port), *args],
                                   stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    return process, port, env, log


def _wait_for(url: str, process, **urlopen_options) -> int | None:
    """The status of ``url`` once the server answers (None if it exits or 90 s pass)."""
    import ssl

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2, **urlopen_options) as response:
                return response.status
        except (OSError, ssl.SSLError):
            time.sleep(0.25)
    return None


def _stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@_needs_web
def test_serve_answers_health_on_a_fresh_data_dir(tmp_path):
    process, port, env, log = _start_serve(tmp_path)
    try:
        status = _wait_for(f"http://127.0.0.1:{port}/health", process)
        assert status == 200, log.read_text(errors="replace")
        # A forged X-Forwarded-For must not choose the address the login throttling counts (M1).
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/auth/token", method="POST",
            data=json.dumps({"username": "nobody", "password": "wrong-password-123"}).encode(),
            headers={"Content-Type": "application/json", "X-Forwarded-For": "198.51.100.7"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401
    finally:
        _stop(process)
    printed = log.read_text(errors="replace")
    assert f"http://127.0.0.1:{port}/" in printed
    assert "cadenza admin create" in printed  # a fresh install is told how to make the first account
    database = Path(env["CADENZA_DATA_DIR"]) / "cadenza.sqlite3"
    assert database.exists()
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT ip_address FROM login_attempt").fetchall() == [("127.0.0.1",)]


def test_migrate_command_creates_the_schema(tmp_path, monkeypatch):
    from sqlalchemy import inspect
    from typer.testing import CliRunner

    from cadenza.cli.main import app
    from cadenza.clinic.db import make_engine

    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "fresh"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh' / 'cadenza.sqlite3'}")
    assert {"therapist", "client", "measurement", "audit_event"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_migrate_refusal_is_one_line_and_keeps_the_rows(tmp_path, monkeypatch):
    # An upgrade that would break stored rows (a sound-dose entry longer than the week the
    # 0008 rule allows, written before the rule existed) stops with the reason, not a traceback.
    import datetime as dt

    from alembic import command
    from sqlalchemy import text
    from typer.testing import CliRunner

    from cadenza.cli.main import app
    from cadenza.clinic.db import alembic_config, make_engine

    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "old"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    assert CliRunner().invoke(app, ["migrate"]).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'old' / 'cadenza.sqlite3'}")
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0008_safety_checks-1")
        # Plain SQL: the models describe the newest schema, and the downgrade also took the revisions
        # built on the safety tables (0024_admin_corrections adds a therapist column).
        now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        therapist_id = connection.execute(text(
            "INSERT INTO therapist (username, password_hash, role, active, created_at, qualification) "
            "VALUES ('legacy', 'x', 'therapist', 1, :t, '') RETURNING id"), {"t": now}).scalar_one()
        client_id = connection.execute(text(
            "INSERT INTO client (therapist_id, code, birth_year, conditions, safety_flags, created_at, updated_at) "
            "VALUES (:th, 'L001', 1950, '[]', '[]', :t, :t) RETURNING id"), {"th": therapist_id, "t": now}).scalar_one()
        connection.execute(text(
            "INSERT INTO sound_dose_entry (client_id, started_at, duration_s, level_dba, source, label, created_at) "
            "VALUES (:c, :t, :d, 80.0, 'manual', '', :t)"), {"c": client_id, "t": now, "d": 10 * 24 * 3600.0})
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "sound_dose_entry" in result.output and "1 offending row" in result.output
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT duration_s FROM sound_dose_entry")) == 10 * 24 * 3600.0
        assert "0008_safety_checks" not in set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    engine.dispose()


# ---- proxy headers (M1) and file permissions (M4) --------------------------------------------------


@pytest.fixture
def fake_uvicorn_run(tmp_path, monkeypatch):
    """``cadenza serve`` up to uvicorn.run, whose keywords are captured instead of serving."""
    import uvicorn

    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    monkeypatch.delenv("CADENZA_FORWARDED_ALLOW_IPS", raising=False)
    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append({"app": args[0], **kwargs}))
    return calls


def test_served_workers_freeze_their_start_up_objects(monkeypatch):
    """Issue 23: a full garbage collection traversed every module's objects (~136 ms of a worker's CPU); each
    worker made by `cadenza serve` (create_served_app: test_serve_ignores_proxy_headers_unless_a_proxy_is_named)
    freezes what exists once its app is built."""
    import gc

    from cadenza.web import main

    made, collected, steps = [], [], []
    monkeypatch.setattr(main, "create_app", lambda: made.append(object()) or steps.append("app") or "the app")
    monkeypatch.setattr(main, "compile_all_templates", lambda: steps.append("templates") or 79)
    monkeypatch.setattr(main.gc, "collect",  # ~1 s on the test heap
                        lambda *args: collected.append(args) or steps.append("freeze") or 0)
    try:
        assert main.create_served_app() == "the app" and len(made) == 1 and len(collected) == 1
        assert steps == ["app", "templates", "freeze"]  # the compiled templates are frozen too
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # this test process's modules, at least
        assert len(gc.get_objects()) < frozen  # what a full collection still looks at
    finally:
        gc.unfreeze()  # the test process keeps collecting as before


def test_serve_ignores_proxy_headers_unless_a_proxy_is_named(fake_uvicorn_run):
    from typer.testing import CliRunner

    from cadenza.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert fake_uvicorn_run[-1]["app"] == "cadenza.web.main:create_served_app"  # its workers freeze (issue 23)
    assert fake_uvicorn_run[-1]["factory"] is True
    assert fake_uvicorn_run[-1]["proxy_headers"] is False
    assert "forwarded_allow_ips" not in fake_uvicorn_run[-1]


def test_serve_trusts_exactly_the_named_proxy(fake_uvicorn_run, monkeypatch):
    from typer.testing import CliRunner

    from cadenza.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--forwarded-allow-ips", "10.0.0.5, 10.0.0.6"])
    assert result.exit_code == 0, result.output
    assert fake_uvicorn_run[-1]["proxy_headers"] is True
    assert fake_uvicorn_run[-1]["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6"
    assert "10.0.0.5,10.0.0.6" in result.output
    monkeypatch.setenv("CADENZA_FORWARDED_ALLOW_IPS", "192.0.2.1")
    assert CliRunner().invoke(app, ["serve"]).exit_code == 0
    assert fake_uvicorn_run[-1]["forwarded_allow_ips"] == "192.0.2.1"
    monkeypatch.setenv("CADENZA_FORWARDED_ALLOW_IPS", "")  # set but empty: still off
    assert CliRunner().invoke(app, ["serve"]).exit_code == 0
    assert fake_uvicorn_run[-1]["proxy_headers"] is False


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_migrate_keeps_the_data_dir_and_database_private(tmp_path, monkeypatch, umask_022):
    from typer.testing import CliRunner

    from cadenza.cli.main import app
    from cadenza.clinic.db import make_engine

    data_dir = tmp_path / "fresh" / "data"
    monkeypatch.setenv("CADENZA_DATA_DIR", str(data_dir))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    assert CliRunner().invoke(app, ["migrate"]).exit_code == 0
    database = data_dir / "cadenza.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:  # keeps -wal and -shm in place while we look
            connection.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
            connection.commit()
            side_files = [data_dir / "cadenza.sqlite3-wal", data_dir / "cadenza.sqlite3-shm"]
            assert all(p.exists() for p in side_files)
            assert _mode(data_dir) == 0o700
            for path in [database, *side_files]:
                assert _mode(path) == 0o600, path
    finally:
        engine.dispose()


def test_an_older_world_readable_database_is_tightened_on_connect(tmp_path, umask_022):
    import sqlite3 as plain

    from cadenza.clinic.db import make_engine

    database = tmp_path / "old.sqlite3"
    older = plain.connect(database)  # as an earlier version left it: 0644 under umask 022
    try:
        older.execute("PRAGMA journal_mode = WAL")
        older.execute("CREATE TABLE t (x INTEGER)")
        older.commit()
        side_files = [tmp_path / "old.sqlite3-wal", tmp_path / "old.sqlite3-shm"]
        assert [_mode(p) for p in [database, *side_files]] == [0o644] * 3
        engine = make_engine(f"sqlite:///{database}")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            assert [_mode(p) for p in [database, *side_files]] == [0o600] * 3
        finally:
            engine.dispose()
    finally:
        older.close()


def test_a_local_authority_certifies_the_names_the_devices_use(tmp_path):
    import ssl

    from cryptography import x509

    from cadenza.io.certificates import local_certificate

    made = local_certificate(tmp_path / "tls", ["tablet-room.local", "192.168.1.20", "localhost"])
    assert made.created and stat.S_IMODE(made.key_pem.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(made.cert_pem.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "tablet-room.local" in sans.get_values_for_type(x509.DNSName)
    assert [str(a) for a in sans.get_values_for_type(x509.IPAddress)] == ["192.168.1.20"]
    context = ssl.create_default_context(cafile=str(made.ca_pem))  # the authority verifies the server certificate
    context.load_cert_chain(made.cert_pem, made.key_pem)
    again = local_certificate(tmp_path / "tls", ["localhost"])
    assert not again.created and again.ca_pem.read_bytes() == made.ca_pem.read_bytes()
    wider = local_certificate(tmp_path / "tls", ["new-name.local"])
    assert wider.created and wider.ca_pem.read_bytes() == made.ca_pem.read_bytes()  # devices trust it once
    with pytest.raises(Exception, match="names"):
        local_certificate(tmp_path / "tls", ["not a host name"])


@_needs_web
def test_serve_over_https_with_the_local_authority(tmp_path):
    import ssl

    process, port, env, log = _start_serve(tmp_path, "--https", "--name", "localhost")
    try:
        ca = Path(env["CADENZA_DATA_DIR"]) / "tls" / "cadenza-local-ca.pem"
        status = None
        for _ in range(360):  # the authority is written once the server starts
            if ca.exists():
                context = ssl.create_default_context(cafile=str(ca))
                status = _wait_for(f"https://localhost:{port}/health", process, context=context)
                break
            time.sleep(0.25)
        assert status == 200, log.read_text(errors="replace")
        _live_walk_over_wss(f"sqlite:///{Path(env['CADENZA_DATA_DIR']) / 'cadenza.sqlite3'}", port, context)
    finally:
        _stop(process)
    printed = log.read_text(errors="replace")
    assert f"https://localhost:{port}/" in printed and "cadenza-local-ca.pem" in printed


def _live_walk_over_wss(database_url: str, port: int, context) -> None:
    """The live cueing socket end to end over TLS: the secure login cookie, the https Origin, beats back."""
    import numpy as np
    from websockets.sync.client import connect

    from cadenza.clinic import auth, service
    from cadenza.clinic.db import make_engine, make_session_factory, session_scope
    from cadenza.tools.live import records
    from cadenza.web import deps

    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as db:
            service.create_therapist(db, actor=None, username="tls-nurse", password="violin-harbour-sunrise-7")
        with session_scope(make_session_factory(engine)) as db:
            grant = auth.login(db, username="tls-nurse", password="violin-harbour-sunrise-7")
            client = service.create_client(db, actor=grant.therapist, code="live.tls")
            walk_id = records.start_walk_for_therapist(db, actor=grant.therapist, client_id=client.id,
                                                       preferred_cadence_spm=110, increase_percent=5).id
    finally:
        engine.dispose()
    rate_hz, t = 60.0, np.arange(0, 8, 1 / 60.0)
    acc = np.vstack([9.81 + 2 * np.sin(2 * np.pi * 1.8 * t), 0.3 * np.sin(2 * np.pi * 0.9 * t), 0 * t])
    host = f"localhost:{port}"
    replies = []
    with connect(f"wss://{host}/live/ws/{walk_id}", ssl=context, open_timeout=30,
                 additional_headers={"Origin": f"https://{host}",
                                     "Cookie": f"{deps.SECURE_SESSION_COOKIE}={grant.token}"}) as ws:
        for seq, i in enumerate(range(0, t.size, 30)):
            ws.send(json.dumps({"seq": seq, "t_ms": (1000 * t[i:i + 30] + 1000).tolist(),
                                "acc": acc[:, i:i + 30].tolist()}))
            replies.append(json.loads(ws.recv(timeout=30)))
    assert [r["ack"] for r in replies] == list(range(len(replies)))
    assert sum(len(r["steps_ms"]) for r in replies) >= 5 and sum(len(r["beats_ms"]) for r in replies) >= 3
    # The plain-http cookie name is not a login on the TLS socket: the one authorisation refuses it.
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    with pytest.raises((ConnectionClosed, InvalidStatus)):
        with connect(f"wss://{host}/live/ws/{walk_id}", ssl=context, open_timeout=30,
                     additional_headers={"Origin": f"https://{host}",
                                         "Cookie": f"{deps.SESSION_COOKIE}={grant.token}"}) as ws:
            ws.send(json.dumps({"seq": 999, "t_ms": [1.0], "acc": [[0.0], [0.0], [9.81]]}))
            ws.recv(timeout=30)
