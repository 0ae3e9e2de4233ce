"""The person as a new actor in the authorisation matrix (issue 17).

Every route of the person's app is called by a device of the owner (2xx), by a device of another client
(404 for anything of the first client's, nothing stored), without a device (sent to /me/start) and
without the device's CSRF token (403). A device never reaches a therapist page (404) or the API (401).
"""

from __future__ import annotations

import uuid

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from cadenza.tools.home import records
from cadenza.tools.home.records import TaskCompletion

PERSON_PUBLIC = {("GET", "/me/start"), ("GET", "/me/join/{token}"), ("POST", "/me/join/{token}"), ("GET", "/me/care"),
                 ("POST", "/me/join/{token}/passkey/options"), ("POST", "/me/join/{token}/passkey"),
                 ("GET", "/me/self/{token}"),  # self-care's opening link: 404 on a clinic's server
                 ("GET", "/me/manifest.webmanifest"), ("GET", "/me/sw.js"), ("GET", "/me/app.js"),
                 ("GET", "/me/icon.svg"), ("GET", "/me/recorder.js"), ("GET", "/me/kinds/{code}.js")}


def _routes(app):
    out = []
    for context in iter_route_contexts(app.routes):
        for method in sorted((getattr(context, "methods", None) or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, context.path))
    return out


def _device_routes(app):
    return [(m, p) for m, p in _routes(app) if (p == "/me" or p.startswith("/me/")) and (m, p) not in PERSON_PUBLIC]


def _completion(task_id: int) -> dict:
    import datetime as dt

    return {"client_uuid": str(uuid.uuid4()), "task_id": task_id, "completed_at": dt.datetime.now(dt.UTC).isoformat(),
            "played_s": 30, "max_gain": 0.5, "before": {}, "after": {}}


def _call(browser, method, template, *, task_id, csrf):
    url = template.replace("{task_id}", str(task_id)).replace("{track_id}", "1").replace("{walk_id}", "1")
    if method == "GET":
        return browser.get(url)
    if template == "/me/completions":
        return browser.post(url, json=_completion(task_id), headers={"x-csrf-token": csrf} if csrf else {})
    return browser.post(url, data={"csrf_token": csrf} if csrf else {})


def _count(db_session):
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(TaskCompletion))


def test_every_person_route_is_in_this_matrix(web_app):
    known = {("GET", "/me"), ("POST", "/me/lock"), ("GET", "/me/unlock"), ("POST", "/me/unlock"),
             ("POST", "/me/unlock/passkey/options"), ("POST", "/me/unlock/passkey"),
             ("POST", "/me/tasks/{task_id}/tracks/{track_id}/block"), ("GET", "/me/forget"), ("POST", "/me/forget"),
             ("GET", "/me/report.pdf"), ("GET", "/me/letter.pdf"),
             ("GET", "/me/tasks/{task_id}"), ("GET", "/me/tasks/{task_id}/tracks/{track_id}"),
             ("GET", "/me/tasks/{task_id}/cue.wav"), ("POST", "/me/completions"),
             ("GET", "/me/tasks/{task_id}/model.wav"),
             ("GET", "/me/live"), ("POST", "/me/live"), ("GET", "/me/live/{walk_id}"),
             ("GET", "/me/live/{walk_id}/music.wav"),  # tools/live
             ("GET", "/me/sound-check"), ("GET", "/me/sound-check/test.wav"), ("POST", "/me/sound-check")}  # timing
    assert set(_device_routes(web_app)) == known, "a new /me route: add it here and to the checks below"


def test_a_device_reaches_its_own_programme(home_world, phone):
    ann, client, task = home_world["ann"], home_world["clients"][0], home_world["task"]
    mine = phone(ann, client)
    assert "Walk to the beat" in mine.get("/me").text
    assert mine.get(f"/me/tasks/{task.id}").status_code == 200
    cue = mine.get(f"/me/tasks/{task.id}/cue.wav")
    assert cue.status_code == 200 and cue.content[:4] == b"RIFF"
    stored = mine.post("/me/completions", json=_completion(task.id), headers={"x-csrf-token": mine.device_csrf})
    assert stored.status_code == 201, stored.text


