"""The hearing-safety page: one audited read per view, and its entry list agrees with its weekly total."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from cadenza.clinic import safety_records, service
from cadenza.clinic.models import AuditEvent

HOUR_S = 3600.0


def _client_events(db_session, client_id: int) -> int:
    return db_session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.client_id == client_id))


def _add(db_session, actor, client_id, *, label, days_ago, hours, level_dba=80.0):
    safety_records.add_dose_entry(db_session, actor=actor, client_id=client_id, level_dba=level_dba,
                                  duration_s=hours * HOUR_S, label=label,
                                  started_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago))


def _row_percents(page: str) -> dict[str, float]:
    """Label -> the row's 'Dose % this week' cell."""
    out = {}
    for row in re.findall(r"<tr><td>.*?</tr>", page, flags=re.S):
        label = re.search(r"· (\w+)</td>", row)
        cells = re.findall(r"<td>([^<]*)</td>", row)
        out[label.group(1)] = float(cells[-1])
    return out


def test_one_page_view_writes_one_audit_row(make_therapist, login_as, api_token_for, client, db_session):
    ann = make_therapist("ann")
    rec = service.create_client(db_session, actor=ann, code="SAF.1")
    _add(db_session, ann, rec.id, label="recent", days_ago=1, hours=4)
    safety_records.record_calibration(db_session, actor=ann, client_id=rec.id, measured_level_dba=72.0)
    db_session.commit()
    browser = login_as("ann")
    before = _client_events(db_session, rec.id)
    page = browser.get(f"/clients/{rec.id}/safety")
    assert page.status_code == 200 and "10.0 %" in page.text and "72.0 dB(A)" in page.text
    assert _client_events(db_session, rec.id) == before + 1
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.client_id == rec.id)
                               .order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.entity, event.actor_username) == ("read", "client", "ann")
    # The JSON dose read is one audited read too.
    api = client.get(f"/api/v1/clients/{rec.id}/sound-dose", headers=api_token_for("ann"))
    assert api.status_code == 200 and api.json()["dose_percent"] == 10.0
    assert _client_events(db_session, rec.id) == before + 2


def test_entry_running_into_the_week_is_listed_and_counted(make_therapist, login_as, db_session):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="SAF.2")
    # 80 dB(A) for 40 h is 100 % of the adult allowance; 2 days from 8 days ago leaves 24 h inside the week.
    _add(db_session, ann, client.id, label="straddles", days_ago=8, hours=48)
    _add(db_session, ann, client.id, label="recent", days_ago=2, hours=1)
    _add(db_session, ann, client.id, label="old", days_ago=20, hours=3)
    _add(db_session, ann, client.id, label="ended", days_ago=9, hours=24)  # ended two days before the week
    db_session.commit()
    page = login_as("ann").get(f"/clients/{client.id}/safety")
    assert page.status_code == 200
    rows = _row_percents(page.text)
    assert set(rows) == {"straddles", "recent"}
    assert abs(rows["straddles"] - 60.0) < 0.01 and abs(rows["recent"] - 2.5) < 0.01
    assert "62.5 %" in page.text
    assert "started before the week; 1440 min fall inside it" in page.text
    # newest first
    assert page.text.index("· recent") < page.text.index("· straddles")


def test_empty_week_says_so(make_therapist, login_as, db_session):
    ann = make_therapist("ann")
    client = service.create_client(db_session, actor=ann, code="SAF.3")
    _add(db_session, ann, client.id, label="old", days_ago=30, hours=2)
    db_session.commit()
    page = login_as("ann").get(f"/clients/{client.id}/safety")
    assert page.status_code == 200 and "0.0 %" in page.text and "No listening recorded in the last 7 days" in page.text


def test_other_therapists_client_is_not_found(make_therapist, login_as, db_session):
    ann = make_therapist("ann")
    make_therapist("bob")
    client = service.create_client(db_session, actor=ann, code="SAF.4")
    db_session.commit()
    assert login_as("bob").get(f"/clients/{client.id}/safety").status_code == 404
