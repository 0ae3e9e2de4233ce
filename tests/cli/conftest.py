"""The ``cli`` fixture: run ``cadenza`` as a user would, on a fresh SQLite record under tmp_path."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cadenza.cli.main import app


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """``cli(*args, input=None, user=None)``: one command in tmp_path, with a terminal wide enough that
    tables are not wrapped; ``user`` becomes CADENZA_USER."""
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    monkeypatch.delenv("CADENZA_USER", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def _run(*args, input=None, user=None):
        env = {"COLUMNS": "250"} | ({"CADENZA_USER": user} if user else {})
        return runner.invoke(app, [str(a) for a in args], input=input, env=env)

    return _run