def test_another_clients_device_gets_404_for_everything_of_this_client(web_app, home_world, phone, db_session):
    ann = home_world["ann"]
    task = home_world["task"]  # client 0's
    intruder = phone(ann, home_world["clients"][1])  # same therapist, other client: still nothing of client 0's
    before = _count(db_session)
    for method, template in _device_routes(web_app):
        if "{task_id}" not in template and template != "/me/completions":
            continue
        response = _call(intruder, method, template, task_id=task.id, csrf=intruder.device_csrf)
        assert response.status_code == 404, (method, template, response.status_code, response.text[:200])
        assert "Walk to the beat" not in response.text
    assert _count(db_session) == before
    # Its own programme does not list the other client's task either.
    assert "Walk to the beat" not in intruder.get("/me").text


def test_a_device_never_reaches_a_therapist_page_or_the_api(web_app, home_world, phone):
    ann, client = home_world["ann"], home_world["clients"][0]
    mine = phone(ann, client)
    for path in ("/", f"/clients/{client.id}", f"/clients/{client.id}/home", "/clients/new", "/evidence",
                 f"/clients/{client.id}/ras", "/account/password"):
        response = mine.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert client.code not in response.text
    assert mine.get(f"/api/v1/clients/{client.id}").status_code == 401
    post = mine.post(f"/clients/{client.id}/home/invites", data={"csrf_token": mine.device_csrf})
    assert post.status_code == 404


def test_without_a_device_the_app_explains_how_to_get_in(web_app, home_world, web_browser):
    for method, template in _device_routes(web_app):
        response = _call(web_browser, method, template, task_id=home_world["task"].id, csrf="")
        assert response.status_code == 303 and response.headers["location"] == "/me/start", (method, template)


def test_every_person_post_needs_the_devices_csrf_token(web_app, home_world, phone, db_session):
    mine = phone(home_world["ann"], home_world["clients"][0])
    before = _count(db_session)
    for method, template in _device_routes(web_app):
        if method != "POST":
            continue
        for csrf in ("", "forged"):
            response = _call(mine, method, template, task_id=home_world["task"].id, csrf=csrf)
            assert response.status_code == 403, (template, csrf, response.status_code)
    assert _count(db_session) == before


def test_a_revoked_device_is_refused(home_world, phone, db_session):
    ann, client = home_world["ann"], home_world["clients"][0]
    mine = phone(ann, client)
    device = records.client_devices(db_session, client)[-1]
    records.revoke_device(db_session, actor=ann, client=client, device_id=device.id)
    db_session.commit()
    for path in ("/me", f"/me/tasks/{home_world['task'].id}", f"/me/tasks/{home_world['task'].id}/cue.wav"):
        response = mine.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/me/start", path
    response = mine.post("/me/completions", json=_completion(home_world["task"].id),
                         headers={"x-csrf-token": mine.device_csrf})
    assert response.status_code == 303


def test_a_locked_phone_asks_for_the_pin_and_five_wrong_pins_lock_it_for_good(home_world, phone, db_session):
    mine = phone(home_world["ann"], home_world["clients"][0], pin="4711")
    assert mine.post("/me/lock", data={"csrf_token": mine.device_csrf}).status_code == 303
    assert mine.get("/me").headers["location"] == "/me/unlock"
    assert mine.post("/me/completions", json=_completion(home_world["task"].id),
                     headers={"x-csrf-token": mine.device_csrf}).status_code == 401
    assert mine.post("/me/unlock", data={"csrf_token": mine.device_csrf, "pin": "4711"}).status_code == 303
    assert mine.get("/me").status_code == 200
    mine.post("/me/lock", data={"csrf_token": mine.device_csrf})
    for attempt in range(records.MAX_PIN_FAILURES):
        response = mine.post("/me/unlock", data={"csrf_token": mine.device_csrf, "pin": "0000"})
        assert response.status_code == 403
    # The right PIN no longer opens it: the therapist sends a new link.
    assert mine.post("/me/unlock", data={"csrf_token": mine.device_csrf, "pin": "4711"}).status_code == 403
    assert "Ask your therapist for a new link" in mine.get("/me/unlock").text


@pytest.mark.parametrize("pin", ["1234", "0000", "12", "abcd", "123456789"])
def test_weak_or_malformed_pins_are_refused_at_joining(pin):
    with pytest.raises(Exception, match="pin"):
        records.check_pin(pin)
