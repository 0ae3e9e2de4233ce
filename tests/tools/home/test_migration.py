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


# ---- 0042_session_source: the sessions home-task completions made become client-recorded ---------------------

SOURCE_REVISION = "0042_session_source"


def _insert(connection, meta, name, **values):
    table = sa.Table(name, meta, autoload_with=connection) if name not in meta.tables else meta.tables[name]
    return connection.execute(table.insert().values(**values)).inserted_primary_key[0]


def _old_home_sessions(url: str) -> tuple:
    """A record before 0042 with, for client L1: a session a tapping completion made (its id in the completion's
    scores; its setting amended since), one found only by its audit event (the person's device wrote it; its objective names the
    completion), the therapist's own home visit, and a therapist's note whose text names a completion; for
    client L2 a completion whose scores name L1's session (never linked across clients)."""
    from alembic import command

    engine = make_engine(url)
    config = alembic_config()
    with migration_connection(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, f"{SOURCE_REVISION}-1")
        meta = sa.MetaData()
        row = dict(connection=connection, meta=meta)
        tid = _insert(**row, name="therapist", username="ann", password_hash="x", role="therapist", active=True,
                      created_at=AT)
        cids = [_insert(**row, name="client", therapist_id=tid, code=code, conditions=[], safety_flags=[],
                        created_at=AT, updated_at=AT) for code in ("L1", "L2")]
        tasks = [_insert(**row, name="home_task", client_id=cid, created_by_id=tid, kind="tapping", title="Tap",
                         instructions="", days_per_week=5, minutes=5, music={}, ratings=[], start_date=AT.date(),
                         active=True, created_at=AT) for cid in cids]

        def completion(i, client, task, scores):
            return _insert(**row, name="task_completion", task_id=task, client_id=client,
                           client_uuid=f"00000000-0000-4000-8000-00000000010{i}", completed_at=AT, received_at=AT,
                           played_s=30.0, max_gain=0.5, before={}, after={}, note="", scores=scores)

        def session(objective, author, setting="home"):
            sid = _insert(**row, name="therapy_session", client_id=cids[0], therapist_id=tid, session_date=AT.date(),
                          minutes=1, intervention_code="timp", setting=setting, soap_subjective="",
                          soap_objective=objective, soap_assessment="", soap_plan="", created_at=AT)
            _insert(**row, name="audit_event", actor_id=None if author.startswith("person:") else tid,
                    actor_username=author, action="create", entity="therapy_session", entity_id=sid,
                    client_id=cids[0], at=AT)
            return sid

        first = completion(1, cids[0], tasks[0], {})
        second = completion(2, cids[0], tasks[0], {"summary": "steady"})
        by_scores = session(f"Home task \u201cTap\u201d done on the person's own device (completion {first}).",
                            "person:device-1", setting="kitchen at home")  # amended by the therapist since
        connection.execute(sa.text("UPDATE task_completion SET scores = :s WHERE id = :c"),
                           {"s": f'{{"session_id": {by_scores}}}', "c": first})
        by_audit = session(f"Home task \u201cTap\u201d done on the person's own device (completion {second}).",
                           "person:device-1")
        visit = session("Home visit: walked to the kitchen with the cue.", "ann")
        wording = session(f"Reviewed the home task (completion {first}) with the client.", "ann")
        stray = completion(3, cids[1], tasks[1], {"session_id": by_scores})
    ids = dict(first=first, second=second, stray=stray, by_scores=by_scores, by_audit=by_audit, visit=visit,
               wording=wording)
    return engine, config, ids


def test_the_upgrade_marks_the_sessions_home_task_completions_made_and_links_them(empty_url):
    from alembic import command

    engine, config, ids = _old_home_sessions(empty_url)
    with migration_connection(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, SOURCE_REVISION)
    with engine.begin() as connection:
        sources = dict(connection.execute(sa.text("SELECT id, source FROM therapy_session")).all())
        assert sources == {ids["by_scores"]: "client_recorded", ids["by_audit"]: "client_recorded",
                           ids["visit"]: "therapist", ids["wording"]: "therapist"}
        links = dict(connection.execute(sa.text("SELECT id, session_id FROM task_completion")).all())
        assert links == {ids["first"]: ids["by_scores"], ids["second"]: ids["by_audit"], ids["stray"]: None}
        for change in ("UPDATE therapy_session SET source = 'caregiver'",  # an unknown source is refused
                       f"UPDATE task_completion SET session_id = {ids['by_scores']} WHERE id = {ids['second']}"):
            with pytest.raises(sa.exc.IntegrityError):
                with connection.begin_nested():
                    connection.execute(sa.text(change))
        new = connection.execute(sa.text(
            "INSERT INTO therapy_session (client_id, therapist_id, session_date, minutes, intervention_code, setting, "
            "soap_subjective, soap_objective, soap_assessment, soap_plan, created_at) SELECT client_id, therapist_id, "
            "session_date, 30, 'receptive_listening', 'clinic', '', '', '', '', created_at FROM therapy_session "
            "WHERE id = :s RETURNING source"), {"s": ids["visit"]}).scalar()
        assert new == "therapist"  # what every other writer gets without naming a source
        # a session removed for good leaves its completion without a link, not without its row
        connection.execute(sa.text("DELETE FROM therapy_session WHERE id = :s"), {"s": ids["by_audit"]})
        assert connection.scalar(sa.text("SELECT session_id FROM task_completion WHERE id = :c"),
                                 {"c": ids["second"]}) is None
    with migration_connection(engine) as connection:  # and down again: the completions stay whole
        config.attributes["connection"] = connection
        command.downgrade(config, f"{SOURCE_REVISION}-1")
    with engine.begin() as connection:
        assert "source" not in {c["name"] for c in sa.inspect(connection).get_columns("therapy_session")}
        assert "session_id" not in {c["name"] for c in sa.inspect(connection).get_columns("task_completion")}
        assert connection.scalar(sa.text("SELECT count(*) FROM task_completion")) == 3
    engine.dispose()
