"""Migrations, engine behaviour and the test fixtures themselves."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from cadenza.clinic.db import make_engine, make_session_factory, migrate, session_scope
from cadenza.clinic.models import Base, Client, Therapist
from cadenza.errors import ParameterError

CORE_TABLES = {"therapist", "client", "assessment", "goal", "therapy_session", "measurement", "audit_event"}


def test_migration_creates_core_tables(db_engine):
    assert CORE_TABLES <= set(inspect(db_engine).get_table_names())


def test_migration_matches_the_models(db_engine):
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    core_diffs = [d for d in diffs if _table_of(d) in CORE_TABLES]
    assert core_diffs == []


def _table_of(diff) -> str | None:
    """The table an autogenerate diff is about (column changes come grouped in a list)."""
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        if isinstance(part, str) and part in CORE_TABLES:
            return part
        if hasattr(part, "columns") and hasattr(part, "name") and not hasattr(part, "table"):
            return part.name  # a Table (add_table / remove_table)
        if getattr(part, "table", None) is not None:
            return part.table.name  # an Index, Constraint or Column
    return None


def test_migrate_twice_is_harmless(database_url):
    migrate(database_url)
    migrate(database_url)


def test_foreign_keys_are_enforced(db_session):
    db_session.add(Client(therapist_id=999_999, code="X1", conditions=[], safety_flags=[]))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_timestamps_come_back_utc_aware(db_session):
    therapist = Therapist(username="tz", password_hash="x", role="therapist", active=True)
    db_session.add(therapist)
    db_session.flush()
    db_session.expire_all()
    stored = db_session.scalars(select(Therapist).where(Therapist.username == "tz")).one()
    assert stored.created_at.tzinfo is not None
    assert stored.created_at.utcoffset() == dt.timedelta(0)


def test_rows_do_not_leak_between_tests_part_1(db_session):
    db_session.add(Therapist(username="leak", password_hash="x", role="therapist", active=True))
    db_session.commit()  # only releases the fixture's savepoint


def test_rows_do_not_leak_between_tests_part_2(db_session):
    assert db_session.scalars(select(Therapist).where(Therapist.username == "leak")).first() is None


def test_session_scope_rolls_back_on_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'scope.sqlite3'}"
    migrate(url)
    factory = make_session_factory(make_engine(url))
    with pytest.raises(RuntimeError):
        with session_scope(factory) as session:
            session.add(Therapist(username="gone", password_hash="x", role="therapist", active=True))
            session.flush()
            raise RuntimeError("boom")
    with session_scope(factory) as session:
        assert session.scalars(select(Therapist)).all() == []


def test_sqlite_parent_directory_is_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'cadenza.sqlite3'}"
    migrate(url)
    assert (tmp_path / "deep" / "er" / "cadenza.sqlite3").exists()


def test_bad_url_names_the_url():
    with pytest.raises(ParameterError, match="not-a-url"):
        make_engine("not-a-url")


def test_sessions_from_the_factory_carry_the_guards_and_a_bare_session_has_none(db_engine):
    """Sealing and the emergency read-only rule are wired on the factory, not on every Session."""
    from sqlalchemy.orm import Session

    from cadenza.clinic import access, accounts, audit_chain, emergency, service
    from cadenza.clinic.audit import audit
    from cadenza.clinic.audit_chain import AuditSeal
    from cadenza.clinic.emergency import EmergencyAccess
    from cadenza.clinic.models import utcnow
    from cadenza.errors import PermissionDeniedError

    connection = db_engine.connect()
    outer = connection.begin()
    try:
        guarded = make_session_factory(connection, join_transaction_mode="create_savepoint")()
        bare = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        assert audit_chain.is_installed(guarded) and emergency.is_installed(guarded)
        assert not audit_chain.is_installed(bare) and not emergency.is_installed(bare)

        sealed = audit(guarded, None, "create", "probe")
        guarded.commit()
        unsealed = audit(bare, None, "create", "probe")
        bare.commit()
        assert guarded.scalar(select(AuditSeal.seq).where(AuditSeal.event_id == sealed.id)) is not None
        assert guarded.scalar(select(AuditSeal.seq).where(AuditSeal.event_id == unsealed.id)) is None
        guarded.commit()

        ann = accounts.create_therapist(guarded, actor=None, username="guard.ann", password="correct horse battery")
        root = accounts.create_therapist(guarded, actor=None, username="guard.root", password="correct horse battery",
                                         role="admin")
        client = service.create_client(guarded, actor=ann, code="G001")
        now = utcnow()
        guarded.add(EmergencyAccess(admin_id=root.id, client_id=client.id, reason="x" * 30,
                                    granted_at=now - dt.timedelta(minutes=1), expires_at=now + dt.timedelta(hours=1)))
        guarded.commit()

        opened = access.get_client_for_actor(guarded, actor=root, client_id=client.id)
        opened.birth_year = 1901
        with pytest.raises(PermissionDeniedError, match="read-only"):
            guarded.flush()
        guarded.rollback()
        root_id, client_id = root.id, client.id
        guarded.close()

        with pytest.raises(PermissionDeniedError, match="make_session_factory"):
            access.get_client_for_actor(bare, actor=bare.get(Therapist, root_id), client_id=client_id)
        bare.close()
    finally:
        outer.rollback()
        connection.close()


def _terminate_backends(database_url: str, pids: list[int]) -> None:
    """End these backends as a restart would: the server says goodbye and closes each socket."""
    from sqlalchemy import text

    killer = make_engine(database_url)
    with killer.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM "
                                      "pg_stat_activity WHERE pid = ANY(:pids)) AS ended"), {"pids": pids}) == len(pids)
    killer.dispose()
    deadline = time.monotonic() + 5
    engine_gone = make_engine(database_url)
    with engine_gone.connect() as connection:  # wait until the server has let them go
        while connection.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": pids}):
            connection.commit()  # the activity view is read once per transaction
            assert time.monotonic() < deadline, "the terminated backends did not end"
            time.sleep(0.02)
    engine_gone.dispose()


def _backend_pids(engine, count: int) -> list[int]:
    """Check out ``count`` connections at once and give them back to the pool; their backends' ids."""
    from sqlalchemy import text

    held = [engine.connect() for _ in range(count)]
    pids = [connection.scalar(text("SELECT pg_backend_pid()")) for connection in held]
    for connection in held:
        connection.commit()
        connection.close()
    return pids


