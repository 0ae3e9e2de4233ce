"""Backup and restore (reliability targets T33 round trip, T26 archive safety) on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import struct
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from cadenza.clinic import backup, fhir, listening, service
from cadenza.clinic.audit_chain import verify_chain
from cadenza.clinic.db import make_engine, make_session_factory, migrate, session_scope
from cadenza.clinic.models import Client, Goal, Measurement, TherapySession
from cadenza.clinic.service import MeasurementInput
from cadenza.errors import DataQualityError, ParameterError
from cadenza.tools.mit import records as mit_records

POSTGRES_URL_ENV = "CADENZA_TEST_POSTGRES_URL"
FIXED_BUNDLE_TIME = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 20)


# --- databases ----------------------------------------------------------------------------------------


@contextmanager
def _postgres_database() -> Iterator[str]:
    from sqlalchemy.engine import make_url

    base = make_url(os.environ[POSTGRES_URL_ENV])
    name = f"cadenza_bk_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield base.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture
def empty_target(tmp_path) -> Iterator:
    """``empty_target("sqlite"|"postgresql")``: the URL of a new database without tables."""
    stack = []

    def _make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'target-{uuid.uuid4().hex[:6]}.sqlite3'}"
        if not os.environ.get(POSTGRES_URL_ENV):
            pytest.skip(f"{POSTGRES_URL_ENV} is unset; run under scripts/with-postgres for PostgreSQL")
        manager = _postgres_database()
        stack.append(manager)
        return manager.__enter__()

    yield _make
    for manager in reversed(stack):
        manager.__exit__(None, None, None)


def _populate(url: str) -> None:
    """A varied record through the services: two therapists, clients with goals, sessions, measurements,
    a signed note with addenda, sound-dose entries and MIT phrases."""
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as db:
            ana = service.create_therapist(db, actor=None, username="ana", password="correct horse battery")
            ben = service.create_therapist(db, actor=None, username="ben", password="correct horse battery",
                                           role="admin")
            for actor, code, flags in [(ana, "C001", []), (ana, "C002", ["hearing_loss"]), (ben, "C003", [])]:
                client = service.create_client(db, actor=actor, code=code, birth_year=1950,
                                               conditions=["parkinson's disease"], safety_flags=flags)
                goal = service.create_goal(db, actor=actor, client_id=client.id, instrument_code="vas_anxiety",
                                           baseline=70, target=30, target_date=dt.date(2027, 1, 1),
                                           description="calmer before procedures ü")
                for day in range(3):
                    row = service.record_session(
                        db, actor=actor, client_id=client.id, session_date=DAY + dt.timedelta(days=day),
                        minutes=45, intervention_code="receptive_listening", subjective=f"day {day} — ok",
                        measurements=[MeasurementInput("vas_anxiety", value=62.5 - day / 3, goal_id=goal.id),
                                      MeasurementInput("phq9", items=[0, 1, 0, 1, 0, 0, 0, 0, 1])])
                if code == "C001":
                    db.flush()
                    signed = service.sign_session(db, actor=actor, session_id=row.id, expected_version=row.version)
                    service.add_addendum(db, actor=actor, session_id=signed.id, text="late entry: slept well")
                    service.add_addendum(db, actor=actor, session_id=signed.id, text="second addendum")
                listening.add_dose_entry(db, actor=actor, client_id=client.id, level_dba=72.5,
                                         duration_s=1800.0, label="playlist")
                mit_records.add_phrase(db, actor=actor, client_id=client.id, text="I want water")
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def source_url(database_url) -> str:
    _populate(database_url)
    return database_url


def _backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _bundles(url: str) -> dict[str, str]:
    """Every client's FHIR bundle as canonical JSON, built from the stored rows with a fixed timestamp."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            out = {}
            for client in db.scalars(select(Client).order_by(Client.code)):
                goals = db.scalars(select(Goal).where(Goal.client_id == client.id).order_by(Goal.id)).all()
                sessions = db.scalars(select(TherapySession).where(TherapySession.client_id == client.id)
                                      .order_by(TherapySession.session_date, TherapySession.id)).all()
                bundle = fhir.validate_bundle(fhir.build_bundle(client, goals, sessions, timestamp=FIXED_BUNDLE_TIME))
                out[client.code] = json.dumps(json.loads(bundle.model_dump_json(exclude_none=True)),
                                              sort_keys=True, separators=(",", ":"))
            db.rollback()
            return out
    finally:
        engine.dispose()


def _chain(url: str):
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            report = verify_chain(connection)
            connection.rollback()
            return report
    finally:
        engine.dispose()


