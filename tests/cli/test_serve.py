"""The README's main job: `cadenza serve` migrates an embedded SQLite database, prints its URL and
answers HTTP 200 on /health."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

_needs_web = pytest.mark.skipif(importlib.util.find_spec("cadenza.web.main") is None,
                                reason="cadenza.web.main (the web app factory) does not exist yet")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@_needs_web
def test_serve_answers_health_on_a_fresh_data_dir(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("CADENZA_DATABASE_URL", "CADENZA_USER")}
    env["CADENZA_DATA_DIR"] = str(tmp_path / "data")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "cadenza.cli.main", "serve", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
        try:
            status, deadline = None, time.monotonic() + 90
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                        status = response.status
                        break
                except OSError:
                    time.sleep(0.25)
            assert status == 200, log.read_text(errors="replace")
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    printed = log.read_text(errors="replace")
    assert f"http://127.0.0.1:{port}/" in printed
    assert "cadenza admin create" in printed  # a fresh install is told how to make the first account
    assert (Path(env["CADENZA_DATA_DIR"]) / "cadenza.sqlite3").exists()


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
    from sqlalchemy.orm import Session
    from typer.testing import CliRunner

    from cadenza.cli.main import app
    from cadenza.clinic import service
    from cadenza.clinic.db import alembic_config, make_engine

    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "old"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    assert CliRunner().invoke(app, ["migrate"]).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'old' / 'cadenza.sqlite3'}")
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0008_safety_checks-1")
        db = Session(bind=connection)
        therapist = service.create_therapist(db, actor=None, username="legacy", password="correct horse battery")
        client = service.create_client(db, actor=therapist, code="L001", birth_year=1950)
        db.flush()
        now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        connection.execute(text(
            "INSERT INTO sound_dose_entry (client_id, started_at, duration_s, level_dba, source, label, created_at) "
            "VALUES (:c, :t, :d, 80.0, 'manual', '', :t)"), {"c": client.id, "t": now, "d": 10 * 24 * 3600.0})
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "sound_dose_entry" in result.output and "1 offending row" in result.output
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT duration_s FROM sound_dose_entry")) == 10 * 24 * 3600.0
        assert "0008_safety_checks" not in set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    engine.dispose()
