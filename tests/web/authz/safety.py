"""Authorisation-matrix samples for hearing safety (cadenza/tools/safety/pages.py)."""

AUTHZ_SAMPLES = {
    ("POST", "/api/v1/clients/{client_id}/sound-dose"): {"json": {"level_dba": 70, "duration_s": 600}},
    ("POST", "/clients/{client_id}/safety/listening"): {"form": {"level_dba": "70", "minutes": "30",
                                                                  "source": "manual"}},
    ("POST", "/clients/{client_id}/safety/calibration"): {"form": {"measured_level_dba": "74", "device": "default"}},
}
