"""The tamper-evident audit chain (targets T13/T14): sealing, verification, tampering, concurrency, CLI,
migration. Runs on SQLite and, under scripts/with-postgres, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import sqlite3
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cadenza.clinic import audit_chain, service
from cadenza.clinic.audit_chain import (
    GENESIS_SEAL,
    KEY_ENV,
    AuditSeal,
    ChainLink,
    audit_key,
    check_chain,
    compute_seal,
    seal_rows,
    verify_chain,
)
from cadenza.clinic.db import alembic_config, make_engine, make_session_factory, migrate, session_scope
from cadenza.clinic.models import AuditEvent, Base
from cadenza.errors import ParameterError

pytestmark = pytest.mark.usefixtures("fixed_audit_key")  # one key for the module (tests/clinic/conftest.py)

EVENTS = AuditEvent.__table__
SEALS = AuditSeal.__table__
FIELDS = tuple(sorted(c for c in EVENTS.c.keys() if c != "id"))
SRC = Path(__file__).resolve().parents[2] / "src" / "cadenza"
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def write_events(engine, count: int, *, per_commit: int = 10, tag: str = "probe") -> None:
    """``count`` audited accesses of varied shape, committed in batches of ``per_commit``."""
    factory = make_session_factory(engine)
    for start in range(0, count, per_commit):
        with session_scope(factory) as db:
            for k in range(start, min(count, start + per_commit)):
                db.add(AuditEvent(actor_id=k % 3 or None, actor_username=f"user{k % 5}",
                                  action=("read", "list", "create", "update", "export")[k % 5], entity=tag,
                                  entity_id=k if k % 4 else None, client_id=k % 7 or None,
                                  at=T0 + dt.timedelta(seconds=k, microseconds=k)))


def report_of(engine, **anchors) -> audit_chain.ChainReport:
    with engine.connect() as connection:
        return verify_chain(connection, **anchors)


# --- pure: seal and chain -----------------------------------------------------------------------------


def test_seal_is_hmac_sha256_over_previous_seal_and_canonical_row():
    values = {"actor_id": None, "actor_username": "system", "action": "read", "entity": "client", "entity_id": 4,
              "client_id": 4, "at": dt.datetime(2026, 11, 25, 9, 30, 0, 5, tzinfo=dt.UTC)}
    message = (GENESIS_SEAL + '{"event_id":12,"fields":{"action":"read","actor_id":null,"actor_username":"system",'
               '"at":"2026-11-25T09:30:00.000005+00:00","client_id":4,"entity":"client","entity_id":4}}')
    expected = hmac.new(b"k" * 32, message.encode(), hashlib.sha256).hexdigest()
    assert compute_seal(b"k" * 32, GENESIS_SEAL, 12, FIELDS, values) == expected
    # SQLite hands back naive UTC, PostgreSQL aware datetimes (maybe in another zone): one seal.
    naive = values | {"at": dt.datetime(2026, 11, 25, 9, 30, 0, 5)}
    other_zone = values | {"at": values["at"].astimezone(dt.timezone(dt.timedelta(hours=2)))}
    assert compute_seal(b"k" * 32, GENESIS_SEAL, 12, FIELDS, naive) == expected
    assert compute_seal(b"k" * 32, GENESIS_SEAL, 12, FIELDS, other_zone) == expected
    assert compute_seal(b"x" * 32, GENESIS_SEAL, 12, FIELDS, values) != expected


event_values = st.fixed_dictionaries({
    "actor_id": st.none() | st.integers(1, 50), "actor_username": st.text("abcxyz", min_size=2, max_size=8),
    "action": st.sampled_from(["read", "list", "create", "update"]), "entity": st.sampled_from(["client", "goal"]),
    "entity_id": st.none() | st.integers(1, 99), "client_id": st.none() | st.integers(1, 99),
    "at": st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1),
                       timezones=st.just(dt.UTC))})


def _links(key: bytes, events: list[dict]) -> list[ChainLink]:
    rows = seal_rows(key, 0, GENESIS_SEAL, [e | {"id": i + 1} for i, e in enumerate(events)], FIELDS)
    return [ChainLink(seq=r["seq"], event_id=r["event_id"], prev_seal=r["prev_seal"], seal=r["seal"],
                      fields=FIELDS, values=events[i]) for i, r in enumerate(rows)]


@settings(max_examples=60, deadline=None)
@given(events=st.lists(event_values, min_size=2, max_size=12, unique_by=lambda e: e["at"]),
       kind=st.sampled_from(["edit", "drop", "swap_links", "swap_content", "truncate", "forge"]), data=st.data())
def test_any_single_tampering_of_an_in_memory_chain_is_detected(events, kind, data):
    key = b"property-key-0123456789abcdef012"
    links = _links(key, events)
    intact = check_chain(links, key=key, relinks=links)
    assert intact.ok and intact.count == len(events) and intact.head_seal == links[-1].seal
    i = data.draw(st.integers(0, len(links) - 1))
    j = data.draw(st.integers(0, len(links) - 1).filter(lambda j: j != i))
    tampered = list(links)
    if kind == "edit":
        name = data.draw(st.sampled_from(FIELDS))
        old = links[i].values[name]
        new = (old + dt.timedelta(microseconds=1) if isinstance(old, dt.datetime) else
               old + "z" if isinstance(old, str) else 1 if old is None else None)
        tampered[i] = ChainLink(**{**links[i].__dict__, "values": links[i].values | {name: new}})
    elif kind == "drop":
        del tampered[i]
        tampered = [ChainLink(**{**link.__dict__, "seq": n + 1}) for n, link in enumerate(tampered)]
    elif kind == "swap_links":
        tampered[i], tampered[j] = (ChainLink(**{**links[j].__dict__, "seq": links[i].seq}),
                                    ChainLink(**{**links[i].__dict__, "seq": links[j].seq}))
    elif kind == "swap_content":
        tampered[i] = ChainLink(**{**links[i].__dict__, "values": links[j].values})
        tampered[j] = ChainLink(**{**links[j].__dict__, "values": links[i].values})
    elif kind == "truncate":
        tampered = tampered[:i]
    else:  # forge: a new last link sealed with a guessed key
        forged = _links(b"guessed-key-0123456789abcdef0123", events + [events[i]])[-1]
        tampered.append(ChainLink(**{**forged.__dict__, "prev_seal": links[-1].seal}))
    report = check_chain(tampered, key=key, relinks=tampered, expect_count=len(links), expect_seal=links[-1].seal)
    assert not report.ok
    assert report.problem in audit_chain.PROBLEMS


def test_bad_anchors_are_refused_by_name():
    with pytest.raises(ParameterError, match="expect_count"):
        check_chain([], key=b"k" * 32, expect_count=-1)
    with pytest.raises(ParameterError, match="expect_seal"):
        check_chain([], key=b"k" * 32, expect_seal="xyz")


def test_empty_chain_is_valid_and_anchors_still_bite():
    assert check_chain([], key=b"k" * 32).ok
    assert check_chain([], key=b"k" * 32).count == 0
    assert check_chain([], key=b"k" * 32, expect_count=1).problem == "missing"


# --- key ----------------------------------------------------------------------------------------------


def test_key_file_is_created_once_next_to_the_sqlite_file_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    url = f"sqlite:///{tmp_path / 'records' / 'cadenza.sqlite3'}"
    with pytest.raises(ParameterError, match="no audit key"):
        audit_key(url, create=False)
    key = audit_key(url)
    path = tmp_path / "records" / "audit.key"
    assert len(key) == 32 and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    audit_chain._KEY_CACHE.clear()
    assert audit_key(url, create=False) == key  # read back from the file, not regenerated
    assert audit_key(f"sqlite:///{tmp_path / 'other' / 'x.sqlite3'}") != key


def test_key_from_the_environment_wins_and_short_or_broken_keys_are_refused(tmp_path, monkeypatch, fixed_audit_key):
    url = f"sqlite:///{tmp_path / 'cadenza.sqlite3'}"
    assert audit_key(url) == fixed_audit_key.encode()
    assert not (tmp_path / "audit.key").exists()  # never written when the environment holds the key
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(ParameterError, match=KEY_ENV):
        audit_key(url)
    monkeypatch.delenv(KEY_ENV)
    (tmp_path / "audit.key").write_text("not hex\n")
    with pytest.raises(ParameterError, match="audit.key"):
        audit_key(url)


def test_a_server_database_keeps_its_key_in_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    assert audit_chain.key_file_for("postgresql+psycopg://u@localhost/cadenza") == tmp_path / "data" / "audit.key"
    assert audit_chain.key_file_for("sqlite://") is None


# --- T14: 1,000 random single tamperings --------------------------------------------------------------


class Tamperer:
    """One random single-row tampering of the chain, applied on an open transaction; returns the
    (problem, position, event_id) the verifier must report first."""

    KINDS = ("edit_event", "edit_seal", "delete_row", "delete_event", "delete_seal", "swap_content",
             "swap_seals", "delete_last", "insert_unsealed", "insert_forged")

    def __init__(self, connection, rng):
        self.c, self.rng = connection, rng
        self.links = connection.execute(sa.select(SEALS).order_by(SEALS.c.seq)).all()
        self.events = {row.id: row._mapping for row in connection.execute(sa.select(EVENTS))}
        self.n = len(self.links)
        self.spare_id = max(self.events) + 1000
        connection.rollback()  # each tampering runs in its own transaction

    def pick(self, low: int = 1, high: int | None = None) -> int:
        return int(self.rng.integers(low, (high or self.n) + 1))

    def apply(self, kind: str):
        return getattr(self, kind)()

    def edit_event(self):
        seq = self.pick()
        event_id = self.links[seq - 1].event_id
        name = FIELDS[self.pick(0, len(FIELDS) - 1)]
        old = self.events[event_id][name]
        new = (old + dt.timedelta(microseconds=1) if isinstance(old, dt.datetime) else
               old + "x" if isinstance(old, str) else 7 if old is None else old + 1)
        self.c.execute(EVENTS.update().where(EVENTS.c.id == event_id).values({name: new}))
        return "edited", seq, event_id

    def edit_seal(self):
        seq = self.pick()
        link = self.links[seq - 1]
        name = ("seal", "prev_seal", "fields", "event_id", "seq")[self.pick(0, 4)]
        if name in ("seal", "prev_seal"):
            old = getattr(link, name)
            new = ("1" if old[0] != "1" else "2") + old[1:]
        elif name == "fields":
            dropped = FIELDS[self.pick(0, len(FIELDS) - 1)]
            new = ",".join(f for f in link.fields.split(",") if f != dropped)
        elif name == "event_id":
            new = self.spare_id
        else:
            new = self.n + 10
        self.c.execute(SEALS.update().where(SEALS.c.seq == seq).values({name: new}))
        return ("missing" if name in ("event_id", "seq") else "edited"), seq, None

    def _delete(self, seq: int, *, event: bool = True, seal: bool = True) -> int:
        event_id = self.links[seq - 1].event_id
        if event:
            self.c.execute(EVENTS.delete().where(EVENTS.c.id == event_id))
        if seal:
            self.c.execute(SEALS.delete().where(SEALS.c.seq == seq))
        return event_id

    def delete_row(self):
        seq = self.pick()
        self._delete(seq)
        return "missing", seq, None

    def delete_event(self):
        seq = self.pick()
        return "missing", seq, self._delete(seq, seal=False)

    def delete_seal(self):
        seq = self.pick(1, self.n - 1)
        self._delete(seq, event=False)
        return "missing", seq, None

    def swap_content(self):
        i = self.pick(1, self.n - 1)
        j = self.pick(i + 1)
        a, b = self.links[i - 1].event_id, self.links[j - 1].event_id
        self.c.execute(EVENTS.update().where(EVENTS.c.id == a).values({f: self.events[b][f] for f in FIELDS}))
        self.c.execute(EVENTS.update().where(EVENTS.c.id == b).values({f: self.events[a][f] for f in FIELDS}))
        return "reordered", i, a

    def swap_seals(self):
        i = self.pick(1, self.n - 1)
        j = self.pick(i + 1)
        self.c.execute(SEALS.update().where(SEALS.c.seq == i).values(seq=-1))
        self.c.execute(SEALS.update().where(SEALS.c.seq == j).values(seq=i))
        self.c.execute(SEALS.update().where(SEALS.c.seq == -1).values(seq=j))
        return "reordered", i, None

    def delete_last(self):
        self._delete(self.n)
        return "missing", self.n, None  # visible only against the anchored count/head seal

    def _forged_event(self) -> dict:
        return {"id": self.spare_id, "actor_id": 1, "actor_username": "intruder", "action": "read",
                "entity": "client", "entity_id": 1, "client_id": 1, "at": T0}

    def insert_unsealed(self):
        self.c.execute(EVENTS.insert().values(self._forged_event()))
        return "unsealed", None, self.spare_id

    def insert_forged(self):
        forged = self._forged_event()
        self.c.execute(EVENTS.insert().values(forged))
        head = self.links[-1].seal
        [row] = seal_rows(b"guessed-key-0123456789abcdef0123", self.n, head, [forged], FIELDS)
        self.c.execute(SEALS.insert().values(row))
        return "edited", self.n + 1, self.spare_id


@pytest.fixture(scope="module")
def chain_copy(engine, database_url, tmp_path_factory) -> Iterator:
    """An engine on a copy of the module's database holding >= 200 sealed events."""
    write_events(engine, 210, per_commit=7, tag="t14")
    if engine.dialect.name != "sqlite":
        yield engine  # every tampering is rolled back, so the original stays intact
        return
    copy_path = tmp_path_factory.mktemp("copy") / "copy.sqlite3"
    source = sqlite3.connect(engine.url.database)
    try:
        source.execute("VACUUM INTO ?", (str(copy_path),))  # a consistent copy, WAL included
    finally:
        source.close()
    copy = make_engine(f"sqlite:///{copy_path}")
    yield copy
    copy.dispose()


