"""The person's own song as the live cue, through the web: the picker, the choice kept with the walk, and the
song's endpoint (the goal tempo, the listener's level cap, the right people only, clear refusals)."""

from __future__ import annotations

import io
import re

import numpy as np
import soundfile

from cadenza.clinic import listening, service
from cadenza.render.levels import measure_levels
from cadenza.tools.live import actions, records


def _start(browser, client_id: int, **extra) -> object:
    return browser.post(f"/clients/{client_id}/live", data={
        "csrf_token": browser.csrf(f"/clients/{client_id}/live"), "preferred_cadence_spm": "100",
        "increase_percent": "5", "placement": "lower-back", **extra})


def test_a_walk_cued_with_the_clients_song(logged_in, nurse, db_session, add_song):
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

    # The tempo correction is used: the halved song is stepped on every other analysed beat, stretched 105/48.
    response = _start(logged_in, careful.id, music_track_id=str(halved))
    careful_walk = int(response.headers["location"].rsplit("/", 1)[1])
    audio = logged_in.get(f"/clients/{careful.id}/live/{careful_walk}/music.wav")
    loud, rate = soundfile.read(io.BytesIO(audio.content), dtype="float32")
    strict = listening.listener_of(db_session, client=careful)
    assert strict.policy.max_level_dba < found.policy.max_level_dba
    level = measure_levels(loud, sampling_rate_hz=rate, level_offset_db=strict.calibration.level_offset_db)
    assert level.leq_dba <= strict.policy.max_level_dba + 0.1

    # A song whose beats were lost since the walk started is refused with the reason, and the walk is unharmed.
    from cadenza.tools.library.records import LibraryTrack

    db_session.get(LibraryTrack, song).beat_times_s = [1.0, 2.0]
    db_session.commit()
    refused = logged_in.get(f"/clients/{plain.id}/live/{walk_id}/music.wav")
    assert refused.status_code == 422 and "has 2 stored beats" in refused.text
    # The choice is kept with the walk's outcome.
    assert logged_in.post(f"/clients/{plain.id}/live/{walk_id}/end",
                          data={"csrf_token": logged_in.csrf(f"/clients/{plain.id}/live")}).status_code == 303
    db_session.expire_all()
    row = db_session.get(records.LiveCueWalk, walk_id)
    assert row.music_track_id == song and row.summary["music_track_id"] == song
    assert "song %d" % song in logged_in.get(f"/clients/{plain.id}/live").text
    actions.RUNNING.pop(careful_walk, None)


def test_only_the_right_people_get_the_song(logged_in, nurse, make_therapist, phone, db_session, add_song):
    client = service.create_client(db_session, actor=nurse, code="song.3")
    db_session.commit()
    song = add_song(db_session, client.id)
    walk_id = int(_start(logged_in, client.id, music_track_id=str(song)).headers["location"].rsplit("/", 1)[1])
    clicks = int(_start(logged_in, client.id).headers["location"].rsplit("/", 1)[1])
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