def _postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL server's backends and sockets")


def test_pooled_connections_the_server_ended_are_replaced_without_an_error(database_url):
    _postgres_only(database_url)
    from sqlalchemy import text

    engine = make_engine(database_url, pool_size=3, max_overflow=0)
    try:
        ended = _backend_pids(engine, 3)
        _terminate_backends(database_url, ended)
        for _ in range(3):  # every pooled connection was ended; each checkout gets a live one
            with engine.connect() as connection:
                assert connection.scalar(text("SELECT pg_backend_pid()")) not in ended
    finally:
        engine.dispose()


def test_a_healthy_pooled_connection_is_handed_out_without_a_round_trip(database_url, monkeypatch):
    """The pool looks at the socket, not the server: the caller's statement is the first one sent (issue 23;
    ``pool_pre_ping`` sent ``SELECT 1`` at every checkout). A connection the server ended is still replaced."""
    _postgres_only(database_url)
    import psycopg

    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        (pid,) = _backend_pids(engine, 1)
        sent: list[str] = []
        execute = psycopg.Cursor.execute

        def recorded(cursor, query, *args, **kwargs):
            sent.append(str(query))
            return execute(cursor, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", recorded)
        for n in range(3):
            with engine.connect() as connection:
                assert connection.exec_driver_sql(f"SELECT pg_backend_pid() + {n}").scalar() == pid + n
        assert sent == [f"SELECT pg_backend_pid() + {n}" for n in range(3)]
        _terminate_backends(database_url, [pid])
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
    finally:
        engine.dispose()
