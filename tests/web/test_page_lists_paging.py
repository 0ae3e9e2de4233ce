"""Dashboard client list and client-page session history come in pages of 50 with next/previous links."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from cadenza.clinic import dashboard, service
from cadenza.errors import ParameterError

START = dt.date(2026, 1, 1)


def _client_codes(html: str) -> list[str]:
    return re.findall(r'<tr><td><a href="/clients/\d+">([^<]+)</a></td>', html)


def _session_dates(html: str, client_id: int) -> list[str]:
    return re.findall(rf'<a href="/clients/{client_id}/sessions/\d+">([^<]+)</a>', html)


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_dashboard_client_list_pages(make_therapist, login_as, db_session):
    ann = make_therapist("ann")
    codes = [f"P{i:03d}" for i in range(53)]
    for code in codes:
        service.create_client(db_session, actor=ann, code=code)
    other = make_therapist("bob")
    service.create_client(db_session, actor=other, code="P000X")
    db_session.commit()
    browser = login_as("ann")
    first = browser.get("/").text
    assert _client_codes(first) == codes[:50] and "1&ndash;50 of 53" in first
    assert _link(first, "prev") is None and _link(first, "next") == "/?offset=50&limit=50"
    second = browser.get(_link(first, "next")).text
    assert _client_codes(second) == codes[50:]
    assert _link(second, "next") is None and _link(second, "prev") == "/?offset=0&limit=50"
    small = browser.get("/?limit=20&offset=40").text
    assert _client_codes(small) == codes[40:53] and _link(small, "prev") == "/?offset=20&limit=20"
    assert browser.get("/?limit=0").status_code == 422
    assert browser.get(f"/?limit={dashboard.MAX_PAGE_SIZE + 1}").status_code == 422
    assert browser.get("/?offset=-1").status_code == 422


def test_client_session_history_pages_newest_first(make_therapist, login_as, db_session):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="HIST.1")
    dates = [START + dt.timedelta(days=i) for i in range(55)]
    for day in dates:
        service.record_session(db_session, actor=ann, client_id=client.id, session_date=day, minutes=30,
                               intervention_code="receptive_listening")
    db_session.commit()
    browser = login_as("ann")
    newest_first = [d.isoformat() for d in reversed(dates)]
    first = browser.get(f"/clients/{client.id}").text
    assert _session_dates(first, client.id) == newest_first[:50] and "1&ndash;50 of 55" in first
    assert _link(first, "next") == f"/clients/{client.id}?offset=50&limit=50#sessions"
    second = browser.get(_link(first, "next").split("#")[0]).text
    assert _session_dates(second, client.id) == newest_first[50:]
    assert _link(second, "prev") == f"/clients/{client.id}?offset=0&limit=50#sessions"
    past_end = browser.get(f"/clients/{client.id}?offset=200").text
    assert _session_dates(past_end, client.id) == [] and "none from 201 of 55" in past_end


def test_short_lists_show_no_pager(make_therapist, login_as, db_session):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="ONE.1")
    service.record_session(db_session, actor=ann, client_id=client.id, session_date=START, minutes=30,
                           intervention_code="receptive_listening")
    db_session.commit()
    browser = login_as("ann")
    for path in ("/", f"/clients/{client.id}"):
        assert 'class="pager"' not in browser.get(path).text


def test_client_overview_page_arguments(db_session, make_therapist):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="OV.1")
    for i in range(3):
        service.record_session(db_session, actor=ann, client_id=client.id, session_date=START + dt.timedelta(days=i),
                               minutes=30, intervention_code="receptive_listening")
    whole = dashboard.client_overview(db_session, actor=ann, client_id=client.id)
    assert len(whole.sessions) == whole.sessions_total == 3
    page = dashboard.client_overview(db_session, actor=ann, client_id=client.id, sessions_limit=2, sessions_offset=1)
    assert [s.session_date for s in page.sessions] == [START + dt.timedelta(days=1), START]
    assert page.sessions_total == 3 and page.sessions_page.next_offset is None
    with pytest.raises(ParameterError, match="limit"):
        dashboard.client_overview(db_session, actor=ann, client_id=client.id, sessions_limit=0)
    with pytest.raises(ParameterError, match="offset"):
        dashboard.client_overview(db_session, actor=ann, client_id=client.id, sessions_offset=-3)
