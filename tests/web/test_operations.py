"""What an operator relies on (issue 23): request ids, JSON request logs, /ready and /metrics."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from cadenza.clinic.db import make_engine, make_session_factory
from cadenza.logs import JsonLogFormatter
from cadenza.settings import Settings
from cadenza.web.main import create_app
from cadenza.web.observability import ACCESS_LOGGER


def _app(web_app, **settings):
    """``web_app`` with other settings (same database session)."""
    return create_app(Settings(database_url="sqlite://", data_dir=web_app.state.settings.data_dir, **settings),
                      session_factory=web_app.state.session_factory)


def test_every_answer_carries_a_request_id_and_a_plain_one_from_the_proxy_is_kept(web_browser):
    made = web_browser.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert web_browser.get("/health").headers["x-request-id"] != made
    assert web_browser.get("/health", headers={"X-Request-ID": "edge-7f3a.1"}).headers["x-request-id"] == "edge-7f3a.1"
    for hostile in ('"><script>alert(1)</script>', "a" * 65, "id with spaces", "x\u00e9".encode()):
        kept = web_browser.get("/login", headers={"X-Request-ID": hostile})
        assert re.fullmatch(r"[0-9a-f]{32}", kept.headers["x-request-id"]), hostile


def test_each_request_is_one_json_line_with_its_route_template_and_no_query_text(login_as, make_therapist, caplog):
    make_therapist("ops1")
    browser = login_as("ops1")
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        answer = browser.get("/?q=Margaret+Smith", headers={"X-Request-ID": "req-42"})
        browser.get("/clients/999999")
    lines = [json.loads(JsonLogFormatter().format(r)) for r in caplog.records if r.name == ACCESS_LOGGER]
    first, second = lines[-2], lines[-1]
    assert first["request_id"] == "req-42" and first["route"] == "/"
    assert first["status"] == answer.status_code and first["method"] == "GET"
    assert 0 < first["duration_ms"] < 60_000 and isinstance(first["pid"], int)
    assert second["route"] == "/clients/{client_id}" and second["status"] == 404
    assert "Margaret" not in json.dumps(lines) and "999999" not in json.dumps(lines)


def test_a_log_line_written_inside_a_request_names_that_request(web_browser, caplog):
    """The id travels with the request's context into the worker thread a sync route runs on."""
    with caplog.at_level(logging.INFO, logger="cadenza"):
        web_browser.get("/ready", headers={"X-Request-ID": "ctx-1"})
    access = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert json.loads(JsonLogFormatter().format(access[-1]))["request_id"] == "ctx-1"
    outside = logging.LogRecord("cadenza.x", logging.INFO, __file__, 1, "after", None, None)
    assert "request_id" not in json.loads(JsonLogFormatter().format(outside))


def test_ready_when_the_database_answers_at_the_code_s_migration_heads(web_browser):
    answer = web_browser.get("/ready")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ready", "database": "reachable", "migrations": "at head"}


def test_not_ready_when_the_database_is_unmigrated_or_unreachable(web_app, tmp_path):
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    app = create_app(Settings(database_url="sqlite://", data_dir=tmp_path), session_factory=make_session_factory(empty))
    behind = TestClient(app).get("/ready")
    assert behind.status_code == 503 and behind.json()["migrations"] == "behind"
    assert "0001_core" not in behind.json()["missing_heads"] and behind.json()["missing_heads"]
    assert behind.headers["retry-after"]
    gone = make_engine("postgresql+psycopg://nobody:pw@127.0.0.1:1/nowhere")  # port 1: refused at once
    app = create_app(Settings(database_url="sqlite://", data_dir=tmp_path), session_factory=make_session_factory(gone))
    unreachable = TestClient(app).get("/ready")
    assert unreachable.status_code == 503 and unreachable.json()["database"] == "unreachable"
    assert "nobody" not in unreachable.text and "127.0.0.1" not in unreachable.text  # the kind, not the address
    empty.dispose()
    gone.dispose()


def test_metrics_only_for_the_token_or_a_direct_local_scraper(web_app):
    remote = TestClient(_app(web_app))
    assert remote.get("/metrics").status_code == 404
    local = TestClient(_app(web_app), client=("127.0.0.1", 50_000))
    local.get("/health")
    scraped = local.get("/metrics")
    assert scraped.status_code == 200
    assert 'cadenza_http_request_duration_seconds_bucket{le="0.05",method="GET",route="/health",status="2xx"}' \
        in scraped.text
    assert "cadenza_db_pool_connections_in_use" in scraped.text
    assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    with_token = TestClient(_app(web_app, metrics_token="s3cret-scrape"))
    assert with_token.get("/metrics").status_code == 404
    assert with_token.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert with_token.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"}).status_code == 200


def test_several_workers_are_refused_on_sqlite_before_anything_starts(cli):
    result = cli("serve", "--workers", "2")
    assert result.exit_code == 2
    assert "--workers 2 needs PostgreSQL" in result.output


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_worker_count_out_of_range_is_named(cli, value):
    result = cli("serve", "--workers", value)
    assert result.exit_code == 2 and "--workers" in result.output


def test_the_app_refuses_a_session_factory_without_the_record_guards(tmp_path):
    """A plain sessionmaker would write audit events that are never sealed: the factory says so, by name."""
    from sqlalchemy.orm import sessionmaker

    from cadenza.errors import ParameterError

    settings = Settings(database_url="sqlite://", data_dir=tmp_path)
    engine = make_engine("sqlite://")
    with pytest.raises(ParameterError, match="session_factory: .*make_session_factory"):
        create_app(settings, session_factory=sessionmaker(bind=engine))
    assert create_app(settings, session_factory=make_session_factory(engine)).state.session_factory is not None
