"""Tamper-evident audit trail: every ``audit_event`` row is sealed into an HMAC-SHA-256 hash chain.

Each committed audit event gets one ``audit_seal`` row: its position ``seq`` (1, 2, 3, ... in commit
order), the previous position's seal and its own seal ::

    seal = HMAC-SHA-256(key, prev_seal || canonical(event_id, fields, row values))

An edited, deleted, forged or moved row no longer matches its seal or breaks the link to its
neighbour, and :func:`verify_chain` names the first position where that happens. Why the chain is
built this way (when sealing happens, the lock, the key file) is explained in ``docs/clinic.md``.

:func:`install` adds the sealing to the sessions of one factory;
:func:`cadenza.clinic.db.make_session_factory` calls it, so every session the record hands out seals.

Two ways to seal, one chain:

- *At commit* (SQLite, and any session bound to a connection rather than an engine): the committing
  transaction takes the chain lock, reads the head and appends its own events' seals.
- *In batches* (PostgreSQL, sessions bound to an engine): the committing transaction only adds one
  ``audit_pending`` row per event, tagged with ``HMAC(key, canonical event)``, and takes no lock. After the
  commit the events are sealed in a short transaction of their own (:func:`seal_pending`) that takes the
  lock, seals every pending event whose tag matches and deletes their pending rows. A web worker leaves
  that to its :class:`BackgroundSealer` (woken by each commit, and every ``interval_s`` anyway); any other
  process seals right after its commit. Requests therefore never queue on the chain lock.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Integer, String, bindparam, event, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from cadenza.clinic.models import AuditEvent, Base
from cadenza.errors import ParameterError
from cadenza.settings import default_data_dir

KEY_ENV = "CADENZA_AUDIT_KEY"
KEY_FILE_NAME = "audit.key"
KEY_BYTES = 32
MIN_ENV_KEY_CHARS = 32
GENESIS_SEAL = "0" * 64  # the "previous seal" of position 1
# Every PostgreSQL transaction that extends the chain holds this advisory lock from reading the head
# until it commits, so two transactions can never both append after the same head.
PG_CHAIN_LOCK_ID = 0x636164656E7A61  # "cadenza"
PROBLEMS = ("edited", "missing", "reordered", "unsealed")
# Batched sealing (PostgreSQL): a worker's background sealer runs at least this often, so an event committed
# when traffic stops is sealed within about this long (plus one sealing transaction).
SEAL_INTERVAL_S = 0.25
# ... and at most once per this long: commits that wake it meanwhile wait for the next round, so under load one
# sealing transaction serves every commit of the last 0.1 s instead of one round (and, with several workers,
# several failed lock attempts) per commit (issue 23: 3 extra transactions per request before).
SEAL_MIN_GAP_S = 0.1
SEAL_BATCH_EVENTS = 2000  # pending events sealed per transaction (a backlog takes several)
_PENDING_TAG_PREFIX = b"cadenza-audit-pending\x00"  # keeps a pending tag from ever equalling a chain seal
_SEAL_AFTER_COMMIT_KEY = "cadenza_audit_chain_seal_after_commit"
_log = logging.getLogger(__name__)

_PENDING_KEY = "cadenza_audit_chain_pending_ids"
_MEMORY_KEY = secrets.token_bytes(KEY_BYTES)  # in-memory SQLite: the chain dies with the process
_KEY_CACHE: dict[Path, bytes] = {}
_PLAIN_TYPES = (str, int, bool, float)


class AuditSeal(Base):
    """One link of the audit hash chain; ``fields`` lists the ``audit_event`` columns the seal covers.

    No foreign key to ``audit_event``: a deleted event must leave its seal behind as evidence.
    """

    __tablename__ = "audit_seal"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(Integer, unique=True)
    prev_seal: Mapped[str] = mapped_column(String(64))
    seal: Mapped[str] = mapped_column(String(64))
    fields: Mapped[str] = mapped_column(String(1000))


class AuditPending(Base):
    """An audit event committed but not sealed yet (batched sealing, PostgreSQL).

    ``tag`` is ``HMAC(key, canonical event)`` over the ``fields`` it lists, written by the committing
    transaction: the sealer seals only events whose tag still matches, so a row inserted or edited by
    someone without the key is never sealed (it stays, and verify reports it). No foreign key, like
    ``audit_seal``.
    """

    __tablename__ = "audit_pending"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tag: Mapped[str] = mapped_column(String(64))
    fields: Mapped[str] = mapped_column(String(1000))


# --- key ----------------------------------------------------------------------------------------------


# Where each database's key file is, by what decides it (every commit asks; parsing the URL and resolving the
# path each time was a measurable share of a request's CPU, issue 23).
_KEY_FILE_PLACES: dict[tuple, Path | None] = {}
_KEY_FILE_ENV = ("CADENZA_DATA_DIR", "XDG_DATA_HOME", "HOME")


def key_file_for(url: str | URL) -> Path | None:
    """Where the generated key for the database at ``url`` lives (``None``: in-memory SQLite).

    Next to a SQLite file; in the data directory (``CADENZA_DATA_DIR``) for a server database.
    """
    place = (url, os.getcwd(), *(os.environ.get(name) for name in _KEY_FILE_ENV))
    if place not in _KEY_FILE_PLACES:
        if len(_KEY_FILE_PLACES) > 256:  # tests make many databases; a server has one
            _KEY_FILE_PLACES.clear()
        _KEY_FILE_PLACES[place] = _key_file_for(url)
    return _KEY_FILE_PLACES[place]


def _key_file_for(url: str | URL) -> Path | None:
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database in (None, "", ":memory:") or database.startswith("file:"):
            return None
        return Path(database).expanduser().resolve().parent / KEY_FILE_NAME
    return default_data_dir() / KEY_FILE_NAME


def audit_key(url: str | URL, *, create: bool = True) -> bytes:
    """The HMAC key for the audit chain of the database at ``url``.

    ``CADENZA_AUDIT_KEY`` (at least 32 characters, used as UTF-8) wins; otherwise a random 32-byte key
    kept hex-encoded in :func:`key_file_for` (mode 0600), created on first use when ``create``.
    The key is never stored in the database: whoever can rewrite the database must not also hold it.
    """
    env_key = os.environ.get(KEY_ENV)
    if env_key:
        if len(env_key) < MIN_ENV_KEY_CHARS:
            raise ParameterError(f"{KEY_ENV} must be at least {MIN_ENV_KEY_CHARS} characters, got "
                                 f"{len(env_key)}; e.g. `openssl rand -hex 32`")
        return env_key.encode("utf-8")
    path = key_file_for(url)
    if path is None:
        return _MEMORY_KEY
    return load_key_file(path, cache=_KEY_CACHE, create=create,
                         missing=f"no audit key: {path} does not exist and {KEY_ENV} is unset; the chain "
                                 "cannot be checked without the key it was sealed with")


def load_key_file(path: Path, *, cache: dict[Path, bytes], create: bool, missing: str,
                  read: Callable[[Path], bytes] | None = None) -> bytes:
    """The key kept in ``path`` (once per process, in ``cache``), created on first use when ``create``;
    ``ParameterError(missing)`` if it is absent and may not be created."""
    if path in cache:
        return cache[path]
    if not path.exists():
        if not create:
            raise ParameterError(missing)
        _create_key_file(path)
    key = cache[path] = (read or _read_key_file)(path)
    return key


def _create_key_file(path: Path) -> None:
    # Written under a private name and hard-linked into place: a second process racing us either
    # wins the link (we then read its key) or finds a complete file, never a half-written one.
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the data directory is private
    scratch = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(scratch, path)
        except FileExistsError:
            pass
    finally:
        scratch.unlink(missing_ok=True)


def _read_key_file(path: Path) -> bytes:
    content = path.read_text().strip()
    try:
        key = bytes.fromhex(content)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ParameterError(f"audit key file {path} must hold {KEY_BYTES} bytes as {2 * KEY_BYTES} hex digits")
    return key


# --- seals --------------------------------------------------------------------------------------------


def canonical_value(value: Any) -> Any:
    """A JSON-ready form of a column value that is the same whichever backend returned it."""
    if value is None or type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, dt.datetime):
        # Cadenza stores UTC; SQLite hands back naive datetimes, PostgreSQL aware ones.
        aware = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return aware.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def canonical_event(event_id: int, fields: Sequence[str], values: Mapping[str, Any]) -> bytes:
    """The bytes a seal covers: the event id and each covered column (a missing column counts as null)."""
    payload = {"event_id": event_id, "fields": {name: canonical_value(values.get(name)) for name in fields}}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def compute_seal(key: bytes, prev_seal: str, event_id: int, fields: Sequence[str], values: Mapping[str, Any]) -> str:
    """HMAC-SHA-256(key, prev_seal || canonical event), hex."""
    message = (prev_seal or "").encode("utf-8") + canonical_event(event_id, fields, values)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def pending_tag(key: bytes, event_id: int, fields: Sequence[str], values: Mapping[str, Any]) -> str:
    """HMAC-SHA-256(key, prefix || canonical event), hex: what an ``audit_pending`` row carries."""
    message = _PENDING_TAG_PREFIX + canonical_event(event_id, fields, values)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sealed_fields(column_names: Iterable[str]) -> tuple[str, ...]:
    """The columns a new seal covers: every ``audit_event`` column but the id (sealed on its own)."""
    return tuple(sorted(name for name in column_names if name != "id"))


def seal_rows(key: bytes, head_seq: int, head_seal: str, events: Iterable[Mapping[str, Any]],
              fields: Sequence[str]) -> list[dict[str, Any]]:
    """``audit_seal`` rows that append ``events`` (in the order given) after the head."""
    rows, prev, seq = [], head_seal, head_seq
    joined = ",".join(fields)
    for values in events:
        seq += 1
        seal = compute_seal(key, prev, values["id"], fields, values)
        rows.append({"seq": seq, "event_id": values["id"], "prev_seal": prev, "seal": seal, "fields": joined})
        prev = seal
    return rows


def append_seals(connection: Any, event_ids: Iterable[int], *, key: bytes,
                 event_table: Any = None, fields: Sequence[str] | None = None) -> int:
    """Seal the given events (those that exist and are not sealed yet) in id order; returns how many.

    ``event_table`` defaults to the model's table; the migration passes the table as the database has
    it at that revision.
    """
    event_table = AuditEvent.__table__ if event_table is None else event_table
    fields = sealed_fields(event_table.c.keys()) if fields is None else tuple(fields)
    wanted = sorted(set(event_ids))
    if not wanted:
        return 0
    head_seq, head_seal = _lock_head(connection)
    seal_table = AuditSeal.__table__
    events: list[Mapping[str, Any]] = []
    for start in range(0, len(wanted), 500):  # bounded IN lists
        chunk = wanted[start:start + 500]
        query = (select(event_table).where(event_table.c.id.in_(chunk))
                 .where(~event_table.c.id.in_(select(seal_table.c.event_id).where(seal_table.c.event_id.in_(chunk)))))
        events.extend(row._mapping for row in connection.execute(query))
    events.sort(key=lambda values: values["id"])
    rows = seal_rows(key, head_seq, head_seal, events, fields)
    if rows:
        connection.execute(seal_table.insert(), rows)
    return len(rows)


def _lock_head(connection: Any) -> tuple[int, str]:
    """Take the chain lock (PostgreSQL; SQLite's write lock is already held) and read the head: (seq, seal)."""
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK, _LOCK_ID)
    head = connection.execute(_HEAD).first()
    return (head.seq, head.seal) if head is not None else (0, GENESIS_SEAL)


