"""Authorisation-matrix samples for live cueing while walking (tools/live/pages.py).

The WebSocket (``/live/ws/{walk_id}``) is authorised once when it connects; its own checks (another
therapist, another client's phone, no login, another site's page) are in tests/tools/live/test_live_web.py.
"""

from __future__ import annotations

from cadenza.clinic import service
from cadenza.tools.live import records


def _walk(db, actor, client_id: int, *, ended: bool) -> dict:
    service.update_client(db, actor=actor, client_id=client_id, safety_flags=[])  # NICU samples may flag it
    row = records.start_walk_for_therapist(db, actor=actor, client_id=client_id, preferred_cadence_spm=100,
                                           increase_percent=5)
    if ended:
        records.close_walk(db, row, None, actor=actor)
    return {"walk_id": row.id}


def open_walk(db, actor, client_id: int) -> dict:
    return _walk(db, actor, client_id, ended=False)


def ended_walk(db, actor, client_id: int) -> dict:
    return _walk(db, actor, client_id, ended=True)


_SONG_FOLDER: list = []  # the one temporary folder of this process's song, removed when the process ends


def _song_wav(beats) -> str:
    """A short synthetic song with clicks on ``beats`` (the same file for every sample of this process)."""
    import tempfile
    from pathlib import Path

    import numpy as np
    import soundfile

    if not _SONG_FOLDER:
        _SONG_FOLDER.append(tempfile.TemporaryDirectory(prefix="cadenza-authz-"))
    path = Path(_SONG_FOLDER[0].name) / "song.wav"
    if not path.exists():
        rate = 16_000
        song = 0.05 * np.sin(2 * np.pi * 220 * np.arange(6 * rate) / rate)
        for b in beats:
            song[int(b * rate):int(b * rate) + 200] += 0.5
        soundfile.write(path, song.astype(np.float32), rate)
    return str(path)


def song_walk(db, actor, client_id: int) -> dict:
    """An open walk cued with a short synthetic song of the client's library (stored beats at 100/min)."""
    import os

    import numpy as np

    from cadenza.tools.library.records import LibraryTrack

    service.update_client(db, actor=actor, client_id=client_id, safety_flags=[])
    beats = np.arange(0.2, 5.8, 0.6)
    path = _song_wav(beats)
    track = LibraryTrack(client_id=client_id, path=path, size_bytes=os.path.getsize(path), mtime_ns=0,
                         content_sha256="0" * 64, duration_s=6.0, tempo_bpm=100.0, beat_times_s=beats.round(3).tolist())
    db.add(track)
    db.flush()
    row = records.start_walk_for_therapist(db, actor=actor, client_id=client_id, preferred_cadence_spm=100,
                                           increase_percent=5, music_track_id=track.id)
    return {"walk_id": row.id}


AUTHZ_SAMPLES = {
    ("POST", "/clients/{client_id}/live"): {"form": {"preferred_cadence_spm": "100", "increase_percent": "5",
                                                     "placement": "lower-back", "session_id": ""}},
    ("GET", "/clients/{client_id}/live/{walk_id}"): {"setup": open_walk},
    ("GET", "/clients/{client_id}/live/{walk_id}/music.wav"): {"setup": song_walk},
    ("POST", "/clients/{client_id}/live/{walk_id}/end"): {"setup": open_walk, "form": {}},
    ("POST", "/clients/{client_id}/live/{walk_id}/session"): {"setup": ended_walk, "form": {"session_id": "{session_id}"}},
}
