"""The songwriting page: fit shown, saved, versions restored, exports served, bad input answered."""

from __future__ import annotations

from cadenza.clinic import service
from cadenza.songwriting.notation import parse_midi, parse_musicxml, read_midi, read_musicxml
from cadenza.tools.songs import records

LYRICS = "Walking slowly to the sea\nListen to the waves and me\nUp above the birds can fly\nLike a kite up in the sky\n" \
         "Walking slowly to the sea\nListen to the waves and me"


def _post(browser, path, data, page):
    return browser.post(path, data={"csrf_token": browser.csrf(page), **data})


def test_write_fit_save_restore_and_export(logged_in, db_session, nurse):
    client = service.create_client(db_session, actor=nurse, code="C020", birth_year=1980)
    db_session.commit()
    page = f"/clients/{client.id}/songs"
    shown = logged_in.get(page)
    assert shown.status_code == 200 and "adjunct to therapy, not a cure" in shown.text and "Twinkle" in shown.text
    form = {"title": "By the sea", "tune": "", "theme": "memory", "key": "F", "mode": "major", "tempo_bpm": "96",
            "beats_per_bar": "4", "progression": "I-V-vi-IV", "lyrics": LYRICS, "song_key": ""}
    fit = _post(logged_in, f"{page}/fit", form, page)
    assert fit.status_code == 200 and "WALK-ing SLOW-ly" in fit.text and "stressed ones on the beats" in fit.text
    assert _post(logged_in, f"{page}/fit", {**form, "progression": "I-IX"}, page).status_code == 422
    assert _post(logged_in, f"{page}/versions", form, page).status_code == 303
    song = records.client_songs(db_session, client=client)[0]
    second = _post(logged_in, f"{page}/versions", {**form, "tune": "twinkle", "song_key": song.song_key}, page)
    assert second.status_code == 303
    assert _post(logged_in, f"{page}/versions/{song.id}/restore", {}, page).status_code == 303
    history = records.song_history(db_session, client=client, song_key=song.song_key)
    assert [(v.version, v.tune, v.restored_from_version) for v in history] == [(3, None, 1), (2, "twinkle", None),
                                                                                (1, None, None)]
    newest = history[0].id
    mid = logged_in.get(f"{page}/versions/{newest}/export/mid")
    xml = logged_in.get(f"{page}/versions/{newest}/export/musicxml")
    assert mid.status_code == xml.status_code == 200
    assert parse_midi(mid.content) == parse_musicxml(xml.text) and len(parse_midi(mid.content)) == 42
    wav = logged_in.get(f"{page}/versions/{newest}/export/wav")
    assert wav.headers["content-type"] == "audio/wav" and wav.content[:4] == b"RIFF"
    assert logged_in.get(f"{page}/versions/{newest}/export/sung.doc").status_code == 422
    sheet = logged_in.get(f"{page}/versions/{newest}/export/html")
    assert "walk-" in sheet.text and "not a cure" in sheet.text and logged_in.get(f"{page}/sheet.css").status_code == 200
    edit = logged_in.get(f"{page}?version_id={history[1].id}")
    assert "Walking slowly" in edit.text and "Save as a new version" in edit.text
    rhymes = logged_in.get(f"{page}/rhymes", params={"word": "sea"})
    assert "bee" in rhymes.text and "key" in rhymes.text
    assert "Near rhymes" in rhymes.text and "sound): none" not in rhymes.text
    assert "most common words first" in rhymes.text


