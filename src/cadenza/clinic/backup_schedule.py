"""Scheduled backups: one encrypted archive per run into a folder, a retention rule, and a restore drill.

A timer (systemd, cron; ``docs/operations.md``) runs ``cadenza backup scheduled FOLDER`` daily. Each run
writes ``cadenza-<UTC time>.zip.cdzenc`` encrypted with the data key, then deletes the archives the retention
rule no longer keeps (grandfather-father-son: the newest archive of each of the last ``keep_daily``
days, ``keep_weekly`` ISO weeks and ``keep_monthly`` months that have one; the newest archive is always
kept). Only files with the schedule's own name pattern are ever deleted.

A backup nobody has restored is a hope, not a backup: ``cadenza backup drill ARCHIVE`` restores it into
a throwaway SQLite database, verifies the audit chain against the manifest and compares every table's
row count with the manifest, then deletes the copy.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cadenza.errors import ParameterError

ARCHIVE_PATTERN = re.compile(r"cadenza-(\d{8}T\d{6}Z)\.zip\.cdzenc")
_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class RetentionRule:
    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 12

    def __post_init__(self) -> None:
        for name in ("keep_daily", "keep_weekly", "keep_monthly"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= 1000:
                raise ParameterError(f"{name} must be a whole number 0..1000, got {value!r}")


def archive_name(at: dt.datetime) -> str:
    return f"cadenza-{at.astimezone(dt.UTC).strftime(_STAMP)}.zip.cdzenc"


def archive_time(name: str) -> dt.datetime | None:
    """When an archive of the schedule was taken (None for any other file name)."""
    found = ARCHIVE_PATTERN.fullmatch(name)
    if found is None:
        return None
    return dt.datetime.strptime(found.group(1), _STAMP).replace(tzinfo=dt.UTC)


def kept(taken: Iterable[dt.datetime], rule: RetentionRule) -> set[dt.datetime]:
    """The times the rule keeps: the newest of each of the newest ``keep_*`` days / ISO weeks / months."""
    newest_first = sorted(set(taken), reverse=True)
    keep: set[dt.datetime] = set(newest_first[:1])
    for count, period in ((rule.keep_daily, lambda t: t.date()),
                          (rule.keep_weekly, lambda t: t.isocalendar()[:2]),
                          (rule.keep_monthly, lambda t: (t.year, t.month))):
        periods: list = []
        for at in newest_first:
            key = period(at)
            if key in periods:
                continue
            if len(periods) == count:
                break
            periods.append(key)
            keep.add(at)  # the first seen of a period is its newest
    return keep


@dataclass(frozen=True)
class ScheduledRun:
    path: Path
    kept: tuple[Path, ...]
    deleted: tuple[Path, ...]


def run_scheduled_backup(url: str, folder: Path, *, key: bytes, rule: RetentionRule,
                         now: dt.datetime | None = None) -> ScheduledRun:
    """Write this run's encrypted archive into ``folder``, then apply ``rule`` to the schedule's archives."""
    from cadenza.clinic.backup import create_backup

    now = now or dt.datetime.now(dt.UTC)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / archive_name(now)
    if path.exists():
        raise ParameterError(f"folder {str(folder)!r} already has {path.name!r}: one scheduled backup per second")
    create_backup(url, path, encrypt_key=key, now=now)
    archives = {p: t for p in folder.iterdir() if p.is_file() and (t := archive_time(p.name)) is not None}
    keep_times = kept(archives.values(), rule)
    deleted = []
    for archive, at in sorted(archives.items()):
        if at not in keep_times and archive != path:
            archive.unlink()
            deleted.append(archive)
    return ScheduledRun(path=path, kept=tuple(sorted(p for p in archives if p not in deleted)),
                        deleted=tuple(deleted))


@dataclass(frozen=True)
class DrillResult:
    archive: Path
    created_at: str
    tables: int
    rows: int
    chain_ok: bool
    chain_summary: str
    mismatched_tables: tuple[str, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.chain_ok and not self.mismatched_tables


def restore_drill(archive: Path, *, key: bytes | None, max_bytes: int | None = None) -> DrillResult:
    """Restore ``archive`` into a new SQLite file in a private temporary folder, check it, delete it."""
    from sqlalchemy import MetaData, func, select

    from cadenza.clinic.backup import restore_backup
    from cadenza.clinic.db import make_engine

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cadenza-drill-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'drill.sqlite3'}"
        result = restore_backup(url, archive, max_bytes=max_bytes, key=key, allow_unverified_chain=True,
                                data_dir=Path(scratch) / "data")
        engine = make_engine(url)
        try:
            metadata = MetaData()
            metadata.reflect(engine)
            mismatched = []
            pending = {e.name: e.rows for e in result.manifest.tables}.get("audit_pending", 0)
            with engine.connect() as connection:
                for entry in result.manifest.tables:
                    table = metadata.tables.get(entry.name)
                    found = (connection.execute(select(func.count()).select_from(table)).scalar_one()
                             if table is not None else -1)
                    # the restore audits itself: the audit tables hold one more event (and its seal) than the
                    # archive; events still pending at backup time (PostgreSQL) are sealed by the restore
                    extra = {"audit_event": 1, "audit_seal": 1 + pending, "audit_pending": -pending}.get(entry.name, 0)
                    if found != entry.rows + extra:
                        mismatched.append(f"{entry.name} ({found} rows, archive {entry.rows})")
        finally:
            engine.dispose()
    return DrillResult(archive=archive, created_at=result.manifest.created_at, tables=len(result.manifest.tables),
                       rows=result.rows_restored, chain_ok=result.chain_ok, chain_summary=result.chain_summary,
                       mismatched_tables=tuple(mismatched), seconds=time.perf_counter() - started)
