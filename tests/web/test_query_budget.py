"""The hot pages send a bounded number of SQL statements, whatever the caseload (issue 23).

Each page's statements are counted with a SQLAlchemy ``before_cursor_execute`` listener, first on a small
record, then after the record grew: the count must not grow with it (no query per client, session, goal or
measurement), and it stays under a fixed budget (bench/web_cpu.py measures the same pages on a
10,000-client clinic).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from cadenza.clinic import service
from cadenza.clinic.service import MeasurementInput
from cadenza.tools.home import records as home

DASHBOARD_BUDGET = 30
CLIENT_PAGE_BUDGET = 25
SESSION_PAGE_BUDGET = 20


@pytest.fixture
def count_statements(db_engine) -> Iterator:
    """``count_statements(browser, path)`` -> (response, statements the request sent)."""
    sent = [0]

    def _count(*_args) -> None:
        sent[0] += 1

    event.listen(db_engine, "before_cursor_execute", _count)

    def _get(browser, path: str):
        sent[0] = 0
        response = browser.get(path)
        assert response.status_code == 200, response.text[:300]
        return response, sent[0]

    yield _get
    event.remove(db_engine, "before_cursor_execute", _count)


def _client_with_history(db, therapist, code: str, *, sessions: int) -> tuple[int, int | None]:
    """A client with two goals, ``sessions`` weekly sessions measuring both, and an active home task nobody
    did (a dashboard alert), and no consent (another); (client id, last session id)."""
    client = service.create_client(db, actor=therapist, code=code, birth_year=1960, conditions=["anxiety"])
    today = dt.date.today()
    goals = [service.create_goal(db, actor=therapist, client_id=client.id, instrument_code=code_, baseline=60,
                                 target=30, target_date=today + dt.timedelta(days=7))
             for code_ in ("vas_anxiety", "stai6")]
    home.add_task(db, actor=therapist, client=client, kind="ras_walk", title=f"Walk {code}", days_per_week=7,
                  minutes=20, music={"tempo_bpm": 100.0, "level_dba": 70.0}, ratings=[],
                  start_date=today - dt.timedelta(days=10))
    last = None
    for week in range(sessions):
        last = service.record_session(
            db, actor=therapist, client_id=client.id, session_date=today - dt.timedelta(days=7 * (sessions - week)),
            minutes=45, intervention_code="receptive_listening", plan="Continue weekly.",
            measurements=[MeasurementInput("vas_anxiety", value=50 - week, goal_id=goals[0].id),
                          MeasurementInput("stai6", items={"calm": 3, "tense": 2, "upset": 1, "relaxed": 3,
                                                           "content": 2, "worried": 2}, goal_id=goals[1].id)]).id
    db.commit()
    return client.id, last


def test_dashboard_statements_do_not_grow_with_the_caseload(make_therapist, login_as, db_session,
                                                            count_statements):
    ann = make_therapist("ann")
    _client_with_history(db_session, ann, "Q.1", sessions=1)
    browser = login_as("ann")
    small, few = count_statements(browser, "/")
    for n in range(2, 7):
        _client_with_history(db_session, ann, f"Q.{n}", sessions=2)
    large, many = count_statements(browser, "/")
    assert many == few, f"the dashboard sent {few} statements for 1 client and {many} for 6"
    assert many <= DASHBOARD_BUDGET
    # Every client's tool alerts are still there (home programme missed, no consent).
    for n in range(1, 7):
        assert f"Walk Q.{n}" in large.text
    assert large.text.count("no informed consent recorded") == 6
    assert "Walk Q.1" in small.text


def test_client_and_session_pages_statements_do_not_grow_with_the_history(make_therapist, login_as, db_session,
                                                                          count_statements):
    ann = make_therapist("ann")
    short_id, short_session = _client_with_history(db_session, ann, "H.1", sessions=1)
    long_id, long_session = _client_with_history(db_session, ann, "H.2", sessions=12)
    browser = login_as("ann")
    _, short_page = count_statements(browser, f"/clients/{short_id}")
    page, long_page = count_statements(browser, f"/clients/{long_id}")
    assert long_page == short_page, f"client page: {short_page} statements for 1 session, {long_page} for 12"
    assert long_page <= CLIENT_PAGE_BUDGET
    assert "vas_anxiety 39.0; stai6" in page.text and "vas_anxiety 50.0; stai6" in page.text
    _, short_detail = count_statements(browser, f"/clients/{short_id}/sessions/{short_session}")
    _, long_detail = count_statements(browser, f"/clients/{long_id}/sessions/{long_session}")
    assert long_detail == short_detail and long_detail <= SESSION_PAGE_BUDGET
