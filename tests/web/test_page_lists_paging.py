"""Dashboard client list and client-page session history come in keyset pages of 50 with next/previous links
(issue 23: no offset paging; a page after a cursor stays right when rows arrive meanwhile)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlalchemy import select

from cadenza.clinic import dashboard, service
from cadenza.clinic.models import Client, Therapist
from cadenza.errors import ParameterError

START = dt.date(2026, 1, 1)


def _client_codes(html: str) -> list[str]:
    return re.findall(r'<tr><td><a href="/clients/\d+">([^<]+)</a></td>', html)


def _session_dates(html: str, client_id: int) -> list[str]:
    return re.findall(rf'<a href="/clients/{client_id}/sessions/\d+">([^<]+)</a>', html)


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_dashboard_client_list_pages_by_key(make_therapist, login_as, db_session):
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
    assert _link(first, "prev") is None and _link(first, "next").startswith("/?after=")
    assert "offset" not in first
    # Clients added meanwhile that sort onto the first page shift nothing on the second (offset paging
    # would show P047-P049 again); the second page's position counts them.
    for code in ("P0005", "P0105", "P0205"):
        service.create_client(db_session, actor=ann, code=code)
    db_session.commit()
    second = browser.get(_link(first, "next")).text
    assert _client_codes(second) == codes[50:] and "54&ndash;56 of 56" in second
    assert _link(second, "next") is None
    back = browser.get(_link(second, "prev")).text  # the 50 clients right before P050, new ones included
    assert _client_codes(back) == sorted(codes[:50] + ["P0005", "P0105", "P0205"])[3:] and "4&ndash;53 of 56" in back
    assert _client_codes(browser.get(_link(back, "prev")).text)[:4] == ["P000", "P0005", "P001", "P002"]
    now = sorted(codes + ["P0005", "P0105", "P0205"])
    small = browser.get("/?limit=20").text
    small = browser.get(_link(browser.get(_link(small, "next")).text, "next")).text
    assert _client_codes(small) == now[40:] and "41&ndash;56 of 56" in small
    assert _client_codes(browser.get(_link(small, "prev")).text) == now[20:40]
    assert browser.get("/?limit=0").status_code == 422
    assert browser.get(f"/?limit={dashboard.MAX_PAGE_SIZE + 1}").status_code == 422
    for bad in ({"after": "not-a-cursor"}, {"before": "e30"}, {"after": "x" * 513}):
        refused = browser.get("/", params=bad)
        assert refused.status_code == 422 and next(iter(bad)) in refused.text, bad


def test_client_session_history_pages_newest_first_by_key(make_therapist, login_as, db_session):
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
    next_link = _link(first, "next")
    assert next_link.startswith(f"/clients/{client.id}?after=") and next_link.endswith("#sessions")
    # A session recorded between the two pages (newest, so it goes on top) shifts nothing on page 2,
    # and a session added on a day inside page 2 shows up in its place.
    for day in (START + dt.timedelta(days=60), START + dt.timedelta(days=2)):
        service.record_session(db_session, actor=ann, client_id=client.id, session_date=day, minutes=30,
                               intervention_code="receptive_listening")
    db_session.commit()
    second = browser.get(next_link.split("#")[0]).text
    expected = newest_first[50:53] + [(START + dt.timedelta(days=2)).isoformat()] + newest_first[53:]
    assert _session_dates(second, client.id) == expected and "52&ndash;57 of 57" in second
    back = browser.get(_link(second, "prev").split("#")[0]).text
    assert _session_dates(back, client.id) == newest_first[:50] and "2&ndash;51 of 57" in back
    assert _session_dates(browser.get(_link(back, "prev").split("#")[0]).text, client.id)[0] == \
        (START + dt.timedelta(days=60)).isoformat()
    assert browser.get(f"/clients/{client.id}", params={"after": "bad"}).status_code == 422


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
    assert len(whole.sessions) == 3 and whole.sessions_page is None
    first = dashboard.client_overview(db_session, actor=ann, client_id=client.id, sessions_limit=2).sessions_page
    assert [s.session_date for s in first.items] == [START + dt.timedelta(days=2), START + dt.timedelta(days=1)]
    page = dashboard.client_overview(db_session, actor=ann, client_id=client.id, sessions_limit=2,
                                     sessions_after=first.next_after).sessions_page
    assert [s.session_date for s in page.items] == [START] and (page.offset, page.total) == (2, 3)
    assert page.next_after is None and page.prev_before is not None
    with pytest.raises(ParameterError, match="limit"):
        dashboard.client_overview(db_session, actor=ann, client_id=client.id, sessions_limit=0)
    with pytest.raises(ParameterError, match="sessions_limit"):
        dashboard.client_overview(db_session, actor=ann, client_id=client.id, sessions_after=first.next_after)
    with pytest.raises(ParameterError, match="before"):
        dashboard.client_overview(db_session, actor=ann, client_id=client.id, sessions_limit=2, sessions_before="zz")
    with pytest.raises(ParameterError, match="both"):
        dashboard.keyset_page(db_session, select(Client), columns=(Client.code, Client.id), descending=False,
                              kinds=("str", "int"), key_of=lambda c: (c.code, c.id), limit=2, after="a", before="b")


@settings(max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(codes=st.sets(st.integers(0, 400), min_size=0, max_size=25),
       arrivals=st.lists(st.sets(st.integers(0, 400), max_size=4), max_size=8), limit=st.integers(1, 7))
def test_keyset_pages_never_repeat_or_skip_a_row_while_rows_arrive(db_session, codes, arrivals, limit):
    """Following the next cursors while clients are added between pages: each page is exactly the next
    ``limit`` clients after the cursor as the list stands then, nothing repeats, every first client is seen
    once, and the previous cursor leads to the clients right before the page."""
    with db_session.begin_nested() as example:
        ann = Therapist(username="hyp", password_hash="-", role="therapist", active=True)
        db_session.add(ann)
        db_session.flush()
        stored = set()

        def add(numbers):
            for n in sorted(set(numbers) - stored):
                db_session.add(Client(therapist_id=ann.id, code=f"K{n:03d}"))
                stored.add(n)
            db_session.flush()

        add(codes)
        seen, after, step = [], None, 0
        while True:
            page = dashboard.clients_page(db_session, actor=ann, limit=limit, after=after)
            now = sorted(f"K{n:03d}" for n in stored)
            start = 0 if after is None else sum(1 for c in now if c <= seen[-1])
            assert [c.code for c in page.items] == now[start:start + limit]
            assert (page.offset, page.total) == (start, len(now))
            if page.prev_before is not None:
                back = dashboard.clients_page(db_session, actor=ann, limit=limit, before=page.prev_before)
                assert [c.code for c in back.items] == now[max(start - limit, 0):max(start, limit)][:limit]
            seen.extend(c.code for c in page.items)
            if page.next_after is None:
                break
            after = page.next_after
            add(arrivals[step] if step < len(arrivals) else ())
            step += 1
        assert seen == sorted(set(seen)) and {f"K{n:03d}" for n in codes} <= set(seen)
        example.rollback()