def test_bad_input_is_answered_and_nothing_is_saved(logged_in, db_session, nurse):
    client = service.create_client(db_session, actor=nurse, code="C021", birth_year=1980)
    other = service.create_client(db_session, actor=nurse, code="C022", birth_year=1981)
    theirs = records.save_version(db_session, actor=nurse, client=other, title="T", lines=["la la"],
                                  spec={"key": "C", "mode": "major", "tempo_bpm": 90.0, "beats_per_bar": 4,
                                        "progression": ["I"], "theme": "free"})
    db_session.commit()
    page = f"/clients/{client.id}/songs"
    base = {"title": "x", "tune": "twinkle", "theme": "free", "key": "C", "mode": "major", "tempo_bpm": "90",
            "beats_per_bar": "4", "progression": "I", "song_key": ""}
    wrong_count = _post(logged_in, f"{page}/versions", {**base, "lyrics": "one line only"}, page)
    assert wrong_count.status_code == 422 and "6 lines" in wrong_count.text
    hostile = _post(logged_in, f"{page}/versions", {**base, "tune": "", "lyrics": "<script>alert(1)</script>",
                                                    "tempo_bpm": "nan"}, page)
    assert hostile.status_code == 422 and "tempo_bpm" in hostile.text and "<script>alert" not in hostile.text
    assert records.client_songs(db_session, client=client) == []
    assert logged_in.get(f"{page}/versions/{theirs.id}/export/mid").status_code == 404
    assert logged_in.get(f"{page}/versions/{theirs.id}/export/exe").status_code in (404, 422)
    assert _post(logged_in, f"{page}/versions/{theirs.id}/restore", {}, page).status_code == 404


def test_six_eight_with_chords_by_bar_is_chosen_saved_and_exported(logged_in, db_session, nurse):
    client = service.create_client(db_session, actor=nurse, code="C023", birth_year=1975)
    old = records.save_version(db_session, actor=nurse, client=client, title="Old", lines=["Good morning sun"],
                               spec={"key": "C", "mode": "major", "tempo_bpm": 90.0, "beats_per_bar": 3,
                                     "progression": ["I", "V"], "theme": "free"})  # saved before 6/8 existed
    db_session.commit()
    page = f"/clients/{client.id}/songs"
    shown = logged_in.get(page).text
    assert 'name="meter"' in shown and '<option value="6/8"' in shown and 'name="chords_per_bar"' in shown
    form = {"title": "Rocking", "tune": "", "theme": "hope", "key": "D", "mode": "major", "tempo_bpm": "60",
            "meter": "6/8", "chords_per_bar": "1", "progression": "D A | Bm G", "lyrics": LYRICS, "song_key": ""}
    fit = _post(logged_in, f"{page}/fit", form, page)
    assert fit.status_code == 200 and "6/8" in fit.text and "D A | Bm G | D A" in fit.text
    assert "stressed ones on the beats" in fit.text
    for bad, field in [({"meter": "7/8"}, "meter"), ({"chords_per_bar": "4", "progression": "D A"}, "chords_per_bar"),
                       ({"progression": "D Eb | G"}, "progression")]:
        refused = _post(logged_in, f"{page}/versions", {**form, **bad}, page)
        assert refused.status_code == 422 and field in refused.text, bad
    assert [s.title for s in records.client_songs(db_session, client=client)] == ["Old"]
    assert _post(logged_in, f"{page}/versions", form, page).status_code == 303
    new = next(s for s in records.client_songs(db_session, client=client) if s.title == "Rocking")
    assert new.spec["beat_unit"] == 8 and new.spec["chords_per_bar"] == 2
    assert new.spec["progression"] == ["I", "V", "vi", "IV"]
    xml = logged_in.get(f"{page}/versions/{new.id}/export/musicxml").text
    mid = logged_in.get(f"{page}/versions/{new.id}/export/mid").content
    assert read_musicxml(xml) == read_midi(mid) and read_musicxml(xml).time_signature == "6/8"
    assert [c.onset_beats for c in read_midi(mid).chords][:4] == [0.0, 1.5, 3.0, 4.5]
    sheet = logged_in.get(f"{page}/versions/{new.id}/export/html").text
    assert "6/8" in sheet and "dotted-quarter beats" in sheet and ">Bm<" in sheet
    edit = logged_in.get(f"{page}?version_id={new.id}").text
    assert '<option value="6/8" selected' in edit and '<option value="2" selected' in edit
    assert logged_in.get(f"{page}/versions/{old.id}/export/musicxml").status_code == 200  # an older version
    assert '<option value="3/4" selected' in logged_in.get(f"{page}?version_id={old.id}").text
