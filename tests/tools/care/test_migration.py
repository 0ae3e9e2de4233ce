"""Migration 0022_care_documents on a record that already has clients: each starts ``active``, the
database refuses an unknown status, and the care tables appear; the downgrade (to the core, as alembic resolves "0022_care_documents-1") takes them away again."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from cadenza.clinic.db import alembic_config, make_engine, migrate

AT = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)


def test_m11_existing_clients_start_active_and_the_status_is_checked(tmp_path):
    from alembic import command
    from alembic.script import ScriptDirectory

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        for head in ScriptDirectory.from_config(config).get_heads():
            if head != "0022_care_documents":
                command.upgrade(config, head)
        meta = sa.MetaData()
        therapist, client = (sa.Table(name, meta, autoload_with=connection) for name in ("therapist", "client"))
        assert "status" not in client.c
        tid = connection.execute(therapist.insert().values(
            username="legacy", password_hash="x", role="therapist", active=True, created_at=AT)).inserted_primary_key[0]
        connection.execute(client.insert().values(therapist_id=tid, code="L1", conditions=[], safety_flags=[],
                                                  created_at=AT, updated_at=AT))
    migrate(engine)
    with engine.begin() as connection:
        assert connection.scalar(sa.text("SELECT status FROM client WHERE code = 'L1'")) == "active"
        assert {"care_document", "care_addendum", "group_session", "group_member"} <= set(sa.inspect(connection).get_table_names())
        with pytest.raises(sa.exc.IntegrityError):
            connection.execute(sa.text("UPDATE client SET status = 'archived'"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0022_care_documents-1")
        assert "care_document" not in sa.inspect(connection).get_table_names()
        assert "status" not in {c["name"] for c in sa.inspect(connection).get_columns("client")}
        assert connection.scalar(sa.text("SELECT code FROM client")) == "L1"
        assert "therapist" in sa.inspect(connection).get_table_names()
    engine.dispose()
