"""Tempo correction (issue 22) in the record, on SQLite and PostgreSQL: halve, double, tap or set a track's
tempo; the correction is audited, kept in the history, restorable, survives a rescan of the same audio and
is used by every consumer (playlists, the person's app, beat grids for music cues)."""

from __future__ import annotations

import pytest

from cadenza.clinic import service
from cadenza.clinic.corrections import history
from cadenza.clinic.models import AuditEvent
from cadenza.errors import NotFoundError, ParameterError
from cadenza.io.library_files import ScannedTrack, ScanReport
from cadenza.tools.library import actions
from cadenza.tools.library import records as lr

from .conftest import fake_track


@pytest.fixture
def slow_track(db_session, therapist, client_record):
    """One track analysed at 120 BPM that is really a 60 BPM lullaby."""
    report = ScanReport(tracks=[fake_track(1, tempo=120.0, energy=0.2)])
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=report)
    return lr.client_tracks(db_session, client=client_record)[0]


def test_halve_double_tap_and_restore_keep_a_history(db_session, therapist, client_record, slow_track):
    kw = {"actor": therapist, "client_id": client_record.id, "track_id": slow_track.id}
    row = lr.correct_tempo(db_session, how="halve", reason="a lullaby, felt in two", **kw)
    assert (row.tempo_used_bpm, row.tempo_bpm, row.tempo_correction) == (60.0, 120.0, "halve")
    assert row.tempo_corrected_at.tzinfo is not None
    row = lr.correct_tempo(db_session, how="double", **kw)
    assert row.tempo_used_bpm == 120.0
    row = lr.correct_tempo(db_session, how="tap", tempo_bpm=58.3, **kw)
    assert row.tempo_used_bpm == 58.3 and row.features().tempo_bpm == 58.3
    changes = lr.tempo_history(db_session, client=client_record, track_id=slow_track.id)
    assert [c.changes["tempo_used_bpm"] for c in changes] == [[120.0, 60.0], [60.0, 120.0], [120.0, 58.3]]
    assert changes[0].reason == "a lullaby, felt in two" and changes[0].actor_username == therapist.username
    # Back to the tempo before the tap (the double), then back to the analysis.
    row = lr.restore_tempo(db_session, change_id=changes[2].id, **kw)
    assert (row.tempo_used_bpm, row.tempo_correction) == (120.0, "double")
    row = lr.restore_tempo(db_session, **kw)
    assert (row.tempo_corrected_bpm, row.tempo_correction, row.tempo_used_bpm) == (None, None, 120.0)
    assert len(history(db_session, client=client_record, entity="library_track")) == 5
    audited = db_session.query(AuditEvent).filter_by(entity="library_track", entity_id=slow_track.id).count()
    assert audited >= 5


def test_bad_corrections_are_refused_and_change_nothing(db_session, therapist, client_record, slow_track):
    kw = {"actor": therapist, "client_id": client_record.id, "track_id": slow_track.id}
    for bad, match in [({"how": "triple"}, "how"), ({"how": "tap"}, "tempo_bpm"),
                       ({"how": "set", "tempo_bpm": float("nan")}, "tempo_bpm"),
                       ({"how": "set", "tempo_bpm": 0.6}, "period in seconds"),
                       ({"how": "set", "tempo_bpm": True}, "tempo_bpm"),
                       ({"how": "halve", "tempo_bpm": 60.0}, "tempo_bpm"),
                       ({"how": "set", "tempo_bpm": 60.0, "reason": "x" * 600}, "reason")]:
        with pytest.raises(ParameterError, match=match):
            lr.correct_tempo(db_session, **kw, **bad)
    lr.correct_tempo(db_session, how="set", tempo_bpm=280.0, **kw)
    with pytest.raises(ParameterError, match="doubled tempo"):
        lr.correct_tempo(db_session, how="double", **kw)
    assert lr.client_track(db_session, client=client_record, track_id=slow_track.id).tempo_used_bpm == 280.0
    other = service.create_client(db_session, actor=therapist, code="C002", birth_year=1940)
    with pytest.raises(NotFoundError):  # another client's track is the same 404 as a missing one
        lr.correct_tempo(db_session, actor=therapist, client_id=other.id, track_id=slow_track.id, how="halve")
    with pytest.raises(NotFoundError, match="change_id"):
        lr.restore_tempo(db_session, change_id=999999, **kw)


def test_correction_survives_a_rescan_of_the_same_audio_but_not_new_audio(db_session, therapist, client_record,
                                                                           slow_track):
    kw = {"actor": therapist, "client_id": client_record.id}
    lr.correct_tempo(db_session, how="halve", track_id=slow_track.id, **kw)
    same = fake_track(1, tempo=120.0, energy=0.2, status="changed")  # re-analysed, same content hash
    lr.store_scan(db_session, report=ScanReport(tracks=[same]), **kw)
    assert lr.client_tracks(db_session, client=client_record)[0].tempo_used_bpm == 60.0
    other = fake_track(1, tempo=100.0, energy=0.2, status="changed")
    other = ScannedTrack(other.path, other.size_bytes, other.mtime_ns, "changed", content_sha256="f" * 64,
                         tags=other.tags, analysis=other.analysis, decoded=True)
    lr.store_scan(db_session, report=ScanReport(tracks=[other]), **kw)
    row = lr.client_tracks(db_session, client=client_record)[0]
    assert (row.tempo_corrected_bpm, row.tempo_used_bpm) == (None, 100.0)


