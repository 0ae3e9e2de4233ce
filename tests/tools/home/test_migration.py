"""Migration 0040_home_task_kinds on a record that already holds home tasks with completions: SQLite rebuilds
home_task to change its CHECK, and the completions (ON DELETE CASCADE) and their ratings and notes survive,
on SQLite and PostgreSQL; the new kinds are accepted and an unknown kind is still refused."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from cadenza.clinic.db import alembic_config, make_engine, migration_connection
from cadenza.errors import ConflictError

AT = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)
REVISION = "0040_home_task_kinds"


def _old_record(url: str) -> tuple:
    """The core and the home programme as they were before this revision (home_task with the old CHECK),
    with one task of a client done twice; returns (engine, config)."""
    from alembic import command

    engine = make_engine(url)
    config = alembic_config()
    with migration_connection(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, f"{REVISION}-1")
        meta = sa.MetaData()
        therapist, client, task, done = (sa.Table(name, meta, autoload_with=connection)
                                         for name in ("therapist", "client", "home_task", "task_completion"))
        tid = connection.execute(therapist.insert().values(
            username="legacy", password_hash="x", role="therapist", active=True, created_at=AT)).inserted_primary_key[0]
        cid = connection.execute(client.insert().values(therapist_id=tid, code="L1", conditions=[], safety_flags=[],
                                                        created_at=AT, updated_at=AT)).inserted_primary_key[0]
        task_id = connection.execute(task.insert().values(
            client_id=cid, created_by_id=tid, kind="ras_walk", title="Walk", instructions="", days_per_week=5,
            minutes=10, music={"tempo_bpm": 100}, ratings=["mood"], start_date=AT.date(), active=True,
            created_at=AT)).inserted_primary_key[0]
        for i in range(2):
            connection.execute(done.insert().values(
                task_id=task_id, client_id=cid, client_uuid=f"00000000-0000-4000-8000-00000000000{i}",
                completed_at=AT, received_at=AT, played_s=60.0 + i, max_gain=0.5, before={"mood": 4},
                after={"mood": 6}, note=f"felt good {i}", scores={}))
        with pytest.raises(sa.exc.IntegrityError):
            with connection.begin_nested():
                connection.execute(sa.text("UPDATE home_task SET kind = 'tapping'"))
    return engine, config


def _completions(connection) -> list[tuple]:
    return [tuple(r) for r in connection.execute(sa.text(
        "SELECT id, task_id, client_id, played_s, note, before, after FROM task_completion ORDER BY id")).all()]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    """An empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    from tests.conftest import _postgres_base_url, _scratch_postgres_database

    _postgres_base_url()
    with _scratch_postgres_database(prefix="cadenza_m40_") as (_, url):
        yield url


def test_completions_survive_the_upgrade_and_the_new_kinds_are_accepted(empty_url):
    from alembic import command

    engine, config = _old_record(empty_url)
    with engine.connect() as connection:
        before = _completions(connection)
        connection.rollback()
    assert len(before) == 2
    if engine.dialect.name == "sqlite":
        # Inside an open transaction SQLite cannot switch foreign keys off: the rebuild would cascade, so it
        # is refused before anything changes.
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            with pytest.raises(ConflictError, match="task_completion"):
                command.upgrade(config, REVISION)
        with engine.connect() as connection:
            assert _completions(connection) == before
            assert connection.scalar(sa.text("SELECT version_num FROM alembic_version")) != REVISION
            connection.rollback()
    with migration_connection(engine) as connection:  # what migrate() does, up to this revision only
        config.attributes["connection"] = connection
        command.upgrade(config, REVISION)
    with engine.begin() as connection:
        assert _completions(connection) == before
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # switched on again
        assert "ix_home_task_client_id" in {i["name"] for i in sa.inspect(connection).get_indexes("home_task")}
        connection.execute(sa.text("UPDATE home_task SET kind = 'tapping'"))
        connection.execute(sa.text("UPDATE home_task SET kind = 'singing'"))
        for change in ("kind = 'juggling'", "days_per_week = 8"):
            with pytest.raises(sa.exc.IntegrityError):
                with connection.begin_nested():
                    connection.execute(sa.text(f"UPDATE home_task SET {change}"))
        # a new kind's task refuses the downgrade; an old kind's is taken back with its completions
        config.attributes["connection"] = connection
        with pytest.raises(ConflictError, match="tapping|singing"):
            command.downgrade(config, f"{REVISION}-1")
        connection.execute(sa.text("UPDATE home_task SET kind = 'ras_walk'"))
    with migration_connection(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, f"{REVISION}-1")
    with engine.begin() as connection:
        assert _completions(connection) == before
        with pytest.raises(sa.exc.IntegrityError):
            with connection.begin_nested():
                connection.execute(sa.text("UPDATE home_task SET kind = 'tapping'"))
        # the cascade still works after the rebuilds: a deleted task takes its completions with it
        connection.execute(sa.text("DELETE FROM home_task"))
        assert connection.scalar(sa.text("SELECT count(*) FROM task_completion")) == 0
    engine.dispose()