_STORED_AS_GIVEN = (type(None), int, str)  # values a column hands back unchanged (datetimes are canonicalised)


def _flushed_values(events: list[AuditEvent], fields: Sequence[str]) -> list[dict[str, Any]] | None:
    """The stored values of events this session has just inserted, read from the objects themselves; None when
    any of them may differ from what the database holds (rolled back, expired, or a value the column would
    convert), so the caller reads them back instead."""
    found = []
    for event_row in events:
        state = inspect(event_row)
        if not state.persistent or state.expired_attributes:
            return None
        values = {"id": event_row.id, **{name: state.dict.get(name) for name in fields}}
        if any(name not in state.dict for name in fields) or not all(
                type(v) in _STORED_AS_GIVEN or type(v) is dt.datetime for v in values.values()):
            return None
        found.append(values)
    return sorted(found, key=lambda values: values["id"])


# --- batched sealing (PostgreSQL) ---------------------------------------------------------------------

# The statements of a commit's seal and of a sealing round, built once (building and keying a statement cost
# about as much as running a small one; issue 23).
_SEAL_TABLE, _PENDING_TABLE, _EVENT_TABLE = AuditSeal.__table__, AuditPending.__table__, AuditEvent.__table__
_LOCK_ID = {"lock_id": PG_CHAIN_LOCK_ID}
_LOCK = text("SELECT pg_advisory_xact_lock(:lock_id)")
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:lock_id)")
_HEAD = select(_SEAL_TABLE.c.seq, _SEAL_TABLE.c.seal).order_by(_SEAL_TABLE.c.seq.desc()).limit(1)
_EVENT_FIELDS = sealed_fields(_EVENT_TABLE.c.keys())  # what a commit's new events are sealed over
_INSERT_SEALS = _SEAL_TABLE.insert()
_INSERT_PENDING = _PENDING_TABLE.insert()
# The oldest pending events not sealed yet, each with its event's values (none when the event is gone).
_PENDING_ROWS = (
    select(_PENDING_TABLE.c.event_id, _PENDING_TABLE.c.tag, _PENDING_TABLE.c.fields, _EVENT_TABLE)
    .outerjoin(_EVENT_TABLE, _EVENT_TABLE.c.id == _PENDING_TABLE.c.event_id)
    .where(~select(_SEAL_TABLE.c.seq).where(_SEAL_TABLE.c.event_id == _PENDING_TABLE.c.event_id).exists())
    .order_by(_PENDING_TABLE.c.event_id).limit(bindparam("limit", type_=Integer)))
