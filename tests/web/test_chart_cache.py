"""Charts are cached by their content (issue 23): one render per distinct image, 304 for an image the
browser holds, a new image as soon as the data changes, and access checked before any of it."""

from __future__ import annotations

import datetime as dt

from cadenza.clinic import chart_cache, service
from cadenza.clinic.service import MeasurementInput


def test_one_render_per_image_304_for_a_held_one_and_a_new_key_when_the_data_changes(
        db_session, make_therapist, login_as, monkeypatch):
    monkeypatch.setattr(chart_cache, "_images", type(chart_cache._images)())  # the other backend drew the same images
    ann = make_therapist("ann")
    make_therapist("bob")
    client = service.create_client(db_session, actor=ann, code="CH1")
    goal = service.create_goal(db_session, actor=ann, client_id=client.id, instrument_code="vas_anxiety",
                               baseline=70, target=40)
    for day, value in ((3, 66), (10, 58)):
        service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, day),
                               minutes=30, intervention_code="receptive_listening",
                               measurements=[MeasurementInput("vas_anxiety", value=value, goal_id=goal.id)])
    db_session.commit()
    browser = login_as("ann")
    for path in (f"/clients/{client.id}/goals/{goal.id}/chart.png", f"/clients/{client.id}/measures/vas_anxiety/chart.png"):
        before = chart_cache.renders()
        first = browser.get(path)
        again = browser.get(path)
        assert first.status_code == again.status_code == 200 and first.content == again.content
        assert first.content[:4] == b"\x89PNG" and chart_cache.renders() == before + 1
        etag = first.headers["etag"]
        assert "no-cache" in first.headers["cache-control"] and "private" in first.headers["cache-control"]
        held = browser.get(path, headers={"If-None-Match": etag})
        assert held.status_code == 304 and held.content == b"" and chart_cache.renders() == before + 1
        assert login_as("bob").get(path, headers={"If-None-Match": etag}).status_code == 404
    path = f"/clients/{client.id}/goals/{goal.id}/chart.png"
    etag = browser.get(path).headers["etag"]
    service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, 17),
                           minutes=30, intervention_code="receptive_listening",
                           measurements=[MeasurementInput("vas_anxiety", value=50, goal_id=goal.id)])
    db_session.commit()
    changed = browser.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(chart_cache, "MAX_ENTRIES", 3)
    monkeypatch.setattr(chart_cache, "_images", type(chart_cache._images)())
    for i in range(5):
        chart_cache.cached_chart(chart_cache.chart_key("t", "png", i), lambda i=i: bytes([i]))
    assert len(chart_cache._images) == 3
    assert chart_cache.cached_chart(chart_cache.chart_key("t", "png", 4), lambda: b"rendered again") == bytes([4])
    assert chart_cache.cached_chart(chart_cache.chart_key("t", "png", 0), lambda: b"dropped") == b"dropped"
