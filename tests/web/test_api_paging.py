"""Paged list endpoints of the JSON API (clients, sessions, measurements) and the queries behind them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadenza.clinic import dashboard, service
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import ParameterError


def _follow(client, url, headers, params=None) -> tuple[list, list[int]]:
    """Every row of a paged list, following the Link headers; also the X-Total-Count of each page."""
    rows, totals = [], []
    response = client.get(url, headers=headers, params=params)
    while True:
        assert response.status_code == 200, response.text
        rows.extend(response.json())
        totals.append(int(response.headers["x-total-count"]))
        link = response.headers.get("link")
        if link is None:
            return rows, totals
        next_url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1)
        response = client.get(next_url, headers=headers)


@pytest.fixture
def ann(make_therapist):
    return make_therapist("ann")


def test_clients_come_in_pages_in_code_order_and_only_mine(client, ann, make_therapist, api_token_for,
                                                           db_session):
    bob = make_therapist("bob")
    codes = [f"C{n:02d}" for n in (7, 3, 11, 1, 5, 9, 2)]
    for code in codes:
        service.create_client(db_session, actor=ann, code=code)
    service.create_client(db_session, actor=bob, code="C00")
    db_session.commit()
    headers = api_token_for("ann")
    rows, totals = _follow(client, "/api/v1/clients", headers, params={"limit": 3})
    assert [r["code"] for r in rows] == sorted(codes)
    assert totals == [7, 7, 7]  # pages of 3, 3 and 1
    last = client.get("/api/v1/clients", headers=headers, params={"limit": 3, "offset": 6})
    assert [r["code"] for r in last.json()] == ["C11"] and "link" not in last.headers
    beyond = client.get("/api/v1/clients", headers=headers, params={"offset": 50})
    assert beyond.status_code == 200 and beyond.json() == [] and beyond.headers["x-total-count"] == "7"
    default = client.get("/api/v1/clients", headers=headers)
    assert len(default.json()) == 7 and "link" not in default.headers


@pytest.mark.parametrize("params, name", [({"limit": dashboard.MAX_PAGE_SIZE + 1}, "limit"), ({"limit": 0}, "limit"),
                                          ({"offset": -1}, "offset"), ({"limit": "ten"}, "limit")])
def test_page_size_is_bounded(client, ann, api_token_for, db_session, params, name):
    headers = api_token_for("ann")
    client_id = service.create_client(db_session, actor=ann, code="P1").id
    db_session.commit()
    for url in ("/api/v1/clients", f"/api/v1/clients/{client_id}/sessions",
                f"/api/v1/clients/{client_id}/measurements"):
        response = client.get(url, headers=headers, params=params)
        assert response.status_code == 422, url
        assert name in response.text


def test_sessions_and_measurements_page_in_session_order(client, ann, api_token_for, db_session):
    patient = service.create_client(db_session, actor=ann, code="S1")
    days = [5, 1, 4, 2, 3]
    for day in days:
        service.record_session(db_session, actor=ann, client_id=patient.id, session_date=dt.date(2026, 11, day),
                               minutes=30, intervention_code="receptive_listening",
                               measurements=[MeasurementInput("vas_anxiety", value=10 * day),
                                             MeasurementInput("nrs_pain", value=day)])
    db_session.commit()
    headers = api_token_for("ann")
    sessions, totals = _follow(client, f"/api/v1/clients/{patient.id}/sessions", headers, params={"limit": 2})
    assert [s["session_date"] for s in sessions] == [f"2026-11-{d:02d}" for d in sorted(days)]
    assert set(totals) == {5} and len(totals) == 3
    assert all(len(s["measurements"]) == 2 for s in sessions)
    vas, totals = _follow(client, f"/api/v1/clients/{patient.id}/measurements", headers,
                          params={"instrument_code": "vas_anxiety", "limit": 2})
    assert [m["value"] for m in vas] == [10.0 * d for d in sorted(days)]
    assert set(totals) == {5}  # the filter is kept on the next-page links
    every, totals = _follow(client, f"/api/v1/clients/{patient.id}/measurements", headers, params={"limit": 3})
    assert len(every) == 10 and len({m["id"] for m in every}) == 10 and totals[0] == 10


def test_a_foreign_client_is_still_a_404_when_paged(client, ann, make_therapist, api_token_for, db_session):
    make_therapist("bob")
    patient = service.create_client(db_session, actor=ann, code="F1")
    db_session.commit()
    headers = api_token_for("bob")
    for url in (f"/api/v1/clients/{patient.id}/sessions", f"/api/v1/clients/{patient.id}/measurements"):
        response = client.get(url, headers=headers, params={"limit": 1, "offset": 0})
        assert response.status_code == 404 and "x-total-count" not in response.headers


def test_page_queries_validate_limit_and_offset(db_session, ann):
    with pytest.raises(ParameterError, match="limit"):
        dashboard.clients_page(db_session, actor=ann, limit=dashboard.MAX_PAGE_SIZE + 1)
    with pytest.raises(ParameterError, match="offset"):
        dashboard.clients_page(db_session, actor=ann, offset=-1)
    with pytest.raises(ParameterError, match="offset"):
        dashboard.sessions_page(db_session, actor=ann, client_id=1, offset=True)


def test_next_offset_is_none_on_the_last_page():
    assert dashboard.Page(items=[1, 2], total=5, limit=2, offset=0).next_offset == 2
    assert dashboard.Page(items=[5], total=5, limit=2, offset=4).next_offset is None
    assert dashboard.Page(items=[], total=5, limit=2, offset=9).next_offset is None
    assert dashboard.Page(items=[], total=0, limit=2, offset=0).next_offset is None


@pytest.fixture
def caseload(db_session, ann):
    codes = [f"K{n:03d}" for n in range(23)]
    for code in reversed(codes):
        service.create_client(db_session, actor=ann, code=code)
    db_session.commit()
    return codes


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, dashboard.MAX_PAGE_SIZE), offset=st.integers(0, 40))
def test_a_page_is_the_slice_of_the_whole_list(db_session, ann, caseload, limit, offset):
    page = dashboard.clients_page(db_session, actor=ann, limit=limit, offset=offset)
    assert [c.code for c in page.items] == caseload[offset:offset + limit]
    assert page.total == len(caseload)
    assert page.next_offset == (offset + limit if offset + limit < len(caseload) else None)


def test_audit_pages_follow_a_cursor_that_new_reads_do_not_shift(client, ann, api_token_for, db_session):
    patient = service.create_client(db_session, actor=ann, code="AUD1")
    for _ in range(6):  # six separate accesses (one per transaction; repeats within one are one access)
        service.get_client(db_session, actor=ann, client_id=patient.id)
        db_session.commit()
    headers = api_token_for("ann")
    first = client.get(f"/api/v1/clients/{patient.id}/audit", headers=headers, params={"limit": 3})
    # the trail so far: create, 6 reads, and this request's own two rows (the access check, the trail read)
    assert first.headers["x-total-count"] == "9"
    events, _ = _follow(client, f"/api/v1/clients/{patient.id}/audit", headers, params={"limit": 3})
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)  # no repeats despite new reads
    assert events[-1]["action"] == "create" and len(ids) == 11  # also both requests' own rows
    bad = client.get(f"/api/v1/clients/{patient.id}/audit", headers=headers, params={"before_id": 0})
    assert bad.status_code == 422 and "before_id" in bad.text


# ---- keyset paging (issue 23): the Link header pages by the last row's sort key ----------------------------


def test_pages_by_key_neither_repeat_nor_skip_while_rows_arrive(client, ann, api_token_for, db_session):
    for n in (10, 30, 50, 70):
        service.create_client(db_session, actor=ann, code=f"Q{n:02d}")
    db_session.commit()
    headers = api_token_for("ann")
    first = client.get("/api/v1/clients", headers=headers, params={"limit": 2})
    link = re.fullmatch(r'<([^>]+)>; rel="next"', first.headers["link"]).group(1)
    assert "after=" in link and "offset=" not in link
    service.create_client(db_session, actor=ann, code="Q05")  # sorts before the page already seen
    db_session.commit()
    rest, _ = _follow(client, link, headers)
    assert [c["code"] for c in first.json()] + [c["code"] for c in rest] == ["Q10", "Q30", "Q50", "Q70"]


def test_measurements_page_by_key_with_untimed_and_timed_values_on_one_day(client, ann, api_token_for, db_session):
    patient = service.create_client(db_session, actor=ann, code="MK1")
    at = dt.datetime(2026, 11, 3, 10, 0, tzinfo=dt.UTC)
    for day in (3, 3, 4):
        service.record_session(db_session, actor=ann, client_id=patient.id, session_date=dt.date(2026, 11, day),
                               minutes=30, intervention_code="receptive_listening",
                               measurements=[MeasurementInput("vas_anxiety", value=day),
                                             MeasurementInput("nrs_pain", value=1, measured_at=at),
                                             MeasurementInput("nrs_pain", value=2, measured_at=at)])
    db_session.commit()
    headers = api_token_for("ann")
    whole = client.get(f"/api/v1/clients/{patient.id}/measurements", headers=headers).json()
    for limit in (1, 2, 4):
        paged, totals = _follow(client, f"/api/v1/clients/{patient.id}/measurements", headers, params={"limit": limit})
        assert [m["id"] for m in paged] == [m["id"] for m in whole] and set(totals) == {9}


@pytest.mark.parametrize("after", ["nonsense", "W10=", "eyJ4IjoxfQ", "x" * 600,
                                   dashboard.encode_cursor((1, 2)), dashboard.encode_cursor(("a", "b"))])
def test_a_cursor_that_is_not_this_list_s_is_refused_by_name(client, ann, api_token_for, db_session, after):
    patient = service.create_client(db_session, actor=ann, code="BAD1")
    db_session.commit()
    headers = api_token_for("ann")
    for url in ("/api/v1/clients", f"/api/v1/clients/{patient.id}/sessions"):
        response = client.get(url, headers=headers, params={"after": after})
        assert response.status_code == 422, (url, after)
        assert "after" in response.text


@given(values=st.lists(st.one_of(st.integers(-2**40, 2**40), st.text(max_size=20), st.dates(), st.none()),
                       min_size=1, max_size=4))
def test_cursors_round_trip(values):
    kinds = tuple({int: "int", str: "str", dt.date: "date", type(None): "none"}[type(v)] for v in values)
    assert dashboard.decode_cursor(dashboard.encode_cursor(tuple(values)), kinds=kinds) == tuple(values)
