"""The database holds sound_dose_entry rows to the ledger's rules (SQLite and PostgreSQL): writes that bypass
listening.add_dose_entry are refused, and migration 0008_safety_checks adds the rules without losing rows."""

from __future__ import annotations

import datetime as dt
import math
import re

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import CheckConstraint, text
from sqlalchemy.exc import DataError, IntegrityError

from cadenza.clinic import listening, service
from cadenza.clinic.db import alembic_config, make_session_factory
from cadenza.errors import ConflictError, ParameterError
from cadenza.safety.dose import PLAUSIBLE_LEVEL_DBA, WEEK_S

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
REVISION = "0008_safety_checks"
COLUMNS = ("client_id", "started_at", "duration_s", "level_dba", "source", "label", "created_at")
INSERT = text(f"INSERT INTO sound_dose_entry ({', '.join(COLUMNS)}) "
              f"VALUES ({', '.join(':' + c for c in COLUMNS)})")
LOW_DBA, HIGH_DBA = PLAUSIBLE_LEVEL_DBA


def _entry(client_id: int, **values) -> dict:
    row = {"client_id": client_id, "started_at": NOW - dt.timedelta(days=1), "duration_s": 3600.0,
           "level_dba": 80.0, "source": "manual", "label": "", "created_at": NOW}
    return row | values


def _table(connection) -> list[tuple]:
    return [tuple(r) for r in connection.execute(text(
        "SELECT id, client_id, duration_s, level_dba, source, label FROM sound_dose_entry ORDER BY id"))]


def _case(values: dict) -> str:
    return ",".join(f"{k}={v!r}"[:24] for k, v in values.items())


def _refused(db_session, statement, params) -> Exception | None:
    """The error the database raised for this write (inside a savepoint), or None if it took it."""
    try:
        with db_session.begin_nested():
            db_session.execute(statement, params)
    except (IntegrityError, DataError) as exc:
        return exc
    return None


# --- the model and the migration state the same rules ------------------------------------------------


def test_migration_rules_are_the_models_rules():
    module = ScriptDirectory.from_config(alembic_config()).get_revision(REVISION).module
    model = {c.name: str(c.sqltext) for c in listening.SoundDoseEntry.__table__.constraints
             if isinstance(c, CheckConstraint)}
    assert model.pop("ck_sound_dose_entry_duration_s") == "duration_s >= 0"  # from 0007_safety
    assert model == module.RULES
    assert module.down_revision == "0007_safety"


def test_rules_follow_the_writers_constants():
    rules = {c.name: str(c.sqltext) for c in listening.SoundDoseEntry.__table__.constraints
             if isinstance(c, CheckConstraint)}
    assert rules["ck_sound_dose_entry_duration_s_max"] == f"duration_s <= {listening.MAX_ENTRY_DURATION_S!r}"
    assert listening.MAX_ENTRY_DURATION_S == WEEK_S == 604_800.0
    assert rules["ck_sound_dose_entry_level_dba"] == f"level_dba BETWEEN {LOW_DBA!r} AND {HIGH_DBA!r}"
    assert all(f"'{s}'" in rules["ck_sound_dose_entry_source"] for s in listening.DOSE_SOURCES)


# --- writes that bypass the service ------------------------------------------------------------------

BAD_ENTRIES = [
    ({"duration_s": WEEK_S + 1.0}, "duration_s"),
    ({"duration_s": math.nextafter(WEEK_S, math.inf)}, "duration_s"),
    ({"duration_s": 30 * 24 * 3600.0}, "duration_s"),
    ({"duration_s": -1.0}, "duration_s"),
    ({"duration_s": math.nan}, "duration_s"),
    ({"duration_s": math.inf}, "duration_s"),
    ({"duration_s": -math.inf}, "duration_s"),
    ({"level_dba": HIGH_DBA + 0.5}, "level_dba"),
    ({"level_dba": LOW_DBA - 0.5}, "level_dba"),
    ({"level_dba": math.nan}, "level_dba"),
    ({"level_dba": math.inf}, "level_dba"),
    ({"level_dba": -math.inf}, "level_dba"),
    ({"source": "spotify"}, "source"),
    ({"label": "x" * 201}, r"label|character varying\(200\)"),
]


@pytest.mark.parametrize(("values", "named"), BAD_ENTRIES, ids=[_case(v) for v, _ in BAD_ENTRIES])
def test_raw_insert_of_a_bad_entry_is_refused(db_session, client_record, values, named):
    good = _entry(client_record.id)
    db_session.execute(INSERT, good)
    before = _table(db_session)
    error = _refused(db_session, INSERT, _entry(client_record.id, **values))
    assert error is not None, f"the database took {values}"
    assert re.search(named, str(error.orig)), str(error.orig)
    assert _table(db_session) == before


