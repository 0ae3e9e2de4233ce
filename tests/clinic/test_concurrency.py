"""50 concurrent writers, each on its own connection, lose no row (PostgreSQL and SQLite)."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from cadenza.clinic import service
from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.clinic.models import AuditEvent, Measurement, TherapySession
from cadenza.clinic.service import MeasurementInput

WRITERS = 50
PER_WRITER = 3


def test_concurrent_writers_lose_no_row(database_url):
    engine = make_engine(database_url, pool_size=WRITERS, max_overflow=5)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as db:
            actor = service.create_therapist(db, actor=None, username="busy", password="correct horse battery")
            client = service.create_client(db, actor=actor, code="LOAD1")
            first = service.record_session(db, actor=actor, client_id=client.id, session_date=dt.date(2026, 11, 25),
                                           minutes=30, intervention_code="ras_gait_training")
            client_id, session_id = client.id, first.id
        barrier = threading.Barrier(WRITERS)

        def writer(index: int) -> set[int]:
            connections = set()
            barrier.wait()
            with session_scope(factory) as db:
                me = service.get_therapist_by_username(db, "busy")
                connections.add(id(db.connection().connection.dbapi_connection))
                service.record_session(
                    db, actor=me, client_id=client_id, session_date=dt.date(2026, 11, 25), minutes=30,
                    intervention_code="ras_gait_training",
                    measurements=[MeasurementInput("cadence", value=90.0 + index + k / 10) for k in range(PER_WRITER)])
            with session_scope(factory) as db:
                me = service.get_therapist_by_username(db, "busy")
                service.add_measurement(db, actor=me, session_id=session_id,
                                        measurement=MeasurementInput("gait_speed", value=0.5 + index / 100))
            return connections

        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            used = set().union(*pool.map(writer, range(WRITERS)))
        assert len(used) > 1  # really concurrent connections, not one shared

        with session_scope(factory) as db:
            count = lambda model: db.scalar(select(func.count()).select_from(model))  # noqa: E731
            assert count(TherapySession) == WRITERS + 1
            assert count(Measurement) == WRITERS * (PER_WRITER + 1)
            values = set(db.scalars(select(Measurement.value).where(Measurement.instrument_code == "gait_speed")))
            assert values == {0.5 + i / 100 for i in range(WRITERS)}
            created = db.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.action == "create", AuditEvent.entity == "measurement"))
            assert created == WRITERS * (PER_WRITER + 1)
    finally:
        engine.dispose()
