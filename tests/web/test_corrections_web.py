"""Correct anything, with history, in the web app (walk-through problem 2)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from cadenza.clinic import service
from cadenza.clinic.models import AuditEvent, TherapySession
from cadenza.clinic.service import MeasurementInput


def _csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]


def _world(db_session, make_therapist):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="C001")
    goal = service.create_goal(db_session, actor=ann, client_id=client.id, instrument_code="vas_anxiety",
                               baseline=65, target=30, description="calmer before walking")
    row = service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 11, 29),
                                 minutes=40, intervention_code="receptive_listening", subjective="tired",
                                 measurements=[MeasurementInput("vas_anxiety", value=35, goal_id=goal.id)])
    db_session.commit()
    return ann, client, goal, row


def _audit(db_session, action: str, entity: str) -> list[int]:
    db_session.expire_all()
    return list(db_session.scalars(select(AuditEvent.entity_id).where(AuditEvent.action == action,
                                                                      AuditEvent.entity == entity)))


def test_walkthrough_p2_signing_asks_for_confirmation(db_session, make_therapist, login_as):
    _, client, _, row = _world(db_session, make_therapist)
    browser = login_as("ann")
    path = f"/clients/{client.id}/sessions/{row.id}"
    page = browser.get(path)
    assert 'name="confirm" value="yes" required' in page.text
    one_click = browser.post(f"{path}/sign", data={"csrf_token": _csrf(page), "version": str(row.version)})
    assert one_click.status_code == 422 and "tick the box" in one_click.text
    db_session.expire_all()
    assert db_session.get(TherapySession, row.id).signed_at is None
    confirmed = browser.post(f"{path}/sign", data={"csrf_token": _csrf(page), "version": str(row.version),
                                                   "confirm": "yes"})
    assert confirmed.status_code == 303
    signed = browser.get(path).text
    assert "Remove session" not in signed and "Remove this value" not in signed  # signed notes stay as signed


def test_walkthrough_p2_a_future_session_date_is_refused_on_the_form(db_session, make_therapist, login_as):
    _, client, _, _ = _world(db_session, make_therapist)
    browser = login_as("ann")
    path = f"/clients/{client.id}/sessions/new"
    page = browser.get(path)
    future = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=200)).isoformat()
    sent = browser.post(path, data={"csrf_token": _csrf(page), "session_date": future, "minutes": "30",
                                    "intervention_code": "receptive_listening", "plan": "kept"})
    assert sent.status_code == 422
    assert re.search(r'id="e-session_date">session_date \S+ is in the future', sent.text)
    assert "kept" in sent.text


def test_walkthrough_p2_a_session_is_amended_removed_and_restored_with_its_history(db_session, make_therapist,
                                                                                   login_as):
    _, client, goal, row = _world(db_session, make_therapist)
    browser = login_as("ann")
    path = f"/clients/{client.id}/sessions/{row.id}"
    form = browser.get(f"{path}/edit")
    assert 'id="f-session_date"' in form.text and 'id="f-intervention_code"' in form.text
    amended = browser.post(f"{path}/edit", data={
        "csrf_token": _csrf(form), "version": str(row.version), "session_date": "2026-11-22", "minutes": "40",
        "intervention_code": "songwriting", "subjective": "tired", "reason": "wrong sheet"})
    assert amended.status_code == 303
    page = browser.get(path)
    assert "Session on 2026-11-22" in page.text and "wrong sheet" in page.text
    assert "session date: 2026-11-29 → 2026-11-22" in page.text

    # A wrong value: removed with a reason, the right one added.
    measurement_id = row.measurements[0].id
    browser.post(f"{path}/measurements/{measurement_id}/remove", data={"csrf_token": _csrf(page), "reason": "35 not 53"})
    added = browser.post(f"{path}/measurements", data={"csrf_token": _csrf(page), "instrument_code": "vas_anxiety",
                                                        "value": "53", "goal_id": str(goal.id)})
    assert added.status_code == 303
    values = [m.value for m in service.list_measurements(db_session, actor=_ann(db_session), client_id=client.id)]
    assert values == [53]

    db_session.expire_all()
    version = db_session.get(TherapySession, row.id).version
    missing_reason = browser.post(f"{path}/remove", data={"csrf_token": _csrf(page), "version": str(version),
                                                          "reason": ""})
    assert missing_reason.status_code == 422 and "reason must say why" in missing_reason.text
    removed = browser.post(f"{path}/remove", data={"csrf_token": _csrf(page), "version": str(version),
                                                   "reason": "entered for the wrong client"})
    assert removed.headers["location"] == f"/clients/{client.id}#removed"
    hub = browser.get(f"/clients/{client.id}").text
    assert 'id="removed"' in hub and "entered for the wrong client" in hub
    assert browser.get(path).status_code == 404
    assert _audit(db_session, "delete", "therapy_session") == [row.id]

    restored = browser.post(f"{path}/restore", data={"csrf_token": _csrf(page)})
    assert restored.headers["location"] == path
    back = browser.get(path).text
    assert "53" in back and re.search(r"restored\s+the session", back)
    assert _audit(db_session, "restore", "therapy_session") == [row.id]


def _ann(db_session):
    from cadenza.clinic.models import Therapist

    return db_session.scalar(select(Therapist).where(Therapist.username == "ann"))


def test_walkthrough_p2_a_goal_is_edited_removed_and_restored(db_session, make_therapist, login_as):
    _, client, goal, _ = _world(db_session, make_therapist)
    browser = login_as("ann")
    hub = browser.get(f"/clients/{client.id}")
    assert f"/clients/{client.id}/goals/{goal.id}/edit" in hub.text
    edit = browser.get(f"/clients/{client.id}/goals/{goal.id}/edit")
    bad = browser.post(f"/clients/{client.id}/goals/{goal.id}/edit",
                       data={"csrf_token": _csrf(edit), "target": "80", "description": "x"})
    assert bad.status_code == 422 and "below" in bad.text
    saved = browser.post(f"/clients/{client.id}/goals/{goal.id}/edit",
                         data={"csrf_token": _csrf(edit), "target": "40", "target_date": "2027-03-01",
                               "description": "calmer on the ward", "reason": "30 mm was not realistic"})
    assert saved.status_code == 303
    edit = browser.get(f"/clients/{client.id}/goals/{goal.id}/edit")
    assert "30 mm was not realistic" in edit.text and "target: 30.0 → 40.0" in edit.text
    browser.post(f"/clients/{client.id}/goals/{goal.id}/remove",
                 data={"csrf_token": _csrf(edit), "remove_reason": "duplicate goal"})
    hub = browser.get(f"/clients/{client.id}").text
    assert f'id="goal-{goal.id}"' not in hub and "duplicate goal" in hub
    browser.post(f"/clients/{client.id}/goals/{goal.id}/restore", data={"csrf_token": _csrf(edit)})
    assert f'id="goal-{goal.id}"' in browser.get(f"/clients/{client.id}").text
    assert _audit(db_session, "delete", "goal") == [goal.id] and _audit(db_session, "restore", "goal") == [goal.id]