# Pending rows of the events read whose seal exists: spent.
_DELETE_SPENT = _PENDING_TABLE.delete().where(_PENDING_TABLE.c.event_id.in_(
    select(_SEAL_TABLE.c.event_id).where(_SEAL_TABLE.c.event_id.in_(bindparam("read", expanding=True)))))


def seal_pending(bind: Engine | Connection, *, wait: bool = True, key: bytes | None = None,
                 limit: int = SEAL_BATCH_EVENTS) -> int | None:
    """Seal the pending audit events (``audit_pending``) in one short transaction per ``limit`` events.

    Takes the chain lock (``wait=False``: only if it is free; ``None`` is returned when another
    transaction holds it, which seals what it sees and leaves the rest to the next round), appends a seal
    for every pending event whose tag matches, in event-id order, and deletes those pending rows in the same
    transaction: a process killed half-way leaves everything as it was. Returns how many were sealed.
    ``bind`` is an engine (a transaction of its own per batch) or a connection whose transaction the caller
    commits. Events whose tag no longer matches (edited or inserted without the key) stay pending and
    :func:`verify_chain` reports them.
    """
    if isinstance(bind, Connection):
        return _seal_pending_batch(bind, wait=wait, key=key, limit=limit)
    total = 0
    while True:
        with bind.begin() as connection:
            sealed = _seal_pending_batch(connection, wait=wait, key=key, limit=limit)
        if sealed is None:
            return None if total == 0 else total
        total += sealed
        if sealed < limit:
            return total


