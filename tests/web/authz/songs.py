"""Authorisation-matrix samples for the songwriting page (cadenza/tools/songs/pages.py)."""

from __future__ import annotations

from cadenza.clinic import service
from cadenza.tools.songs import records

SPEC = {"key": "C", "mode": "major", "tempo_bpm": 120.0, "beats_per_bar": 4, "progression": ["I"], "theme": "free"}
FORM = {"title": "Song", "tune": "", "theme": "free", "key": "C", "mode": "major", "tempo_bpm": "120",
        "beats_per_bar": "4", "progression": "I", "lyrics": "sing a song", "song_key": ""}


def _version(db, actor, client_id: int) -> dict:
    client = service.get_client(db, actor=actor, client_id=client_id)
    return {"version_id": records.save_version(db, actor=actor, client=client, title="Song", lines=["la la"],
                                               spec=SPEC).id}


AUTHZ_SAMPLES = {
    ("GET", "/clients/{client_id}/songs/rhymes"): {"query": {"word": "song"}},
    ("POST", "/clients/{client_id}/songs/fit"): {"form": FORM},
    ("POST", "/clients/{client_id}/songs/versions"): {"form": FORM},
    ("POST", "/clients/{client_id}/songs/versions/{version_id}/restore"): {"setup": _version, "form": {}},
    ("GET", "/clients/{client_id}/songs/versions/{version_id}/export/{fmt}"): {
        "setup": lambda db, actor, client_id: {**_version(db, actor, client_id), "fmt": "mid"}},
}
