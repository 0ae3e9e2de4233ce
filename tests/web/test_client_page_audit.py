"""One client-page view is one audited read of that client (not one per panel on the page)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from cadenza.clinic import listening, service
from cadenza.clinic.models import AuditEvent


def _client_events(db_session, client_id: int) -> int:
    return db_session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.client_id == client_id))


def test_client_page_view_adds_exactly_one_audit_row(make_therapist, login_as, db_session):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="AUD.1")
    listening.add_dose_entry(db_session, actor=ann, client_id=client.id, level_dba=80.0, duration_s=4 * 3600,
                             started_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    db_session.commit()
    browser = login_as("ann")
    before = _client_events(db_session, client.id)
    page = browser.get(f"/clients/{client.id}")
    assert page.status_code == 200 and "10.0 %" in page.text
    assert _client_events(db_session, client.id) == before + 1
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.client_id == client.id)
                               .order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.entity, event.actor_username) == ("read", "client", "ann")
    browser.get(f"/clients/{client.id}")
    assert _client_events(db_session, client.id) == before + 2