BAD_UPDATES = [
    ({"duration_s": WEEK_S + 1.0}, "duration_s"),
    ({"duration_s": -1.0}, "duration_s"),
    ({"duration_s": math.nan}, "duration_s"),
    ({"level_dba": HIGH_DBA + 0.5}, "level_dba"),
    ({"level_dba": -math.inf}, "level_dba"),
    ({"source": "spotify"}, "source"),
    ({"label": "x" * 201}, r"label|character varying\(200\)"),
]


@pytest.mark.parametrize(("values", "named"), BAD_UPDATES, ids=[_case(v) for v, _ in BAD_UPDATES])
def test_raw_update_to_a_bad_entry_is_refused(db_session, therapist, client_record, values, named):
    listening.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=80.0, duration_s=3600.0,
                             started_at=NOW - dt.timedelta(days=1), label="evening playlist")
    db_session.flush()
    before = _table(db_session)
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    error = _refused(db_session, text(f"UPDATE sound_dose_entry SET {assignments} WHERE client_id = :client_id"),
                     values | {"client_id": client_record.id})
    assert error is not None, f"the database took {values}"
    assert re.search(named, str(error.orig)), str(error.orig)
    assert _table(db_session) == before


def test_rows_at_the_bounds_are_kept(db_session, therapist, client_record):
    """The database is no stricter than the writer: what add_dose_entry accepts, it stores."""
    for duration_s, level_dba in ((WEEK_S, 80.0), (0.0, 80.0), (60.0, LOW_DBA), (60.0, HIGH_DBA)):
        listening.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=level_dba,
                                 duration_s=duration_s, started_at=NOW - dt.timedelta(days=8), source="nicu_pal",
                                 label="y" * 200)
    db_session.flush()
    assert [(r[2], r[3]) for r in _table(db_session)] == [(WEEK_S, 80.0), (0.0, 80.0), (60.0, LOW_DBA),
                                                          (60.0, HIGH_DBA)]


EDGE_FLOATS = st.sampled_from([0.0, -0.0, WEEK_S, math.nextafter(WEEK_S, math.inf), math.nextafter(0.0, -1.0),
                               LOW_DBA, HIGH_DBA, math.nextafter(LOW_DBA, -math.inf),
                               math.nextafter(HIGH_DBA, math.inf), math.nan, math.inf, -math.inf])
ANY_FLOAT = st.one_of(EDGE_FLOATS, st.floats(min_value=-1e6, max_value=2e6), st.floats())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(duration_s=ANY_FLOAT, level_dba=ANY_FLOAT)
def test_database_and_writer_agree(db_session, therapist, client_record, duration_s, level_dba):
    try:
        with db_session.begin_nested():
            listening.add_dose_entry(db_session, actor=therapist, client_id=client_record.id, level_dba=level_dba,
                                     duration_s=duration_s, started_at=NOW)
            raise _Undo  # keep the table as it was for the raw insert below
    except ParameterError:
        writer_takes = False
    except _Undo:
        writer_takes = True
    database_takes = _refused(db_session, INSERT, _entry(client_record.id, duration_s=duration_s,
                                                         level_dba=level_dba)) is None
    assert database_takes == writer_takes


class _Undo(Exception):
    pass


# --- migration 0008_safety_checks ---------------------------------------------------------------------


@pytest.fixture
def migration_connection(db_engine):
    """A connection in a transaction that is rolled back afterwards, so migrations run here leave the
    module's database at heads (both backends have transactional DDL)."""
    connection = db_engine.connect()
    transaction = connection.begin()
    try:
        yield connection
    finally:
        transaction.rollback()
        connection.close()