def _seal_pending_batch(connection: Connection, *, wait: bool, key: bytes | None, limit: int) -> int | None:
    if connection.dialect.name != "postgresql":
        return _seal_pending_sqlite(connection, key=key, limit=limit)
    if wait:
        connection.execute(_LOCK, _LOCK_ID)
    elif not connection.execute(_TRY_LOCK, _LOCK_ID).scalar():
        return None
    return _seal_locked(connection, key=key, limit=limit)


def _seal_pending_sqlite(connection: Connection, *, key: bytes | None, limit: int) -> int:
    # SQLite seals at commit; pending rows appear there only from a restored PostgreSQL backup.
    # The connection's transaction holds the write lock once it writes, so the head cannot move meanwhile.
    return _seal_locked(connection, key=key, limit=limit)


def _seal_locked(connection: Connection, *, key: bytes | None, limit: int) -> int:
    rows = connection.execute(_PENDING_ROWS, {"limit": limit}).all()
    if not rows:
        return 0
    key = audit_key(connection.engine.url) if key is None else key
    head = connection.execute(_HEAD).first()
    seq, prev = (head.seq, head.seal) if head is not None else (0, GENESIS_SEAL)
    seals: list[dict[str, Any]] = []
    for row in rows:
        values = row._mapping
        if values["id"] is None:
            continue  # the event is gone: the pending row stays as evidence
        fields = tuple(f for f in row.fields.split(",") if f)
        if not hmac.compare_digest(pending_tag(key, row.event_id, fields, values), row.tag):
            continue  # edited, or written without the key: never sealed
        seq += 1
        seal = compute_seal(key, prev, row.event_id, fields, values)
        seals.append({"seq": seq, "event_id": row.event_id, "prev_seal": prev, "seal": seal, "fields": row.fields})
        prev = seal
    if seals:
        connection.execute(_INSERT_SEALS, seals)
    # The pending rows read whose event now has a seal (sealed here, or some other way) are spent; the others
    # (event gone, tag not matching) stay.
    connection.execute(_DELETE_SPENT, {"read": [r.event_id for r in rows]})
    return len(seals)


