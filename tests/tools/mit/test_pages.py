"""MIT pages: phrase bank, playable cues (never autoplay), attempt upload and analysis."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from cadenza.clinic import passwords, service
from cadenza.clinic.db import make_session_factory
from cadenza.clinic.models import Therapist
from cadenza.io.speech import encode_wav_bytes, espeak_available, prepare_cue_material
from cadenza.mit.cues import render_model
from cadenza.mit.levels import Model
from cadenza.settings import Settings
from cadenza.tools.mit import records as mit_records
from cadenza.web.main import create_app

PASSWORD = "violin-harbour-sunrise-7"
needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")


@pytest.fixture
def web_client(db_session, tmp_path):
    factory = make_session_factory(db_session.bind, join_transaction_mode="create_savepoint")
    app = create_app(Settings(database_url="sqlite://", data_dir=tmp_path), session_factory=factory)
    ann = Therapist(username="ann", password_hash=passwords.hash_password(PASSWORD), role="therapist", active=True)
    db_session.add(ann)
    db_session.commit()
    with TestClient(app, follow_redirects=False) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        response = client.post("/login", data={"username": "ann", "password": PASSWORD, "csrf_token": token,
                                               "next": "/"})
        assert response.status_code == 303, response.text
        yield client, ann


def _csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_phrase_bank_page_add_and_errors(web_client, db_session):
    client, ann = web_client
    record = service.create_client(db_session, actor=ann, code="C9", safety_flags=["seizures"])
    db_session.commit()
    path = f"/clients/{record.id}/mit"
    page = client.get(path)
    assert page.status_code == 200 and "No phrases yet" in page.text and "Seizures" in page.text
    token = _csrf(client, path)
    response = client.post(f"{path}/phrases", data={"text": "I need help", "level": "1", "csrf_token": token})
    assert response.status_code == 303
    page = client.get(path)
    assert "I need help" in page.text and "LHH" in page.text
    assert "<pre" in page.text and "A2" in page.text and "NEED" in page.text  # the score as text
    assert "<audio controls" in page.text and "autoplay" not in page.text
    assert "convention" in page.text
    duplicate = client.post(f"{path}/phrases", data={"text": "I need help", "level": "1", "csrf_token": token})
    assert duplicate.status_code == 422 and "already" in duplicate.text
    no_csrf = client.post(f"{path}/phrases", data={"text": "Hello", "level": "1"})
    assert no_csrf.status_code == 403


@needs_espeak
def test_cue_audio_and_attempt_analysis(web_client, db_session):
    client, ann = web_client
    record = service.create_client(db_session, actor=ann, code="C10")
    phrase = mit_records.add_phrase(db_session, actor=ann, client_id=record.id, text="I need help")
    session_row = service.record_session(db_session, actor=ann, client_id=record.id,
                                         session_date=__import__("datetime").date(2026, 11, 25), minutes=30,
                                         intervention_code="mit")
    db_session.commit()
    base = f"/clients/{record.id}/mit"
    cue = client.get(f"{base}/phrases/{phrase.id}/cue.wav", params={"level": 1, "step": "humming"})
    assert cue.status_code == 200 and cue.headers["content-type"] == "audio/wav" and cue.content[:4] == b"RIFF"
    bad = client.get(f"{base}/phrases/{phrase.id}/cue.wav", params={"level": 2, "step": "humming"})
    assert bad.status_code == 422
    material = prepare_cue_material("I need help", question=None)
    y, _, _ = render_model(material, Model.INTONED, level=1)
    wav = encode_wav_bytes(y, sampling_rate_hz=material.sampling_rate_hz)
    token = _csrf(client, base)
    response = client.post(f"{base}/attempts", data={"phrase_id": str(phrase.id), "level": "1",
                                                     "session_id": str(session_row.id), "csrf_token": token},
                           files={"attempt": ("attempt.wav", wav, "audio/wav")})
    assert response.status_code == 200, response.text
    assert "Timing match <strong>100 %" in response.text and "followed" in response.text
    assert len(mit_records.list_attempts(db_session, actor=ann, session_id=session_row.id)) == 1
    junk = client.post(f"{base}/attempts", data={"phrase_id": str(phrase.id), "level": "1", "csrf_token": token},
                       files={"attempt": ("attempt.wav", b"not audio", "audio/wav")})
    assert junk.status_code == 422


def test_other_therapists_client_is_404(web_client, db_session):
    client, _ = web_client
    bob = Therapist(username="bob", password_hash="x", role="therapist", active=True)
    db_session.add(bob)
    db_session.flush()
    record = service.create_client(db_session, actor=bob, code="B1")
    db_session.commit()
    assert client.get(f"/clients/{record.id}/mit").status_code == 404


def test_instrumental_music_is_no_attempt_and_is_not_stored(web_client, db_session, shared_data):
    # clinic-day walk-through problem 10: a 30-s instrumental excerpt scored "Timing match 100 %"
    client, ann = web_client
    record = service.create_client(db_session, actor=ann, code="C11")
    phrase = mit_records.add_phrase(db_session, actor=ann, client_id=record.id, text="I want water")
    session_row = service.record_session(db_session, actor=ann, client_id=record.id,
                                         session_date=__import__("datetime").date(2026, 11, 25), minutes=30,
                                         intervention_code="mit")
    db_session.commit()
    base = f"/clients/{record.id}/mit"
    from cadenza.io.audio import load_audio

    audio = load_audio(shared_data("music", "audio") / "dev010.flac", mono=True)
    music = encode_wav_bytes(audio.samples[: 10 * audio.sampling_rate_hz], sampling_rate_hz=audio.sampling_rate_hz)
    response = client.post(f"{base}/attempts", data={"phrase_id": str(phrase.id), "level": "1",
                                                     "session_id": str(session_row.id), "csrf_token": _csrf(client, base)},
                           files={"attempt": ("dev010.wav", music, "audio/wav")})
    assert response.status_code == 422
    assert "No attempt found" in response.text and "Timing match" not in response.text
    assert mit_records.list_attempts(db_session, actor=ann, session_id=session_row.id) == []


def test_a_phrase_of_another_client_is_404_like_a_missing_one(web_client, db_session):
    """Before the move to tools/mit this was a 422 ("not in client's phrase bank"); the page now reaches the
    phrase through the authorised client (``clinic.access.child_of``), so another client's phrase and a
    missing one get the same 404."""
    client, ann = web_client
    mine = service.create_client(db_session, actor=ann, code="C12")
    other = service.create_client(db_session, actor=ann, code="C13")
    foreign = mit_records.add_phrase(db_session, actor=ann, client_id=other.id, text="I need help")
    db_session.commit()
    base = f"/clients/{mine.id}/mit"
    for phrase_id in (foreign.id, foreign.id + 1000):
        cue = client.get(f"{base}/phrases/{phrase_id}/cue.wav", params={"level": 1, "step": "humming"})
        assert cue.status_code == 404
        upload = client.post(f"{base}/attempts", data={"phrase_id": str(phrase_id), "level": "1",
                                                        "csrf_token": _csrf(client, base)},
                             files={"attempt": ("attempt.wav", b"RIFF", "audio/wav")})
        assert upload.status_code == 404


def test_the_page_authorises_the_client_once(web_client, db_session, monkeypatch):
    """The MIT page used to authorise the same client 6 times (client, phrases, advancement per level,
    sessions); it now loads the client once and passes it down (one audit row per view, as before)."""
    from cadenza.clinic import service as service_module

    client, ann = web_client
    record = service.create_client(db_session, actor=ann, code="C14")
    mit_records.add_phrase(db_session, actor=ann, client_id=record.id, text="I need help")
    db_session.commit()
    calls = []
    authorise = service_module.get_client_for_actor
    monkeypatch.setattr(service_module, "get_client_for_actor",
                        lambda *args, **kwargs: calls.append(kwargs.get("client_id")) or authorise(*args, **kwargs))
    assert client.get(f"/clients/{record.id}/mit").status_code == 200
    assert calls == [record.id]