def _count(url: str, table: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            value = connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
            connection.rollback()
            return value
    finally:
        engine.dispose()


# --- round trip (T33) ---------------------------------------------------------------------------------


@pytest.mark.parametrize("target_backend", ["sqlite", "postgresql"])
def test_round_trip_restores_an_identical_record(source_url, empty_target, tmp_path, target_backend):
    archive = tmp_path / "record.zip"
    result = backup.create_backup(source_url, archive)
    digests_at_backup = {t.name: (t.rows, t.sha256) for t in result.manifest.tables}
    assert result.manifest.audit_chain["ok"] is True
    assert digests_at_backup["measurement"][0] == 18 and digests_at_backup["session_addendum"][0] == 2
    source_bundles = _bundles(source_url)

    target = empty_target(target_backend)
    restored = backup.restore_backup(target, archive)
    assert restored.rows_restored == sum(rows for rows, _ in digests_at_backup.values())
    # Per-table counts and hashes of the restored rows equal the backup's, whichever backend took it.
    # audit_event/audit_seal gained exactly the restore event.
    after = backup.table_digests(target)
    for name, (rows, digest) in digests_at_backup.items():
        if name in ("audit_event", "audit_seal"):
            assert after[name][0] == rows + 1, name
        else:
            assert after[name] == (rows, digest), name
    assert _bundles(target) == source_bundles
    report = _chain(target)
    assert report.ok and restored.chain_ok
    assert report.count == result.manifest.audit_chain["count"] + 1
    assert verify_chain_anchored(target, result.manifest)
    # Signed notes and addenda still verify after the trip.
    engine = make_engine(target)
    try:
        with session_scope(make_session_factory(engine)) as db:
            ana = service.get_therapist_by_username(db, "ana")
            signed = db.scalars(select(TherapySession).where(TherapySession.signed_at.is_not(None))).one()
            assert service.verify_session_note(db, actor=ana, session_id=signed.id).ok
    finally:
        engine.dispose()
    # The backup and the restore are audited, as the system actor.
    assert _count(target, "audit_event WHERE action = 'restore' AND actor_username = 'system'") == 1
    assert _count(source_url, "audit_event WHERE action = 'backup'") >= 1


def verify_chain_anchored(url: str, manifest) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            chain = manifest.audit_chain
            report = verify_chain(connection, expect_count=chain["count"], expect_seal=chain["head_seal"])
            connection.rollback()
            return report.ok
    finally:
        engine.dispose()


def test_new_rows_after_restore_get_fresh_ids(source_url, empty_target, tmp_path):
    archive = tmp_path / "record.zip"
    backup.create_backup(source_url, archive)
    target = empty_target(_backend(source_url))
    backup.restore_backup(target, archive)
    migrate(target)
    engine = make_engine(target)
    try:
        with session_scope(make_session_factory(engine)) as db:
            highest = db.scalar(select(func.max(Client.id)))
            ana = service.get_therapist_by_username(db, "ana")
            new = service.create_client(db, actor=ana, code="C900", birth_year=1960)
            assert new.id > highest
            row = service.record_session(db, actor=ana, client_id=new.id, session_date=DAY, minutes=30,
                                         intervention_code="receptive_listening",
                                         measurements=[MeasurementInput("vas_anxiety", value=40)])
            assert row.measurements[0].id > _max_id_before(db, row.measurements[0].id)
    finally:
        engine.dispose()
    assert _chain(target).ok


def _max_id_before(db, new_id: int) -> int:
    return db.scalar(select(func.max(Measurement.id)).where(Measurement.id != new_id))


@pytest.mark.timed  # ten writer threads / a time guard: run alone (scripts/test's second part)
def test_backup_under_ten_writers_restores_consistently(source_url, empty_target, tmp_path):
    """T33: a backup taken while 10 threads keep recording sessions is one consistent snapshot."""
    engine = make_engine(source_url)
    factory = make_session_factory(engine)
    stop, errors = threading.Event(), []
    with session_scope(factory) as db:
        ana = service.get_therapist_by_username(db, "ana")
        client_id = service.get_client_by_code(db, actor=ana, code="C002").id

    def write() -> None:
        while not stop.is_set():
            try:
                with session_scope(factory) as db:
                    actor = service.get_therapist_by_username(db, "ana")
                    service.record_session(db, actor=actor, client_id=client_id, session_date=DAY, minutes=20,
                                           intervention_code="receptive_listening",
                                           measurements=[MeasurementInput("vas_anxiety", value=50),
                                                         MeasurementInput("nrs_pain", value=3)])
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    sessions_before = _count(source_url, "therapy_session")
    threads = [threading.Thread(target=write) for _ in range(10)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 20
        while _count(source_url, "therapy_session") < sessions_before + 10 and time.monotonic() < deadline:
            time.sleep(0.02)  # the writers are demonstrably running before the snapshot is taken
        archive = tmp_path / "busy.zip"
        result = backup.create_backup(source_url, archive)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        engine.dispose()
    assert not errors, errors[:3]
    snapshot_sessions = {t.name: t.rows for t in result.manifest.tables}["therapy_session"]
    assert sessions_before + 10 <= snapshot_sessions < _count(source_url, "therapy_session")
    target = empty_target(_backend(source_url))
    backup.restore_backup(target, archive)
    engine = make_engine(target)
    try:
        with engine.connect() as connection:
            orphans = connection.execute(text(
                "SELECT COUNT(*) FROM measurement m WHERE NOT EXISTS "
                "(SELECT 1 FROM therapy_session s WHERE s.id = m.session_id)")).scalar_one()
            sessions = connection.execute(text("SELECT COUNT(*) FROM therapy_session")).scalar_one()
            measurements = connection.execute(text("SELECT COUNT(*) FROM measurement")).scalar_one()
            connection.rollback()
    finally:
        engine.dispose()
    assert orphans == 0
    tables = {t.name: t.rows for t in result.manifest.tables}
    assert tables["therapy_session"] == sessions and tables["measurement"] == measurements
    assert _chain(target).ok


# --- refusals: the target stays untouched -------------------------------------------------------------


@pytest.fixture(scope="module")
def good_archive(source_url, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("backup") / "good.zip"
    backup.create_backup(source_url, path)
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _assert_untouched(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            from sqlalchemy import inspect

            names = inspect(connection).get_table_names()
            if "client" in names:
                assert connection.execute(text("SELECT COUNT(*) FROM client")).scalar_one() == 0
            connection.rollback()
    finally:
        engine.dispose()


def test_one_flipped_byte_in_a_table_file_is_refused(good_archive, empty_target, tmp_path):
    members = _members(good_archive)
    name = next(n for n in members if n.endswith("_measurement.jsonl"))
    data = bytearray(members[name])
    position = data.index(b'"value":') + len(b'"value":')
    data[position] = ord("9") if data[position] != ord("9") else ord("8")
    members[name] = bytes(data)
    bad = _write(tmp_path / "flipped.zip", members)
    target = empty_target("sqlite")
    with pytest.raises(DataQualityError, match=r"measurement\.jsonl.*SHA-256"):
        backup.restore_backup(target, bad)
    assert not Path(target.removeprefix("sqlite:///")).exists()  # nothing was even migrated


def test_a_flipped_byte_in_the_compressed_stream_is_refused(good_archive, tmp_path):
    raw = bytearray(good_archive.read_bytes())
    with zipfile.ZipFile(good_archive) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("_audit_event.jsonl"))
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + info.compress_size // 2] ^= 0x40
    bad = tmp_path / "crc.zip"
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataQualityError, match="audit_event"):
        backup.verify_archive(bad)


@pytest.mark.parametrize("name", ["../evil.jsonl", "/etc/passwd", "tables/../../x", "C:/x"])
def test_zip_slip_names_are_refused(good_archive, tmp_path, name):
    members = _members(good_archive)
    members[name] = b"{}\n"
    with pytest.raises(DataQualityError, match="zip-slip"):
        backup.verify_archive(_write(tmp_path / "slip.zip", members))


def test_a_symlink_member_is_refused(good_archive, tmp_path):
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(good_archive) as source, zipfile.ZipFile(path, "w") as archive:
        for info in source.infolist():
            archive.writestr(info, source.read(info))
        link = zipfile.ZipInfo("files/link")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(DataQualityError, match="symbolic link"):
        backup.verify_archive(path)


def test_too_many_entries_are_refused_before_reading(tmp_path):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for index in range(backup.MAX_ENTRIES + 1):
            archive.writestr(f"files/{index}", b"")
    with pytest.raises(DataQualityError, match="10001 entries"):
        backup.verify_archive(path)


def test_a_highly_compressed_member_is_refused_as_a_zip_bomb(good_archive, tmp_path):
    members = _members(good_archive)
    members["files/zeros.bin"] = bytes(16 * 1024 * 1024)  # ~16 KB compressed: ratio ~1000
    with pytest.raises(DataQualityError, match="zip bomb"):
        backup.verify_archive(_write(tmp_path / "bomb.zip", members))


def _patch_declared_size(raw: bytes, member: str, size: int) -> bytes:
    """Rewrite the uncompressed size a zip declares for ``member`` (local header and central directory)."""
    data = bytearray(raw)
    encoded = member.encode()
    for signature, size_offset, name_offset in [(b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)]:
        start = 0
        while (start := data.find(signature, start)) != -1:
            if data[start + name_offset:start + name_offset + len(encoded)] == encoded:
                struct.pack_into("<I", data, start + size_offset, size)
            start += 4
    return bytes(data)


def test_a_declared_gigabyte_is_refused_before_inflating(good_archive, tmp_path):
    members = _members(good_archive)
    members["files/big.bin"] = os.urandom(1024)
    raw = _write(tmp_path / "declared.zip", members).read_bytes()
    path = tmp_path / "gigabyte.zip"
    path.write_bytes(_patch_declared_size(raw, "files/big.bin", 1 << 30))
    with pytest.raises(DataQualityError, match="zip bomb|uncompressed bytes"):
        backup.verify_archive(path)


def test_an_undeclared_bomb_is_stopped_by_the_byte_budget(tmp_path):
    """A member that declares 1 KB but inflates to 8 MB of zeros: reading stops at the budget/declared size."""
    zeros = bytes(8 * 1024 * 1024)
    manifest = {"format": "cadenza-backup", "format_version": 1, "cadenza_version": "0", "alembic_heads": [],
                "created_at": "2026-11-25T00:00:00+00:00", "tables": [],
                "files": [{"name": "zeros.bin", "member": "files/zeros.bin", "size_bytes": 1024, "sha256": "0" * 64}]}
    raw = _write(tmp_path / "raw.zip", {"manifest.json": json.dumps(manifest).encode(),
                                         "files/zeros.bin": zeros}).read_bytes()
    path = tmp_path / "liar.zip"
    path.write_bytes(_patch_declared_size(raw, "files/zeros.bin", 1024))
    with pytest.raises(DataQualityError, match="zeros.bin.*corrupt"):
        backup.verify_archive(path, max_bytes=64 * 1024)
    budget = backup._Budget(10)
    with pytest.raises(DataQualityError, match="inflates past max_bytes=10"):
        budget.take(11, "files/zeros.bin")


def test_a_backup_from_a_newer_schema_is_refused(good_archive, empty_target, tmp_path):
    members = _members(good_archive)
    manifest = json.loads(members["manifest.json"])
    manifest["alembic_heads"] = [*manifest["alembic_heads"], "0099_from_the_future"]
    members["manifest.json"] = json.dumps(manifest).encode()
    target = empty_target("sqlite")
    with pytest.raises(ParameterError, match="0099_from_the_future.*newer"):
        backup.restore_backup(target, _write(tmp_path / "future.zip", members))
    assert not Path(target.removeprefix("sqlite:///")).exists()


def test_restore_into_a_non_empty_database_is_refused(source_url, good_archive):
    before = backup.table_digests(source_url)["client"]
    with pytest.raises(ParameterError, match="not empty"):
        backup.restore_backup(source_url, good_archive)
    assert backup.table_digests(source_url)["client"] == before


def test_replace_deletes_then_restores(source_url, good_archive, empty_target):
    target = empty_target(_backend(source_url))
    backup.restore_backup(target, good_archive)
    engine = make_engine(target)
    try:
        with session_scope(make_session_factory(engine)) as db:
            ana = service.get_therapist_by_username(db, "ana")
            service.create_client(db, actor=ana, code="C777")
    finally:
        engine.dispose()
    result = backup.restore_backup(target, good_archive, replace=True)
    assert result.chain_ok
    assert _count(target, "client WHERE code = 'C777'") == 0
    assert _count(target, "client") == 3


def test_a_different_audit_key_is_refused(good_archive, empty_target, monkeypatch):
    target = empty_target("sqlite")
    monkeypatch.setenv("CADENZA_AUDIT_KEY", "another-key-entirely-0123456789abcdef0123")
    with pytest.raises(DataQualityError, match="audit key"):
        backup.restore_backup(target, good_archive)
    _assert_untouched(target)
    # The source's key is lost for good: the record can still be restored, with the chain reported broken.
    result = backup.restore_backup(target, good_archive, allow_unverified_chain=True)
    assert not result.chain_ok and "BROKEN at position 1" in result.chain_summary
    assert _count(target, "client") == 3


def test_data_files_travel_with_their_hash(source_url, empty_target, tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "audio").mkdir(parents=True)
    (data_dir / "audio" / "take1.wav").write_bytes(b"RIFF" + os.urandom(5000))
    archive = tmp_path / "with-files.zip"
    result = backup.create_backup(source_url, archive, data_dir=data_dir, data_files=["audio/take1.wav"])
    assert result.manifest.files[0].size_bytes == 5004
    restored_dir = tmp_path / "restored"
    restored = backup.restore_backup(empty_target(_backend(source_url)), archive, data_dir=restored_dir)
    assert [p.read_bytes() for p in restored.files_written] == [(data_dir / "audio" / "take1.wav").read_bytes()]


def test_bad_arguments_name_themselves(good_archive, tmp_path):
    with pytest.raises(ParameterError, match="max_bytes"):
        backup.verify_archive(good_archive, max_bytes=0)
    with pytest.raises(ParameterError, match="does not exist"):
        backup.verify_archive(tmp_path / "nope.zip")
    with pytest.raises(DataQualityError, match="not a readable zip"):
        backup.verify_archive(io.BytesIO(b"not a zip at all"))
    with pytest.raises(ParameterError, match="already exists"):
        backup.create_backup("sqlite://", good_archive)


def test_a_backup_from_an_older_schema_restores_and_migrates_forward(tmp_path):
    """T34-style: a record taken before the drafts table existed restores at its own revisions, then upgrades.
    (0030_form_draft is a head no later revision alters; 0004_ras no longer is one since 0024_admin_corrections.)"""
    from alembic import command

    from cadenza.clinic.db import alembic_config

    source = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    older_heads = [h for h in backup.code_heads() if h != "0030_form_draft"]
    engine = make_engine(source)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            for head in older_heads:
                command.upgrade(config, head)
    finally:
        engine.dispose()
    _populate(source)
    archive = tmp_path / "old.zip"
    manifest = backup.create_backup(source, archive).manifest
    assert list(manifest.alembic_heads) == sorted(older_heads)
    assert "form_draft" not in {t.name for t in manifest.tables}
    current = f"sqlite:///{tmp_path / 'current.sqlite3'}"
    migrate(current)
    with pytest.raises(ParameterError, match="revisions.*new empty database"):
        backup.restore_backup(current, archive)
    target = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    assert backup.restore_backup(target, archive).chain_ok
    migrate(target)
    assert "form_draft" in backup.table_digests(target)
    assert backup.table_digests(target)["client"] == backup.table_digests(source)["client"]
    assert _chain(target).ok and _bundles(target) == _bundles(source)


# --- command line -------------------------------------------------------------------------------------


def test_cli_create_then_restore_prints_the_anchor_and_verdict(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cadenza.cli.main import app

    source = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    migrate(source)
    _populate(source)
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CADENZA_DATABASE_URL", source)
    runner = CliRunner()
    archive = tmp_path / "cli.zip"
    created = runner.invoke(app, ["backup", "create", str(archive)])
    assert created.exit_code == 0, created.output
    manifest = backup.read_manifest(archive)
    assert f"--expect-count {manifest.audit_chain['count']} --expect-seal {manifest.audit_chain['head_seal']}" \
        in created.output.replace("\n", " ")
    target = f"sqlite:///{tmp_path / 'target.sqlite3'}"
    restored = runner.invoke(app, ["backup", "restore", str(archive), "--to", target])
    assert restored.exit_code == 0, restored.output
    assert "audit chain OK" in restored.output
    again = runner.invoke(app, ["backup", "restore", str(archive), "--to", target])
    assert again.exit_code == 2 and "not empty" in again.output
    declined = runner.invoke(app, ["backup", "restore", str(archive), "--to", target, "--replace"], input="n\n")
    assert declined.exit_code == 1 and "not confirmed" in declined.output
    replaced = runner.invoke(app, ["backup", "restore", str(archive), "--to", target, "--replace", "--yes", "--json"])
    assert replaced.exit_code == 0, replaced.output
    assert json.loads(replaced.output)["chain_ok"] is True
    # The restored database is at this code's heads and its chain still verifies from the command line.
    monkeypatch.setenv("CADENZA_DATABASE_URL", target)
    verified = runner.invoke(app, ["audit", "verify", "--expect-count", str(manifest.audit_chain["count"]),
                                   "--expect-seal", manifest.audit_chain["head_seal"]])
    assert verified.exit_code == 0, verified.output


# --- properties ---------------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, String  # noqa: E402

_VALUES = {
    "f": (Float(), st.floats(allow_nan=True, allow_infinity=True)),
    "i": (Integer(), st.integers(-(2**63), 2**63 - 1)),
    "s": (String(), st.text()),
    "b": (Boolean(), st.booleans()),
    "d": (Date(), st.dates()),
    "t": (DateTime(timezone=True), st.datetimes(timezones=st.just(dt.UTC))),
    "j": (JSON(), st.recursive(st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=5),
                               lambda inner: st.lists(inner, max_size=3)
                               | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=8)),
}


@settings(max_examples=200, deadline=None)
@given(row=st.fixed_dictionaries({name: st.none() | strategy for name, (_, strategy) in _VALUES.items()}))
def test_canonical_lines_decode_back_to_the_same_values(row):
    line = backup.canonical_row(row, sorted(row))
    assert line.endswith(b"\n") and line.count(b"\n") == 1  # one record, one line, whatever the text holds
    raw = json.loads(line)
    for name, (column_type, _) in _VALUES.items():
        decode = backup._decoder(column_type)
        value = raw[name] if decode is None or raw[name] is None else decode(raw[name])
        expected = row[name]
        if isinstance(expected, float) and expected != expected:
            assert value != value
        else:
            assert value == expected, name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_damaged_archive_is_refused_with_a_declared_error(good_archive, data):
    """Flip, drop or truncate bytes anywhere: the reader passes or raises DataQualityError, nothing else."""
    raw = bytearray(good_archive.read_bytes())
    kind = data.draw(st.sampled_from(["flip", "truncate", "zero_run"]))
    position = data.draw(st.integers(0, len(raw) - 1))
    if kind == "flip":
        raw[position] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        del raw[position:]
    else:
        raw[position:position + 16] = bytes(len(raw[position:position + 16]))
    try:
        backup.verify_archive(io.BytesIO(bytes(raw)), max_bytes=1 << 24)
    except DataQualityError:
        pass


# --- encrypted archives (T39) -------------------------------------------------------------------------

from cadenza.clinic import auth as _auth  # noqa: E402
from cadenza.clinic.secrets_at_rest import SealingWriter, data_key  # noqa: E402

_SECRET_CODE = "ZQX-7731-MARGARETHE"
_SECRET_NOTE = "confided: afraid of the dark since the flood of 1953"
_DATA_KEY = bytes(range(32))


def _populate_distinctive(url: str) -> None:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as db:
            ana = service.create_therapist(db, actor=None, username="ana", password="correct horse battery")
            client = service.create_client(db, actor=ana, code=_SECRET_CODE, birth_year=1948,
                                           conditions=["parkinson's disease"], safety_flags=[])
            service.record_session(db, actor=ana, client_id=client.id, session_date=DAY, minutes=30,
                                   intervention_code="receptive_listening", subjective=_SECRET_NOTE)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def encrypted_archive(tmp_path_factory) -> tuple[str, Path, Path]:
    """(source url, plain archive, encrypted archive) of a record holding a distinctive code and note."""
    folder = tmp_path_factory.mktemp("encrypted")
    source = f"sqlite:///{folder / 'source.sqlite3'}"
    migrate(source)
    _populate_distinctive(source)
    plain = backup.create_backup(source, folder / "plain.zip").path
    sealed = backup.create_backup(source, folder / "record.zip.cdzenc", encrypt_key=_DATA_KEY).path
    return source, plain, sealed


def _needles() -> list[bytes]:
    return [text.encode("utf-8") for text in (_SECRET_CODE, _SECRET_NOTE, "flood of 1953", "MARGARETHE",
                                             "manifest.json", "tables/", "therapy_session")]


def test_an_encrypted_backup_holds_no_plaintext(encrypted_archive):
    _, plain, sealed = encrypted_archive
    plain_bytes, sealed_bytes = plain.read_bytes(), sealed.read_bytes()
    # The plain archive is the control: the client code and zip member names are visible in it ...
    assert _SECRET_CODE.encode() in b"".join(_members(plain).values()) and b"manifest.json" in plain_bytes
    # ... and nothing of them is in the encrypted one, nor is it a zip at all.
    assert [n for n in _needles() if n in sealed_bytes] == []
    assert not sealed_bytes.startswith(b"PK") and backup.is_encrypted(sealed) and not backup.is_encrypted(plain)
    assert oct(sealed.stat().st_mode & 0o777) == "0o600"
    assert len(sealed_bytes) < 2 * len(plain_bytes)


@pytest.mark.parametrize("target_backend", ["sqlite", "postgresql"])
def test_an_encrypted_backup_round_trips(encrypted_archive, empty_target, target_backend):
    source, _, sealed = encrypted_archive
    manifest = backup.verify_archive(sealed, key=_DATA_KEY)
    assert manifest == backup.read_manifest(sealed, key=_DATA_KEY)
    target = empty_target(target_backend)
    result = backup.restore_backup(target, sealed, key=_DATA_KEY)
    assert result.chain_ok, result.chain_summary
    migrate(target)
    assert _bundles(target) == _bundles(source)
    assert backup.table_digests(target)["client"] == backup.table_digests(source)["client"]


def test_a_wrong_or_missing_key_is_refused_and_the_target_untouched(encrypted_archive, empty_target, monkeypatch):
    _, _, sealed = encrypted_archive
    monkeypatch.delenv("CADENZA_DATA_KEY", raising=False)
    target = empty_target("sqlite")
    with pytest.raises(DataQualityError, match="chunk 0: the key is not the one") as refused:
        backup.restore_backup(target, sealed, key=bytes(32))
    assert _DATA_KEY.hex() not in str(refused.value)
    assert not Path(target.removeprefix("sqlite:///")).exists()
    with pytest.raises(ParameterError, match="no data key"):  # a new machine without the key
        backup.restore_backup(target, sealed)
    with pytest.raises(ParameterError, match="is encrypted"):
        backup.verify_archive(sealed)
    assert not Path(target.removeprefix("sqlite:///")).exists()


@pytest.mark.parametrize("where", [0, 10, 21, 200, -1, "middle"])
def test_one_flipped_byte_in_an_encrypted_backup_is_refused(encrypted_archive, empty_target, tmp_path, where):
    _, _, sealed = encrypted_archive
    data = bytearray(sealed.read_bytes())
    index = len(data) // 2 if where == "middle" else where
    data[index] ^= 0x01
    bad = tmp_path / "flipped.cdzenc"
    bad.write_bytes(bytes(data))
    target = empty_target("sqlite")
    with pytest.raises((DataQualityError, ParameterError)):
        backup.restore_backup(target, bad, key=_DATA_KEY)
    assert not Path(target.removeprefix("sqlite:///")).exists()


def test_a_truncated_encrypted_backup_is_refused(encrypted_archive, tmp_path):
    _, _, sealed = encrypted_archive
    bad = tmp_path / "short.cdzenc"
    bad.write_bytes(sealed.read_bytes()[:-40])
    with pytest.raises(DataQualityError, match="altered or truncated|truncated or damaged|does not decrypt"):
        backup.verify_archive(bad, key=_DATA_KEY)


def test_a_sealed_zip_bomb_is_still_judged_after_decryption(tmp_path):
    bomb = tmp_path / "bomb.cdzenc"
    with bomb.open("wb") as handle:
        writer = SealingWriter(handle, key=_DATA_KEY, purpose=backup.BACKUP_PURPOSE)
        with zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
            archive.writestr("manifest.json", b"{}")
            archive.writestr("tables/001_x.jsonl", b"\n" * (2 * 1024 * 1024))
        writer.close()
    with pytest.raises(DataQualityError, match="zip bomb"):
        backup.verify_archive(bomb, key=_DATA_KEY)
    with pytest.raises(DataQualityError, match="decrypts past max_bytes"):
        backup.verify_archive(bomb, key=_DATA_KEY, max_bytes=1000)


def test_mfa_secrets_stay_sealed_in_a_backup(tmp_path, monkeypatch):
    monkeypatch.setenv("CADENZA_DATA_KEY", _DATA_KEY.hex())
    source = f"sqlite:///{tmp_path / 'mfa.sqlite3'}"
    migrate(source)
    engine = make_engine(source)
    try:
        with session_scope(make_session_factory(engine)) as db:
            ana = service.create_therapist(db, actor=None, username="ana", password="correct horse battery")
            db.flush()
            secret = _auth.start_mfa_enrolment(db, actor=ana).secret
    finally:
        engine.dispose()
    archive = backup.create_backup(source, tmp_path / "mfa.zip").path
    assert secret.encode() not in b"".join(_members(archive).values())  # even the plain archive


def test_cli_encrypt_then_restore_with_key_file(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cadenza.cli.main import app

    monkeypatch.delenv("CADENZA_DATA_KEY", raising=False)
    source = f"sqlite:///{tmp_path / 'src' / 'source.sqlite3'}"
    (tmp_path / "src").mkdir()
    migrate(source)
    _populate_distinctive(source)
    engine = make_engine(source)
    try:
        with session_scope(make_session_factory(engine)) as db:
            ana = service.get_therapist_by_username(db, "ana")
            _auth.start_mfa_enrolment(db, actor=ana)
    finally:
        engine.dispose()
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CADENZA_DATABASE_URL", source)
    runner = CliRunner()
    archive = tmp_path / "record.zip.cdzenc"
    created = runner.invoke(app, ["backup", "create", str(archive), "--encrypt"])
    assert created.exit_code == 0, created.output
    assert "encrypted" in created.output and _SECRET_CODE.encode() not in archive.read_bytes()
    key_file = tmp_path / "src" / "data.key"
    assert bytes.fromhex(key_file.read_text()) == data_key(source)
    # A restore on a "new machine": the target has no data key of its own.
    target = f"sqlite:///{tmp_path / 'new' / 'target.sqlite3'}"
    (tmp_path / "new").mkdir()
    missing = runner.invoke(app, ["backup", "restore", str(archive), "--to", target])
    assert missing.exit_code == 2 and "no data key" in missing.output
    wrong = tmp_path / "wrong.key"
    wrong.write_text("00" * 32 + "\n")
    refused = runner.invoke(app, ["backup", "restore", str(archive), "--to", target, "--key-file", str(wrong)])
    assert refused.exit_code == 2 and "key is not the one" in refused.output
    assert "00" * 32 not in refused.output
    restored = runner.invoke(app, ["backup", "restore", str(archive), "--to", target, "--key-file", str(key_file)])
    assert restored.exit_code == 0, restored.output
    assert "audit chain OK" in restored.output
    # The archive opened with --key-file, but the restored MFA secrets need the key installed here.
    assert "two-factor secrets of 1 account(s) (ana) do not open" in restored.stderr
    (tmp_path / "new" / "data.key").write_text(key_file.read_text())
    engine = make_engine(target)
    try:
        with make_session_factory(engine)() as db:
            assert _auth.unreadable_mfa_usernames(db) == []
    finally:
        engine.dispose()
    lonely = runner.invoke(app, ["backup", "create", str(tmp_path / "x.zip"), "--key-file", str(key_file)])
    assert lonely.exit_code != 0 and "--encrypt" in lonely.output


# --- long lines (L4: linear, and refused past MAX_LINE_BYTES) ---------------------------------------------


@given(data=st.binary(max_size=300).map(lambda b: b.replace(b"\x00", b"\n")),
       cuts=st.lists(st.integers(0, 300), max_size=8))
def test_lines_split_like_bytes_split_whatever_the_chunking(data, cuts):
    import hashlib

    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:])]
    digest = hashlib.sha256()
    expected = data.split(b"\n")
    if expected[-1] == b"":
        expected.pop()  # a final newline ends the last line; it does not start an empty one
    assert list(backup._lines(iter(chunks), digest, member="m")) == expected
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