class BackgroundSealer:
    """One per web worker and engine: seals pending audit events after each commit (:meth:`nudge`) and at least
    every ``interval_s``, taking the chain lock only when it is free (the holder seals what it sees, the
    rest is sealed next round). A daemon thread; :meth:`stop` seals once more and ends it."""

    def __init__(self, engine: Engine, *, interval_s: float = SEAL_INTERVAL_S,
                 min_gap_s: float | None = None) -> None:
        if not interval_s > 0:
            raise ParameterError(f"interval_s must be > 0, got {interval_s!r}")
        min_gap_s = min(SEAL_MIN_GAP_S, interval_s) if min_gap_s is None else min_gap_s
        if not 0 <= min_gap_s <= interval_s:
            raise ParameterError(f"min_gap_s must be within 0..interval_s ({interval_s!r}), got {min_gap_s!r}")
        self.engine, self.interval_s, self.min_gap_s = engine, interval_s, min_gap_s
        self.rounds = self.sealed = self.busy = self.failures = 0
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="cadenza-audit-sealer", daemon=True)

    def start(self) -> BackgroundSealer:
        self._thread.start()
        return self

    def nudge(self) -> None:
        self._wake.set()

    def stop(self, *, final_seal: bool = True, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)
        if final_seal:
            try:
                seal_pending(self.engine, wait=True)
            except Exception:  # the next worker, or `cadenza audit verify --seal`, seals them
                _log.warning("final audit seal failed; pending events stay for the next sealer", exc_info=True)

    def _run(self) -> None:
        last_round_at = -math.inf
        while not self._stopping.is_set():
            self._wake.wait(self.interval_s)
            # A commit's nudge within min_gap_s of the last round waits for the rest of the gap, gathering the
            # commits that come meanwhile into the same round.
            if self._stopping.wait(max(0.0, last_round_at + self.min_gap_s - time.monotonic())):
                return
            self._wake.clear()
            last_round_at = time.monotonic()
            self.rounds += 1
            try:
                sealed = seal_pending(self.engine, wait=False)
            except Exception:
                self.failures += 1
                _log.warning("audit sealing failed; retrying in %.2f s", self.interval_s, exc_info=True)
                self._stopping.wait(self.interval_s)
                continue
            if sealed is None:
                # Another worker's sealer holds the lock: it seals what it saw; what it did not see (committed
                # after its read) is ours to seal once it is done, so try again in a moment.
                self.busy += 1
                self._wake.set()  # the next round comes min_gap_s after this one
            else:
                self.sealed += sealed


_SEALERS: weakref.WeakKeyDictionary[Engine, BackgroundSealer] = weakref.WeakKeyDictionary()


def start_background_sealer(engine: Engine, *, interval_s: float = SEAL_INTERVAL_S) -> BackgroundSealer | None:
    """Seal this engine's commits in the background (PostgreSQL; ``None`` and nothing started on SQLite).

    For long-running servers: their sessions' commits then never wait for the chain lock. Idempotent per
    engine; stopped (after a last seal) at interpreter exit.
    """
    if engine.dialect.name != "postgresql":
        return None
    if engine not in _SEALERS:
        sealer = _SEALERS[engine] = BackgroundSealer(engine, interval_s=interval_s).start()
        atexit.register(sealer.stop)
    return _SEALERS[engine]


def background_sealer(engine: Engine) -> BackgroundSealer | None:
    """The sealer :func:`start_background_sealer` started for ``engine``, if any."""
    return _SEALERS.get(engine)


# --- session hooks ------------------------------------------------------------------------------------


def _track_new_events(session: Session, _flush_context: Any) -> None:
    events = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if events:
        session.info.setdefault(_PENDING_KEY, []).extend(events)


def _batched(session: Session, connection: Connection) -> bool:
    """Seal after commit (PostgreSQL, session bound to an engine) rather than inside the transaction.

    A session joined to a caller's connection (tests, restore into one transaction) seals at commit: its
    outer transaction may never commit, and a separate sealing transaction could not see its rows."""
    return connection.dialect.name == "postgresql" and not isinstance(session.get_bind(), Connection)


def _seal_pending(session: Session) -> None:
    # Sealing waits for the outermost commit: the chain lock is then held only for the commit itself,
    # never while the transaction goes on to wait for other row locks (no lock-order deadlocks).
    if session.in_nested_transaction():
        return
    session.flush()
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    connection = session.connection()
    key = audit_key(connection.engine.url)
    fields = _EVENT_FIELDS
    values = _flushed_values(pending, fields)
    batched = _batched(session, connection)
    if values is None:
        ids = [inspect(e).identity[0] for e in pending if inspect(e).identity]
        if not batched:
            append_seals(connection, ids, key=key)
            return
        values = _read_events(connection, ids)
    if batched:
        # No lock here: one pending row per event, sealed after the commit (docs/clinic.md, "When sealing happens").
        joined = ",".join(fields)
        connection.execute(_INSERT_PENDING, [
            {"event_id": v["id"], "tag": pending_tag(key, v["id"], fields, v), "fields": joined} for v in values])
        session.info[_SEAL_AFTER_COMMIT_KEY] = True
        return
    # The usual case: the events this transaction inserted are sealed from the values it wrote, without
    # reading them back while the chain lock is held (one statement fewer inside the lock).
    head_seq, head_seal = _lock_head(connection)
    connection.execute(_INSERT_SEALS, seal_rows(key, head_seq, head_seal, values, fields))


