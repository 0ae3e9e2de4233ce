"""Authorisation-matrix samples for the core record's routes (web/routes/auth.py, clients.py, api.py).

Each file in this folder declares ``AUTHZ_SAMPLES`` for its area; ``tests/web/conftest.py`` loads them all
(the ``authz_samples`` fixture). The sample format is described in docs/web.md, "Authorisation matrix".
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from cadenza.clinic import service
from cadenza.clinic.models import Therapist


def fresh_session_sample(db: Session, actor: Therapist, client_id: int, *, signed: bool = False) -> dict[str, int]:
    """A session of the owner's client at version 1, signed if asked (pages and API)."""
    row = service.record_session(db, actor=actor, client_id=client_id, session_date=dt.date(2026, 11, 21),
                                 minutes=30, intervention_code="receptive_listening", plan="matrix")
    if signed:
        service.sign_session(db, actor=actor, session_id=row.id, expected_version=1)
    return {"session_id": row.id}


def _fresh_signed_session(db: Session, actor: Therapist, client_id: int) -> dict[str, int]:
    return fresh_session_sample(db, actor, client_id, signed=True)


def _removed_session(db: Session, actor: Therapist, client_id: int) -> dict[str, int]:
    from cadenza.clinic import corrections

    ids = fresh_session_sample(db, actor, client_id)
    corrections.remove_session(db, actor=actor, session_id=ids["session_id"], expected_version=1, reason="matrix")
    return ids


def _session_with_measurement(db: Session, actor: Therapist, client_id: int) -> dict[str, int]:
    row = service.record_session(db, actor=actor, client_id=client_id, session_date=dt.date(2026, 11, 21),
                                 minutes=30, intervention_code="receptive_listening",
                                 measurements=[service.MeasurementInput("nrs_pain", value=4)])
    return {"session_id": row.id, "measurement_id": row.measurements[0].id}


def _fresh_goal(db: Session, actor: Therapist, client_id: int, *, removed: bool = False) -> dict[str, int]:
    from cadenza.clinic import corrections

    goal = service.create_goal(db, actor=actor, client_id=client_id, instrument_code="nrs_pain", baseline=6, target=2)
    if removed:
        corrections.remove_goal(db, actor=actor, goal_id=goal.id, reason="matrix")
    return {"goal_id": goal.id}


def _removed_goal(db: Session, actor: Therapist, client_id: int) -> dict[str, int]:
    return _fresh_goal(db, actor, client_id, removed=True)


def _planned_session(db: Session, actor: Therapist, client_id: int) -> dict[str, int]:
    from cadenza.clinic import schedule

    row = schedule.plan_session(db, actor=actor, client_id=client_id, planned_date=dt.datetime.now(dt.UTC).date(),
                                minutes=30)
    return {"planned_id": row.id}


AUTHZ_SAMPLES = {
    # web/routes/clinic_day.py: planned sessions
    ("POST", "/clients/{client_id}/plan"): {
        "form": {"planned_date": "{next_week}", "minutes": "30"},
        "setup": lambda db, actor, client_id: {
            "next_week": (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7)).isoformat()}},
    ("POST", "/clients/{client_id}/planned/{planned_id}/cancel"): {"form": {}, "setup": _planned_session},
    # web/routes/auth.py
    ("POST", "/account/mfa/setup"): {"form": {"password": "x"}},
    ("POST", "/account/mfa/confirm"): {"form": {"code": "000000"}},
    ("POST", "/account/mfa/disable"): {"form": {"password": "x", "code": "000000"}},
    ("POST", "/login/mfa"): {"form": {"code": "000000"}},
    # web/routes/clients.py and web/routes/api.py: edits, signatures and addenda each get a session of
    # their own, so the version they carry is current whatever else the matrix did to the shared session.
    ("POST", "/clients/{client_id}/sessions/{session_id}/edit"): {
        "form": {"version": "1", "minutes": "35", "plan": "amended"}, "setup": fresh_session_sample},
    ("POST", "/clients/{client_id}/sessions/{session_id}/sign"): {
        "form": {"version": "1", "confirm": "yes"}, "setup": fresh_session_sample},
    # corrections (walk-through problem 2): each on rows of its own, so the shared goal and session stay.
    ("POST", "/clients/{client_id}/sessions/{session_id}/remove"): {
        "form": {"version": "1", "reason": "entered for the wrong client"}, "setup": fresh_session_sample},
    ("POST", "/clients/{client_id}/sessions/{session_id}/restore"): {"form": {}, "setup": _removed_session},
    ("POST", "/clients/{client_id}/sessions/{session_id}/measurements/{measurement_id}/remove"): {
        "form": {"reason": "typed 4 for 7"}, "setup": _session_with_measurement},
    ("POST", "/clients/{client_id}/sessions/{session_id}/measurements"): {
        "form": {"instrument_code": "nrs_pain", "value": "7"}, "setup": fresh_session_sample},
    ("POST", "/clients/{client_id}/goals/{goal_id}/edit"): {
        "form": {"target": "3", "description": "less pain"}, "setup": _fresh_goal},
    ("POST", "/clients/{client_id}/goals/{goal_id}/remove"): {
        "form": {"remove_reason": "set by mistake"}, "setup": _fresh_goal},
    ("POST", "/clients/{client_id}/goals/{goal_id}/restore"): {"form": {}, "setup": _removed_goal},
    ("GET", "/clients/{client_id}/measures/{instrument_code}/chart.png"): {
        "setup": lambda db, actor, client_id: {"instrument_code": "vas_anxiety"}},
    ("POST", "/clients/{client_id}/sessions/{session_id}/addenda"): {
        "form": {"text": "late entry"}, "setup": _fresh_signed_session},
    ("POST", "/api/v1/clients/{client_id}/sessions/{session_id}/remove"): {
        "json": {"version": 1, "reason": "entered for the wrong client"}, "setup": fresh_session_sample},
    ("POST", "/api/v1/clients/{client_id}/sessions/{session_id}/restore"): {"json": {}, "setup": _removed_session},
    ("POST", "/api/v1/clients/{client_id}/sessions/{session_id}/measurements/{measurement_id}/remove"): {
        "json": {"reason": "typed 4 for 7"}, "setup": _session_with_measurement},
    ("POST", "/api/v1/clients/{client_id}/goals/{goal_id}/remove"): {
        "json": {"reason": "set by mistake"}, "setup": _fresh_goal},
    ("POST", "/api/v1/clients/{client_id}/goals/{goal_id}/restore"): {"json": {}, "setup": _removed_goal},
    ("PATCH", "/api/v1/clients/{client_id}/sessions/{session_id}"): {
        "json": {"version": 1, "plan": "amended plan", "minutes": 35}, "setup": fresh_session_sample},
    ("POST", "/api/v1/clients/{client_id}/sessions/{session_id}/sign"): {
        "json": {"version": 1}, "setup": fresh_session_sample},
    ("POST", "/api/v1/clients/{client_id}/sessions/{session_id}/addenda"): {
        "json": {"text": "late entry"}, "setup": _fresh_signed_session},
}