@pytest.mark.slow
def test_thousand_random_single_tamperings_are_each_detected_at_the_right_row(chain_copy, rng):
    intact = report_of(chain_copy)
    assert intact.ok and intact.count >= 200, intact.summary()
    anchors = {"expect_count": intact.count, "expect_seal": intact.head_seal}
    # T14 asks for 1,000 on a copy: run in full on SQLite. The checker reads rows the same way on
    # PostgreSQL, so 250 trials there (every kind, then random) cover its types and ordering at a quarter
    # of the cost.
    trials = 1000 if chain_copy.dialect.name == "sqlite" else 250
    detected, kinds = 0, {}
    with chain_copy.connect() as connection:
        tamperer = Tamperer(connection, rng)
        for trial in range(trials):
            kind = Tamperer.KINDS[trial % len(Tamperer.KINDS)] if trial < 20 else \
                Tamperer.KINDS[int(rng.integers(len(Tamperer.KINDS)))]
            transaction = connection.begin()
            try:
                problem, position, event_id = tamperer.apply(kind)
                report = verify_chain(connection, **anchors)
            finally:
                transaction.rollback()
            assert not report.ok, f"trial {trial}: {kind} went unnoticed"
            assert (report.problem, report.position) == (problem, position), f"trial {trial} {kind}: {report}"
            if event_id is not None:
                assert report.event_id == event_id, f"trial {trial} {kind}: {report}"
            detected += 1
            kinds[kind] = kinds.get(kind, 0) + 1
    assert detected == trials and set(kinds) == set(Tamperer.KINDS)
    assert report_of(chain_copy, **anchors).ok  # every tampering was undone