def test_every_consumer_uses_the_corrected_tempo(db_session, therapist, client_record, fake_library):
    kw = {"actor": therapist, "client_id": client_record.id}
    lr.store_scan(db_session, report=fake_library(12), **kw)
    tracks = lr.client_tracks(db_session, client=client_record)
    for t in tracks:  # every track analysed at double its true tempo
        lr.correct_tempo(db_session, how="halve", track_id=t.id, **kw)
    pl = actions.client_playlist(db_session, client=client_record, goal="relax", minutes=20, arousal_0_10=6)
    by_id = {str(t.id): t for t in tracks}
    assert pl.entries and all(e.track.tempo_bpm == pytest.approx(by_id[e.track.track_id].tempo_bpm / 2, abs=0.01)
                              for e in pl.entries)
    beats = tracks[0].beat_times_used_s()
    assert len(beats) == (len(tracks[0].beat_times_s) + 1) // 2
    assert [e["tempo_bpm"] for e in lr.playlist_summary(pl)["tracks"]] == [e.track.tempo_bpm for e in pl.entries]


def test_a_scan_keeps_the_competing_level_and_the_page_model_says_ambiguous(db_session, therapist, client_record):
    from dataclasses import replace

    scanned = fake_track(2, tempo=120.0, energy=0.3)
    analysis = replace(scanned.analysis, tempo_alternative_bpm=60.0, tempo_level_confidence=0.2)
    scanned = ScannedTrack(scanned.path, scanned.size_bytes, scanned.mtime_ns, "new",
                           content_sha256=scanned.content_sha256, tags=scanned.tags, analysis=analysis, decoded=True)
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=ScanReport(tracks=[scanned]))
    row = lr.client_tracks(db_session, client=client_record)[0]
    assert (row.tempo_alternative_bpm, row.tempo_level_confidence, row.tempo_ambiguous) == (60.0, 0.2, True)
    lr.correct_tempo(db_session, actor=therapist, client_id=client_record.id, track_id=row.id, how="halve")
    assert not row.tempo_ambiguous  # a person has decided


def test_the_competing_level_is_taken_in_one_click_and_a_stale_or_forged_one_refused(db_session, therapist,
                                                                                       client_record, slow_track):
    """The estimator's competing level (here an independent periodicity at two thirds of the chosen tempo, which
    halve and double cannot reach) is stored as a correction like any other: same audit and history rows."""
    from dataclasses import replace

    kw = {"actor": therapist, "client_id": client_record.id, "track_id": slow_track.id}
    slow_track.tempo_alternative_bpm = 80.004
    db_session.flush()
    assert slow_track.tempo_offer_bpm == 80.004
    for bad, match in [(79.0, r"tempo_bpm 79\.0 is not the competing tempo .*80\.00 BPM now"),
                       (None, "tempo_bpm"), (float("nan"), "tempo_bpm"), (340.0, "got 340.0")]:
        with pytest.raises(ParameterError, match=match):
            lr.correct_tempo(db_session, how="level", tempo_bpm=bad, **kw)
    assert slow_track.tempo_corrected_bpm is None
    row = lr.correct_tempo(db_session, how="level", tempo_bpm=80.0, reason="felt in three", **kw)
    assert (row.tempo_used_bpm, row.tempo_correction, row.features().tempo_bpm) == (80.0, "level", 80.0)
    assert row.tempo_offer_bpm is None  # already in use: nothing more to offer
    assert row.beat_times_used_s()[:4] == [0.0, 0.75, 1.5, 2.25]  # music cues step on the 2:3 level, not at 60
    (change,) = lr.tempo_history(db_session, client=client_record, track_id=slow_track.id)
    assert (change.action, change.reason, change.changes["tempo_used_bpm"]) == ("amend", "felt in three", [120.0, 80.0])
    audited = db_session.query(AuditEvent).filter_by(entity="library_track", entity_id=slow_track.id).count()
    assert audited >= 1
    # A rescan of the same audio keeps the correction but brings another alternative: the old offer is stale.
    lr.restore_tempo(db_session, **kw)
    same = fake_track(1, tempo=120.0, energy=0.2, status="changed")
    same = ScannedTrack(same.path, same.size_bytes, same.mtime_ns, "changed", content_sha256=same.content_sha256,
                        tags=same.tags, analysis=replace(same.analysis, tempo_alternative_bpm=60.0,
                                                         tempo_level_confidence=0.3), decoded=True)
    lr.store_scan(db_session, actor=therapist, client_id=client_record.id, report=ScanReport(tracks=[same]))
    with pytest.raises(ParameterError, match=r"80\.0 is not the competing tempo .*60\.00 BPM now"):
        lr.correct_tempo(db_session, how="level", tempo_bpm=80.0, **kw)
    # An alternative outside 30-300 BPM is never offered, and refused if posted anyway.
    row = lr.client_track(db_session, client=client_record, track_id=slow_track.id)
    row.tempo_alternative_bpm = 340.0
    db_session.flush()
    assert row.tempo_offer_bpm is None
    with pytest.raises(ParameterError, match="from 30 to 300 beats per minute, got 340.0"):
        lr.correct_tempo(db_session, how="level", tempo_bpm=340.0, **kw)
    row.tempo_alternative_bpm = None
    with pytest.raises(ParameterError, match="no competing tempo"):
        lr.correct_tempo(db_session, how="level", tempo_bpm=60.0, **kw)
    assert row.tempo_corrected_bpm is None and len(lr.tempo_history(db_session, client=client_record,
                                                                       track_id=row.id)) == 2