def _read_events(connection: Connection, ids: Sequence[int]) -> list[Mapping[str, Any]]:
    event_table = AuditEvent.__table__
    found: list[Mapping[str, Any]] = []
    for start in range(0, len(ids), 500):
        found.extend(row._mapping for row in connection.execute(
            select(event_table).where(event_table.c.id.in_(ids[start:start + 500]))))
    return sorted(found, key=lambda values: values["id"])


def _seal_after_commit(session: Session) -> None:
    if not session.info.pop(_SEAL_AFTER_COMMIT_KEY, False):
        return
    engine = session.get_bind()
    sealer = _SEALERS.get(engine)
    if sealer is not None:
        sealer.nudge()
        return
    try:  # no background sealer in this process (the command line, a script): seal now
        seal_pending(engine, wait=True)
    except Exception:  # committed is committed: the events stay pending for the next sealer, and verify says so
        _log.warning("audit events committed but not sealed yet; the next commit or `cadenza audit verify --seal` "
                     "seals them", exc_info=True)


def _forget_pending(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


def _forget_seal_after_commit(session: Session) -> None:
    session.info.pop(_SEAL_AFTER_COMMIT_KEY, None)


def install(factory: sessionmaker[Session]) -> None:
    """Seal the audit events that the sessions of ``factory`` write: at each commit, or in batches after it."""
    event.listen(factory, "after_flush", _track_new_events)
    event.listen(factory, "before_commit", _seal_pending)
    event.listen(factory, "after_commit", _seal_after_commit)
    event.listen(factory, "after_rollback", _forget_seal_after_commit)
    event.listen(factory, "after_transaction_end", _forget_pending)


def is_installed(db: Session) -> bool:
    """True if ``db`` seals its audit events (it comes from a factory :func:`install` was given)."""
    return _seal_pending in db.dispatch.before_commit


# --- verification -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainLink:
    """One ``audit_seal`` row with the values of the event it seals (``None``: the event is gone)."""

    seq: int
    event_id: int
    prev_seal: str
    seal: str
    fields: tuple[str, ...]
    values: Mapping[str, Any] | None


@dataclass(frozen=True)
class ChainReport:
    """The verdict on an audit chain.

    ``count`` links verified from position 1 (all of them when ``ok``); ``head_seal`` is the seal at
    position ``count``: write both down (or export them) to detect a later deletion of the newest rows.
    On failure ``problem`` is one of :data:`PROBLEMS`, ``position``/``event_id`` locate the first bad
    link (``position`` is ``None`` for an unsealed event) and ``detail`` says what is wrong.
    """

    ok: bool
    count: int
    head_seal: str
    problem: str | None = None
    position: int | None = None
    event_id: int | None = None
    detail: str = ""
    unsealed_count: int = 0
    pending_count: int = 0
    oldest_pending_at: str | None = None

    def summary(self) -> str:
        pending = (f"; {self.pending_count} committed event(s) await their seal (batched sealing, not a problem; "
                   f"oldest from {self.oldest_pending_at})" if self.pending_count else "")
        if self.ok:
            return (f"audit chain OK: {self.count} events sealed; head at position {self.count}: {self.head_seal}"
                    f"{pending}")
        where = f"position {self.position}" if self.position is not None else "an unsealed row"
        event_part = f" (event {self.event_id})" if self.event_id is not None else ""
        return f"audit chain BROKEN at {where}{event_part}: {self.problem}: {self.detail}{pending}"

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "count": self.count, "head_seal": self.head_seal, "problem": self.problem,
                "position": self.position, "event_id": self.event_id, "detail": self.detail,
                "unsealed_count": self.unsealed_count, "pending_count": self.pending_count,
                "oldest_pending_at": self.oldest_pending_at}