def test_deleting_the_newest_rows_needs_the_anchor(chain_copy):
    intact = report_of(chain_copy)
    with chain_copy.connect() as connection:
        try:
            last = connection.execute(sa.select(SEALS).order_by(SEALS.c.seq.desc()).limit(1)).one()
            connection.execute(EVENTS.delete().where(EVENTS.c.id == last.event_id))
            connection.execute(SEALS.delete().where(SEALS.c.seq == last.seq))
            assert verify_chain(connection).ok  # a shorter chain is still a valid chain ...
            assert verify_chain(connection, expect_count=intact.count).problem == "missing"  # ... the anchor tells
            assert verify_chain(connection, expect_seal=intact.head_seal).problem == "missing"
        finally:
            connection.rollback()


# --- sealing on the database --------------------------------------------------------------------------


def test_every_session_seals_its_audit_events_at_commit(engine, db_session, therapist, client_record):
    pending = db_session.scalars(sa.select(AuditEvent.id)).all()
    assert len(pending) >= 2  # the account and the client were audited, not yet committed
    db_session.commit()  # a test-made Session(bind=connection): the fixture's SAVEPOINT is released
    sealed = db_session.scalars(sa.select(AuditSeal.event_id)).all()
    assert sorted(sealed) == sorted(pending)
    report = verify_chain(db_session)
    assert report.ok, report.summary()
    assert report.count == len(pending)


