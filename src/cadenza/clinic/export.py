"""CSV export of a client's measurements, one row per measurement, for spreadsheets and statistics."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from cadenza.clinic.instruments import get_instrument
from cadenza.clinic.models import Measurement, Therapist, TherapySession, measurement_order
from cadenza.clinic.access import get_client_for_actor
from cadenza.clinic.audit import audit

CSV_COLUMNS = (
    "client_code", "session_id", "session_date", "intervention_code", "instrument_code", "loinc",
    "value", "unit", "severity_band", "safety_followup", "goal_id", "measured_at", "item_responses",
    "timed_distance_m", "session_source",
)


def _measured(measurement: Measurement, session_row: TherapySession) -> str:
    # When it was measured: its own time if one was recorded, else the session's date (review W1).
    if measurement.measured_at is not None:
        return measurement.measured_at.isoformat()
    return session_row.session_date.isoformat()


def export_measurements_csv(db: Session, *, actor: Therapist, client_id: int) -> str:
    """All measurements of one client as CSV text (audited as an export).

    Values are written with full precision (``repr``), ``measured_at`` as ISO 8601 UTC when a time was
    recorded and otherwise as the session's date (never the time the value was typed), item responses as
    ``item=answer`` pairs separated by ``;``. ``timed_distance_m`` is the distance a timed-walk speed
    was timed over (empty for other instruments, and for speeds stored before the distance was kept).
    ``session_source`` says who recorded the session: ``therapist``, or ``client_recorded`` (a home task the
    person did on their own device).
    """
    client = get_client_for_actor(db, actor=actor, client_id=client_id, action="export")
    rows = db.execute(
        select(Measurement, TherapySession)
        .join(TherapySession, Measurement.session_id == TherapySession.id)
        .where(Measurement.client_id == client.id)
        .order_by(*measurement_order())
    ).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for measurement, session_row in rows:
        items = measurement.item_responses or {}
        writer.writerow([
            client.code, session_row.id, session_row.session_date.isoformat(), session_row.intervention_code,
            measurement.instrument_code, get_instrument(measurement.instrument_code).loinc or "",
            repr(float(measurement.value)), measurement.unit, measurement.severity_band or "",
            "yes" if measurement.safety_followup else "no", measurement.goal_id or "",
            _measured(measurement, session_row), ";".join(f"{k}={v}" for k, v in items.items()),
            "" if measurement.timed_distance_m is None else repr(float(measurement.timed_distance_m)),
            session_row.source,
        ])
    audit(db, actor, "export", "measurement_csv", entity_id=client.id, client_id=client.id)
    return buffer.getvalue()


SESSION_CSV_COLUMNS = (
    "client_code", "session_id", "session_date", "session_minutes", "position", "intervention_code",
    "intervention_name", "intervention_mode", "intervention_minutes", "setting", "signed",
    "source",
)


def export_sessions_csv(db: Session, *, actor: Therapist, client_id: int) -> str:
    """One row per intervention of each of one client's sessions, in session order (audited as an export).

    A session with several interventions has a row for each (``position`` 0, 1, ...), with its minutes; a
    session stored before sessions held several has one row, its intervention for the whole session.
    ``signed`` is "no" for a client-recorded session too, which has no note to sign: ``source`` tells it
    (``therapist`` or ``client_recorded``).
    """
    from cadenza.evidence.query import list_interventions

    client = get_client_for_actor(db, actor=actor, client_id=client_id, action="export")
    sessions = db.scalars(select(TherapySession).where(TherapySession.client_id == client.id)
                          .order_by(TherapySession.session_date, TherapySession.id)).all()
    known = {i.code: i for i in list_interventions()}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SESSION_CSV_COLUMNS)
    for row in sessions:
        for position, (code, minutes) in enumerate(row.intervention_minutes):
            intervention = known.get(code)
            writer.writerow([
                client.code, row.id, row.session_date.isoformat(), row.minutes, position, code,
                intervention.name if intervention else "", intervention.mode if intervention else "", minutes,
                row.setting, "yes" if row.is_signed else "no", row.source,
            ])
    audit(db, actor, "export", "session_csv", entity_id=client.id, client_id=client.id)
    return buffer.getvalue()
