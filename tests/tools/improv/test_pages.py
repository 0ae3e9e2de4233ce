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
    (json.dumps([{"t": 1.0, "d": 0.1, "p": 38, "v": 80, "who": "client", "c": 16}]), "events[0].c must be a MIDI channel"),
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
    assert "x.mid" in response.text and "cadenza-upload" not in response.text  # the upload's name, not a temp path


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


def _many_notes_midi(n_notes: int) -> bytes:
    import io

    import mido

    track = mido.MidiTrack()
    for k in range(n_notes):
        track.append(mido.Message("note_on", note=36 + k % 40, velocity=90, time=1))
        track.append(mido.Message("note_off", note=36 + k % 40, velocity=0, time=1))
    out = io.BytesIO()
    mido.MidiFile(tracks=[track]).save(file=out)
    return out.getvalue()


def test_uploads_are_parsed_and_analysed_in_the_limited_child(duet_midi):
    from cadenza.errors import DataQualityError
    from cadenza.io.isolated import DecodeLimits
    from cadenza.tools.improv import actions

    in_process = actions.analyse_midi_file(duet_midi)
    isolated = actions.analyse_midi_upload(duet_midi.read_bytes(), name="duet.mid", limits=DecodeLimits())
    assert isolated.file == "duet.mid" and repr(isolated.report) == repr(in_process.report)  # NaN-safe
    packed = _many_notes_midi(150_000)  # under the page's 2 MB cap, far more notes than any real take
    assert len(packed) < 2 * 1024 * 1024
    with pytest.raises(DataQualityError, match="analysing 'packed.mid' took longer than 0.3 s"):
        actions.analyse_midi_upload(packed, name="packed.mid", limits=DecodeLimits(timeout_s=0.3))


def _wav_bytes(samples, rate_hz):
    import io

    import soundfile as sf

    out = io.BytesIO()
    sf.write(out, samples, rate_hz, format="WAV", subtype="PCM_16")
    return out.getvalue()


def _hits(onsets_s, rate_hz=16_000, total_s=6.0, f_hz=None):
    import numpy as np

    x = np.zeros(int(total_s * rate_hz))
    t = np.arange(int(0.2 * rate_hz)) / rate_hz
    envelope = np.minimum(1.0, t / 0.003) * np.exp(-t / 0.05) * np.minimum(1.0, (0.2 - t) / 0.02)
    rng = np.random.default_rng(3)
    for onset_s in onsets_s:
        sound = (np.sin(2 * np.pi * f_hz * t) if f_hz else rng.standard_normal(t.size)) * envelope * 0.5
        i = int(onset_s * rate_hz)
        x[i:i + t.size] += sound
    return x


def test_two_recordings_are_analysed_stored_and_a_bad_one_is_named(db_session, web_browser, make_therapist):
    from cadenza.tools.improv.records import ImprovTake

    browser, ana, record, session = _setup(db_session, web_browser, make_therapist)
    drum = _wav_bytes(_hits([0.5 + 0.5 * k for k in range(10)]), 16_000)
    echo = _wav_bytes(_hits([0.6 + 0.5 * k for k in range(10)]), 16_000)  # the client answers 100 ms later
    token = browser.csrf(f"/clients/{record.id}/improv")
    response = browser.post(f"/clients/{record.id}/improv/audio",
                            data={"csrf_token": token, "session_id": str(session.id), "player_1": "therapist",
                                  "kind_1": "drum", "player_2": "client", "kind_2": "drum"},
                            files={"audio_1": ("drum.wav", drum, "audio/wav"), "audio_2": ("echo.wav", echo, "audio/wav")})
    assert response.status_code == 303, response.text[-2000:]
    take = db_session.scalars(select(ImprovTake)).one()
    assert take.source == "audio_files" and take.players == ["therapist", "client"] and len(take.notes) == 20
    shown = browser.get(response.headers["location"])
    assert "Lag of client behind therapist" in shown.text and ">100<" in shown.text
    bad = browser.post(f"/clients/{record.id}/improv/audio", data={"csrf_token": token, "kind_1": "drum"},
                       files={"audio_1": ("broken.wav", b"RIFF\x00\x00garbage", "audio/wav")})
    assert bad.status_code == 422 and "broken.wav" in bad.text and "cadenza-upload" not in bad.text
    assert db_session.scalars(select(ImprovTake)).one().id == take.id  # nothing else stored