def test_web_requests_seal_their_audit_events(web_browser, make_therapist, db_session):
    make_therapist("webby")
    db_session.commit()
    before = verify_chain(db_session)
    assert web_browser.log_in("webby").status_code == 303
    assert web_browser.get("/").status_code == 200
    assert web_browser.get("/clients/999999").status_code == 404  # the refusal is audited in its own session
    after = verify_chain(db_session)
    assert after.ok, after.summary()
    total = db_session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert after.count == total > before.count


def test_a_rolled_back_transaction_leaves_no_seal_and_no_gap(engine):
    write_events(engine, 3)
    before = report_of(engine)
    factory = make_session_factory(engine)
    with pytest.raises(RuntimeError):
        with session_scope(factory) as db:
            service.audit(db, None, "read", "rolled_back")
            db.flush()
            raise RuntimeError("the request failed")
    with session_scope(factory) as db:  # a savepoint rolled back inside a committed transaction
        nested = db.begin_nested()
        service.audit(db, None, "read", "rolled_back")
        db.flush()
        nested.rollback()
        service.audit(db, None, "read", "kept")
    after = report_of(engine)
    assert after.ok, after.summary()
    assert after.count == before.count + 1
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(EVENTS)
                                 .where(EVENTS.c.entity == "rolled_back")) == 0
        seqs = connection.scalars(sa.select(SEALS.c.seq).order_by(SEALS.c.seq)).all()
    assert seqs == list(range(1, after.count + 1))


