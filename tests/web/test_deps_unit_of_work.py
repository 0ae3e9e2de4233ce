"""get_db: one unit of work per request, committed before the response goes out, rolled back on error."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cadenza.web.deps import Db


class _Recorder:
    """A stand-in Session that records what the dependency does with it."""

    def __init__(self, log: list[str], *, fail_commit: bool) -> None:
        self.log, self.fail_commit = log, fail_commit

    def commit(self) -> None:
        self.log.append("commit")
        if self.fail_commit:
            raise RuntimeError("commit failed")

    def rollback(self) -> None:
        self.log.append("rollback")

    def close(self) -> None:
        self.log.append("close")


def _app(log: list[str], *, fail_commit: bool = False) -> FastAPI:
    app = FastAPI()
    app.state.session_factory = lambda: _Recorder(log, fail_commit=fail_commit)

    @app.get("/ok")
    def ok(db: Db) -> dict:
        log.append("route")
        return {"ok": True}

    @app.get("/boom")
    def boom(db: Db) -> dict:
        log.append("route")
        raise ValueError("route failed")

    return app


def test_success_commits_once_then_closes():
    log: list[str] = []
    with TestClient(_app(log)) as client:
        assert client.get("/ok").status_code == 200
    assert log == ["route", "commit", "close"]


def test_failed_commit_is_an_error_response_not_a_lost_write():
    log: list[str] = []
    with TestClient(_app(log, fail_commit=True), raise_server_exceptions=False) as client:
        assert client.get("/ok").status_code == 500
    assert log == ["route", "commit", "rollback", "close"]


@pytest.mark.parametrize("raise_server_exceptions", [True, False])
def test_route_error_rolls_back_without_commit(raise_server_exceptions):
    log: list[str] = []
    with TestClient(_app(log), raise_server_exceptions=raise_server_exceptions) as client:
        if raise_server_exceptions:
            with pytest.raises(ValueError, match="route failed"):
                client.get("/boom")
        else:
            assert client.get("/boom").status_code == 500
    assert log == ["route", "rollback", "close"]