def _alembic(connection, action, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    action(config, target)


def _versions(connection) -> set[str]:
    return set(connection.scalars(text("SELECT version_num FROM alembic_version")))


def _client_at_0007(connection) -> int:
    """Down to 0007_safety and a client to own entries (core tables are untouched by the downgrade)."""
    _alembic(connection, command.downgrade, f"{REVISION}-1")
    assert "0007_safety" in _versions(connection) and REVISION not in _versions(connection)
    # Rows written with the tables as they stand at that revision (the models have columns later
    # migrations add, e.g. therapist.must_change_password), reflected rather than named.
    from sqlalchemy import MetaData, Table

    now = dt.datetime.now(dt.UTC)
    therapist = Table("therapist", MetaData(), autoload_with=connection)
    client = Table("client", MetaData(), autoload_with=connection)
    therapist_id = connection.execute(therapist.insert().values(
        username="migrator", password_hash="x", role="therapist", active=True, created_at=now,
        **({"qualification": ""} if "qualification" in therapist.c else {})).returning(therapist.c.id)).scalar_one()
    extra = {k: v for k, v in {"status": "active"}.items() if k in client.c}
    return connection.execute(client.insert().values(
        therapist_id=therapist_id, code="M001", birth_year=1960, conditions=[], safety_flags=[], created_at=now,
        updated_at=now, **extra).returning(client.c.id)).scalar_one()


def test_upgrade_keeps_good_rows(migration_connection):
    client_id = _client_at_0007(migration_connection)
    for values in ({"duration_s": WEEK_S}, {"duration_s": 0.0}, {"level_dba": LOW_DBA}, {"level_dba": HIGH_DBA},
                   {"source": "nicu_womb", "label": "z" * 200}):
        migration_connection.execute(INSERT, _entry(client_id, **values))
    before = _table(migration_connection)
    _alembic(migration_connection, command.upgrade, "heads")
    assert REVISION in _versions(migration_connection)
    assert _table(migration_connection) == before
    with pytest.raises(IntegrityError, match="duration_s"), migration_connection.begin_nested():
        migration_connection.execute(INSERT, _entry(client_id, duration_s=WEEK_S + 1))


def test_upgrade_over_bad_rows_stops_and_names_them(migration_connection):
    client_id = _client_at_0007(migration_connection)
    migration_connection.execute(INSERT, _entry(client_id))
    ids = []
    for values in ({"duration_s": 2 * WEEK_S}, {"duration_s": 9 * 24 * 3600.0}, {"level_dba": 190.0}):
        migration_connection.execute(INSERT, _entry(client_id, **values))
        ids.append(migration_connection.scalar(text("SELECT max(id) FROM sound_dose_entry")))
    before = _table(migration_connection)
    with pytest.raises(ConflictError) as refused:
        _alembic(migration_connection, command.upgrade, "heads")
    message = str(refused.value)
    assert "'sound_dose_entry'" in message
    assert f"ck_sound_dose_entry_duration_s_max (duration_s <= 604800.0): 2 offending row(s), id {ids[0]}, {ids[1]}" \
        in message
    assert f"ck_sound_dose_entry_level_dba (level_dba BETWEEN -20.0 AND 150.0): 1 offending row(s), id {ids[2]}" \
        in message
    assert "source" not in message.split("\n", 1)[1].split("Correct")[0]  # rules nobody breaks are not listed
    assert _table(migration_connection) == before
    assert REVISION not in _versions(migration_connection)
    # Once the rows are corrected (the long entries split, the level fixed), the upgrade goes through.
    migration_connection.execute(text("UPDATE sound_dose_entry SET duration_s = :d WHERE id IN (:a, :b)"),
                                 {"d": WEEK_S / 2, "a": ids[0], "b": ids[1]})
    migration_connection.execute(text("UPDATE sound_dose_entry SET level_dba = 90.0 WHERE id = :i"), {"i": ids[2]})
    _alembic(migration_connection, command.upgrade, "heads")
    assert REVISION in _versions(migration_connection)
    assert len(_table(migration_connection)) == 4


def test_refusal_lists_at_most_ten_ids(migration_connection):
    client_id = _client_at_0007(migration_connection)
    for _ in range(12):
        migration_connection.execute(INSERT, _entry(client_id, source="bogus"))
    with pytest.raises(ConflictError, match=r"ck_sound_dose_entry_source .*: 12 offending row\(s\), id .*, \.\.\."):
        _alembic(migration_connection, command.upgrade, "heads")


def test_downgrade_drops_the_new_rules_and_keeps_rows(migration_connection):
    db = make_session_factory(migration_connection, join_transaction_mode="create_savepoint")()
    therapist = service.create_therapist(db, actor=None, username="down", password="correct horse battery")
    client = service.create_client(db, actor=therapist, code="D001", birth_year=1970)
    listening.add_dose_entry(db, actor=therapist, client_id=client.id, level_dba=85.0, duration_s=1800.0,
                             started_at=NOW)
    db.flush()
    before = _table(migration_connection)
    _alembic(migration_connection, command.downgrade, f"{REVISION}-1")
    assert REVISION not in _versions(migration_connection)
    assert _table(migration_connection) == before
    migration_connection.execute(INSERT, _entry(client.id, duration_s=2 * WEEK_S, level_dba=190.0))  # now taken
    with pytest.raises(IntegrityError), migration_connection.begin_nested():  # 0007's own rule stays
        migration_connection.execute(INSERT, _entry(client.id, duration_s=-1.0))
    migration_connection.execute(text("DELETE FROM sound_dose_entry WHERE level_dba = 190.0"))
    _alembic(migration_connection, command.upgrade, "heads")  # and back up again
    assert REVISION in _versions(migration_connection) and _table(migration_connection) == before
