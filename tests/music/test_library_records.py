"""The music library in the clinical record (SQLite and PostgreSQL): scan cache, preferences,
red flags, responses, playlists, pre-procedure sessions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import soundfile as sf
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cadenza.clinic import library_records as lr
from cadenza.clinic import service
from cadenza.clinic.models import Base, Measurement
from cadenza.errors import NotFoundError, ParameterError
from cadenza.io.library_files import ScannedTrack, ScanReport, scan_library
from cadenza.music.playlists import CurrentState
from cadenza.music.reminiscence import SongResponse

LIBRARY_TABLES = {"library_track", "library_response", "library_preprocedure"}


def test_migration_matches_the_models(db_engine):
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert [d for d in diffs if any(t in repr(d) for t in LIBRARY_TABLES)] == []


def test_real_scan_stored_and_rescan_decodes_nothing(db_session, therapist, client_record, tmp_path):
    t = np.arange(22050 * 6) / 22050
    for i, period in enumerate((0.5, 0.75)):
        x = (0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-np.mod(t, period) / 0.05)).astype(np.float32)
        sf.write(str(tmp_path / f"s{i}.flac"), x, 22050)
    (tmp_path / "broken.mp3").write_bytes(b"")
    first = scan_library([tmp_path], known=lr.known_tracks(db_session, actor=therapist, client_id=client_record.id),
                         processes=1)
    summary = lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=first)
    assert (summary.added, summary.failed) == (2, 1)
    known = lr.known_tracks(db_session, actor=therapist, client_id=client_record.id)
    second = scan_library([tmp_path], known=known, processes=1)
    assert second.n_decoded == 0 and second.count("unchanged") == 2
    rows = lr.list_tracks(db_session, actor=therapist, client_id=client_record.id)
    assert sorted(round(r.tempo_bpm) for r in rows) == [80, 120]
    assert rows[0].scanned_at.tzinfo is not None


def test_moved_file_keeps_analysis_and_preferences(db_session, therapist, client_record, fake_library):
    report = fake_library(3)
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=report)
    row = lr.find_track(db_session, actor=therapist, client_id=client_record.id, query="Song 1")
    lr.rate_track(db_session, actor=therapist, track_id=row.id, stars=5)
    moved = ScannedTrack("/music/renamed.flac", row.size_bytes, row.mtime_ns, "moved", content_sha256=row.content_sha256)
    unchanged = [ScannedTrack(t.path, t.size_bytes, t.mtime_ns, "unchanged") for t in report.tracks if t.path != row.path]
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=ScanReport(tracks=[moved, *unchanged]))
    again = lr.find_track(db_session, actor=therapist, client_id=client_record.id, query="/music/renamed.flac")
    assert again.id == row.id and again.rating == 5 and again.tempo_bpm == row.tempo_bpm


def test_preferences_shape_the_playlist(db_session, therapist, client_record, make_therapist, fake_library):
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=fake_library())
    rows = lr.list_tracks(db_session, actor=therapist, client_id=client_record.id)
    slow = sorted(rows, key=lambda r: r.tempo_bpm)
    flagged = slow[0]
    lr.flag_red(db_session, actor=therapist, track_id=flagged.id, reason="cried and asked to stop")
    lr.rate_track(db_session, actor=therapist, track_id=slow[3].id, stars=5)
    pl = lr.client_playlist(db_session, actor=therapist, client_id=client_record.id, goal="relax", minutes=20,
                            state=CurrentState(arousal_0_10=7))
    ids = [e.track.track_id for e in pl.entries]
    assert str(flagged.id) not in ids and str(slow[3].id) in ids
    dose = lr.playlist_dose(pl, safety_flags=["hearing_loss"])
    from cadenza.safety.flags import audio_policy

    assert dose.mode == "sensitive" and dose.dose_fraction > 0
    assert dose.max_level_dba == audio_policy(["hearing_loss"]).max_level_dba
    assert any("hearing" in w.lower() for w in dose.warnings)
    assert not dose.calibrated and any("calibration" in w for w in dose.warnings)
    # with the client's own calibration the estimate follows the measured set-up, and the weekly
    # preview includes what the playlist adds
    from cadenza.clinic import listening

    listening.record_calibration(db_session, actor=therapist, client_id=client_record.id, measured_level_dba=70.0)
    own = lr.client_playlist_dose(db_session, actor=therapist, client_id=client_record.id, playlist=pl)
    assert own.calibrated and own.level_dba == pytest.approx(dose.level_dba - 10.0, abs=0.01)
    assert own.weekly_fraction_after >= own.dose_fraction * (1 - 1e-9) and own.dose_fraction > 0
    with pytest.raises(ParameterError, match="reason"):
        lr.flag_red(db_session, actor=therapist, track_id=flagged.id, reason=" ")
    with pytest.raises(ParameterError, match="stars"):
        lr.rate_track(db_session, actor=therapist, track_id=flagged.id, stars=6)
    other = make_therapist("other")
    with pytest.raises(NotFoundError):
        lr.rate_track(db_session, actor=other, track_id=flagged.id, stars=3)
    with pytest.raises(NotFoundError):
        lr.list_tracks(db_session, actor=other, client_id=client_record.id)


def test_reminiscence_with_family_picks_and_responses(db_session, therapist, client_record, fake_library):
    service.update_client(db_session, actor=therapist, client_id=client_record.id, birth_year=1940)
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=fake_library())
    rows = {r.title: r for r in lr.list_tracks(db_session, actor=therapist, client_id=client_record.id)}
    lr.add_family_pick(db_session, actor=therapist, track_id=rows["Song 20"].id, note="first dance, 1990",
                       picked_by="daughter")
    session_row = service.record_session(db_session, actor=therapist, client_id=client_record.id,
                                         session_date=dt.date(2026, 11, 25), minutes=30,
                                         intervention_code="reminiscence_listening")
    lr.log_response(db_session, actor=therapist, session_id=session_row.id, track_id=rows["Song 3"].id,
                    response=SongResponse("x", engagement_0_3=0, mood_minus2_plus2=-2, agitation_0_3=3))
    pl = lr.client_playlist(db_session, actor=therapist, client_id=client_record.id, goal="reminiscence", minutes=12)
    titles = [e.track.title for e in pl.entries]
    assert "Song 20" in titles and "Song 3" not in titles  # pick in, distressing song out
    assert any(t in titles for t in ("Song 4", "Song 5"))  # 1958/1960: ages 18-20
    assert any("agitation" in w for w in pl.warnings)
    assert len(lr.list_responses(db_session, actor=therapist, client_id=client_record.id)) == 1


def test_preprocedure_session_records_anxiety_before_and_after(db_session, therapist, client_record, fake_library):
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=fake_library())
    pl = lr.client_playlist(db_session, actor=therapist, client_id=client_record.id, goal="pre_procedure",
                            minutes=25, state=CurrentState(arousal_0_10=8))
    start = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
    row = lr.record_preprocedure_session(db_session, actor=therapist, client_id=client_record.id,
                                         session_date=dt.date(2026, 11, 25), playlist=pl, vas_before_mm=72,
                                         vas_after_mm=38, stai_before=[2, 3, 3, 2, 2, 3], stai_after=[3, 2, 1, 3, 3, 1],
                                         started_at=start)
    db_session.commit()
    (change,) = lr.list_preprocedure_sessions(db_session, actor=therapist, client_id=client_record.id)
    assert (change.vas_before_mm, change.vas_after_mm) == (72, 38)
    assert change.stai_after < change.stai_before
    before = db_session.get(Measurement, row.vas_before_id)
    after = db_session.get(Measurement, row.vas_after_id)
    assert before.measured_at == start and after.measured_at > start
    assert row.playlist["goal"] == "pre_procedure" and row.playlist["tracks"]
    with pytest.raises(ParameterError, match="pre_procedure"):
        relax = lr.client_playlist(db_session, actor=therapist, client_id=client_record.id, goal="relax", minutes=25)
        lr.record_preprocedure_session(db_session, actor=therapist, client_id=client_record.id,
                                       session_date=dt.date(2026, 11, 25), playlist=relax, vas_before_mm=50,
                                       vas_after_mm=40)


def test_interrupted_scan_keeps_stored_batches(db_session, therapist, client_record, tmp_path):
    t = np.arange(22050 * 5) / 22050
    for i in range(6):
        x = (0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-np.mod(t, 0.4 + 0.05 * i) / 0.05)).astype(np.float32)
        sf.write(str(tmp_path / f"s{i}.flac"), x, 22050)
    pending = []

    def store_in_pairs(track):
        pending.append(track)
        if len(pending) == 2:
            lr.store_scan(db_session, actor=therapist, client_id=client_record.id,
                          report=ScanReport(tracks=list(pending)))
            db_session.commit()
            pending.clear()
        if len(lr.known_tracks(db_session, actor=therapist, client_id=client_record.id)) == 4:
            raise KeyboardInterrupt  # the therapist pressed Ctrl-C

    with pytest.raises(KeyboardInterrupt):
        scan_library([tmp_path], processes=1, on_track=store_in_pairs)
    known = lr.known_tracks(db_session, actor=therapist, client_id=client_record.id)
    assert len(known) == 4
    resumed = scan_library([tmp_path], known=known, processes=1)
    assert resumed.n_decoded == 2 and resumed.count("unchanged") == 4


def test_batches_tell_a_copy_from_a_rename(db_session, therapist, client_record, fake_library):
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=fake_library(2))
    row = lr.find_track(db_session, actor=therapist, client_id=client_record.id, query="Song 0")
    lr.rate_track(db_session, actor=therapist, track_id=row.id, stars=4)
    copy = ScannedTrack("/backup/song00.flac", row.size_bytes, 5, "moved", content_sha256=row.content_sha256)
    # a batch holding only the copy: the original is still on disk (in all_paths), so it stays
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=ScanReport(tracks=[copy]),
                  all_paths={row.path, copy.path, "/music/song01.flac"})
    paths = {t.path: t for t in lr.list_tracks(db_session, actor=therapist, client_id=client_record.id)}
    assert row.path in paths and copy.path in paths
    assert paths[copy.path].tempo_bpm == paths[row.path].tempo_bpm and paths[row.path].rating == 4
