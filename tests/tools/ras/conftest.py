"""A migrated SQLite database for ``cadenza ras`` commands, with therapist "ana" and client "C9"."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class CommandDatabase:
    factory: object  # a sessionmaker with the record's guards
    client_id: int


@pytest.fixture
def command_db(tmp_path, monkeypatch):
    """CADENZA_DATABASE_URL points the command at a fresh migrated file holding "ana" and her client C9."""
    from cadenza.clinic import service
    from cadenza.clinic.db import make_engine, make_session_factory, migrate, session_scope

    url = f"sqlite:///{tmp_path / 'cadenza.sqlite3'}"
    monkeypatch.setenv("CADENZA_DATABASE_URL", url)
    migrate(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        me = service.create_therapist(db, actor=None, username="ana", password="correct horse battery")
        client_id = service.create_client(db, actor=me, code="C9").id
    yield CommandDatabase(factory=factory, client_id=client_id)
    engine.dispose()
