"""The clinic generator of bench/clinic_data.py writes a record the app accepts as its own (issue 23)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from sqlalchemy import func, select

from cadenza.clinic import dashboard, service
from cadenza.clinic.audit_chain import verify_chain
from cadenza.clinic.db import make_session_factory, session_scope
from cadenza.clinic.models import AuditEvent, Client, Therapist, TherapySession

GENERATOR = Path(__file__).resolve().parents[2] / "bench" / "clinic_data.py"


def _generator():
    spec = importlib.util.spec_from_file_location("_cadenza_clinic_data", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_a_generated_clinic_verifies_reads_and_takes_new_rows(database_url, db_engine):
    made = _generator().generate(database_url, therapists=3, clients=60, years=2.0, batch_clients=25)
    assert made.clients == 60 and made.sessions > 60 * 5 and made.measurements > 0
    factory = make_session_factory(db_engine)
    with session_scope(factory) as db:
        assert verify_chain(db).ok
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == made.audit_events
        signed = db.scalars(select(TherapySession).where(TherapySession.signed_at.is_not(None))).all()
        assert len(signed) > made.sessions * 0.8
        assert all(service.note_sha256(row) == row.content_sha256 for row in signed), "a signed note reads as altered"
        therapist = db.scalar(select(Therapist).where(Therapist.username == "mt001"))
        page = dashboard.clients_page(db, actor=therapist, limit=50, offset=0)
        assert page.total == 20 and all(c.therapist_id == therapist.id for c in page.items)
        busiest = db.scalar(select(TherapySession.client_id).where(TherapySession.therapist_id == therapist.id)
                            .group_by(TherapySession.client_id).order_by(func.count().desc()).limit(1))
        overview = dashboard.client_overview(db, actor=therapist, client_id=busiest)
        assert overview.sessions
        new = service.create_client(db, actor=therapist, code="NEW-AFTER-GENERATION")  # ids continue past the data
        assert new.id > db.scalar(select(func.max(Client.id)).where(Client.code != "NEW-AFTER-GENERATION"))
    with session_scope(factory) as db:
        assert verify_chain(db).ok
