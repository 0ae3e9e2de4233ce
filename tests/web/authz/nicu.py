"""Authorisation-matrix samples for the NICU tool (cadenza/tools/nicu/pages.py)."""

from __future__ import annotations

from cadenza.clinic import service


def _make_nicu_client(db, actor, client_id: int) -> dict:
    """NICU pages exist only for NICU-flagged clients."""
    service.update_client(db, actor=actor, client_id=client_id, safety_flags=["nicu_infant"])
    return {}


_VITALS_SAMPLE = "time_s,heart_rate_bpm,spo2_pct,respiratory_rate_bpm\n" + "".join(
    f"{t},150,96,45\n" for t in range(5))
_PRESSURE_SAMPLE = "time_s,pressure_mmhg\n" + "".join(f"{i / 100:.2f},{25 if i % 50 < 20 else 0}\n"
                                                       for i in range(500))

AUTHZ_SAMPLES = {
    ("GET", "/clients/{client_id}/nicu"): {"setup": _make_nicu_client},
    ("POST", "/clients/{client_id}/nicu/thresholds"): {
        "setup": _make_nicu_client,
        "form": {"hr_min_bpm": "100", "hr_max_bpm": "180", "spo2_min_pct": "88", "rr_min_bpm": "25",
                 "rr_max_bpm": "70"}},
    ("POST", "/clients/{client_id}/nicu/age"): {"setup": _make_nicu_client,
                                                "form": {"gestational_age": "30+2", "postmenstrual_age": "35+0"}},
    ("POST", "/clients/{client_id}/nicu/monitor"): {"setup": _make_nicu_client,
                                                    "form": {"vitals_text": _VITALS_SAMPLE}},
    ("POST", "/clients/{client_id}/nicu/pal"): {"setup": _make_nicu_client,
                                                "form": {"pressure_text": _PRESSURE_SAMPLE}},
    ("GET", "/clients/{client_id}/nicu/lullaby.wav"): {"setup": _make_nicu_client, "query": {"minutes": 0.05}},
    ("GET", "/clients/{client_id}/nicu/womb.wav"): {"setup": _make_nicu_client, "query": {"minutes": 0.05}},
}
