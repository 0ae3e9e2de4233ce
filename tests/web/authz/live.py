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


AUTHZ_SAMPLES = {
    ("POST", "/clients/{client_id}/live"): {"form": {"preferred_cadence_spm": "100", "increase_percent": "5",
                                                     "placement": "lower-back", "session_id": ""}},
    ("GET", "/clients/{client_id}/live/{walk_id}"): {"setup": open_walk},
    ("POST", "/clients/{client_id}/live/{walk_id}/end"): {"setup": open_walk, "form": {}},
    ("POST", "/clients/{client_id}/live/{walk_id}/session"): {"setup": ended_walk, "form": {"session_id": "{session_id}"}},
}
