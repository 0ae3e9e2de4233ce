"""Clinical review W1, existing rows: migration 0016 clears the entry times the service used to write into
``measurement.measured_at`` (within 2 s of ``created_at``) for unsigned sessions, keeps recorded times,
and leaves signed notes as signed (their hash covers ``measured_at``)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from cadenza.clinic.db import alembic_config, migrate

TYPED = dt.datetime(2026, 12, 6, 10, 0, 0, 120_000, tzinfo=dt.UTC)


def test_w1_migration_clears_entry_times_of_unsigned_sessions_only(db_engine):
    from alembic import command

    with db_engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0015_timed_distance")
    with db_engine.begin() as connection:
        heads = set(connection.scalars(sa.text("SELECT version_num FROM alembic_version")))
        assert "0015_timed_distance" in heads and "0016_measured_at" not in heads  # other branches stay applied
        column = next(c for c in sa.inspect(connection).get_columns("measurement") if c["name"] == "measured_at")
        assert column["nullable"] is False
        meta = sa.MetaData()
        therapist, client, session_t, measurement = (
            sa.Table(name, meta, autoload_with=connection)
            for name in ("therapist", "client", "therapy_session", "measurement"))
        tid = connection.execute(therapist.insert().values(
            username="legacy", password_hash="x", role="therapist", active=True, created_at=TYPED)).inserted_primary_key[0]
        cid = connection.execute(client.insert().values(
            therapist_id=tid, code="L1", conditions=[], safety_flags=[], created_at=TYPED,
            updated_at=TYPED)).inserted_primary_key[0]
        common = {"client_id": cid, "therapist_id": tid, "session_date": dt.date(2026, 11, 2), "minutes": 30,
                  "intervention_code": "singing", "setting": "", "soap_subjective": "", "soap_objective": "",
                  "soap_assessment": "", "soap_plan": "", "created_at": TYPED}
        open_id = connection.execute(session_t.insert().values(**common)).inserted_primary_key[0]
        signed_id = connection.execute(session_t.insert().values(
            **common, signed_at=TYPED, content_sha256="0" * 64)).inserted_primary_key[0]
        recorded = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
        rows = [(open_id, TYPED + dt.timedelta(milliseconds=3)),  # written by the old default: cleared
                (open_id, recorded),                              # a real measurement time: kept
                (signed_id, TYPED + dt.timedelta(milliseconds=3))]  # signed: kept as signed
        ids = [connection.execute(measurement.insert().values(
            session_id=sid, client_id=cid, instrument_code="nrs_pain", value=3.0, unit="{score}",
            safety_followup=False, measured_at=at, created_at=TYPED)).inserted_primary_key[0] for sid, at in rows]
    migrate(db_engine)
    with db_engine.begin() as connection:
        column = next(c for c in sa.inspect(connection).get_columns("measurement") if c["name"] == "measured_at")
        assert column["nullable"] is True
        stored = dict(connection.execute(sa.text("SELECT id, measured_at FROM measurement WHERE id IN (:a, :b, :c)"),
                                         dict(zip("abc", ids, strict=True))).all())
        assert stored[ids[0]] is None
        assert stored[ids[1]] is not None and stored[ids[2]] is not None
        connection.execute(sa.text("DELETE FROM measurement WHERE client_id = :c"), {"c": cid})
        connection.execute(sa.text("DELETE FROM therapy_session WHERE client_id = :c"), {"c": cid})
        connection.execute(sa.text("DELETE FROM client WHERE id = :c"), {"c": cid})
        connection.execute(sa.text("DELETE FROM therapist WHERE id = :t"), {"t": tid})
