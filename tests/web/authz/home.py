"""Authorisation-matrix samples for the home programme (tools/home/pages.py): the therapist's routes.

The person's own routes (``/me/...``) have their own matrix with the device as the actor:
tests/tools/home/test_person_authz.py.
"""

from __future__ import annotations

import datetime as dt

from cadenza.clinic import service
from cadenza.clinic.models import Client
from cadenza.tools.home import actions, records


def not_an_infant(db, actor, client_id: int) -> dict:
    """Home programmes are refused for NICU infants; the NICU samples may have flagged the shared client."""
    service.update_client(db, actor=actor, client_id=client_id, safety_flags=[])
    return {}


def make_walk_task(db, actor, client_id: int) -> dict:
    """A RAS-walk task on the owner's client (no music files needed): ``{"task_id": ...}``."""
    not_an_infant(db, actor, client_id)
    client = db.get(Client, client_id)
    task = actions.assign_task(db, actor=actor, client=client, kind="ras_walk", title="Walk to the beat",
                               days_per_week=5, minutes=10, ratings=["mood"], tempo_bpm=100,
                               start_date=dt.date(2026, 11, 1))
    return {"task_id": task.id}


def make_invite(db, actor, client_id: int) -> dict:
    not_an_infant(db, actor, client_id)
    invitation = actions.invite(db, actor=actor, client=db.get(Client, client_id), label="phone")
    return {"invite_id": invitation.invite.id}


def make_device(db, actor, client_id: int) -> dict:
    not_an_infant(db, actor, client_id)
    invitation = actions.invite(db, actor=actor, client=db.get(Client, client_id))
    device, _ = records.redeem_invite(db, token=invitation.token, pin="2580")
    return {"device_id": device.id}


AUTHZ_SAMPLES = {
    ("POST", "/clients/{client_id}/home/invites"): {"setup": not_an_infant,
                                                     "form": {"role": "caregiver", "label": "daughter"}},
    ("POST", "/clients/{client_id}/home/invites/{invite_id}/revoke"): {"setup": make_invite, "form": {}},
    ("POST", "/clients/{client_id}/home/devices/{device_id}/revoke"): {"setup": make_device, "form": {}},
    ("POST", "/clients/{client_id}/home/tasks"): {"setup": not_an_infant, "form": {
        "kind": "ras_walk", "title": "Walk", "days_per_week": "4", "minutes": "15", "tempo_bpm": "96"}},
    ("POST", "/clients/{client_id}/home/tasks/{task_id}/end"): {"setup": make_walk_task, "form": {}},
}
