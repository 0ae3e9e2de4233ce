"""Alembic environment: runs on a connection handed over by :func:`cadenza.clinic.db.migrate`,
or on ``sqlalchemy.url`` from the configuration when run through the alembic command line."""

from __future__ import annotations

from alembic import context

from cadenza.clinic.tables import record_metadata

config = context.config
target_metadata = record_metadata()  # the core's tables and every installed tool's


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from cadenza.clinic.db import make_engine, migration_connection
    from cadenza.settings import Settings

    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    engine = make_engine(url)
    try:
        with migration_connection(engine) as conn:  # SQLite: foreign keys off outside the transaction
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
