"""The clinic day at a glance (issue 16) in the pages: the dashboard's today, the client list, planned
sessions, note templates on the session form and several interventions per session."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from cadenza.clinic import note_templates, schedule, service


@pytest.fixture
def day(db_session, make_therapist, login_as):
    """ann with clients C001 (a session today, unsigned; one planned today, one next week) and C002, and
    bob with his own client; ann logged in."""
    ann, bob = make_therapist("ann"), make_therapist("bob")
    today = dt.datetime.now(dt.UTC).date()
    c1 = service.create_client(db_session, actor=ann, code="C001", conditions=["stroke"])
    c2 = service.create_client(db_session, actor=ann, code="C002", conditions=["anxiety"])
    b1 = service.create_client(db_session, actor=bob, code="B001")
    seen = service.record_session(db_session, actor=ann, client_id=c1.id, session_date=today, minutes=45,
                                  interventions=[("songwriting", 25), ("receptive_listening", 20)])
    planned = schedule.plan_session(db_session, actor=ann, client_id=c2.id, planned_date=today, minutes=40,
                                    start_time=dt.time(14, 0), purpose="review goals")
    later = schedule.plan_session(db_session, actor=ann, client_id=c1.id, planned_date=today + dt.timedelta(days=3),
                                  minutes=30)
    schedule.plan_session(db_session, actor=bob, client_id=b1.id, planned_date=today, minutes=30, purpose="bob's")
    db_session.commit()
    return {"ann": ann, "c1": c1, "c2": c2, "b1": b1, "seen": seen, "planned": planned, "later": later,
            "today": today, "browser": login_as("ann")}


def _text(page: str) -> str:
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    return re.sub(r" ([,.:)])", r"\1", text)


def _section_of(page: str, heading_id: str) -> str:
    start = page.index(f'id="{heading_id}"')
    return page[start:page.index("</ul>", start)]


def _section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start:page.index("</section>", start)]


def _dashboard_today_shows_sessions_seen_and_planned_and_the_counts(day):
    page = day["browser"].get("/").text
    today = _text(_section(page, "today"))
    assert f"Today, {day['today']}" in today
    assert "1 note to sign" in today and "0 safety flags" in today
    assert "2 alerts from the tools" in today  # the care tool: no informed consent recorded for C001 and C002
    assert "C001 45 min, Songwriting 25 min, Receptive listening 20 min draft, to sign" in today
    assert "C002 14:00, 40 min: review goals planned Record it" in today
    assert f"sessions/new?planned={day['planned'].id}" in page
    assert f"{day['today'] + dt.timedelta(days=3)}: C001, 30 min planned" in today  # upcoming
    assert "bob's" not in page
    # the PHQ-9 item-9 prompts stay first on the page
    assert page.index('id="today"') > page.index("<h1>Dashboard</h1>")


def _dashboard_counts_overdue_goals_and_shows_safety_flags_above_today(day, db_session):
    ann, c1 = day["ann"], day["c1"]
    service.create_goal(db_session, actor=ann, client_id=c1.id, instrument_code="nrs_pain", baseline=6, target=2,
                        target_date=day["today"] - dt.timedelta(days=2))
    service.record_session(db_session, actor=ann, client_id=c1.id, session_date=day["today"], minutes=30,
                           intervention_code="singing",
                           measurements=[service.MeasurementInput("phq9", items=[0, 0, 0, 0, 0, 0, 0, 0, 2])])
    db_session.commit()
    from cadenza.tools.home import actions as home

    home.assign_task(db_session, actor=ann, client=c1, kind="ras_walk", title="Walk to the beat", days_per_week=7,
                     minutes=10, ratings=[], tempo_bpm=100, start_date=day["today"] - dt.timedelta(days=6))
    db_session.commit()
    page = day["browser"].get("/").text
    alerts = _text(_section(page, "tool-alerts"))
    assert "C001 (Home programme and the person's app): “Walk to the beat”: done on 0 of 7 planned days" in alerts
    today = _text(_section(page, "today"))
    assert "3 alerts from the tools" in today and "C001 (Care documents): no informed consent recorded" in alerts
    assert "1 overdue goal review" in today and "1 safety flag" in today and "3 notes to sign" in today
    assert page.index('id="flagged"') < page.index('id="today"')


def _recording_a_planned_session_takes_it_off_the_plan(day, web):
    browser, c2, planned = day["browser"], day["c2"], day["planned"]
    form = browser.get(f"/clients/{c2.id}/sessions/new?planned={planned.id}").text
    assert f'name="planned_id" value="{planned.id}"' in form and "review goals" in form
    assert 'id="f-minutes" name="minutes" type="number" value="40"' in form
    token = web.page_csrf(browser, f"/clients/{c2.id}/sessions/new")
    saved = browser.post(f"/clients/{c2.id}/sessions/new", data={
        "csrf_token": token, "session_date": day["today"].isoformat(), "minutes": "40",
        "intervention_code": "singing", "planned_id": str(planned.id)})
    assert saved.status_code == 303
    today = _text(_section(browser.get("/").text, "today"))
    assert "review goals planned" not in today and "C002 40 min, Singing draft, to sign" in today
    assert browser.get(f"/clients/{c2.id}/sessions/new?planned={planned.id}").status_code == 404  # documented
    assert browser.get(f"/clients/{day['b1'].id}/sessions/new?planned=1").status_code == 404
    refused = browser.post(f"/clients/{c2.id}/sessions/new", data={
        "csrf_token": token, "session_date": day["today"].isoformat(), "minutes": "40", "subjective": "kept",
        "intervention_code": "singing", "planned_id": str(planned.id)})  # already documented: nothing saved
    assert refused.status_code == 422 and "already documented" in refused.text and ">kept</textarea>" in refused.text
    bad = browser.post(f"/clients/{c2.id}/sessions/new", data={
        "csrf_token": token, "session_date": day["today"].isoformat(), "minutes": "40",
        "intervention_code": "singing", "planned_id": "x1"})
    assert bad.status_code == 422 and "planned_id must be a record id" in bad.text


def _plan_page_plans_cancels_and_refuses_the_past(day, web):
    browser, c1 = day["browser"], day["c1"]
    token = web.page_csrf(browser, f"/clients/{c1.id}/plan")
    past = browser.post(f"/clients/{c1.id}/plan", data={"csrf_token": token, "planned_date": "2020-01-01",
                                                         "minutes": "30", "purpose": "kept"})
    assert past.status_code == 422 and "in the past" in past.text and 'value="kept"' in past.text
    bad_time = browser.post(f"/clients/{c1.id}/plan", data={"csrf_token": token, "minutes": "30",
                                                             "planned_date": day["today"].isoformat(),
                                                             "start_time": "25:99"})
    assert bad_time.status_code == 422 and "start_time must be a time of day" in bad_time.text
    cancel = browser.post(f"/clients/{c1.id}/planned/{day['later'].id}/cancel", data={"csrf_token": token})
    assert cancel.status_code == 303
    again = browser.post(f"/clients/{c1.id}/planned/{day['later'].id}/cancel", data={"csrf_token": token})
    assert again.status_code == 409 and "already cancelled" in again.text
    assert browser.post(f"/clients/{c1.id}/planned/{day['planned'].id}/cancel",
                        data={"csrf_token": token}).status_code == 404  # C002's booking, not C001's


def _client_list_searches_filters_and_pages_by_cursor(day, db_session, web):
    ann, browser = day["ann"], day["browser"]
    for i in range(3, 7):
        service.create_client(db_session, actor=ann, code=f"C{i:03d}")
    db_session.commit()
    page = browser.get("/clients?limit=4").text
    assert re.findall(r'<a href="/clients/\d+">(C\d+)</a>', page) == ["C001", "C002", "C003", "C004"]
    next_link = html.unescape(re.search(r'rel="next" href="([^"]+)"', page).group(1))
    assert "after=C004~" in next_link and "offset" not in next_link
    rest = browser.get(next_link).text
    assert re.findall(r'<a href="/clients/\d+">(C\d+)</a>', rest) == ["C005", "C006"] and 'rel="next"' not in rest
    assert re.findall(r'<a href="/clients/\d+">(C\d+)</a>', browser.get("/clients?q=c00").text)[:2] == ["C001", "C002"]
    assert re.findall(r'<a href="/clients/\d+">(C\d+)</a>', browser.get("/clients?condition=anxiety").text) == ["C002"]
    assert re.findall(r'<a href="/clients/\d+">(C\d+)</a>', browser.get("/clients?unsigned=yes").text) == ["C001"]
    assert "B001" not in browser.get("/clients").text
    refused = browser.get(f"/clients?therapist={day['b1'].therapist_id}")
    assert refused.status_code == 422 and "own clients" in refused.text
    assert browser.get("/clients?after=nonsense").status_code == 422
    service.set_client_status(db_session, actor=ann, client_id=day["c2"].id, status="discharged")
    db_session.commit()
    assert re.findall(r'<a href="/clients/\d+">(C\d+)</a>', browser.get("/clients?status=discharged").text) == ["C002"]
    assert "C002" not in browser.get("/clients?status=active").text
    assert browser.get("/clients?status=gone").status_code == 422


def _admin_browser(web_app, db_session, web, admin):
    """A browser logged in as an enrolled administrator (password, then a TOTP code)."""
    import pyotp
    from fastapi.testclient import TestClient

    from cadenza.clinic import auth

    totp = pyotp.TOTP(auth.start_mfa_enrolment(db_session, actor=admin).secret)
    now = dt.datetime.now(dt.UTC)
    auth.confirm_mfa_enrolment(db_session, actor=admin, code=totp.at(now))
    db_session.commit()
    browser = TestClient(web_app, follow_redirects=False)
    browser.post("/login", data={"username": admin.username, "password": web.password,
                                 "csrf_token": web.login_csrf(browser), "next": "/"})
    token = web.page_csrf(browser, "/login/mfa?next=/")
    browser.post("/login/mfa", data={"code": totp.at(now, counter_offset=1), "csrf_token": token, "next": "/"})
    return browser


def _admin_lists_caseloads_without_clinical_columns(day, db_session, make_therapist, web_app, web):
    browser = _admin_browser(web_app, db_session, web, make_therapist("boss", role="admin"))
    page = browser.get("/clients?therapist=all").text
    rows = _text(page[page.index("<table"):page.index("</table>")])
    assert "B001 bob 0" in rows and "C001 ann 1" in rows and "stroke" not in rows
    assert '<a href="/clients/' not in page[page.index("<table"):]  # not the admin's clients: no link


def _a_template_fills_only_the_empty_boxes_and_saves_nothing(day, db_session, web):
    browser, c1 = day["browser"], day["c1"]
    form = browser.get(f"/clients/{c1.id}/sessions/new").text
    assert 'value="builtin:birp"' in form and "formnovalidate" in form
    token = web.page_csrf(browser, f"/clients/{c1.id}/sessions/new")
    before = len(service.list_sessions(db_session, actor=day["ann"], client_id=c1.id))
    filled = browser.post(f"/clients/{c1.id}/sessions/new", data={
        "csrf_token": token, "apply_template": "1", "template": "builtin:birp", "minutes": "",
        "subjective": "Arrived tired <b>x</b>", "plan": "", "intervention_minutes.singing": "10"})
    assert filled.status_code == 200
    values = {name: html.unescape(re.search(rf'<textarea id="f-{name}" name="{name}"[^>]*>(.*?)</textarea>',
                                            filled.text, re.S).group(1))
              for name in note_templates.NOTE_FIELDS}
    birp = note_templates.find_template(db_session, actor=day["ann"], key="builtin:birp")
    assert values == {"subjective": "Arrived tired <b>x</b>", "objective": birp.objective,
                      "assessment": birp.assessment, "plan": birp.plan}
    assert "Kept what you had typed in Subjective" in filled.text
    assert 'value="10"' in filled.text and 'id="several-interventions" open' in filled.text  # nothing else lost
    assert len(service.list_sessions(db_session, actor=day["ann"], client_id=c1.id)) == before
    unknown = browser.post(f"/clients/{c1.id}/sessions/new", data={"csrf_token": token, "apply_template": "1",
                                                                     "template": "mine:999", "plan": "typed"})
    assert unknown.status_code == 422 and "note template" in unknown.text and "typed" in unknown.text


def _own_templates_page(day, web, login_as):
    browser = day["browser"]
    token = web.page_csrf(browser, "/account/note-templates")
    assert browser.post("/account/note-templates", data={"csrf_token": token, "name": "Drum circle",
                                                         "objective": "Rhythm: "}).status_code == 303
    page = browser.get("/account/note-templates").text
    template_id = re.search(r'/account/note-templates/(\d+)/delete', page).group(1)
    form = browser.get(f"/clients/{day['c1'].id}/sessions/new").text
    assert f'value="mine:{template_id}"' in form
    duplicate = browser.post("/account/note-templates", data={"csrf_token": token, "name": "drum circle",
                                                              "plan": "x"})
    assert duplicate.status_code == 422 and "already have a template" in duplicate.text
    bob = login_as("bob")
    assert bob.post(f"/account/note-templates/{template_id}/delete",
                    data={"csrf_token": web.page_csrf(bob, "/")}).status_code == 404
    assert browser.post(f"/account/note-templates/{template_id}/delete",
                        data={"csrf_token": token}).status_code == 303
    assert "Drum circle" not in browser.get("/account/note-templates").text


def test_session_form_templates_and_several_interventions_from_the_form_and_the_api(day, db_session, web,
                                                                                  api_token_for, login_as):
    _a_template_fills_only_the_empty_boxes_and_saves_nothing(day, db_session, web)
    _own_templates_page(day, web, login_as)
    browser, c2 = day["browser"], day["c2"]
    token = web.page_csrf(browser, f"/clients/{c2.id}/sessions/new")
    base = {"csrf_token": token, "session_date": day["today"].isoformat(), "minutes": "50",
            "intervention_code": "songwriting", "intervention_minutes.receptive_listening": "20",
            "intervention_minutes.singing": "10", "subjective": "kept"}
    saved = browser.post(f"/clients/{c2.id}/sessions/new", data=base)
    assert saved.status_code == 303
    session_id = int(saved.headers["location"].rsplit("/", 1)[1])
    row = service.get_session(db_session, actor=day["ann"], session_id=session_id)
    # the main intervention first, with the minutes the others leave; the others in catalogue order
    assert row.intervention_minutes[0] == ("songwriting", 20)
    assert sorted(row.intervention_minutes[1:]) == [("receptive_listening", 20), ("singing", 10)]
    shown = _text(browser.get(f"/clients/{c2.id}/sessions/{session_id}").text)
    assert "Songwriting 20 min" in shown and "50 min in all" in shown
    too_many = browser.post(f"/clients/{c2.id}/sessions/new",
                            data=base | {"intervention_minutes.singing": "40", "form_id": ""})
    assert too_many.status_code == 422 and "leaving none for the main intervention" in too_many.text
    assert 'value="kept"' in too_many.text or ">kept</textarea>" in too_many.text
    export = browser.get(f"/clients/{c2.id}/export/sessions.csv")
    assert export.status_code == 200 and export.text.count(f"\nC002,{session_id},") == 3

    edit = browser.get(f"/clients/{c2.id}/sessions/{session_id}/edit").text
    assert 'id="several-interventions" open' in edit and 'name="intervention_minutes.singing" min="1"' in edit
    assert re.search(r'name="intervention_minutes.songwriting"[^>]*value="20"', edit)
    version = re.search(r'name="version" value="(\d+)"', edit).group(1)
    amended = browser.post(f"/clients/{c2.id}/sessions/{session_id}/edit", data={
        "csrf_token": token, "version": version, "session_date": day["today"].isoformat(), "minutes": "50",
        "intervention_code": "songwriting", "reason": "one activity after all"})  # every minutes field cleared
    assert amended.status_code == 303, amended.text
    history = _text(_section_of(browser.get(f"/clients/{c2.id}/sessions/{session_id}").text, "history"))
    assert "→ songwriting 50 min" in history and "songwriting 20 min, receptive_listening 20 min" in history
    db_session.expire_all()
    assert service.get_session(db_session, actor=day["ann"], session_id=session_id).intervention_minutes == [
        ("songwriting", 50)]

    headers = api_token_for("ann")
    body = {"session_date": day["today"].isoformat(), "minutes": 40, "intervention_code": "singing",
            "interventions": [{"intervention_code": "singing", "minutes": 25},
                              {"intervention_code": "drumming_improvisation", "minutes": 15}]}
    created = browser.post(f"/api/v1/clients/{c2.id}/sessions", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["interventions"] == body["interventions"]
    mismatch = browser.post(f"/api/v1/clients/{c2.id}/sessions", headers=headers,
                            json=body | {"intervention_code": "songwriting"})
    assert mismatch.status_code == 422 and "first of interventions" in mismatch.text


# One test per part of the day, each on one fixture (a web test's app and logins are its main cost).

def test_dashboard_today_and_planned_sessions(day, db_session, web):
    _dashboard_today_shows_sessions_seen_and_planned_and_the_counts(day)
    _recording_a_planned_session_takes_it_off_the_plan(day, web)
    _plan_page_plans_cancels_and_refuses_the_past(day, web)
    _dashboard_counts_overdue_goals_and_shows_safety_flags_above_today(day, db_session)


def test_client_list(day, db_session, make_therapist, web_app, web):
    _client_list_searches_filters_and_pages_by_cursor(day, db_session, web)
    _admin_lists_caseloads_without_clinical_columns(day, db_session, make_therapist, web_app, web)

