"""Authorisation-matrix samples for the music library (cadenza/tools/library/pages.py): the owner's scanned tracks."""

from __future__ import annotations

import datetime as dt

from cadenza.tools.library import records as lr
from cadenza.clinic import service


def make_track(db, actor, client_id, index: int = 0):
    """A scanned track in the owner's library (also used by other web tests): ``{"track_id": ...}``."""
    import numpy as np

    from cadenza.io.library_files import ScannedTrack, ScanReport
    from cadenza.io.tags import TrackTags
    from cadenza.music.analysis import TrackAnalysis

    analysis = TrackAnalysis(duration_s=180.0, tempo_bpm=72.0, tempo_confidence=0.9, beat_times_s=np.arange(0, 5, 60 / 72),
                             integrated_loudness_lufs=-20.0, loudness_range_lu=3.0, brightness_hz=700.0,
                             onset_rate_hz=1.5, energy=0.2, key="C", mode="major", mode_confidence=0.5)
    lr.store_scan(db, actor=actor, client_id=client_id, report=ScanReport(tracks=[ScannedTrack(
        f"/music/sample{index}.flac", 10, 1, "new", content_sha256=f"{index:064x}", tags=TrackTags(title=f"Sample {index}"),
        analysis=analysis, decoded=True)]))
    return {"track_id": min(t.id for t in lr.list_tracks(db, actor=actor, client_id=client_id))}


def _make_track_and_session(db, actor, client_id):
    ids = make_track(db, actor, client_id)
    session_row = service.record_session(db, actor=actor, client_id=client_id, session_date=dt.date(2026, 11, 25),
                                         minutes=30, intervention_code="reminiscence_listening")
    return {**ids, "session_id": session_row.id}  # the latest session: where the response is stored


def _make_long_library(db, actor, client_id):
    ids = make_track(db, actor, client_id)
    for i in range(8):  # 8 x 3 min: enough for a 20-30 min pre-procedure playlist
        make_track(db, actor, client_id, index=i + 1)
    return ids


def _short_wav() -> list:
    """A 3-s tone as an uploaded music file (enough to analyse, quick to decode)."""
    import io

    import numpy as np
    import soundfile as sf

    rate = 16_000
    buffer = io.BytesIO()
    t = np.arange(3 * rate) / rate
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 2 * t) > 0), rate, format="WAV")
    return [("files", ("tone.wav", buffer.getvalue(), "audio/wav"))]


AUTHZ_SAMPLES = {
    ("POST", "/clients/{client_id}/library/upload"): {"form": {}, "files": _short_wav},
    ("POST", "/clients/{client_id}/library/tracks/{track_id}/family-pick"): {
        "setup": make_track, "form": {"note": "their wedding song", "by": "son"}},
    ("POST", "/clients/{client_id}/library/tracks/{track_id}/responses"): {
        "setup": _make_track_and_session, "form": {"engagement": "3", "mood": "2", "agitation": "0", "sang_along": "1"}},
    ("POST", "/clients/{client_id}/library/preprocedure"): {
        "setup": _make_long_library, "form": {"minutes": "24", "arousal": "7", "vas_before": "70", "vas_after": "40",
                                              "session_date": "2026-11-25"}},
    ("POST", "/clients/{client_id}/library/playlist"): {"setup": make_track,
                                                        "form": {"goal": "relax", "minutes": "3", "arousal": "6"}},
    ("GET", "/clients/{client_id}/library/playlist.{fmt}"): {"setup": lambda db, actor, client_id: {
        **make_track(db, actor, client_id), "fmt": "m3u8"}, "query": {"goal": "relax", "minutes": 3}},
    ("POST", "/clients/{client_id}/library/tracks/{track_id}/tempo"): {"setup": make_track, "form": {"how": "set", "bpm": "70"}},
    ("POST", "/clients/{client_id}/library/tracks/{track_id}/rating"): {"setup": make_track, "form": {"stars": "5"}},
    ("POST", "/clients/{client_id}/library/tracks/{track_id}/red-flag"): {"setup": make_track,
                                                                         "form": {"reason": "upset"}},
}
