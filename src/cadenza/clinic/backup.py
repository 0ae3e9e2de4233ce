"""Backup and restore of the whole clinical record as one zip archive.

The archive holds ``manifest.json``, one JSON-lines file per table (``tables/NNN_<table>.jsonl``, in
foreign-key dependency order, rows in primary-key order) and any data-directory files
(``files/<name>``). Values are written in a backend-neutral form (timestamps as UTC ISO-8601 with
microseconds, dates as ISO dates, bytes as hex), so a backup taken from SQLite restores into
PostgreSQL and back, and the per-table SHA-256 of the dump is the same on both.

Zip rather than tar.gz: its central directory lists every member with its declared sizes, so an
archive can be judged (entry count, names, sizes, compression ratio) before one byte is inflated.

The audit-chain key is **not** in the archive: whoever holds a backup must not also be able to reseal
a rewritten chain. Back the key up separately. Why each step is done the way it is: ``docs/clinic.md``.

An encrypted backup (``encrypt_key``) is the same zip sealed as a whole as one AES-256-GCM chunked
stream (:mod:`cadenza.clinic.secrets_at_rest`): the zip is written straight into the sealing stream,
so no plaintext copy reaches the disk while it is made, and names, sizes and the manifest are hidden
too (per-member encryption would leave table names and row counts readable). Reading it decrypts
into an anonymous temporary file first, since zipfile needs to seek; every chunk is authenticated
before the archive is judged, so a wrong key or one altered byte is refused before any write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from sqlalchemy import Engine, MetaData, Table, create_engine, event, func, inspect, select, text
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Connection, make_url

from cadenza.errors import DataQualityError, ParameterError

FORMAT_NAME = "cadenza-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
MAX_ENTRIES = 10_000  # T26
MAX_RATIO = 100  # T26: uncompressed / compressed
# Below this size a member is not judged on its ratio: a small file cannot exhaust anything, and a few
# kilobytes of repetitive JSON can legitimately compress more than 100-fold.
RATIO_MIN_BYTES = 64 * 1024
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
ENCRYPTED_SUFFIX = ".cdzenc"
BACKUP_PURPOSE = "backup"  # the associated data of an encrypted archive
UPLOAD_CAP_FACTOR = 20  # default cap: 20x the configured upload cap
SKIPPED_TABLES = frozenset({"alembic_version"})  # the target's own migrations write it
BATCH_ROWS = 1000
_CHUNK_BYTES = 64 * 1024
# One table row is one line; the longest a genuine row gets is a few 20,000-character notes. A
# member that goes on far past this without a newline is refused as soon as it does, not hashed
# to the end first.
MAX_LINE_BYTES = 64 * 1024 * 1024
# What zipfile and zlib raise on a damaged archive (a fuzz test collects them); all mean "corrupt".
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, NotImplementedError,
               ValueError, struct.error, UnicodeDecodeError, IndexError, OverflowError)


# --- canonical values ---------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    """A column value as JSON: the audit chain's canonical form (UTC timestamps, ISO dates, hex bytes, exact
    decimals), plus what a backup must also keep exactly: NaN/inf floats, times of day and JSON columns."""
    from cadenza.clinic.audit_chain import canonical_value

    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return {"$float": repr(value)}  # JSON has no NaN/inf; keep them exact anyway
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return value  # a JSON column, already JSON-shaped
    return canonical_value(value)


def canonical_row(row: Mapping[str, Any], columns: Sequence[str]) -> bytes:
    """One JSON-lines record: the columns in table order, compact, UTF-8, newline-terminated.

    >>> canonical_row({"id": 1, "at": dt.datetime(2026, 1, 2, 3, 4, 5)}, ["id", "at"])
    b'{"id":1,"at":"2026-01-02T03:04:05.000000+00:00"}\\n'
    """
    payload = {name: _encode(row[name]) for name in columns}
    return (json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _decoder(column_type: Any) -> Any:
    """How to turn a canonical JSON value back into what the target column's type binds."""
    if isinstance(column_type, sqltypes.JSON):
        return None
    if isinstance(column_type, sqltypes.DateTime):
        return lambda v: dt.datetime.fromisoformat(v) if isinstance(v, str) else v
    if isinstance(column_type, sqltypes.Date):
        return lambda v: dt.date.fromisoformat(v) if isinstance(v, str) else v
    if isinstance(column_type, sqltypes.Time):
        return lambda v: dt.time.fromisoformat(v) if isinstance(v, str) else v
    if isinstance(column_type, sqltypes.LargeBinary):
        return lambda v: bytes.fromhex(v) if isinstance(v, str) else v
    if isinstance(column_type, sqltypes.Numeric) and column_type.asdecimal:
        return lambda v: Decimal(v) if isinstance(v, str) else v
    return lambda v: float(v["$float"]) if isinstance(v, dict) and "$float" in v else v


