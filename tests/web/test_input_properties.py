"""Property tests on the write paths: any input is either stored whole (201) or refused with a
field-level 422 that stores nothing (reliability anchors T18, T20); markup is always escaped."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from cadenza.clinic import service
from cadenza.clinic.instruments import get_instrument
from cadenza.clinic.models import Measurement, TherapySession

STAI_ITEMS = list(get_instrument("stai6").items)

answers = st.dictionaries(st.sampled_from(STAI_ITEMS + ["calmness", "q1"]), st.integers(-1, 6), max_size=8)
vas_values = st.one_of(st.none(), st.floats(-50, 1200, allow_nan=False), st.sampled_from([0.0, 100.0, 100.5]))


def _counts(db_session) -> tuple[int, int]:
    db_session.expire_all()
    return (db_session.scalar(select(func.count()).select_from(TherapySession)),
            db_session.scalar(select(func.count()).select_from(Measurement)))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(items=answers, vas=vas_values, minutes=st.integers(-5, 700))
def test_session_api_stores_all_or_nothing(client, make_therapist, api_token_for, db_session, items, vas, minutes):
    # Function-scoped fixtures persist across examples, so the account and client are made once.
    therapist = db_session.scalar(select(service.Therapist).where(service.Therapist.username == "ann"))
    if therapist is None:
        therapist = make_therapist("ann")
    headers = api_token_for("ann")
    existing = service.list_clients(db_session, actor=therapist)
    client_id = existing[0].id if existing else service.create_client(db_session, actor=therapist, code="P1").id
    db_session.commit()
    measurements = []
    if items:
        measurements.append({"instrument_code": "stai6", "items": items})
    if vas is not None:
        measurements.append({"instrument_code": "vas_anxiety", "value": vas})
    before = _counts(db_session)
    response = client.post(f"/api/v1/clients/{client_id}/sessions", headers=headers,
                           json={"session_date": "2026-11-20", "minutes": minutes,
                                 "intervention_code": "receptive_listening", "measurements": measurements})
    after = _counts(db_session)
    valid_items = (not items) or (set(items) == set(STAI_ITEMS) and all(1 <= v <= 4 for v in items.values()))
    valid_vas = vas is None or (math.isfinite(vas) and 0 <= vas <= 100)
    if valid_items and valid_vas and 1 <= minutes <= 600:
        assert response.status_code == 201, response.text
        assert after == (before[0] + 1, before[1] + len(measurements))
        stored = {m["instrument_code"]: m["value"] for m in response.json()["measurements"]}
        if items:
            assert 20 <= stored["stai6"] <= 80
    else:
        assert response.status_code == 422, response.text
        assert after == before


def test_markup_in_free_text_is_escaped_everywhere(make_therapist, login_as, web, db_session):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="X1", conditions=[payload])
    goal = service.create_goal(db_session, actor=ann, client_id=client.id, instrument_code="vas_anxiety",
                               baseline=60, target=30, description=payload)
    row = service.record_session(db_session, actor=ann, client_id=client.id,
                                 session_date=__import__("datetime").date(2026, 11, 20), minutes=30,
                                 intervention_code="receptive_listening", subjective=payload, setting="<b>x</b>")
    db_session.commit()
    browser = login_as("ann")
    for path in ("/", f"/clients/{client.id}", f"/clients/{client.id}/sessions/{row.id}",
                 f"/clients/{client.id}/report", f"/clients/{client.id}/edit", f"/clients/{client.id}/sessions/new"):
        page = browser.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text and "<img src=x" not in page.text and "<b>x</b>" not in page.text, path
    assert "&lt;script&gt;" in browser.get(f"/clients/{client.id}").text
    assert goal.id
