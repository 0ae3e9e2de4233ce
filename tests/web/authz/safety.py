"""Authorisation-matrix samples for hearing safety (cadenza/tools/safety/pages.py)."""


def _entry(db, actor, client_id: int, *, removed: bool = False) -> dict:
    """A ledger entry of its own for each removal or restoration."""
    from cadenza.clinic import listening
    from cadenza.tools.safety import records

    row = listening.add_dose_entry(db, actor=actor, client_id=client_id, level_dba=70, duration_s=600)
    if removed:
        records.remove_dose_entry(db, actor=actor, entry_id=row.id, reason="matrix")
    return {"entry_id": row.id}


def _removed_entry(db, actor, client_id: int) -> dict:
    return _entry(db, actor, client_id, removed=True)


AUTHZ_SAMPLES = {
    ("POST", "/clients/{client_id}/safety/entries/{entry_id}/remove"): {"form": {"reason": "typed 95 for 65"},
                                                                         "setup": _entry},
    ("POST", "/clients/{client_id}/safety/entries/{entry_id}/restore"): {"form": {}, "setup": _removed_entry},
    ("POST", "/api/v1/clients/{client_id}/sound-dose/entries/{entry_id}/remove"): {
        "json": {"reason": "typed 95 for 65"}, "setup": _entry},
    ("POST", "/api/v1/clients/{client_id}/sound-dose/entries/{entry_id}/restore"): {"json": {}, "setup": _removed_entry},
    ("POST", "/api/v1/clients/{client_id}/sound-dose"): {"json": {"level_dba": 70, "duration_s": 600}},
    ("POST", "/clients/{client_id}/safety/listening"): {"form": {"level_dba": "70", "minutes": "30",
                                                                  "source": "manual"}},
    ("POST", "/clients/{client_id}/safety/calibration"): {"form": {"measured_level_dba": "74", "device": "default"}},
}