# --- manifest -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableEntry:
    name: str
    member: str
    rows: int
    sha256: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class FileEntry:
    name: str
    member: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` says; ``audit_chain`` is the source's verdict (``ok``, ``count``, ``head_seal``)."""

    format_version: int
    cadenza_version: str
    alembic_heads: tuple[str, ...]
    created_at: str
    source_dialect: str
    tables: tuple[TableEntry, ...]
    files: tuple[FileEntry, ...]
    audit_chain: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME, "format_version": self.format_version, "cadenza_version": self.cadenza_version,
            "alembic_heads": list(self.alembic_heads), "created_at": self.created_at,
            "source_dialect": self.source_dialect,
            "tables": [{"name": t.name, "member": t.member, "rows": t.rows, "sha256": t.sha256,
                        "columns": list(t.columns)} for t in self.tables],
            "files": [{"name": f.name, "member": f.member, "size_bytes": f.size_bytes, "sha256": f.sha256}
                      for f in self.files],
            "audit_chain": dict(self.audit_chain),
        }


def _parse_manifest(raw: bytes) -> Manifest:
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise ValueError(f"format is {data.get('format') if isinstance(data, dict) else None!r}, "
                             f"not {FORMAT_NAME!r}")
        version = data["format_version"]
        if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
            raise ValueError(f"format_version {version!r} is not one this Cadenza reads (1..{FORMAT_VERSION})")
        tables = tuple(TableEntry(str(t["name"]), str(t["member"]), int(t["rows"]), str(t["sha256"]),
                                  tuple(str(c) for c in t["columns"])) for t in data["tables"])
        files = tuple(FileEntry(str(f["name"]), str(f["member"]), int(f["size_bytes"]), str(f["sha256"]))
                      for f in data.get("files", []))
        chain = data.get("audit_chain") or {}
        if not isinstance(chain, dict):
            raise ValueError("audit_chain is not an object")
        return Manifest(format_version=version, cadenza_version=str(data["cadenza_version"]),
                        alembic_heads=tuple(sorted(str(h) for h in data["alembic_heads"])),
                        created_at=str(data["created_at"]), source_dialect=str(data.get("source_dialect", "")),
                        tables=tables, files=files, audit_chain=chain)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DataQualityError(f"backup manifest {MANIFEST_NAME!r} is unreadable: {exc}") from None


# --- archive safety (T26) -----------------------------------------------------------------------------


def default_max_bytes() -> int:
    """20x the configured upload cap (``CADENZA_MAX_UPLOAD_BYTES``)."""
    from cadenza.settings import Settings

    return UPLOAD_CAP_FACTOR * Settings.from_env().max_upload_bytes


def _unsafe_name(name: str) -> str | None:
    if not name or "\x00" in name or "\\" in name:
        return "an empty name, a NUL byte or a backslash"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "a '..' component"
    return None


def check_archive(archive: zipfile.ZipFile, *, max_bytes: int) -> None:
    """Judge an archive by its central directory alone (nothing is inflated); raise on the first problem.

    Too many entries, a declared uncompressed total above ``max_bytes``, a member compressed more
    than 100-fold, an absolute or ``..`` name, a symlink or a duplicate name are refused (T26).
    """
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise DataQualityError(f"backup archive has {len(infos)} entries; at most {MAX_ENTRIES} are accepted")
    total, seen = 0, set()
    for info in infos:
        if (problem := _unsafe_name(info.filename)) is not None:
            raise DataQualityError(f"backup archive member {info.filename!r} has {problem}; refused (zip-slip)")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise DataQualityError(f"backup archive member {info.filename!r} is a symbolic link; refused")
        if info.filename in seen:
            raise DataQualityError(f"backup archive member {info.filename!r} appears twice; refused")
        seen.add(info.filename)
        total += info.file_size
        if info.file_size >= RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise DataQualityError(
                f"backup archive member {info.filename!r} declares {info.file_size} bytes from "
                f"{info.compress_size} compressed (ratio > {MAX_RATIO}); refused as a possible zip bomb")
    if total > max_bytes:
        raise DataQualityError(f"backup archive declares {total} uncompressed bytes; the cap is max_bytes="
                               f"{max_bytes} (raise it with --max-bytes if this backup is genuine)")


class _Budget:
    """Bytes still allowed to be inflated, whatever the archive declares."""

    def __init__(self, max_bytes: int) -> None:
        self.left = max_bytes
        self.cap = max_bytes

    def take(self, n: int, member: str) -> None:
        self.left -= n
        if self.left < 0:
            raise DataQualityError(f"backup archive inflates past max_bytes={self.cap} (at member {member!r}); "
                                   "refused as a possible zip bomb")


def _stream(archive: zipfile.ZipFile, member: str, budget: _Budget) -> Iterator[bytes]:
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise DataQualityError(f"backup archive lacks member {member!r} listed in the manifest") from None
    read = 0
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(_CHUNK_BYTES):
                read += len(chunk)
                budget.take(len(chunk), member)
                if read > info.file_size:
                    raise DataQualityError(f"backup archive member {member!r} inflates past its declared "
                                           f"{info.file_size} bytes; refused")
                yield chunk
    except DataQualityError:
        raise
    except _ZIP_ERRORS as exc:
        raise DataQualityError(f"backup archive member {member!r} is corrupt: {exc}") from None


def _lines(chunks: Iterator[bytes], digest: Any, *, member: str) -> Iterator[bytes]:
    """The lines of a member, each chunk fed to ``digest``; linear in the member's size.

    Only the new chunk is searched for newlines and a line's pieces are joined once, so a long line
    costs no more than many short ones; a line longer than :data:`MAX_LINE_BYTES` is refused.
    """
    limit = MAX_LINE_BYTES
    parts: list[bytes] = []
    pending_bytes = 0
    for chunk in chunks:
        digest.update(chunk)
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            if pending_bytes + end - start > limit:
                _refuse_long_line(member, limit)
            parts.append(chunk[start:end])
            yield b"".join(parts)
            parts, pending_bytes = [], 0
            start = end + 1
        if start < len(chunk):
            pending_bytes += len(chunk) - start
            if pending_bytes > limit:
                _refuse_long_line(member, limit)
            parts.append(chunk[start:])
    if parts:
        yield b"".join(parts)


def _refuse_long_line(member: str, limit: int) -> None:
    raise DataQualityError(f"backup archive member {member!r} has a line longer than {limit:,} bytes; no genuine "
                           "row is that long, so the backup is damaged or was crafted; nothing was restored")


def _open_archive(path: str | Path | BinaryIO, max_bytes: int) -> zipfile.ZipFile:
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ParameterError(f"max_bytes must be a positive number of bytes, got {max_bytes!r}")
    if isinstance(path, str | Path) and not Path(path).is_file():
        raise ParameterError(f"backup file {str(path)!r} does not exist or is not a file")
    try:
        archive = zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise DataQualityError(f"backup file {str(path)!r} is not a readable zip archive: {exc}") from None
    try:
        check_archive(archive, max_bytes=max_bytes)
    except BaseException:
        archive.close()
        raise
    return archive


def _read_manifest(archive: zipfile.ZipFile, budget: _Budget) -> Manifest:
    if MANIFEST_NAME not in archive.namelist():
        raise DataQualityError(f"backup archive has no {MANIFEST_NAME}; not a Cadenza backup")
    if archive.getinfo(MANIFEST_NAME).file_size > MAX_MANIFEST_BYTES:
        raise DataQualityError(f"backup {MANIFEST_NAME} declares more than {MAX_MANIFEST_BYTES} bytes; refused")
    manifest = _parse_manifest(b"".join(_stream(archive, MANIFEST_NAME, budget)))
    listed = {MANIFEST_NAME, *(t.member for t in manifest.tables), *(f.member for f in manifest.files)}
    extra = sorted(set(archive.namelist()) - listed)
    if extra:
        raise DataQualityError(f"backup archive holds members the manifest does not list: {extra[:5]!r}; refused")
    for entry in manifest.files:
        if (problem := _unsafe_name(entry.name)) is not None:
            raise DataQualityError(f"backup file entry {entry.name!r} has {problem}; refused (zip-slip)")
    return manifest


def is_encrypted(path: str | Path | BinaryIO) -> bool:
    """Whether ``path`` is an encrypted backup (a sealed stream) rather than a plain zip."""
    from cadenza.clinic.secrets_at_rest import is_sealed_stream

    return isinstance(path, str | Path) and Path(path).is_file() and is_sealed_stream(path)


@contextmanager
def decrypted(path: str | Path | BinaryIO, *, key: bytes | None, max_bytes: int) -> Iterator[str | Path | BinaryIO]:
    """``path`` itself for a plain archive; for an encrypted one, an anonymous temporary file holding the
    decrypted zip (gone when the block ends). Needs ``key`` for an encrypted archive."""
    from cadenza.clinic.secrets_at_rest import open_sealed_stream

    if not is_encrypted(path):
        yield path
        return
    if key is None:
        raise ParameterError(f"backup file {str(path)!r} is encrypted; give the data key it was made with "
                             "(--key-file, CADENZA_DATA_KEY or the data.key of the source installation)")
    with Path(path).open("rb") as source, tempfile.TemporaryFile() as plain:  # type: ignore[arg-type]
        written = 0
        for chunk in open_sealed_stream(source, key=key, purpose=BACKUP_PURPOSE):
            written += len(chunk)
            if written > max_bytes:
                raise DataQualityError(f"encrypted backup decrypts past max_bytes={max_bytes}; refused")
            plain.write(chunk)
        plain.seek(0)
        yield plain


def read_manifest(path: str | Path | BinaryIO, *, max_bytes: int | None = None, key: bytes | None = None) -> Manifest:
    """The manifest of a backup, after the archive passed :func:`check_archive` (``key``: for an encrypted one)."""
    cap = default_max_bytes() if max_bytes is None else max_bytes
    with decrypted(path, key=key, max_bytes=cap) as plain, _open_archive(plain, cap) as archive:
        return _read_manifest(archive, _Budget(cap))


def verify_archive(path: str | Path | BinaryIO, *, max_bytes: int | None = None, key: bytes | None = None) -> Manifest:
    """Re-hash every member against the manifest (streaming, within the byte budget); raise on a mismatch."""
    cap = default_max_bytes() if max_bytes is None else max_bytes
    with decrypted(path, key=key, max_bytes=cap) as plain:
        return _verify_plain(plain, cap)


def _verify_plain(path: str | Path | BinaryIO, cap: int) -> Manifest:
    with _open_archive(path, cap) as archive:
        budget = _Budget(cap)
        manifest = _read_manifest(archive, budget)
        for entry in manifest.tables:
            digest, rows = hashlib.sha256(), 0
            for _line in _lines(_stream(archive, entry.member, budget), digest, member=entry.member):
                rows += 1
            _check_digest(entry.member, digest.hexdigest(), entry.sha256, rows, entry.rows)
        for item in manifest.files:
            digest = hashlib.sha256()
            size = 0
            for chunk in _stream(archive, item.member, budget):
                digest.update(chunk)
                size += len(chunk)
            _check_digest(item.member, digest.hexdigest(), item.sha256, size, item.size_bytes)
        return manifest


def _check_digest(member: str, got: str, want: str, got_count: int, want_count: int) -> None:
    if got != want:
        raise DataQualityError(f"backup archive member {member!r} has SHA-256 {got}, the manifest says {want}: "
                               "the backup is damaged or was altered; nothing was restored")
    if got_count != want_count:
        raise DataQualityError(f"backup archive member {member!r} holds {got_count} rows/bytes, the manifest "
                               f"says {want_count}; nothing was restored")


# --- creating a backup --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: Manifest


def _cadenza_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cadenza")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        import cadenza

        return cadenza.__version__


def _snapshot_engine(url: str) -> Engine:
    """An engine whose transactions read one consistent snapshot without blocking writers."""
    from cadenza.clinic.db import SQLITE_BUSY_TIMEOUT_MS, make_engine

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return make_engine(url, isolation_level="REPEATABLE READ",
                           execution_options={"postgresql_readonly": True})
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                 "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction takes no write lock; in WAL mode its first read fixes the snapshot
        # every later read sees, while writers carry on.
        connection.exec_driver_sql("BEGIN DEFERRED")

    return engine


def _reflect(connection: Connection) -> list[Table]:
    metadata = MetaData()
    metadata.reflect(connection)
    return [t for t in metadata.sorted_tables if t.name not in SKIPPED_TABLES]


def _current_heads(connection: Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def _chain_head(connection: Connection) -> dict[str, Any]:
    from cadenza.clinic.audit_chain import verify_chain

    if not inspect(connection).has_table("audit_seal"):
        return {"ok": None, "count": 0, "head_seal": None, "detail": "no audit_seal table"}
    report = verify_chain(connection)
    return {"ok": report.ok, "count": report.count, "head_seal": report.head_seal,
            "problem": report.problem, "detail": report.detail}


def create_backup(url: str, path: str | Path, *, data_dir: Path | None = None,
                  data_files: Sequence[str] = (), now: dt.datetime | None = None,
                  encrypt_key: bytes | None = None) -> BackupResult:
    """Write a backup of the database at ``url`` to ``path`` (a new file), from one consistent snapshot.

    ``data_files`` are paths relative to ``data_dir`` copied into the archive with their SHA-256.
    With ``encrypt_key`` (32 bytes, normally the data key) the archive is written encrypted as a whole.
    The backup is audited afterwards, as the system actor, in its own transaction.
    """
    if encrypt_key is not None and (not isinstance(encrypt_key, bytes) or len(encrypt_key) != 32):
        raise ParameterError("encrypt_key must be 32 bytes (a data key); it is not")
    target = Path(path)
    if target.exists():
        raise ParameterError(f"backup path {str(target)!r} already exists; choose a new file name")
    if data_files and data_dir is None:
        raise ParameterError("data_files were given without data_dir")
    sources: list[tuple[str, Path]] = []
    for name in data_files:
        if (problem := _unsafe_name(name)) is not None:
            raise ParameterError(f"data_files entry {name!r} has {problem}")
        file_path = Path(data_dir, name)  # type: ignore[arg-type]
        if not file_path.is_file():
            raise ParameterError(f"data_files entry {name!r} is not a file under {str(data_dir)!r}")
        sources.append((name, file_path))
    created = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.partial")
    engine = _snapshot_engine(url)
    try:
        with _archive_sink(scratch, encrypt_key) as sink, \
                zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            with engine.connect() as connection, connection.begin():
                heads = _current_heads(connection)
                tables = _reflect(connection)
                # The snapshot is fixed at the first read, so the chain head and every table agree.
                chain = _chain_head(connection)
                entries = [_dump_table(connection, table, index, archive) for index, table in enumerate(tables, 1)]
                dialect = connection.dialect.name
            files = [_add_file(archive, name, file_path) for name, file_path in sources]
            manifest = Manifest(format_version=FORMAT_VERSION, cadenza_version=_cadenza_version(),
                                alembic_heads=heads, created_at=created.isoformat(timespec="seconds"),
                                source_dialect=dialect, tables=tuple(entries), files=tuple(files),
                                audit_chain=chain)
            archive.writestr(MANIFEST_NAME, json.dumps(manifest.as_dict(), indent=2, sort_keys=True) + "\n")
        scratch.replace(target)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    _audit_system_event(url, "backup", manifest)
    return BackupResult(path=target, manifest=manifest)


@contextmanager
def _archive_sink(scratch: Path, key: bytes | None) -> Iterator[Path | BinaryIO]:
    if key is None:
        yield scratch
        return
    from cadenza.clinic.secrets_at_rest import SealingWriter

    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        writer = SealingWriter(handle, key=key, purpose=BACKUP_PURPOSE)
        yield writer  # type: ignore[misc]
        writer.close()  # only after zipfile wrote its central directory
        os.fsync(handle.fileno())


def _dump_table(connection: Connection, table: Table, index: int, archive: zipfile.ZipFile) -> TableEntry:
    columns = sorted(c.name for c in table.columns)  # column order may differ between backends
    order = list(table.primary_key.columns) or list(table.columns)
    member = f"tables/{index:03d}_{table.name}.jsonl"
    digest, rows = hashlib.sha256(), 0
    with archive.open(member, "w", force_zip64=True) as handle:
        result = connection.execute(select(table).order_by(*order).execution_options(yield_per=BATCH_ROWS))
        for row in result.mappings():
            line = canonical_row(row, columns)
            digest.update(line)
            handle.write(line)
            rows += 1
    return TableEntry(name=table.name, member=member, rows=rows, sha256=digest.hexdigest(), columns=tuple(columns))


def _add_file(archive: zipfile.ZipFile, name: str, file_path: Path) -> FileEntry:
    member = f"files/{name}"
    digest, size = hashlib.sha256(), 0
    with file_path.open("rb") as source, archive.open(member, "w", force_zip64=True) as handle:
        while chunk := source.read(_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            handle.write(chunk)
    return FileEntry(name=name, member=member, size_bytes=size, sha256=digest.hexdigest())


def _audit_system_event(url: str | Engine, action: str, manifest: Manifest) -> None:
    from cadenza.clinic.audit import audit
    from cadenza.clinic.db import make_engine, make_session_factory

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            audit(session, None, action, "backup")
            session.commit()
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


# --- restoring ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    rows_restored: int
    chain_ok: bool
    chain_summary: str
    files_written: tuple[Path, ...] = ()


def code_heads() -> tuple[str, ...]:
    """The Alembic heads this Cadenza's migrations end at."""
    from alembic.script import ScriptDirectory

    from cadenza.clinic.db import alembic_config

    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def check_schema(manifest: Manifest) -> None:
    """Refuse a backup whose schema revisions this code does not know (taken by a newer Cadenza)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from cadenza.clinic.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    unknown = []
    for head in manifest.alembic_heads:
        try:
            if script.get_revision(head) is None:
                unknown.append(head)
        except CommandError:
            unknown.append(head)
    if unknown:
        raise ParameterError(f"backup schema revisions {unknown!r} are unknown to this Cadenza "
                             f"{_cadenza_version()} (its heads: {list(code_heads())!r}); the backup comes from a "
                             "newer version: upgrade Cadenza before restoring it")


def _row_count(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def restore_backup(url: str, path: str | Path | BinaryIO, *, replace: bool = False,
                   max_bytes: int | None = None, data_dir: Path | None = None,
                   allow_unverified_chain: bool = False, key: bytes | None = None) -> RestoreResult:
    """Restore a backup into the database at ``url``, all in one transaction.

    Every member is re-hashed before anything is written. The target must be empty: either a
    database with no tables at all (it is migrated to the backup's revisions first) or one already at
    exactly the backup's revisions with no rows; ``replace=True`` deletes existing rows first. After
    the rows are in, PostgreSQL sequences are moved past the restored ids, the audit chain is
    verified against the manifest's head, and the restore is audited as the system actor, extending
    the restored chain with the current key. The caller migrates to the code's heads afterwards.

    An encrypted archive is decrypted with ``key``, else with the target's data key if it has one;
    it must decrypt completely before anything is written.
    """
    cap = default_max_bytes() if max_bytes is None else max_bytes
    if key is None and is_encrypted(path):
        from cadenza.clinic.secrets_at_rest import data_key

        key = data_key(url, create=False)
    with decrypted(path, key=key, max_bytes=cap) as plain:
        return _restore_plain(url, plain, replace=replace, cap=cap, data_dir=data_dir,
                              allow_unverified_chain=allow_unverified_chain)


def _restore_plain(url: str, path: str | Path | BinaryIO, *, replace: bool, cap: int, data_dir: Path | None,
                   allow_unverified_chain: bool) -> RestoreResult:
    from cadenza.clinic.audit import audit
    from cadenza.clinic.audit_chain import seal_pending, verify_chain
    from cadenza.clinic.db import make_engine, make_session_factory

    manifest = _verify_plain(path, cap)  # every hash checked before any write
    check_schema(manifest)
    if manifest.files and data_dir is None:
        raise ParameterError(f"the backup holds {len(manifest.files)} data files; pass data_dir to restore them")
    if data_dir is not None:
        clashes = [f.name for f in manifest.files if Path(data_dir, f.name).exists()]
        if clashes:
            raise ParameterError(f"data_dir {str(data_dir)!r} already holds {clashes[:5]!r}; refusing to overwrite")
    engine = make_engine(url)
    try:
        _prepare_target(engine, manifest)
        written: list[Path] = []
        with _open_archive(path, cap) as archive, make_session_factory(engine)() as session:
            budget = _Budget(cap)
            connection = session.connection()
            if connection.dialect.name == "postgresql":
                from cadenza.clinic.audit_chain import PG_CHAIN_LOCK_ID

                connection.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": PG_CHAIN_LOCK_ID})
            heads = _current_heads(connection)
            if heads != manifest.alembic_heads:
                raise ParameterError(
                    f"the target database is at revisions {list(heads)!r} but the backup was taken at "
                    f"{list(manifest.alembic_heads)!r}; restore into a new empty database (no tables), which is "
                    "migrated to the backup's revisions first")
            tables = {t.name: t for t in _reflect(connection)}
            missing = [t.name for t in manifest.tables if t.name not in tables]
            if missing:
                raise DataQualityError(f"the target has no table(s) {missing!r} that the backup holds")
            occupied = [name for name, table in tables.items() if _row_count(connection, table) > 0]
            if occupied and not replace:
                raise ParameterError(f"the target database is not empty (rows in {occupied[:6]!r}); restore only "
                                     "into an empty, freshly migrated database, or pass --replace --yes to delete "
                                     "everything in it first")
            for table in reversed(list(tables.values())):
                if table.name in occupied:
                    connection.execute(table.delete())
            restored = 0
            for entry in manifest.tables:
                restored += _load_table(connection, tables[entry.name], entry, archive, budget)
            if connection.dialect.name == "postgresql":
                _fix_sequences(connection, [tables[e.name] for e in manifest.tables])
            chain = manifest.audit_chain
            try:
                report = verify_chain(connection, expect_count=chain.get("count") if chain.get("ok") else None,
                                      expect_seal=chain.get("head_seal") if chain.get("ok") and chain.get("count")
                                      else None)
            except ParameterError as exc:  # no key here at all
                if not allow_unverified_chain:
                    raise ParameterError(f"{exc}. Nothing was restored") from None
                from cadenza.clinic.audit_chain import ChainReport

                report = ChainReport(ok=False, count=0, head_seal="", problem="edited", detail=str(exc))
            if not report.ok and chain.get("ok") and not allow_unverified_chain:
                raise DataQualityError(
                    f"after restore, {report.summary()}. The backup's chain verified when it was taken, so the "
                    "audit key here is most likely not the source's: set CADENZA_AUDIT_KEY or put the source's "
                    "audit.key in place (the key is never in the backup). Nothing was restored")
            if "audit_pending" in tables:  # events still pending at backup time (PostgreSQL) are sealed here
                seal_pending(connection, wait=True)
            _stage_files(archive, manifest, data_dir, budget, written)
            audit(session, None, "restore", "backup")
            try:
                session.commit()
            except BaseException:
                for staged in written:
                    staged.unlink(missing_ok=True)
                raise
        files = tuple(_publish(staged) for staged in written)
        with engine.connect() as connection:
            final = verify_chain(connection)
            connection.rollback()
    finally:
        engine.dispose()
    return RestoreResult(manifest=manifest, rows_restored=restored, chain_ok=final.ok and report.ok,
                         chain_summary=final.summary(), files_written=files)


def _prepare_target(engine: Engine, manifest: Manifest) -> None:
    from alembic import command

    from cadenza.clinic.db import alembic_config

    with engine.connect() as connection:
        has_tables = bool(inspect(connection).get_table_names())
        connection.rollback()
    if has_tables:
        return
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        for head in manifest.alembic_heads:
            command.upgrade(config, head)


def _load_table(connection: Connection, table: Table, entry: TableEntry, archive: zipfile.ZipFile,
                budget: _Budget) -> int:
    unknown = [c for c in entry.columns if c not in table.c]
    if unknown:
        raise DataQualityError(f"table {entry.name!r} in the target has no column(s) {unknown!r}")
    decoders = {name: _decoder(table.c[name].type) for name in entry.columns}
    digest, batch, count = hashlib.sha256(), [], 0
    for line in _lines(_stream(archive, entry.member, budget), digest, member=entry.member):
        try:
            raw = json.loads(line)
            row = {name: (decode(raw[name]) if decode is not None and raw[name] is not None else raw[name])
                   for name, decode in decoders.items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise DataQualityError(f"backup member {entry.member!r} line {count + 1} is unreadable: {exc}") from None
        batch.append(row)
        count += 1
        if len(batch) >= BATCH_ROWS:
            connection.execute(table.insert(), batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
    # Read a second time inside the transaction: a file swapped since the first check is caught here.
    _check_digest(entry.member, digest.hexdigest(), entry.sha256, count, entry.rows)
    return count


def _fix_sequences(connection: Connection, tables: Sequence[Table]) -> None:
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, sqltypes.Integer):
                continue
            quoted = connection.dialect.identifier_preparer.quote(table.name)
            sequence = connection.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                          {"t": quoted, "c": column.name}).scalar()
            if sequence is None:
                continue
            highest = select(func.max(column)).scalar_subquery()
            connection.execute(select(func.setval(sequence, func.coalesce(highest, 1), highest.is_not(None))))


def _stage_files(archive: zipfile.ZipFile, manifest: Manifest, data_dir: Path | None, budget: _Budget,
                 written: list[Path]) -> None:
    if data_dir is None:
        return
    for entry in manifest.files:
        final = Path(data_dir, entry.name)
        staged = final.with_name(f".{final.name}.restoring")
        staged.parent.mkdir(parents=True, exist_ok=True)
        written.append(staged)
        digest = hashlib.sha256()
        with staged.open("wb") as handle:
            for chunk in _stream(archive, entry.member, budget):
                digest.update(chunk)
                handle.write(chunk)
        _check_digest(entry.member, digest.hexdigest(), entry.sha256, staged.stat().st_size, entry.size_bytes)


def _publish(staged: Path) -> Path:
    final = staged.with_name(staged.name[1:].removesuffix(".restoring"))
    staged.replace(final)
    return final


def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """Row count and SHA-256 of each table's canonical dump, as a backup of ``url`` would record them."""
    engine = _snapshot_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            result = {}
            for table in _reflect(connection):
                columns = sorted(c.name for c in table.columns)
                order = list(table.primary_key.columns) or list(table.columns)
                digest, rows = hashlib.sha256(), 0
                for row in connection.execute(select(table).order_by(*order)).mappings():
                    digest.update(canonical_row(row, columns))
                    rows += 1
                result[table.name] = (rows, digest.hexdigest())
            return result
    finally:
        engine.dispose()


__all__ = ["BackupResult", "FileEntry", "Manifest", "RestoreResult", "TableEntry", "canonical_row",
           "check_archive", "check_schema", "code_heads", "create_backup", "decrypted", "default_max_bytes",
           "is_encrypted", "read_manifest",
           "restore_backup", "table_digests", "verify_archive"]
