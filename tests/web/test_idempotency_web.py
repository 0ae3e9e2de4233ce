"""Idempotent creates over HTTP (T30): the Idempotency-Key header of the JSON API and the one-time
form id of the create pages; SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cadenza.clinic import idempotency, service
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.clinic.idempotency import IdempotencyKey
from cadenza.clinic.models import Client, Goal, Measurement, TherapySession
from cadenza.settings import Settings
from cadenza.web.main import create_app

SESSION = {"session_date": "2026-11-20", "minutes": 45, "intervention_code": "receptive_listening",
           "plan": "repeat", "measurements": [{"instrument_code": "vas_anxiety", "value": 42}]}


def _count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def ann(client, make_therapist, api_token_for):
    make_therapist("ann")
    headers = api_token_for("ann")
    created = client.post("/api/v1/clients", json={"code": "C001"}, headers=headers)
    assert created.status_code == 201, created.text
    return headers, created.json()["id"]


def test_api_session_replay_is_identical_and_writes_once(client, ann, db_session):
    headers, client_id = ann
    keyed = {**headers, "Idempotency-Key": "tablet-42 retry #1"}
    first = client.post(f"/api/v1/clients/{client_id}/sessions", json=SESSION, headers=keyed)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    # The same body with its keys in another order and other whitespace is the same request.
    reordered = '{"plan":"repeat","minutes":45,  "session_date":"2026-11-20","intervention_code":"receptive_listening",' \
                '"measurements":[{"value":42,"instrument_code":"vas_anxiety"}]}'
    again = client.post(f"/api/v1/clients/{client_id}/sessions", content=reordered,
                        headers={**keyed, "Content-Type": "application/json"})
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(db_session, TherapySession, TherapySession.client_id == client_id) == 1
    assert _count(db_session, Measurement, Measurement.client_id == client_id) == 1


def test_api_same_key_different_body_is_422_and_writes_nothing(client, ann, db_session):
    headers, client_id = ann
    keyed = {**headers, "Idempotency-Key": "k-body"}
    assert client.post(f"/api/v1/clients/{client_id}/sessions", json=SESSION, headers=keyed).status_code == 201
    changed = client.post(f"/api/v1/clients/{client_id}/sessions", json={**SESSION, "minutes": 50}, headers=keyed)
    assert changed.status_code == 422
    assert "Idempotency-Key" in changed.text and "different request body" in changed.text
    assert _count(db_session, TherapySession, TherapySession.client_id == client_id) == 1


@pytest.mark.parametrize("create", ["client", "goal", "measurement"])
def test_every_api_create_replays(client, ann, db_session, create):
    headers, client_id = ann
    session_id = client.post(f"/api/v1/clients/{client_id}/sessions", json=SESSION, headers=headers).json()["id"]
    path, body, model = {
        "client": ("/api/v1/clients", {"code": "C002", "birth_year": 1950}, Client),
        "goal": (f"/api/v1/clients/{client_id}/goals", {"instrument_code": "vas_anxiety", "baseline": 60,
                                                       "target": 30}, Goal),
        "measurement": (f"/api/v1/clients/{client_id}/sessions/{session_id}/measurements",
                        {"instrument_code": "nrs_pain", "value": 4}, Measurement),
    }[create]
    before = _count(db_session, model)
    keyed = {**headers, "Idempotency-Key": f"once-{create}"}
    responses = [client.post(path, json=body, headers=keyed) for _ in range(3)]
    assert [r.status_code for r in responses] == [201, 201, 201]
    assert responses[0].json() == responses[1].json() == responses[2].json()
    assert _count(db_session, model) == before + 1


def test_without_a_key_each_post_creates(client, ann, db_session):
    headers, client_id = ann
    for _ in range(2):
        assert client.post(f"/api/v1/clients/{client_id}/sessions", json=SESSION, headers=headers).status_code == 201
    assert _count(db_session, TherapySession, TherapySession.client_id == client_id) == 2


def test_keys_are_per_therapist(client, ann, make_therapist, api_token_for, db_session):
    headers, client_id = ann
    make_therapist("bob")
    bob = api_token_for("bob")
    key = {"Idempotency-Key": "same-key"}
    mine = client.post("/api/v1/clients", json={"code": "X1"}, headers={**headers, **key})
    theirs = client.post("/api/v1/clients", json={"code": "X1"}, headers={**bob, **key})
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert "idempotent-replayed" not in theirs.headers
    assert _count(db_session, Client, Client.code == "X1") == 2
    # A key is bound to its route: bob reusing his key for another create is refused, not replayed.
    reused = client.post(f"/api/v1/clients/{theirs.json()['id']}/goals", headers={**bob, **key},
                         json={"instrument_code": "vas_anxiety", "baseline": 60, "target": 30})
    assert reused.status_code == 422 and "already used for" in reused.text


def test_keys_expire_after_a_day(client, ann, db_session, monkeypatch):
    headers, client_id = ann
    keyed = {**headers, "Idempotency-Key": "k-old"}
    start = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(idempotency, "utcnow", lambda: start)
    first = client.post(f"/api/v1/clients/{client_id}/sessions", json=SESSION, headers=keyed)
    monkeypatch.setattr(idempotency, "utcnow", lambda: start + dt.timedelta(hours=23, minutes=59))
    assert client.post(f"/api/v1/clients/{client_id}/sessions", json=SESSION,
                       headers=keyed).headers.get("Idempotent-Replayed") == "true"
    monkeypatch.setattr(idempotency, "utcnow", lambda: start + dt.timedelta(hours=24, minutes=1))
    later = client.post(f"/api/v1/clients/{client_id}/sessions", json=SESSION, headers=keyed)
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    assert _count(db_session, TherapySession, TherapySession.client_id == client_id) == 2
    assert _count(db_session, IdempotencyKey, IdempotencyKey.key == "k-old") == 1


@pytest.mark.parametrize("bad", ["", "x" * 201, "caf\u00e9"])
def test_malformed_keys_are_422(client, ann, bad, db_session):
    headers, client_id = ann
    response = client.post(f"/api/v1/clients/{client_id}/sessions", json=SESSION,
                           headers={**headers, "Idempotency-Key": bad.encode("latin-1")})
    assert response.status_code == 422
    assert "Idempotency-Key" in response.text
    assert _count(db_session, TherapySession, TherapySession.client_id == client_id) == 0


def test_openapi_documents_the_optional_header(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/clients", "/api/v1/clients/{client_id}/goals", "/api/v1/clients/{client_id}/sessions",
                 "/api/v1/clients/{client_id}/sessions/{session_id}/measurements"):
        operation = spec["paths"][path]["post"]
        header = next(p for p in operation["parameters"] if p["in"] == "header")
        assert header["name"] == "Idempotency-Key" and header["required"] is False
        assert header["schema"]["anyOf"][0]["maxLength"] == 200
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]


# ---- pages -------------------------------------------------------------------------------------


def _form_fields(page_text: str) -> dict[str, str]:
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1),
            "form_id": re.search(r'name="form_id" value="([^"]+)"', page_text).group(1)}


def _new_client_page(browser) -> int:
    page = browser.get("/clients/new")
    response = browser.post("/clients/new", data={**_form_fields(page.text), "code": "C001"})
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_double_submitted_session_form_stores_one_session(make_therapist, login_as, db_session):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client_page(ann)
    page = ann.get(f"/clients/{client_id}/sessions/new")
    data = {**_form_fields(page.text), "session_date": "2026-11-20", "minutes": "45",
            "intervention_code": "receptive_listening", "subjective": "tired", "vas_anxiety.value": "35"}
    first = ann.post(f"/clients/{client_id}/sessions/new", data=data)
    second = ann.post(f"/clients/{client_id}/sessions/new", data=data)
    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert _count(db_session, TherapySession, TherapySession.client_id == client_id) == 1
    assert _count(db_session, Measurement, Measurement.client_id == client_id) == 1
    # A fresh form is a new session.
    fresh = {**data, **_form_fields(ann.get(f"/clients/{client_id}/sessions/new").text)}
    assert fresh["form_id"] != data["form_id"]
    assert ann.post(f"/clients/{client_id}/sessions/new", data=fresh).headers["location"] != first.headers["location"]
    assert _count(db_session, TherapySession, TherapySession.client_id == client_id) == 2


def test_edited_after_saving_is_refused_with_a_fresh_form_id(make_therapist, login_as, db_session):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client_page(ann)
    page = ann.get(f"/clients/{client_id}/sessions/new")
    data = {**_form_fields(page.text), "session_date": "2026-11-20", "minutes": "45",
            "intervention_code": "receptive_listening"}
    assert ann.post(f"/clients/{client_id}/sessions/new", data=data).status_code == 303
    edited = ann.post(f"/clients/{client_id}/sessions/new", data={**data, "minutes": "50"})
    assert edited.status_code == 422
    assert "already saved with other values" in edited.text
    assert _form_fields(edited.text)["form_id"] != data["form_id"]
    assert _count(db_session, TherapySession, TherapySession.client_id == client_id) == 1


def test_double_submitted_client_and_goal_forms_store_one_row(make_therapist, login_as, db_session):
    make_therapist("ann")
    ann = login_as("ann")
    page = ann.get("/clients/new")
    data = {**_form_fields(page.text), "code": "C009", "birth_year": "1950"}
    first, second = (ann.post("/clients/new", data=data) for _ in range(2))
    assert (first.status_code, second.status_code) == (303, 303)  # no "code taken" error on the second
    assert second.headers["location"] == first.headers["location"]
    client_id = int(first.headers["location"].rsplit("/", 1)[1])
    goal_page = ann.get(f"/clients/{client_id}/goals/new")
    goal = {**_form_fields(goal_page.text), "instrument_code": "vas_anxiety", "baseline": "60", "target": "30"}
    responses = [ann.post(f"/clients/{client_id}/goals/new", data=goal) for _ in range(2)]
    assert [r.status_code for r in responses] == [303, 303]
    assert _count(db_session, Goal, Goal.client_id == client_id) == 1
    assert _count(db_session, Client, Client.code == "C009") == 1


def test_a_form_that_failed_validation_keeps_its_id_and_saves_once(make_therapist, login_as, db_session):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client_page(ann)
    page = ann.get(f"/clients/{client_id}/sessions/new")
    data = {**_form_fields(page.text), "session_date": "2026-11-20", "minutes": "0",
            "intervention_code": "receptive_listening"}
    rejected = ann.post(f"/clients/{client_id}/sessions/new", data=data)
    assert rejected.status_code == 422
    assert _form_fields(rejected.text)["form_id"] == data["form_id"]
    fixed = {**data, "minutes": "40"}
    assert [ann.post(f"/clients/{client_id}/sessions/new", data=fixed).status_code for _ in range(2)] == [303, 303]
    assert _count(db_session, TherapySession, TherapySession.client_id == client_id) == 1


def test_edit_client_form_carries_no_form_id(make_therapist, login_as):
    make_therapist("ann")
    ann = login_as("ann")
    client_id = _new_client_page(ann)
    assert 'name="form_id"' not in ann.get(f"/clients/{client_id}/edit").text


# ---- the race ----------------------------------------------------------------------------------

PARALLEL = 20


def test_parallel_identical_api_posts_store_one_session(database_url, tmp_path):
    """T30 over HTTP: 20 threads POST the same keyed session at once against an app on a real pool."""
    engine = make_engine(database_url, pool_size=PARALLEL + 4, max_overflow=4)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as db:
            actor = service.create_therapist(db, actor=None, username="racer-web", password="correct horse battery")
            client_id = service.create_client(db, actor=actor, code="RACE2").id
        app = create_app(Settings(database_url=database_url, data_dir=tmp_path), session_factory=factory)
        token = TestClient(app).post("/api/v1/auth/token",
                                     json={"username": "racer-web", "password": "correct horse battery"})
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}", "Idempotency-Key": "race"}
        barrier = threading.Barrier(PARALLEL)

        # One event loop (one portal); the sync route bodies run in its worker threads, each with its own
        # database connection, so the creates really overlap.
        with TestClient(app) as browser:
            def post(_: int):
                barrier.wait()
                return browser.post(f"/api/v1/clients/{client_id}/sessions", json=SESSION, headers=headers)

            with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
                responses = list(pool.map(post, range(PARALLEL)))
        assert [r.status_code for r in responses] == [201] * PARALLEL
        assert len({r.content for r in responses}) == 1
        assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == PARALLEL - 1
        with session_scope(factory) as db:
            assert _count(db, TherapySession, TherapySession.client_id == client_id) == 1
            assert _count(db, Measurement, Measurement.client_id == client_id) == 1
    finally:
        engine.dispose()