def _with_one_long_line(archive_path: Path, out: Path, line_bytes: int) -> Path:
    """The good archive with its first table member replaced by one ``line_bytes`` line and no newline
    (manifest digest and row count updated, stored uncompressed so the zip-bomb ratio does not refuse it)."""
    import hashlib

    members = _members(archive_path)
    manifest = json.loads(members["manifest.json"])
    entry = manifest["tables"][0]
    long_line = b"x" * line_bytes
    members[entry["member"]] = long_line
    entry["sha256"], entry["rows"] = hashlib.sha256(long_line).hexdigest(), 1
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out


@pytest.mark.timed  # ten writer threads / a time guard: run alone (scripts/test's second part)
def test_a_24_mb_line_is_read_in_linear_time(good_archive, tmp_path):
    # Re-splitting the whole pending buffer per 64 KiB chunk took 4.1 s for this line (96 MB: 68 s).
    path = _with_one_long_line(good_archive, tmp_path / "long.zip", 24 * 1024 * 1024)
    started = time.monotonic()
    manifest = backup.verify_archive(path, max_bytes=1 << 28)
    assert time.monotonic() - started < 5  # a loose guard only; linear reading takes a fraction of this
    assert manifest.tables[0].rows == 1


def test_a_line_past_the_limit_is_refused_with_the_member_named(good_archive, tmp_path, monkeypatch):
    monkeypatch.setattr(backup, "MAX_LINE_BYTES", 1024 * 1024)
    path = _with_one_long_line(good_archive, tmp_path / "longer.zip", 3 * 1024 * 1024)
    member = json.loads(_members(path)["manifest.json"])["tables"][0]["member"]
    with pytest.raises(DataQualityError, match=rf"{member}.*line longer than 1,048,576 bytes"):
        backup.verify_archive(path, max_bytes=1 << 28)