def test_a_commit_seals_what_it_wrote_without_reading_the_events_back(engine):
    """Inside the chain lock a commit reads only the head (issue 23): the seals come from the values the
    transaction itself inserted, and they verify like any other."""
    write_events(engine, 2)
    sent: list[str] = []

    def _record(_connection, _cursor, statement, *_args) -> None:
        sent.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", _record)
    try:
        with session_scope(make_session_factory(engine)) as db:
            service.audit(db, None, "read", "fast_path", entity_id=7, client_id=3)
            service.audit(db, None, "list", "fast_path")
    finally:
        sa.event.remove(engine, "before_cursor_execute", _record)
    assert [s for s in sent if "FROM audit_event" in s] == []
    assert sum("INSERT INTO audit_seal" in s for s in sent) == 1
    report = report_of(engine)
    assert report.ok, report.summary()


def test_concurrent_writers_build_one_gapless_chain(engine):
    threads, writes = 8, 25
    with session_scope(make_session_factory(engine)) as db:
        service.create_therapist(db, actor=None, username="chain.writer", password="correct horse battery")
    before = report_of(engine)
    factory = make_session_factory(engine)
    barrier = threading.Barrier(threads)

    def writer(t: int) -> None:
        barrier.wait()
        for k in range(writes):
            with session_scope(factory) as db:
                me = service.get_therapist_by_username(db, "chain.writer")
                service.create_client(db, actor=me, code=f"CH{t}-{k}")  # a client row and its audit row

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(writer, range(threads)))
    after = report_of(engine)
    assert after.ok, after.summary()
    with engine.connect() as connection:
        created = connection.scalar(sa.select(sa.func.count()).select_from(EVENTS)
                                    .where(EVENTS.c.action == "create", EVENTS.c.entity == "client",
                                           EVENTS.c.actor_username == "chain.writer"))
        total = connection.scalar(sa.select(sa.func.count()).select_from(EVENTS))
    assert created == threads * writes
    assert after.count == total and after.count >= before.count + threads * writes