def check_chain(links: Iterable[ChainLink], *, key: bytes, unsealed_event_ids: Sequence[int] = (),
                expect_count: int | None = None, expect_seal: str | None = None,
                relinks: Iterable[ChainLink] | None = None) -> ChainReport:
    """Walk ``links`` (in ``seq`` order) and report the first break; pure, no database.

    ``relinks`` is a second pass over the same links, used only to tell a moved row ("reordered") from
    an edited or missing one; without it those cases are reported as "edited"/"missing".

    >>> key, fields = b"k" * 32, ("action",)
    >>> rows = seal_rows(key, 0, GENESIS_SEAL, [{"id": 1, "action": "read"}, {"id": 2, "action": "list"}], fields)
    >>> links = [ChainLink(r["seq"], r["event_id"], r["prev_seal"], r["seal"], fields, {"action": a})
    ...          for r, a in zip(rows, ["read", "list"])]
    >>> check_chain(links, key=key).ok
    True
    >>> edited = [links[0], ChainLink(2, 2, links[1].prev_seal, links[1].seal, fields, {"action": "update"})]
    >>> report = check_chain(edited, key=key)
    >>> report.problem, report.position, report.count
    ('edited', 2, 1)
    >>> check_chain(links[:1], key=key, expect_count=2).problem  # a deleted newest row needs the anchor
    'missing'
    """
    if expect_count is not None and expect_count < 0:
        raise ParameterError(f"expect_count must be >= 0, got {expect_count!r}")
    if expect_seal is not None and (len(expect_seal) != 64 or any(c not in "0123456789abcdef" for c in expect_seal)):
        raise ParameterError(f"expect_seal must be 64 lower-case hex digits (a head seal), got {expect_seal!r}")
    prev, count, seen_expected = GENESIS_SEAL, 0, expect_seal is None

    def broken(problem: str, link: ChainLink | None, detail: str, position: int | None = None) -> ChainReport:
        return ChainReport(ok=False, count=count, head_seal=prev, problem=problem,
                           position=position if position is not None else (link.seq if link else None),
                           event_id=link.event_id if link else None, detail=detail,
                           unsealed_count=len(unsealed_event_ids))

    for link in links:
        expected_seq = count + 1
        if link.seq > expected_seq:
            return broken("missing", link, f"positions {expected_seq}..{link.seq - 1} are gone (the chain jumps "
                          f"from {count} to {link.seq})", position=expected_seq)
        if link.seq < expected_seq:
            return broken("edited", link, f"position number {link.seq} where {expected_seq} was due")
        if link.values is None:
            return broken("missing", link, f"event {link.event_id} sealed here is gone from audit_event")
        if compute_seal(key, link.prev_seal, link.event_id, link.fields, link.values) != link.seal:
            moved_to = _sealed_elsewhere(link, relinks, key) if relinks is not None else None
            if moved_to is not None:
                return broken("reordered", link, f"this row holds the content sealed for event {moved_to.event_id} "
                              f"at position {moved_to.seq}")
            return broken("edited", link, "the row no longer matches its seal (a field, the seal or the link was "
                          "changed, or the seal was forged)")
        if link.prev_seal != prev:
            origin = _position_of_seal(link.prev_seal, relinks) if relinks is not None else None
            if origin is not None:
                return broken("reordered", link, f"a genuine link that belongs after position {origin}")
            return broken("missing", link, "the link to the previous seal is broken: a sealed event before it "
                          "was removed")
        prev, count = link.seal, count + 1
        if not seen_expected and link.seal == expect_seal:
            seen_expected = True
    if unsealed_event_ids:
        first = min(unsealed_event_ids)
        return ChainReport(ok=False, count=count, head_seal=prev, problem="unsealed", position=None, event_id=first,
                           detail=f"{len(unsealed_event_ids)} audit_event row(s) carry no seal, first id {first} "
                           "(inserted outside Cadenza or forged)", unsealed_count=len(unsealed_event_ids))
    if expect_count is not None and count < expect_count:
        return ChainReport(ok=False, count=count, head_seal=prev, problem="missing", position=count + 1,
                           detail=f"the chain has {count} sealed events but at least {expect_count} were "
                           "expected: the newest rows were deleted")
    if not seen_expected:
        return ChainReport(ok=False, count=count, head_seal=prev, problem="missing", position=None,
                           detail=f"the expected seal {expect_seal} is not in the chain: rows up to it were "
                           "deleted or rewritten")
    return ChainReport(ok=True, count=count, head_seal=prev)


def _sealed_elsewhere(link: ChainLink, relinks: Iterable[ChainLink], key: bytes) -> ChainLink | None:
    assert link.values is not None
    for other in relinks:
        if other.seq != link.seq and compute_seal(key, other.prev_seal, other.event_id, other.fields,
                                                  link.values) == other.seal:
            return other
    return None


def _position_of_seal(seal: str, relinks: Iterable[ChainLink]) -> int | None:
    if seal == GENESIS_SEAL:
        return 0
    for other in relinks:
        if other.seal == seal:
            return other.seq
    return None


