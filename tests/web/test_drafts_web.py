"""Nothing typed is lost (walk-through problem 1): drafts saved as the note is typed, and a note sent
after the login lapsed kept and shown again once the same therapist has logged in."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select, update

from cadenza.clinic import auth, service
from cadenza.clinic.drafts import FormDraft
from cadenza.clinic.models import TherapySession

NOTE = "Sang three verses unprompted; asked for the harbour song again."


def _csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]


def _form_id(page) -> str:
    return re.search(r'name="form_id" value="([^"]+)"', page.text)[1]


def _lapse_logins(db_session, minutes: int = 45) -> None:
    """As if the therapist had stepped away: every login last seen ``minutes`` ago."""
    db_session.execute(update(auth.LoginSession).values(
        last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)))
    db_session.commit()


def _session_form(path: str, page, **extra) -> dict:
    return {"csrf_token": _csrf(page), "form_id": _form_id(page), "draft_key": path, "session_date": "2026-12-01",
            "minutes": "40", "intervention_code": "receptive_listening", "subjective": NOTE, **extra}


def _sessions(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(TherapySession))


def test_walkthrough_p1_a_note_sent_after_the_login_lapsed_is_kept(db_session, make_therapist, login_as, web):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="C001")
    db_session.commit()
    browser = login_as("ann")
    path = f"/clients/{client.id}/sessions/new"
    page = browser.get(path)
    assert 'name="draft_key"' in page.text and "data-draft" in page.text

    _lapse_logins(db_session)
    sent = browser.post(path, data=_session_form(path, page))
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/login?next={path}&kept=1"  # back to the form, not to the dashboard
    assert _sessions(db_session) == 0
    login = browser.get(sent.headers["location"])
    assert "Nothing you typed is lost" in login.text and f'name="next" value="{path}"' in login.text

    back = browser.post("/login", data={"username": "ann", "password": web.password, "csrf_token": _csrf(login),
                                        "next": path})
    assert back.headers["location"] == path
    form = browser.get(path)
    assert NOTE in form.text and 'id="draft-notice"' in form.text
    assert 'value="receptive_listening" checked' in form.text

    saved = browser.post(path, data=_session_form(path, form))
    assert saved.status_code == 303 and "/sessions/" in saved.headers["location"]
    assert db_session.scalar(select(TherapySession.soap_subjective)) == NOTE
    assert db_session.scalar(select(func.count()).select_from(FormDraft)) == 0  # saved: the draft is gone
    assert NOTE not in browser.get(path).text


def test_the_draft_script_saves_as_the_note_is_typed(db_session, make_therapist, login_as):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="C001")
    db_session.commit()
    browser = login_as("ann")
    path = f"/clients/{client.id}/sessions/new"
    page = browser.get(path)
    answer = browser.post("/drafts", data={"csrf_token": _csrf(page), "draft_key": path, "plan": "more drumming"},
                          headers={"Accept": "application/json"})
    assert answer.status_code == 200 and "saved_at" in answer.json()
    assert "more drumming" in browser.get(path).text
    refused = browser.post("/drafts", data={"csrf_token": _csrf(page), "draft_key": "//evil.example/"})
    assert refused.status_code == 422

    # After the login lapsed, the script's fetch is answered in JSON: kept, and where to log in.
    _lapse_logins(db_session)
    lapsed = browser.post("/drafts", data={"csrf_token": _csrf(page), "draft_key": path, "plan": "then the bells"},
                          headers={"Accept": "application/json"})
    assert lapsed.status_code == 401 and lapsed.json()["draft_kept"] is True
    assert db_session.scalar(select(FormDraft.fields_json)).count("then the bells") == 1

    # Discarding opens the form without it.
    relogged = login_as("ann")
    form = relogged.get(path)
    assert "then the bells" in form.text
    gone = relogged.post("/drafts/discard", data={"csrf_token": _csrf(form), "draft_key": path})
    assert gone.headers["location"] == path and "then the bells" not in relogged.get(path).text


def test_only_the_lapsed_login_itself_keeps_a_draft(db_session, make_therapist, login_as, web):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="C001")
    db_session.commit()
    path = f"/clients/{client.id}/sessions/new"

    browser = login_as("ann")
    page = browser.get(path)
    _lapse_logins(db_session)
    forged = browser.post(path, data={**_session_form(path, page), "csrf_token": "not-the-token"})
    assert forged.headers["location"] == "/login?next=/"  # no token: nothing kept, as before

    logged_out = login_as("ann")
    page = logged_out.get(path)
    token = _csrf(page)
    logged_out.post("/logout", data={"csrf_token": token})
    after_logout = logged_out.post(path, data={**_session_form(path, page), "csrf_token": token})
    assert after_logout.headers["location"] == "/login?next=/"
    assert db_session.scalar(select(func.count()).select_from(FormDraft)) == 0
    assert _sessions(db_session) == 0


def test_a_draft_is_the_typists_alone(db_session, make_therapist, login_as):
    ann, _ = make_therapist("ann"), make_therapist("bob")
    client = service.create_client(db_session, actor=ann, code="C001")
    db_session.commit()
    path = f"/clients/{client.id}/sessions/new"
    ann_browser = login_as("ann")
    page = ann_browser.get(path)
    ann_browser.post("/drafts", data={"csrf_token": _csrf(page), "draft_key": path, "plan": "private words"})
    bob = login_as("bob")
    assert bob.get(path).status_code == 404
    bob_page = bob.get("/clients/new")
    bob.post("/drafts", data={"csrf_token": _csrf(bob_page), "draft_key": path, "plan": "bob's"})
    assert "private words" in ann_browser.get(path).text


def test_amending_a_note_keeps_a_draft_too(db_session, make_therapist, login_as):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="C001")
    row = service.record_session(db_session, actor=ann, client_id=client.id, session_date=dt.date(2026, 12, 1),
                                 minutes=30, intervention_code="receptive_listening", plan="old plan")
    db_session.commit()
    browser = login_as("ann")
    path = f"/clients/{client.id}/sessions/{row.id}/edit"
    page = browser.get(path)
    browser.post("/drafts", data={"csrf_token": _csrf(page), "draft_key": path, "plan": "new plan", "version": "0"})
    form = browser.get(path)
    assert "new plan" in form.text and f'name="version" value="{row.version}"' in form.text
    done = browser.post(path, data={"csrf_token": _csrf(form), "draft_key": path, "version": str(row.version),
                                    "minutes": "30", "plan": "new plan"})
    assert done.status_code == 303
    assert db_session.scalar(select(func.count()).select_from(FormDraft)) == 0
