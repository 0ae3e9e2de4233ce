"""Authorisation-matrix samples for the care documents (tools/care/pages.py)."""

from __future__ import annotations

import datetime as dt

from cadenza.clinic.models import Client
from cadenza.tools.care import actions

REFERRAL = {"referred_by": "GP", "reason": "low mood"}


def make_document(db, actor, client_id: int) -> dict:
    doc = actions.write_document(db, actor=actor, client=db.get(Client, client_id), kind="consent",
                                 document_date=dt.date(2026, 11, 2),
                                 content={"explained": "aims", "consented_by": "client"})
    return {"document_id": doc.id}


def make_signed_document(db, actor, client_id: int) -> dict:
    ids = make_document(db, actor, client_id)
    actions.sign_document(db, actor=actor, client=db.get(Client, client_id), document_id=ids["document_id"])
    return ids


def make_discharge(db, actor, client_id: int) -> dict:
    doc = actions.write_document(db, actor=actor, client=db.get(Client, client_id), kind="discharge",
                                 document_date=dt.date(2026, 11, 30),
                                 content={"reason": "goals_met", "criteria": "met", "summary": "done"})
    actions.set_status(db, actor=actor, client=db.get(Client, client_id), status="active")  # leave it as found
    return {"document_id": doc.id}


def make_group(db, actor, client_id: int) -> dict:
    group = actions.record_group_session(db, actor=actor, title="Singing", session_date=dt.date(2026, 11, 2),
                                         minutes=30, intervention_code="singing",
                                         members=[actions.MemberInput(client_id)])
    return {"group_id": group.id}


AUTHZ_SAMPLES = {
    ("POST", "/clients/{client_id}/care/documents"): {"form": {
        "kind": "referral", "document_date": "2026-11-02", "referred_by": "GP", "reason": "low mood"}},
    ("POST", "/clients/{client_id}/care/documents/{document_id}/sign"): {"setup": make_document, "form": {}},
    ("POST", "/clients/{client_id}/care/documents/{document_id}/addenda"): {"setup": make_signed_document,
                                                                            "form": {"text": "late entry"}},
    ("POST", "/clients/{client_id}/care/documents/{document_id}/withdraw"): {"setup": make_document,
                                                                             "form": {"withdrawn_date": "2026-11-20"}},
    ("POST", "/clients/{client_id}/care/status"): {"form": {"status": "on_hold"}},
    ("POST", "/clients/{client_id}/care/groups"): {"form": {
        "title": "Drums", "session_date": "2026-11-02", "minutes": "30", "intervention_code": "singing"}},
    ("GET", "/clients/{client_id}/care/groups/{group_id}"): {"setup": make_group},
    ("GET", "/clients/{client_id}/care/documents/{document_id}/summary.pdf"): {"setup": make_discharge},
}
