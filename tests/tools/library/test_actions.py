"""The library workflows both faces call: playlists from the person's own music with their level and dose,
responses kept on a session, pre-procedure sessions, and one audit trail from the command and the page."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import soundfile as sf

from cadenza.clinic import listening, service
from cadenza.errors import NotFoundError, ParameterError
from cadenza.safety.flags import audio_policy
from cadenza.tools.library import actions
from cadenza.tools.library import records as lr


def _session(db, actor, client_id: int):
    return service.record_session(db, actor=actor, client_id=client_id, session_date=dt.date(2026, 11, 25), minutes=30,
                                  intervention_code="reminiscence_listening")


def test_preferences_shape_the_playlist(db_session, therapist, client_record, fake_library):
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=fake_library())
    rows = lr.list_tracks(db_session, actor=therapist, client_id=client_record.id)
    slow = sorted(rows, key=lambda r: r.tempo_bpm)
    flagged = slow[0]
    lr.flag_red(db_session, actor=therapist, client_id=client_record.id, track_id=flagged.id,
                reason="cried and asked to stop")
    lr.rate_track(db_session, actor=therapist, client_id=client_record.id, track_id=slow[3].id, stars=5)
    pl = actions.client_playlist(db_session, client=client_record, goal="relax", minutes=20, arousal_0_10=7)
    ids = [e.track.track_id for e in pl.entries]
    assert str(flagged.id) not in ids and str(slow[3].id) in ids
    dose = actions.playlist_dose(pl, safety_flags=["hearing_loss"])
    assert dose.mode == "sensitive" and dose.dose_fraction > 0
    assert dose.max_level_dba == audio_policy(["hearing_loss"]).max_level_dba
    assert any("hearing" in w.lower() for w in dose.warnings)
    assert not dose.calibrated and any("calibration" in w for w in dose.warnings)
    # with the client's own calibration the estimate follows the measured set-up, and the weekly
    # preview includes what the playlist adds
    listening.record_calibration(db_session, actor=therapist, client_id=client_record.id, measured_level_dba=70.0)
    own = actions.client_playlist_dose(db_session, client=client_record, playlist=pl)
    assert own.calibrated and own.level_dba == pytest.approx(dose.level_dba - 10.0, abs=0.01)
    assert own.weekly_fraction_after >= own.dose_fraction * (1 - 1e-9) and own.dose_fraction > 0


def test_the_weekly_preview_is_the_safety_tools_own(db_session, therapist, client_record, fake_library):
    """What a playlist would bring the week to is the figure the hearing-safety tool previews."""
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=fake_library())
    now = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
    listening.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=82.0,
                                  duration_s=20 * 3600.0, started_at=now - dt.timedelta(days=2), label="earlier")
    pl = actions.client_playlist(db_session, client=client_record, goal="relax", minutes=20)
    own = actions.client_playlist_dose(db_session, client=client_record, playlist=pl, now=now)
    preview = listening.preview_session_dose(db_session, actor=therapist, client_id=client_record.id,
                                                  level_dba=own.leq_dba, duration_s=pl.total_s, now=now)
    assert own.weekly_fraction_after == pytest.approx(preview.fraction_after)
    assert preview.warning in own.warnings  # 82 dB(A) for 20 h is already past the adult week


def test_an_empty_library_gives_an_empty_playlist_with_no_weekly_figure(db_session, client_record):
    pl = actions.client_playlist(db_session, client=client_record, goal="relax", minutes=20)
    dose = actions.client_playlist_dose(db_session, client=client_record, playlist=pl)
    assert not pl.entries and dose.weekly_fraction_after is None and dose.dose_fraction == 0.0


def test_reminiscence_with_family_picks_and_responses(db_session, therapist, client_record, fake_library):
    service.update_client(db_session, actor=therapist, client_id=client_record.id, birth_year=1940)
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=fake_library())
    rows = {r.title: r for r in lr.list_tracks(db_session, actor=therapist, client_id=client_record.id)}
    lr.add_family_pick(db_session, actor=therapist, client_id=client_record.id, track_id=rows["Song 20"].id,
                       note="first dance, 1990", picked_by="daughter")
    _session(db_session, therapist, client_record.id)
    report = actions.respond_to_track(db_session, actor=therapist, client_id=client_record.id,
                                      track_id=rows["Song 3"].id, engagement_0_3=0, mood_minus2_plus2=-2,
                                      agitation_0_3=3)
    assert report.suggest_red_flag  # clear agitation on a song not yet flagged: a person decides
    pl = actions.client_playlist(db_session, client=client_record, goal="reminiscence", minutes=12)
    titles = [e.track.title for e in pl.entries]
    assert "Song 20" in titles and "Song 3" not in titles  # pick in, distressing song out
    assert any(t in titles for t in ("Song 4", "Song 5"))  # 1958/1960: ages 18-20
    assert any("agitation" in w for w in pl.warnings)
    assert len(lr.list_responses(db_session, actor=therapist, client_id=client_record.id)) == 1


def test_a_response_defaults_to_the_latest_session_and_suggests_no_flag_twice(db_session, therapist, client_record,
                                                                             fake_library):
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=fake_library(2))
    track = lr.list_tracks(db_session, actor=therapist, client_id=client_record.id)[0]
    with pytest.raises(ParameterError, match="record a session first"):
        actions.respond_to_track(db_session, actor=therapist, client_id=client_record.id, track_id=track.id,
                                 engagement_0_3=2, mood_minus2_plus2=0, agitation_0_3=0)
    first, latest = _session(db_session, therapist, client_record.id), _session(db_session, therapist, client_record.id)
    calm = actions.respond_to_track(db_session, actor=therapist, client_id=client_record.id, track_id=track.id,
                                    engagement_0_3=3, mood_minus2_plus2=2, agitation_0_3=0, sang_along=True)
    assert calm.stored.session_id == latest.id and calm.response.score == pytest.approx(2.0)
    assert not calm.suggest_red_flag
    lr.flag_red(db_session, actor=therapist, client_id=client_record.id, track_id=track.id, reason="tearful")
    upset = actions.respond_to_track(db_session, actor=therapist, client_id=client_record.id, track_id=track.id,
                                     engagement_0_3=0, mood_minus2_plus2=-2, agitation_0_3=3, session_id=first.id)
    assert upset.stored.session_id == first.id and not upset.suggest_red_flag  # already flagged
    with pytest.raises(ParameterError, match="engagement_0_3"):
        actions.respond_to_track(db_session, actor=therapist, client_id=client_record.id, track_id=track.id,
                                 engagement_0_3=7, mood_minus2_plus2=0, agitation_0_3=0)


def test_a_response_to_another_clients_track_is_not_found(db_session, therapist, client_record, make_therapist,
                                                         fake_library):
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=fake_library(2))
    track = lr.list_tracks(db_session, actor=therapist, client_id=client_record.id)[0]
    _session(db_session, therapist, client_record.id)
    other = service.create_client(db_session, actor=therapist, code="C-4")
    _session(db_session, therapist, other.id)
    for actor, client_id in ((therapist, other.id), (make_therapist("bob"), client_record.id)):
        with pytest.raises(NotFoundError):
            actions.respond_to_track(db_session, actor=actor, client_id=client_id, track_id=track.id,
                                     engagement_0_3=2, mood_minus2_plus2=0, agitation_0_3=0)


def test_record_preprocedure_builds_the_relaxation_playlist_and_stores_anxiety(db_session, therapist, client_record,
                                                                               fake_library):
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=fake_library())
    report = actions.record_preprocedure(db_session, actor=therapist, client_id=client_record.id,
                                         session_date=dt.date(2026, 11, 25), minutes=25, arousal_0_10=8,
                                         vas_before_mm=70, vas_after_mm=40)
    assert report.playlist.goal == "pre_procedure" and 20 <= report.playlist.total_s / 60 <= 30
    assert report.stored.playlist["tracks"] and report.stored.stai_before_id is None
    (change,) = lr.list_preprocedure_sessions(db_session, actor=therapist, client_id=client_record.id)
    assert (change.session_id, change.vas_before_mm, change.vas_after_mm) == (report.stored.session_id, 70, 40)


def test_walkthrough_p8_a_short_library_still_keeps_the_measured_anxiety(db_session, therapist, client_record,
                                                                         fake_library):
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=fake_library(3))  # 10 minutes
    report = actions.record_preprocedure(db_session, actor=therapist, client_id=client_record.id,
                                         session_date=dt.date(2026, 11, 25), minutes=25, vas_before_mm=70,
                                         vas_after_mm=40)
    assert any("shorter than the 20-30 min" in w for w in report.stored.playlist["warnings"])
    (change,) = lr.list_preprocedure_sessions(db_session, actor=therapist, client_id=client_record.id)
    assert (change.vas_before_mm, change.vas_after_mm) == (70, 40)


def test_record_preprocedure_refuses_an_empty_library(db_session, therapist, client_record):
    with pytest.raises(ParameterError):
        actions.record_preprocedure(db_session, actor=therapist, client_id=client_record.id,
                                    session_date=dt.date(2026, 11, 25), minutes=25, vas_before_mm=70, vas_after_mm=40)


def test_analyse_file_reads_tags_and_analysis(tmp_path):
    sr = 22050
    t = np.arange(sr * 8) / sr
    x = (0.3 * np.sin(2 * np.pi * 330 * t) * np.exp(-np.mod(t, 0.5) / 0.06)).astype(np.float32)
    with sf.SoundFile(str(tmp_path / "a.flac"), "w", samplerate=sr, channels=1, format="FLAC") as fh:
        fh.title = "Pulse"
        fh.write(x)
    analysed = actions.analyse_file(tmp_path / "a.flac")
    assert analysed.tags["title"] == "Pulse" and analysed.warnings == ()
    assert analysed.analysis.tempo_bpm == pytest.approx(120, rel=0.02)
    assert analysed.to_dict()["analysis"]["tempo_bpm"] == analysed.analysis.tempo_bpm


def test_a_scan_is_stored_batch_by_batch(db_session, therapist, client_record, tmp_path):
    sr = 22050
    t = np.arange(sr * 4) / sr
    for i in range(5):
        x = (0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-np.mod(t, 0.4 + 0.05 * i) / 0.05)).astype(np.float32)
        sf.write(str(tmp_path / f"s{i}.flac"), x, sr)
    batches = []
    scanned = actions.scan_client_library(db_session, actor=therapist, client_id=client_record.id, dirs=[tmp_path],
                                          processes=1, batch_size=2, on_stored=lambda: batches.append(1))
    assert (scanned.added, scanned.updated, scanned.reused, scanned.failed) == (5, 0, 0, 0)
    assert len(batches) == 3 and scanned.report.n_decoded == 5
    again = actions.scan_client_library(db_session, actor=therapist, client_id=client_record.id, dirs=[tmp_path],
                                        processes=1)
    assert again.report.count("unchanged") == 5 and again.report.n_decoded == 0 and again.added == 0


def test_the_command_and_the_page_write_the_same_audit_rows_for_a_response(audit_trail,
        db_session, therapist, client_record, web_browser, fake_library, cli):
    """A response logged from the page and from ``cadenza library respond`` leaves the same rows (the
    command first finds the client by its code: one audited read)."""
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=fake_library(2))
    track = lr.list_tracks(db_session, actor=therapist, client_id=client_record.id)[0]
    session_row = _session(db_session, therapist, client_record.id)
    db_session.commit()
    assert web_browser.log_in(therapist.username).status_code == 303
    token = web_browser.csrf(f"/clients/{client_record.id}/library")
    last = audit_trail.last_id(db_session)
    response = web_browser.post(f"/clients/{client_record.id}/library/tracks/{track.id}/responses", data={
        "session_id": str(session_row.id), "engagement": "2", "mood": "1", "agitation": "0", "csrf_token": token})
    assert response.status_code == 303, response.text
    page_rows = audit_trail.rows_after(db_session, last)
    assert page_rows == [("update", "client"), ("create", "library_response")]

    # the same response from the command, on the record the ``cli`` fixture gives it
    from cadenza.clinic.db import make_engine, make_session_factory, migrate, session_scope
    from cadenza.settings import Settings

    url = Settings.from_env().database_url
    migrate(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as db:
            ana = service.create_therapist(db, actor=None, username="ana", password="correct horse battery")
            person = service.create_client(db, actor=ana, code="C9")
            lr.store_scan(db, actor=ana, client_id=person.id, report=fake_library(2))
            song = lr.list_tracks(db, actor=ana, client_id=person.id)[0]
            ids = {"track": song.id, "session": _session(db, ana, person.id).id}
        with session_scope(factory) as db:
            last = audit_trail.last_id(db)
        result = cli("library", "respond", ids["track"], "--session", ids["session"], "--engagement", "2",
                     "--mood", "1", "--client", "C9", user="ana")
        assert result.exit_code == 0, result.output
        assert f"response logged on session {ids['session']}" in result.output
        with session_scope(factory) as db:
            command_rows = audit_trail.rows_after(db, last)
    finally:
        engine.dispose()
    assert command_rows == [("read", "client"), *page_rows]
