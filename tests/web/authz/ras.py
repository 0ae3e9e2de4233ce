"""Authorisation-matrix samples for Rhythmic Auditory Stimulation (tools/ras/pages.py)."""

from __future__ import annotations

from cadenza.tools.ras import records as ras_records


def _make_plan(db, actor, client_id: int) -> dict:
    """The owner's stored plan the cue route refers to."""
    from cadenza.ras.plan import plan_ras_sessions

    row = ras_records.store_ras_plan(db, actor=actor, client_id=client_id,
                                     plan=plan_ras_sessions(100, condition="other"))
    return {"plan_id": row.id}


def _removed_plan(db, actor, client_id: int) -> dict:
    ids = _make_plan(db, actor, client_id)
    ras_records.remove_ras_plan(db, actor=actor, plan_id=ids["plan_id"], reason="matrix")
    return ids


AUTHZ_SAMPLES = {
    ("POST", "/clients/{client_id}/ras/plans/{plan_id}/remove"): {"form": {"reason": "made in error"},
                                                                  "setup": _make_plan},
    ("POST", "/clients/{client_id}/ras/plans/{plan_id}/restore"): {"form": {}, "setup": _removed_plan},
    ("POST", "/clients/{client_id}/ras/plans"): {"form": {"cadence_spm": "100", "condition": "other",
                                                          "session_minutes": "30", "sessions_per_week": "3"}},
    ("GET", "/clients/{client_id}/ras/plans/{plan_id}/cue.wav"): {"setup": _make_plan, "query": {"minutes": 0.05}},
    ("POST", "/clients/{client_id}/ras/sync"): {"form": {
        "tempo_bpm": "100", "cue_start_s": "0", "latency_ms": "0",
        "steps_text": "\n".join(f"{0.3 + 0.6 * k:.2f}" for k in range(20))}},
}