def test_the_seal_table_matches_its_model(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diffs if "audit_seal" in repr(d)] == []


def test_no_application_code_updates_or_deletes_audit_rows():
    writes = re.compile(r"(update|delete)\(\s*(AuditEvent|AuditSeal)|(UPDATE|DELETE\s+FROM)\s+audit_(event|seal)|"
                        r"(EVENTS|SEALS|audit_event|audit_seal)[\w.]*\.(update|delete)\(", re.IGNORECASE)
    assert writes.search("db.execute(delete(AuditEvent).where(AuditEvent.id == 3))")
    assert writes.search('connection.exec_driver_sql("UPDATE audit_seal SET seal = ?")')
    offenders = [f"{path.relative_to(SRC)}:{n}" for path in SRC.rglob("*.py") if "migrations" not in path.parts
                 for n, line in enumerate(path.read_text().splitlines(), 1) if writes.search(line)]
    assert offenders == []


# --- migration ----------------------------------------------------------------------------------------


def test_the_migration_seals_the_rows_that_were_there_before(engine):
    """Downgrade only this branch (audit_seal goes), write audit rows as an older Cadenza would, upgrade."""
    from alembic import command

    write_events(engine, 5, tag="before_downgrade")
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0009_audit_chain@-1")
    with engine.begin() as connection:
        assert not sa.inspect(connection).has_table("audit_seal")
        assert sa.inspect(connection).has_table("ras_plan")  # the other branches stay where they were
        connection.execute(EVENTS.insert(), [{"actor_id": None, "actor_username": "system", "action": "read",
                                              "entity": "legacy", "entity_id": k, "client_id": None,
                                              "at": T0 + dt.timedelta(minutes=k)} for k in range(12)])
        total = connection.scalar(sa.select(sa.func.count()).select_from(EVENTS))
        first_ids = connection.scalars(sa.select(EVENTS.c.id).order_by(EVENTS.c.id)).all()
    migrate(engine)
    report = report_of(engine)
    assert report.ok, report.summary()
    assert report.count == total
    with engine.connect() as connection:
        assert connection.scalars(sa.select(SEALS.c.event_id).order_by(SEALS.c.seq)).all() == first_ids
    write_events(engine, 2, tag="after_upgrade")  # the application extends the migrated chain
    assert report_of(engine).count == total + 2


def test_an_offline_upgrade_creates_the_table_without_reading_rows(tmp_path):
    import io

    from alembic import command

    config = alembic_config(f"sqlite:///{tmp_path / 'never-opened.sqlite3'}")
    config.output_buffer = io.StringIO()
    command.upgrade(config, "0001_core:0009_audit_chain", sql=True)
    emitted = config.output_buffer.getvalue()
    assert "CREATE TABLE audit_seal" in emitted and "pg_advisory" not in emitted
    assert not (tmp_path / "never-opened.sqlite3").exists()


# --- command line -------------------------------------------------------------------------------------


@pytest.fixture
def record_file(tmp_path, monkeypatch) -> Path:
    """A migrated SQLite record in CADENZA_DATA_DIR with 30 sealed events."""
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    path = tmp_path / "data" / "cadenza.sqlite3"
    url = f"sqlite:///{path}"
    migrate(url)
    file_engine = make_engine(url)
    write_events(file_engine, 30)
    file_engine.dispose()
    return path


def run_cli(*args: str):
    from cadenza.cli.main import app

    return CliRunner().invoke(app, ["audit", "verify", *args], env={"COLUMNS": "250"})


