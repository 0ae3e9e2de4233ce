"""The live tool through the web: starting a walk, the WebSocket's one authorisation, batches and replies,
re-sent batches taken once, hostile input refused by name, and the outcomes stored on the session; the
person's own song as the cue (the picker, the choice kept with the walk, and the song's endpoint: the goal
tempo, the listener's level cap, the right people only, clear refusals)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import numpy as np
import pytest
import soundfile
from starlette.websockets import WebSocketDisconnect

from cadenza.clinic import listening, service
from cadenza.render.levels import measure_levels
from cadenza.tools.live import actions, records

ORIGIN = {"origin": "http://testserver"}
RATE_HZ = 60.0


def batches(times_ms: np.ndarray, acc: np.ndarray, *, per_batch: int = 6, first_seq: int = 0):
    for j, i in enumerate(range(0, times_ms.size, per_batch)):
        yield {"seq": first_seq + j, "t_ms": times_ms[i:i + per_batch].tolist(),
               "acc": acc[:, i:i + per_batch].tolist()}


@pytest.fixture
def walk(rng, make_lower_back, make_walk):
    ic = make_walk(start_s=1.0, n_steps=32, step_s=0.545, rng=rng)
    acc = make_lower_back(ic, duration_s=19.0, sampling_rate_hz=RATE_HZ, rng=rng)
    return 1000.0 + np.arange(acc.shape[-1]) / RATE_HZ * 1000.0, acc, ic


@pytest.fixture
def started(logged_in, nurse, db_session):
    client = service.create_client(db_session, actor=nurse, code="live.1")
    session_row = service.record_session(db_session, actor=nurse, client_id=client.id, session_date=dt.date(2026, 12, 1),
                                         minutes=30, intervention_code="ras_gait_training")
    db_session.commit()
    page = logged_in.get(f"/clients/{client.id}/live")
    assert page.status_code == 200 and "adjunct" in page.text and "Thaut" in page.text
    assert "Trouser pocket (thigh)" in page.text and "0.64 / 0.92" in page.text  # the placements and their figures
    form = {"csrf_token": logged_in.csrf(f"/clients/{client.id}/live"), "preferred_cadence_spm": "110",
            "increase_percent": "7", "placement": "lower-back", "session_id": str(session_row.id)}
    response = logged_in.post(f"/clients/{client.id}/live", data=form)
    assert response.status_code == 303, response.text
    walk_id = int(response.headers["location"].rsplit("/", 1)[1])
    page = logged_in.get(response.headers["location"])
    assert 'data-ws="/live/ws/%d"' % walk_id in page.text and "/live/live.js" in page.text
    yield logged_in, client, session_row, walk_id
    actions.RUNNING.pop(walk_id, None)


def test_a_walk_streams_steps_and_beats_and_stores_its_outcomes(started, walk, db_session):
    browser, client, session_row, walk_id = started
    times_ms, acc, ic = walk
    replies = []
    with browser.websocket_connect(f"/live/ws/{walk_id}", headers=ORIGIN) as ws:
        for batch in batches(times_ms, acc):
            ws.send_text(json.dumps(batch))
            replies.append(ws.receive_json())
            if batch["seq"] == 100:  # the connection drops: the phone re-sends two batches it holds
                for again in list(batches(times_ms, acc))[99:101]:
                    ws.send_text(json.dumps(again))
                    assert ws.receive_json()["duplicate"] is True
        ws.send_text(json.dumps({"type": "end"}))
        closed = ws.receive_json()
    assert [r["ack"] for r in replies] == list(range(len(replies)))
    steps_s = np.asarray([s for r in replies for s in r["steps_ms"]] + [], float) / 1000.0 - 1.0
    beats_ms = [b for r in replies for b in r["beats_ms"]]
    # Beats are in the device's clock, ahead of the newest sample, and near the goal tempo of 110 * 1.07.
    assert beats_ms and all(b >= r["release_ms"] for r in replies for b in r["beats_ms"])
    assert 100 <= 60000 / np.median(np.diff(beats_ms)) <= 125
    assert np.abs(steps_s[:, None] - ic[None, :]).min(axis=1).max() < 0.03  # each step is a real one
    assert closed["closed"] and closed["summary"]["n_steps"] >= 28
    assert set(closed["stored"]) >= {"cadence", "ras_sync_r", "live_freeze_count"}
    db_session.expire_all()
    row = db_session.get(records.LiveCueWalk, walk_id)
    assert row.ended_at is not None and len(row.step_times_s) == closed["summary"]["n_steps"]
    assert abs(row.step_times_s[0] - (steps_s[0] + 1.0 - 1.0)) < 0.05  # seconds from the first sample
    codes = {m.instrument_code for m in service.get_session(db_session, actor=_owner(db_session, row),
                                                             session_id=session_row.id).measurements}
    assert {"cadence", "live_freeze_count", "live_time_frozen_s"} <= codes
    with pytest.raises(WebSocketDisconnect):  # an ended walk takes no more samples
        with browser.websocket_connect(f"/live/ws/{walk_id}", headers=ORIGIN) as ws:
            ws.receive_json()


def _owner(db, row):
    from cadenza.clinic.models import Therapist

    return db.get(Therapist, row.therapist_id)


def test_the_newest_socket_owns_the_walk_and_the_older_one_is_told(started, walk, db_session):
    browser, _, _, walk_id = started
    times_ms, acc, _ = walk
    sent = list(batches(times_ms, acc))
    with browser.websocket_connect(f"/live/ws/{walk_id}", headers=ORIGIN) as old:
        for batch in sent[:20]:
            old.send_text(json.dumps(batch))
            assert old.receive_json()["ack"] == batch["seq"]
        # The phone reconnects (the old socket is not gone yet): the new socket wins with its first batch.
        with browser.websocket_connect(f"/live/ws/{walk_id}", headers=ORIGIN) as new:
            new.send_text(json.dumps(sent[20]))
            assert new.receive_json()["ack"] == 20
            with pytest.raises(WebSocketDisconnect) as closed:
                old.receive_json()
            assert closed.value.code == actions.SUPERSEDED_CLOSE_CODE and "newer connection" in closed.value.reason
            for batch in sent[21:40]:
                new.send_text(json.dumps(batch))
                reply = new.receive_json()
                assert reply["ack"] == batch["seq"] and not reply.get("duplicate")
            new.send_text(json.dumps({"type": "end"}))
            assert new.receive_json()["closed"]
    db_session.expire_all()
    row = db_session.get(records.LiveCueWalk, walk_id)
    assert row.socket_lease == 2 and row.last_seq == 39 and row.ended_at is not None


def test_a_superseded_socket_takes_nothing_and_never_saves(started, walk, db_session):
    browser, _, _, walk_id = started
    times_ms, acc, _ = walk
    sent = list(batches(times_ms, acc))
    with browser.websocket_connect(f"/live/ws/{walk_id}", headers=ORIGIN) as ws:
        ws.send_text(json.dumps(sent[0]))
        assert ws.receive_json()["ack"] == 0
        # Another process's socket took the walk (its lease is on the row); this process has not heard of it.
        row = db_session.get(records.LiveCueWalk, walk_id)
        row.socket_lease += 1
        db_session.commit()
        running = actions.RUNNING[walk_id]
        running.saved_at -= actions.SAVE_EVERY_S  # a save is due now
        with pytest.raises(WebSocketDisconnect) as closed:
            for batch in sent[1:40]:  # found out at the next lease check or save, whichever comes first
                ws.send_text(json.dumps(batch))
                ws.receive_json()
        assert closed.value.code == actions.SUPERSEDED_CLOSE_CODE
    db_session.expire_all()
    row = db_session.get(records.LiveCueWalk, walk_id)
    assert row.last_seq < 1 and row.ended_at is None  # the older socket saved nothing and ended nothing
    assert walk_id not in actions.RUNNING  # its copy is dropped: the row is the walk now


def test_hostile_batches_are_refused_by_name_and_lose_nothing(started):
    browser, _, _, walk_id = started
    bad = [
        ("not json", "must be JSON"),
        (json.dumps([1, 2]), "JSON object"),
        (json.dumps({"seq": -1, "t_ms": [], "acc": [[], [], []]}), "seq"),
        (json.dumps({"seq": 0, "t_ms": [1.0, 0.5], "acc": [[9.8, 9.8], [0, 0], [0, 0]]}), "strictly increasing"),
        (json.dumps({"seq": 0, "t_ms": [1.0], "acc": [[9.8], [0]]}), "three lists"),
        (json.dumps({"seq": 0, "t_ms": [1.0], "acc": [[9810.0], [0], [0]]}), "m/s\\^2"),
        (json.dumps({"seq": 0, "t_ms": ["x"], "acc": [[1], [0], [0]]}), "numbers"),
        (json.dumps({"seq": 0, "t_ms": [1.0] * 3000, "acc": [[1] * 3000] * 3}), "at most 2000"),
    ]
    with browser.websocket_connect(f"/live/ws/{walk_id}", headers=ORIGIN) as ws:
        for text, message in bad:
            ws.send_text(text)
            reply = ws.receive_json()
            assert "error" in reply and __import__("re").search(message, reply["error"]), (text[:40], reply)
        ws.send_text(json.dumps({"seq": 0, "t_ms": [1.0, 2.0], "acc": [[9.8, 9.8], [0, 0], [0, 0]]}))
        assert ws.receive_json()["ack"] == 0  # the walk was not harmed


def test_the_socket_is_authorised_once_for_the_right_people(started, web_app, make_therapist, phone, db_session):
    from fastapi.testclient import TestClient

    browser, client, _, walk_id = started
    for headers in ({}, {"origin": "http://evil.example"}):  # another site's page cannot open it
        with pytest.raises(WebSocketDisconnect):
            with browser.websocket_connect(f"/live/ws/{walk_id}", headers=headers) as ws:
                ws.receive_json()
    with TestClient(web_app) as stranger, pytest.raises(WebSocketDisconnect):  # no login
        with stranger.websocket_connect(f"/live/ws/{walk_id}", headers=ORIGIN) as ws:
            ws.receive_json()
    other = make_therapist("other")
    mine = service.create_client(db_session, actor=other, code="other.1")
    db_session.commit()
    # The client's own phone may not join the therapist's walk; it starts its own at /me/live.
    device = phone(_owner_of(db_session, client), client)
    with pytest.raises(WebSocketDisconnect):
        with device.websocket_connect(f"/live/ws/{walk_id}", headers=ORIGIN) as ws:
            ws.receive_json()
    form = {"csrf_token": device.device_csrf, "preferred_cadence_spm": "100", "increase_percent": "5",
            "placement": "thigh"}
    assert device.get("/me/live").status_code == 200
    response = device.post("/me/live", data=form)
    assert response.status_code == 303, response.text
    own = int(response.headers["location"].rsplit("/", 1)[1])
    with device.websocket_connect(f"/live/ws/{own}", headers=ORIGIN) as ws:
        ws.send_text(json.dumps({"seq": 0, "t_ms": [5.0, 21.0], "acc": [[0, 0], [9.8, 9.8], [0, 0]]}))
        assert ws.receive_json()["ack"] == 0
        ws.send_text(json.dumps({"type": "end"}))
        assert ws.receive_json()["closed"] is True
    actions.RUNNING.pop(own, None)
    assert device.get(f"/me/live/{walk_id}").status_code == 404  # the therapist's walk is not the device's
    assert device.get(f"/me/live/{own}").status_code == 200
    # The therapist's page lists the person's walk; another therapist cannot open either walk.
    assert browser.get(f"/clients/{client.id}/live").text.count("<tr>") >= 2
    assert browser.post(f"/clients/{mine.id}/live", data={"csrf_token": browser.csrf(f"/clients/{client.id}/live"),
                        "preferred_cadence_spm": "100", "increase_percent": "5",
                        "placement": "thigh"}).status_code == 404
    response = browser.post(f"/clients/{client.id}/live", data={
        "csrf_token": browser.csrf(f"/clients/{client.id}/live"), "preferred_cadence_spm": "100",
        "increase_percent": "25", "placement": "thigh"})
    assert response.status_code == 422 and "increase_percent must be within 0-10" in response.text


def _owner_of(db, client):
    from cadenza.clinic.models import Therapist

    return db.get(Therapist, client.therapist_id)


def test_the_cue_is_capped_at_the_listeners_level(logged_in, nurse, db_session):
    import re

    caps = {}
    for code, flags in (("plain.1", []), ("hearing.1", ["hearing_loss"])):
        client = service.create_client(db_session, actor=nurse, code=code, safety_flags=flags)
        db_session.commit()
        response = logged_in.post(f"/clients/{client.id}/live", data={
            "csrf_token": logged_in.csrf(f"/clients/{client.id}/live"), "preferred_cadence_spm": "100",
            "increase_percent": "5", "placement": "thigh"})
        page = logged_in.get(response.headers["location"]).text
        caps[code] = float(re.search(r'data-gain-cap="([0-9.]+)"', page)[1])
    assert 0 < caps["hearing.1"] < caps["plain.1"] <= 1


def test_the_persons_app_links_the_live_walk(phone, nurse, db_session):
    client = service.create_client(db_session, actor=nurse, code="walker.me")
    db_session.commit()
    device = phone(nurse, client)
    assert 'href="/me/live"' in device.get("/me").text


def test_a_persons_walk_goes_on_a_session_and_an_abandoned_walk_is_ended(logged_in, nurse, phone, db_session):
    client = service.create_client(db_session, actor=nurse, code="walker.2")
    session_row = service.record_session(db_session, actor=nurse, client_id=client.id, session_date=dt.date(2026, 12, 1),
                                         minutes=30, intervention_code="ras_gait_training")
    db_session.commit()
    device = phone(nurse, client)
    response = device.post("/me/live", data={"csrf_token": device.device_csrf, "preferred_cadence_spm": "100",
                                             "increase_percent": "5", "placement": "thigh"})
    walk_id = int(response.headers["location"].rsplit("/", 1)[1])
    with device.websocket_connect(f"/live/ws/{walk_id}", headers=ORIGIN) as ws:
        ws.send_text(json.dumps({"seq": 0, "t_ms": [5.0, 21.0], "acc": [[0, 0], [9.8, 9.8], [0, 0]]}))
        ws.receive_json()  # the phone is put away without ending the walk
    page = f"/clients/{client.id}/live"
    csrf = logged_in.csrf(page)
    attach = {"csrf_token": csrf, "session_id": str(session_row.id)}
    assert logged_in.post(f"{page}/{walk_id}/session", data=attach).status_code == 422  # still running
    assert logged_in.post(f"{page}/{walk_id}/end", data={"csrf_token": csrf}).status_code == 303
    assert walk_id not in actions.RUNNING
    assert logged_in.post(f"{page}/{walk_id}/session", data=attach).status_code == 303
    db_session.expire_all()
    codes = {m.instrument_code for m in service.get_session(db_session, actor=nurse, session_id=session_row.id).measurements}
    assert {"live_freeze_count", "live_time_frozen_s"} <= codes
    again = logged_in.post(f"{page}/{walk_id}/session", data=attach)
    assert again.status_code == 422 and "already on session" in again.text
    assert logged_in.post(f"{page}/{walk_id}/end", data={}).status_code == 403  # no CSRF token


# --- the person's own song as the cue ---------------------------------------------------------------


def _start(browser, client_id: int, **extra) -> object:
    return browser.post(f"/clients/{client_id}/live", data={
        "csrf_token": browser.csrf(f"/clients/{client_id}/live"), "preferred_cadence_spm": "100",
        "increase_percent": "5", "placement": "lower-back", **extra})


def test_a_walk_cued_with_the_clients_song(logged_in, nurse, db_session, add_song, monkeypatch):
    plain = service.create_client(db_session, actor=nurse, code="song.1")
    careful = service.create_client(db_session, actor=nurse, code="song.2", safety_flags=["hearing_loss"])
    db_session.commit()
    song = add_song(db_session, plain.id, tempo_bpm=96.0, title="Walking song")
    beatless = add_song(db_session, plain.id, beats=[], title="No beat found")
    halved = add_song(db_session, careful.id, tempo_bpm=96.0, tempo_corrected_bpm=48.0)  # the therapist halved it
    page = logged_in.get(f"/clients/{plain.id}/live").text
    # The picker offers clicks and the songs with stored beats only.
    assert f'value="{song}"' in page and f'value="{beatless}"' not in page and "Clicks" in page
    assert "adjunct" in page and "Thaut" in page

    response = _start(logged_in, plain.id, music_track_id=str(beatless))
    assert response.status_code == 422 and "has 0 stored beats" in response.text
    response = _start(logged_in, plain.id, music_track_id=str(halved))  # another client's song
    assert response.status_code == 422 and "no such library track" in response.text
    response = _start(logged_in, plain.id, music_track_id=str(song))
    assert response.status_code == 303, response.text
    walk_id = int(response.headers["location"].rsplit("/", 1)[1])
    walk_page = logged_in.get(response.headers["location"]).text
    assert f'data-music="/clients/{plain.id}/live/{walk_id}/music.wav"' in walk_page

    audio = logged_in.get(f"/clients/{plain.id}/live/{walk_id}/music.wav")
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    beats = np.array([float(b) for b in audio.headers["x-cadenza-beat-times-s"].split(",")])
    samples, rate = soundfile.read(io.BytesIO(audio.content), dtype="float32")
    assert np.allclose(np.diff(beats), 60 / 105.0, atol=2e-6)  # the goal tempo, 100 * 1.05
    assert abs(samples.shape[0] / rate - beats[-1]) < 1e-3
    found = listening.listener_of(db_session, client=plain)
    level = measure_levels(samples, sampling_rate_hz=rate, level_offset_db=found.calibration.level_offset_db)
    assert level.leq_dba <= found.policy.max_level_dba + 0.1
    # Rendered once: the render and the capped WAV are kept by content key under the data directory, and the
    # next fetch is read from there (nothing is rendered again).
    cache = logged_in.app.state.settings.data_dir / "live_music"
    assert len(list(cache.glob("*.npz"))) == 2
    import cadenza.ras.live_music as live_music

    def no_render(*args, **kwargs):
        raise AssertionError("the song was rendered again")

    monkeypatch.setattr(live_music, "render_live_music", no_render)
    again = logged_in.get(f"/clients/{plain.id}/live/{walk_id}/music.wav")
    assert again.content == audio.content and again.headers["x-cadenza-beat-times-s"] == audio.headers["x-cadenza-beat-times-s"]
    monkeypatch.undo()

    # The tempo correction is used: the halved song is stepped on every other analysed beat, stretched 105/48.
    response = _start(logged_in, careful.id, music_track_id=str(halved))
    careful_walk = int(response.headers["location"].rsplit("/", 1)[1])
    audio = logged_in.get(f"/clients/{careful.id}/live/{careful_walk}/music.wav")
    loud, rate = soundfile.read(io.BytesIO(audio.content), dtype="float32")
    halved_beats = audio.headers["x-cadenza-beat-times-s"].split(",")
    assert abs(len(halved_beats) - (beats.size + 1) / 2) <= 1  # every other beat of the same song
    strict = listening.listener_of(db_session, client=careful)
    assert strict.policy.max_level_dba < found.policy.max_level_dba
    level = measure_levels(loud, sampling_rate_hz=rate, level_offset_db=strict.calibration.level_offset_db)
    assert level.leq_dba <= strict.policy.max_level_dba + 0.1

    # A song file that became unreadable, or whose beats were lost since the walk started, is refused with the
    # reason, and the walk is unharmed.
    from pathlib import Path

    from cadenza.tools.library.records import LibraryTrack

    track = db_session.get(LibraryTrack, song)
    good = Path(track.path).read_bytes()
    Path(track.path).write_bytes(b"RIFF\x00\x00not audio")
    refused = logged_in.get(f"/clients/{plain.id}/live/{walk_id}/music.wav")
    assert refused.status_code == 422 and "cannot decode audio file" in refused.text
    Path(track.path).write_bytes(good)
    track.beat_times_s = [1.0, 2.0]
    db_session.commit()
    refused = logged_in.get(f"/clients/{plain.id}/live/{walk_id}/music.wav")
    assert refused.status_code == 422 and "has 2 stored beats" in refused.text
    # The choice is kept with the walk's outcome.
    assert logged_in.post(f"/clients/{plain.id}/live/{walk_id}/end",
                          data={"csrf_token": logged_in.csrf(f"/clients/{plain.id}/live")}).status_code == 303
    db_session.expire_all()
    row = db_session.get(records.LiveCueWalk, walk_id)
    assert row.music_track_id == song and row.summary["music_track_id"] == song
    walks = logged_in.get(f"/clients/{plain.id}/live").text  # the song has too few beats now: its id is shown
    assert "song %d" % song in walks and "<td>clicks</td>" not in walks
    actions.RUNNING.pop(careful_walk, None)


def test_only_the_right_people_get_the_song(logged_in, nurse, make_therapist, phone, db_session, add_song):
    client = service.create_client(db_session, actor=nurse, code="song.3")
    db_session.commit()
    song = add_song(db_session, client.id)
    walk_id = int(_start(logged_in, client.id, music_track_id=str(song)).headers["location"].rsplit("/", 1)[1])
    clicks = int(_start(logged_in, client.id).headers["location"].rsplit("/", 1)[1])
    walks = logged_in.get(f"/clients/{client.id}/live").text
    assert "<td>Walking song</td>" in walks and "<td>clicks</td>" in walks  # the cue of each walk
    refused = logged_in.get(f"/clients/{client.id}/live/{clicks}/music.wav")
    assert refused.status_code == 422 and "cued with clicks" in refused.text

    # The person's phone: its own walk's song, within its cap; never the therapist's walk.
    device = phone(nurse, client)
    page = device.get("/me/live").text
    assert f'value="{song}"' in page
    response = device.post("/me/live", data={"csrf_token": device.device_csrf, "preferred_cadence_spm": "100",
                                             "increase_percent": "5", "placement": "thigh",
                                             "music_track_id": str(song)})
    assert response.status_code == 303, response.text
    own = int(response.headers["location"].rsplit("/", 1)[1])
    assert re.search(rf'data-music="/me/live/{own}/music.wav"', device.get(f"/me/live/{own}").text)
    assert device.get(f"/me/live/{own}/music.wav").status_code == 200
    assert device.get(f"/me/live/{walk_id}/music.wav").status_code == 404
    assert logged_in.get(f"/clients/{client.id}/live/{own}/music.wav").status_code == 200  # the therapist's client
    # Another therapist: not their client, so no such walk.
    make_therapist("other")
    assert logged_in.log_in("other").status_code in (302, 303)
    for path in (f"/clients/{client.id}/live/{walk_id}/music.wav", f"/clients/{client.id}/live/{own}/music.wav"):
        assert logged_in.get(path).status_code == 404
