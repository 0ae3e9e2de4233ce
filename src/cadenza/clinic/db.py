"""Engines, sessions and migrations.

SQLite is the embedded default and PostgreSQL (psycopg 3) the server option; both behave the same for
the services: foreign keys enforced, real transactions with savepoints, UTC timestamps.
"""

from __future__ import annotations

import os
import select
import stat
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from cadenza.clinic import audit_chain, caseload_version, emergency
from cadenza.errors import ParameterError

SQLITE_BUSY_TIMEOUT_MS = 15_000
# PostgreSQL waits forever on a row lock by default. A request that cannot get its lock within
# POSTGRES_LOCK_TIMEOUT_MS is answered 409 (someone else is saving the same record); a statement
# running past POSTGRES_STATEMENT_TIMEOUT_MS, or a transaction left idle mid-way, is ended by the
# server so no connection can hold locks for the life of a stuck process.
POSTGRES_LOCK_TIMEOUT_MS = 5_000
POSTGRES_STATEMENT_TIMEOUT_MS = 60_000
POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS = 120_000
MIGRATIONS_PACKAGE = "cadenza.clinic:migrations"


def make_engine(url: str, *, request_timeouts: bool = False, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL, a busy timeout and proper transactions.

    ``request_timeouts`` (the web app's engine) bounds lock waits, statements and idle transactions
    on PostgreSQL (:func:`postgres_session_options`); migrations and backups run unbounded.

    >>> make_engine("sqlite://").dialect.name
    'sqlite'
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise ParameterError(f"database url {url!r} is not a valid SQLAlchemy URL: {exc}") from None
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would look for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(parsed, **kwargs)
    # psycopg's pooled connections are checked by a look at their socket (drop_closed_connections); any other
    # driver pings the server at each checkout.
    watch_sockets = parsed.drivername == "postgresql+psycopg" and "pool_pre_ping" not in kwargs
    kwargs.setdefault("pool_pre_ping", not watch_sockets)
    if request_timeouts and parsed.get_backend_name() == "postgresql":
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("options", postgres_session_options())
        kwargs["connect_args"] = connect_args
    engine = create_engine(parsed, **kwargs)
    if watch_sockets:
        event.listen(engine, "checkout", drop_closed_connections)
    return engine


def drop_closed_connections(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out a pooled PostgreSQL connection only if the server has not closed it, without a round trip.

    An idle connection in the pool has read every answer to its last statement, so nothing should be waiting
    on its socket. When PostgreSQL ends a backend (a restart, ``pg_terminate_backend``, a crash), the server
    sends its last message and closes the socket, which then reads as ready. Only then is the server asked
    (the ping that ``pool_pre_ping`` sends at every checkout, about one round trip per request; issue 23); if
    it does not answer, the pool drops this connection and hands out a new one (each closed connection is
    found the same way when its turn comes). A connection that breaks without a word (a network cut) fails
    its request's first statement; SQLAlchemy then drops every pooled connection older than that, so the
    next request connects afresh.
    """
    if dbapi_connection.closed or _readable(dbapi_connection.fileno()):
        try:
            alive = not dbapi_connection.closed and _ping(dbapi_connection)
        except Exception:
            alive = False
        if not alive:
            raise exc.DisconnectionError("the server closed this pooled connection")


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _ping(dbapi_connection: Any) -> bool:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True


def postgres_session_options() -> str:
    """The libpq ``options`` that bound how long a PostgreSQL session may wait or run.

    >>> "lock_timeout=5000" in postgres_session_options()
    True
    """
    return (f"-c lock_timeout={POSTGRES_LOCK_TIMEOUT_MS} -c statement_timeout={POSTGRES_STATEMENT_TIMEOUT_MS} "
            f"-c idle_in_transaction_session_timeout={POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS}")


def _make_sqlite_engine(url: Any, **kwargs: Any) -> Engine:
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    connect_args.setdefault("check_same_thread", False)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    file_backed = url.database not in (None, "", ":memory:") and not url.database.startswith("file:")
    database_path = Path(url.database).expanduser() if file_backed else None
    if database_path is not None:
        ensure_private_dir(database_path.parent)
        _create_private_file(database_path)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if database_path is not None:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()
        if database_path is not None:
            # SQLite gives -wal and -shm the database file's mode; files left by an older version
            # (created under the umask) are tightened here.
            _make_owner_only(database_path)
            for suffix in SQLITE_SIDE_FILES:
                _make_owner_only(database_path.with_name(database_path.name + suffix))

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: nearly every transaction writes an audit row, and a
        # deferred read->write upgrade can fail at once with SQLITE_BUSY instead of waiting.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def ensure_private_dir(path: Path) -> None:
    """Create the directory ``path`` (and its parents) readable by its owner only (0700).

    A directory that already exists keeps its mode: it may be shared on purpose (e.g. a temporary
    directory); the database files inside it are private either way (:func:`_create_private_file`).
    """
    path = Path(path).expanduser()
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask; this is exact


def _create_private_file(path: Path) -> None:
    """Create an empty ``path`` with mode 0600 if it does not exist, so SQLite (which gives its -wal
    and -shm files the database's mode) never makes a world-readable database under umask 022."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _make_owner_only(path: Path) -> None:
    """Remove group and other permission bits from ``path`` if it exists and is ours to change."""
    try:
        mode = path.stat().st_mode
        if mode & 0o077:
            os.chmod(path, stat.S_IMODE(mode) & 0o700)
    except OSError:
        pass  # not created yet, owned by someone else (the operator's choice), or a read-only file system


def make_session_factory(bind: Engine | Connection, **options: Any) -> sessionmaker[Session]:
    """The one way to make sessions of the record: they carry its guards.

    Every session of the returned factory seals the audit events it writes into the hash chain at
    commit (:func:`cadenza.clinic.audit_chain.install`), turns read-only for the rest of a unit of
    work that used an emergency grant (:func:`cadenza.clinic.emergency.install`), and raises a
    therapist's caseload version with each change to their clients' records, which the dashboard's kept
    lists follow (:func:`cadenza.clinic.caseload_version.install`). A plain ``Session(engine)`` has none
    of these: audit events it writes stay unsealed, emergency reads are refused and its changes leave the
    dashboards as they were. Reads are audited once per unit of work on any session
    (:func:`cadenza.clinic.audit.audit`), and the signed-note freeze sits on the models themselves.

    ``bind`` is an engine, or a connection for sessions inside an outer transaction (tests pass
    ``join_transaction_mode="create_savepoint"``); ``options`` go to :class:`sessionmaker`
    (``expire_on_commit`` defaults to False).
    """
    options.setdefault("expire_on_commit", False)
    factory = sessionmaker(bind=bind, **options)
    audit_chain.install(factory)
    emergency.install(factory)
    caseload_version.install(factory)
    _RECORD_FACTORIES.add(factory)
    return factory


_RECORD_FACTORIES: weakref.WeakSet[sessionmaker[Session]] = weakref.WeakSet()


def is_record_factory(factory: object) -> bool:
    """True if ``factory`` came from :func:`make_session_factory`, so its sessions carry the record's guards."""
    try:
        return factory in _RECORD_FACTORIES
    except TypeError:  # not weak-referenceable: certainly not one of ours
        return False


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None) -> Any:
    """The Alembic configuration, built in code so it works from an installed package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_PACKAGE)
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction for the migrations, committed when the block succeeds.

    On SQLite a migration that changes a constraint rebuilds the table (new table, copy, drop the old,
    rename), and with foreign keys on, that DROP deletes the rows of every table referring to it (ON
    DELETE CASCADE). SQLite ignores ``PRAGMA foreign_keys`` inside a transaction, so they are switched off
    here before it begins, checked with ``PRAGMA foreign_key_check`` before it commits (a broken
    reference rolls everything back) and switched on again afterwards (SQLite's documented way to change
    a table's schema).
    """
    from cadenza.errors import DataQualityError

    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        driver = connection.connection.driver_connection if sqlite else None
        if driver is not None:
            driver.execute("PRAGMA foreign_keys = OFF")  # outside any transaction (autocommit mode)
        try:
            with connection.begin():
                yield connection
                if driver is not None:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise DataQualityError(f"the migration left {len(broken)} broken reference(s), e.g. "
                                               f"{tuple(broken[0])!r}; nothing was changed")
        finally:
            if driver is not None:
                driver.execute("PRAGMA foreign_keys = ON")


def migrate(url: str | Engine) -> None:
    """Bring the database at ``url`` to the newest revision of every branch (``alembic upgrade heads``)."""
    from alembic import command

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with migration_connection(engine) as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
    finally:
        if not isinstance(url, Engine):
            engine.dispose()
