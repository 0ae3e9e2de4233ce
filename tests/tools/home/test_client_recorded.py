"""The therapist's pages for a session the person recorded at home (a tapping go on their phone): labelled
client-recorded, no sign form and no way into an edit form that could never be saved, never among the notes to
sign; the therapist's own home visit the same day stays a note to sign."""

from __future__ import annotations

import datetime as dt

import pytest

from cadenza.clinic import service
from cadenza.clinic.models import TherapySession


@pytest.fixture
def pages(web_browser, db_session, therapist, client_record, tapping_go):
    _, _, completion = tapping_go
    visit = service.record_session(db_session, actor=therapist, client_id=client_record.id,
                                   session_date=dt.datetime.now(dt.UTC).date(), minutes=45,
                                   intervention_code="ras_gait_training", setting="home",
                                   objective="Walked the hallway with the cue.")
    db_session.commit()
    assert web_browser.log_in("therapist1").status_code in (302, 303)
    return web_browser, db_session.get(TherapySession, completion.session_id), visit


def test_a_client_recorded_session_is_labelled_and_offers_no_sign_or_edit(pages, client_record):
    browser, recorded, visit = pages
    base = f"/clients/{client_record.id}/sessions"
    page = browser.get(f"{base}/{recorded.id}")
    assert page.status_code == 200 and "client-recorded" in page.text
    assert f"{base}/{recorded.id}/sign" not in page.text and f"{base}/{recorded.id}/edit" not in page.text
    refused = browser.get(f"{base}/{recorded.id}/edit")
    assert refused.status_code == 409 and "recorded by the client" in refused.text
    # the therapist's own home visit: a draft to sign, with its edit form
    assert f"{base}/{visit.id}/sign" in browser.get(f"{base}/{visit.id}").text
    assert browser.get(f"{base}/{visit.id}/edit").status_code == 200
    dashboard = browser.get("/").text
    assert f"{base}/{visit.id}#signature" in dashboard and f"{base}/{recorded.id}#signature" not in dashboard
    assert "client-recorded" in browser.get(f"/clients/{client_record.id}").text