def test_cli_says_ok_with_the_count_and_head_seal(record_file):
    result = run_cli()
    assert result.exit_code == 0, result.output
    assert re.search(r"audit chain OK: 30 events sealed; head at position 30: [0-9a-f]{64}", result.output)
    head = result.output.split()[-1]
    assert run_cli("--expect-count", "30", "--expect-seal", head).exit_code == 0
    payload = json.loads(run_cli("--json").output)
    assert payload["ok"] is True and payload["count"] == 30 and payload["head_seal"] == head


def test_cli_names_the_first_tampered_row_and_exits_1(record_file):
    with sqlite3.connect(record_file) as connection:
        connection.execute("UPDATE audit_event SET action = 'update' WHERE id = 20")
        connection.execute("UPDATE audit_event SET actor_username = 'someone' WHERE id = 12")
    result = run_cli()
    assert result.exit_code == 1
    assert "BROKEN at position 12 (event 12): edited" in result.output
    payload = json.loads(run_cli("--json").output)
    assert (payload["ok"], payload["problem"], payload["position"], payload["count"]) == (False, "edited", 12, 11)


def test_cli_reports_an_unreadable_value_instead_of_crashing(record_file):
    with sqlite3.connect(record_file) as connection:  # SQLite lets any text into a DATETIME column
        connection.execute("UPDATE audit_event SET at = 'yesterday-ish' WHERE id = 9")
        connection.execute("UPDATE audit_seal SET prev_seal = 'é' WHERE seq = 20")
    result = run_cli()
    assert result.exit_code == 1
    assert "BROKEN at position 9: edited: a stored value cannot even be read back" in result.output


def test_cli_detects_a_deleted_tail_only_with_the_anchor(record_file):
    head = run_cli().output.split()[-1]
    with sqlite3.connect(record_file) as connection:
        connection.execute("DELETE FROM audit_event WHERE id = 30")
        connection.execute("DELETE FROM audit_seal WHERE seq = 30")
    assert run_cli().exit_code == 0
    for anchor in (["--expect-count", "30"], ["--expect-seal", head]):
        result = run_cli(*anchor)
        assert result.exit_code == 1 and "missing" in result.output


def test_cli_check_does_not_wait_for_or_block_a_writer(record_file):
    writer = sqlite3.connect(record_file, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # the app mid-transaction, holding SQLite's write lock
        writer.execute("INSERT INTO audit_event (actor_username, action, entity, at) "
                       "VALUES ('ann', 'read', 'client', '2026-11-25 10:00:00.000000')")
        result = run_cli()
        assert result.exit_code == 0, result.output  # the uncommitted row is not visible, nothing waits
        assert "30 events sealed" in result.output
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_cli_checks_with_the_key_file_next_to_the_record_and_never_invents_one(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'data' / 'cadenza.sqlite3'}"
    migrate(url)
    file_engine = make_engine(url)
    write_events(file_engine, 5)
    file_engine.dispose()
    key_file = tmp_path / "data" / "audit.key"
    assert key_file.exists()
    assert run_cli().exit_code == 0
    key_file.write_text("ab" * 32 + "\n")  # somebody else's key
    audit_chain._KEY_CACHE.clear()
    result = run_cli()
    assert result.exit_code == 1 and "BROKEN at position 1 (event 1): edited" in result.output
    key_file.unlink()
    audit_chain._KEY_CACHE.clear()
    result = run_cli()
    assert result.exit_code == 2 and "no audit key" in result.output
    assert not key_file.exists()


def test_cli_on_a_missing_or_unmigrated_record(tmp_path, monkeypatch):
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "none"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    result = run_cli()
    assert result.exit_code == 1 and "no database" in result.output
    assert not (tmp_path / "none" / "cadenza.sqlite3").exists()
    sqlite3.connect(tmp_path / "none" / "cadenza.sqlite3").close() if (tmp_path / "none").mkdir() is None else None
    result = run_cli()
    assert result.exit_code == 1 and "cadenza migrate" in result.output