def verify_chain(db: Any, *, key: bytes | None = None, expect_count: int | None = None,
                 expect_seal: str | None = None) -> ChainReport:
    """Re-compute the audit chain of the database behind ``db`` (a Session or Connection).

    Reads only. ``key`` defaults to :func:`audit_key` for the database (never created here).
    ``expect_count``/``expect_seal`` come from a head written down earlier: without them a deletion of
    the newest rows leaves a shorter chain that is still valid.
    """
    connection = db.connection() if isinstance(db, Session) else db
    seal_table, event_table = AuditSeal.__table__, AuditEvent.__table__
    if key is None:
        try:
            key = audit_key(connection.engine.url, create=False)
        except ParameterError:
            if connection.execute(select(func.count()).select_from(seal_table)).scalar_one():
                raise
            key = _MEMORY_KEY  # no key and no seal: nothing was ever sealed, nothing needs the key
    unsealed = list(connection.execute(
        select(event_table.c.id).where(~select(seal_table.c.seq).where(seal_table.c.event_id == event_table.c.id)
                                       .exists()).order_by(event_table.c.id)).scalars())
    pending_ids, oldest_pending = _genuinely_pending(connection, unsealed, key) if unsealed else (set(), None)
    unsealed = [event_id for event_id in unsealed if event_id not in pending_ids]
    names = [column.name for column in event_table.c if column.name != "id"]
    query = (select(seal_table.c.seq, seal_table.c.event_id, seal_table.c.prev_seal, seal_table.c.seal,
                    seal_table.c.fields, event_table.c.id, *[event_table.c[name] for name in names])
             .outerjoin(event_table, event_table.c.id == seal_table.c.event_id).order_by(seal_table.c.seq))
    field_lists: dict[str | None, tuple[str, ...]] = {}
    last = {"seq": 0, "seal": GENESIS_SEAL}

    def links() -> Iterable[ChainLink]:
        rows = iter(connection.execute(query.execution_options(yield_per=1000)))
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp overwritten with text
                raise _UnreadableRow(str(exc)) from exc
            seq, event_id, prev_seal, seal, fields, found_id, *values = row
            if fields not in field_lists:
                field_lists[fields] = tuple(f for f in (fields or "").split(",") if f)
            yield ChainLink(seq=seq, event_id=event_id, prev_seal=prev_seal, seal=seal, fields=field_lists[fields],
                            values=dict(zip(names, values, strict=True)) if found_id is not None else None)
            last.update(seq=seq, seal=seal)

    try:
        report = check_chain(links(), key=key, unsealed_event_ids=unsealed, expect_count=expect_count,
                             expect_seal=expect_seal)
        if not report.ok and report.problem in ("edited", "missing") and report.position is not None:
            # Second pass only on failure: is the bad link a moved row rather than an edited/lost one?
            report = check_chain(links(), key=key, unsealed_event_ids=unsealed, expect_count=expect_count,
                                 expect_seal=expect_seal, relinks=_Replay(links))
    except _UnreadableRow as exc:
        # Every link before the unreadable row passed (the walk stops at the first problem).
        report = ChainReport(ok=False, count=last["seq"], head_seal=last["seal"], problem="edited",
                             position=last["seq"] + 1, detail=f"a stored value cannot even be read back: {exc}",
                             unsealed_count=len(unsealed))
    if pending_ids:
        report = replace(report, pending_count=len(pending_ids),
                         oldest_pending_at=canonical_value(oldest_pending) if oldest_pending else None)
    return report


def _genuinely_pending(connection: Any, unsealed: Sequence[int], key: bytes) -> tuple[set[int], Any]:
    """Of the unsealed events, those with an ``audit_pending`` row whose tag matches (committed by the record,
    sealing still to come), and the oldest one's time. The others are problems."""
    if not inspect(connection).has_table(AuditPending.__tablename__):
        return set(), None
    pending_table, event_table = AuditPending.__table__, AuditEvent.__table__
    found: set[int] = set()
    oldest = None
    for start in range(0, len(unsealed), 500):
        chunk = unsealed[start:start + 500]
        for row in connection.execute(
                select(pending_table.c.tag, pending_table.c.fields, event_table)
                .join(event_table, event_table.c.id == pending_table.c.event_id)
                .where(pending_table.c.event_id.in_(chunk))):
            values = row._mapping
            fields = tuple(f for f in row.fields.split(",") if f)
            if hmac.compare_digest(pending_tag(key, values["id"], fields, values), row.tag):
                found.add(values["id"])
                if values.get("at") is not None and (oldest is None or values["at"] < oldest):
                    oldest = values["at"]
    return found, oldest


class _UnreadableRow(Exception):
    pass


class _Replay:
    """Iterable that re-runs a generator function at each iteration (a fresh query per pass)."""

    def __init__(self, make: Any) -> None:
        self._make = make

    def __iter__(self):
        return iter(self._make())
