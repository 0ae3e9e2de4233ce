import datetime as dt
import json

import pytest
from sqlalchemy import select


def _setup(db_session, web_browser, make_therapist):
    from cadenza.clinic import service

    ana = make_therapist("ana")
    record = service.create_client(db_session, actor=ana, code="I1")
    session = service.record_session(db_session, actor=ana, client_id=record.id, session_date=dt.date(2026, 12, 1),
                                     minutes=45, intervention_code="drumming_improvisation")
    db_session.commit()
    web_browser.log_in("ana")
    return web_browser, ana, record, session


def _events():
    rows = []
    for k in range(40):
        rows.append({"t": 1.0 + 0.5 * k, "d": 0.2, "p": 60 + k % 5, "v": 90, "who": "therapist"})
        if k % 2 == 0:
            rows.append({"t": 1.1 + 0.5 * k, "d": 0.2, "p": 67, "v": 50, "who": "client"})
    return rows


def test_upload_store_and_read_the_take(db_session, web_browser, make_therapist, duet_midi):
    from cadenza.clinic import service
    from cadenza.tools.improv.records import ImprovTake

    browser, ana, record, session = _setup(db_session, web_browser, make_therapist)
    page = browser.get(f"/clients/{record.id}/improv?session_id={session.id}")
    assert page.status_code == 200 and "Analyse a MIDI file" in page.text and "adjunct, not a cure" in page.text
    token = browser.csrf(f"/clients/{record.id}/improv")
    response = browser.post(f"/clients/{record.id}/improv", data={"csrf_token": token, "session_id": str(session.id)},
                            files={"midi": ("duet.mid", duet_midi.read_bytes(), "audio/midi")})
    assert response.status_code == 303, response.text
    take = db_session.scalars(select(ImprovTake)).one()
    assert response.headers["location"] == f"/clients/{record.id}/improv/takes/{take.id}"
    assert take.players == ["therapist", "client"] and take.client_player == "client" and len(take.notes) == 72
    lag = service.list_measurements(db_session, actor=ana, client_id=record.id, instrument_code="improv_client_lag_ms")
    assert [m.value for m in lag] == [80.0]
    shown = browser.get(response.headers["location"])
    assert shown.status_code == 200 and "<svg" in shown.text and 'id="improv-duet"' in shown.text
    assert "Lag of client behind therapist" in shown.text and ">80<" in shown.text


def test_web_midi_capture_is_analysed_without_storing(db_session, web_browser, make_therapist):
    browser, _, record, _ = _setup(db_session, web_browser, make_therapist)
    page = browser.get(f"/clients/{record.id}/improv/capture")
    assert page.status_code == 200 and '<script src="/improv/capture.js"' in page.text
    assert browser.get("/improv/capture.js").status_code == 200
    token = browser.csrf(f"/clients/{record.id}/improv/capture")
    response = browser.post(f"/clients/{record.id}/improv/capture",
                            data={"csrf_token": token, "events": json.dumps(_events())})
    assert response.status_code == 200 and "<svg" in response.text and "not stored" in response.text
    assert "Lag of client behind therapist" in response.text


HOSTILE = [
    ("not json", "events is not valid JSON"),
    (json.dumps([{"t": "x", "d": 0.1, "p": 60, "v": 80, "who": "client"}]), "events[0].t must be a number"),
    (json.dumps([{"t": 1.0, "d": 0.1, "p": 60, "v": 80, "who": "<script>alert(1)</script>" * 5}]), "events[0].who"),
    (json.dumps([{"t": 1.0, "d": 0.1, "p": 300, "v": 80, "who": "client"}]), "pitches must be MIDI note numbers"),
    (json.dumps({"t": 1.0}), "events must be a list of notes"),
]


def test_hostile_or_broken_captures_are_form_errors_and_store_nothing(db_session, web_browser, make_therapist):
    from cadenza.tools.improv.records import ImprovTake

    browser, _, record, session = _setup(db_session, web_browser, make_therapist)
    token = browser.csrf(f"/clients/{record.id}/improv/capture")
    for events, message in HOSTILE:
        response = browser.post(f"/clients/{record.id}/improv/capture",
                                data={"csrf_token": token, "events": events, "session_id": str(session.id)})
        assert response.status_code == 422 and message[:30] in response.text, message
        assert "<script>alert" not in response.text
    assert db_session.scalars(select(ImprovTake)).first() is None


def test_another_therapists_client_and_take_are_not_found(db_session, web_browser, make_therapist, duet_midi):
    browser, _, record, session = _setup(db_session, web_browser, make_therapist)
    token = browser.csrf(f"/clients/{record.id}/improv")
    taken = browser.post(f"/clients/{record.id}/improv", data={"csrf_token": token, "session_id": str(session.id)},
                         files={"midi": ("duet.mid", duet_midi.read_bytes(), "audio/midi")})
    make_therapist("bo")
    browser.post("/logout", data={"csrf_token": browser.csrf("/")})
    browser.log_in("bo")
    assert browser.get(f"/clients/{record.id}/improv").status_code == 404
    assert browser.get(taken.headers["location"]).status_code == 404


def test_corrupt_upload_is_a_form_error(db_session, web_browser, make_therapist):
    browser, _, record, _ = _setup(db_session, web_browser, make_therapist)
    token = browser.csrf(f"/clients/{record.id}/improv")
    response = browser.post(f"/clients/{record.id}/improv", data={"csrf_token": token},
                            files={"midi": ("x.mid", b"MThd\x00\x00\x00\x06garbage", "audio/midi")})
    assert response.status_code == 422 and "cannot read MIDI file" in response.text


def test_a_signed_session_takes_no_take(db_session, web_browser, make_therapist, duet_midi):
    from cadenza.clinic import service
    from cadenza.tools.improv.records import ImprovTake

    browser, ana, record, session = _setup(db_session, web_browser, make_therapist)
    service.sign_session(db_session, actor=ana, session_id=session.id, expected_version=session.version)
    db_session.commit()
    token = browser.csrf(f"/clients/{record.id}/improv")
    response = browser.post(f"/clients/{record.id}/improv", data={"csrf_token": token, "session_id": str(session.id)},
                            files={"midi": ("duet.mid", duet_midi.read_bytes(), "audio/midi")})
    assert response.status_code == 409 and "signed" in response.text
    assert db_session.scalars(select(ImprovTake)).first() is None
