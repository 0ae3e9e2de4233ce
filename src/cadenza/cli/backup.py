"""CLI group: back up and restore the whole clinical record (:mod:`cadenza.clinic.backup`).

``cadenza backup create FILE`` writes one zip archive from a consistent snapshot while the app keeps
working; ``cadenza backup restore FILE`` checks the archive, restores it into an empty database,
verifies the audit chain and prints the verdict. The audit key is never in the archive.

``--encrypt`` seals the whole archive with the data key (AES-256-GCM); it is opt-in because a backup
whose key is lost is lost too (docs/clinic.md, "Keys and encryption at rest"). ``restore`` recognises
an encrypted archive by its signature and decrypts it with ``--key-file`` or the target's data key.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cadenza.cli._db import domain_errors, fail

app = typer.Typer(help="Back up and restore the clinical record (one zip archive).", no_args_is_help=True)

TARGET_HELP = "Database URL to restore into (default: the configured CADENZA_DATABASE_URL)."
MAX_BYTES_HELP = "Refuse an archive that inflates past this many bytes (default: 20x the upload cap)."
REPLACE_HELP = "Delete every row in the target first (asks for confirmation unless --yes)."
YES_HELP = "Confirm --replace without asking."
UNVERIFIED_HELP = ("Restore even when the restored audit chain does not verify (the source's audit key is lost); "
                   "the chain stays reported as broken.")
JSON_HELP = "Print one JSON object instead of sentences."
ENCRYPT_HELP = ("Encrypt the whole archive with the data key (AES-256-GCM; name it e.g. record.zip.cdzenc). "
                "Keep a copy of the key apart from the backup: without it the archive cannot be read.")
KEY_FILE_HELP = ("A data.key file (64 hex digits) to encrypt/decrypt with instead of this installation's data key; "
                 "on a new machine, the source's data.key.")


def _key_from(key_file: Path | None) -> bytes | None:
    if key_file is None:
        return None
    from cadenza.clinic.secrets_at_rest import read_key_file

    return read_key_file(key_file)


@app.command()
def create(
    file: Path = typer.Argument(..., help="The archive to write (a new .zip file)."),
    encrypt: bool = typer.Option(False, "--encrypt", help=ENCRYPT_HELP),
    key_file: Path | None = typer.Option(None, "--key-file", help=KEY_FILE_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Write a backup of the configured database: one snapshot, writers keep working."""
    from cadenza.clinic.backup import create_backup
    from cadenza.clinic.secrets_at_rest import data_key
    from cadenza.settings import Settings

    settings = Settings.from_env()
    if key_file is not None and not encrypt:
        fail("--key-file on create only makes sense with --encrypt")
    with domain_errors():
        key = (_key_from(key_file) or data_key(settings.database_url)) if encrypt else None
        result = create_backup(settings.database_url, file, encrypt_key=key)
    manifest = result.manifest
    chain = manifest.audit_chain
    if as_json:
        typer.echo(json.dumps({"path": str(result.path), "encrypted": encrypt, **manifest.as_dict()}))
        return
    rows = sum(t.rows for t in manifest.tables)
    typer.echo(f"backup written: {result.path} ({len(manifest.tables)} tables, {rows} rows, "
               f"{len(manifest.files)} files; schema {', '.join(manifest.alembic_heads)})")
    if chain.get("ok"):
        typer.echo(f"audit chain at backup: {chain['count']} events, head {chain['head_seal']}")
        typer.echo(f"check later with: cadenza audit verify --expect-count {chain['count']} "
                   f"--expect-seal {chain['head_seal']}")
    elif chain.get("ok") is False:
        typer.echo(f"warning: the source audit chain did not verify: {chain.get('problem')}: {chain.get('detail')}")
    if encrypt:
        typer.echo("the archive is encrypted with the data key (data.key / CADENZA_DATA_KEY), which is NOT in it")
    else:
        typer.echo("the archive is NOT encrypted and holds clinical records: store it as such, or use --encrypt")
    typer.echo("the audit key and the data key are NOT in the archive: back them up separately (see docs/clinic.md)")


@app.command()
def restore(
    file: Path = typer.Argument(..., help="The backup archive to restore."),
    to: str | None = typer.Option(None, "--to", help=TARGET_HELP),
    replace: bool = typer.Option(False, "--replace", help=REPLACE_HELP),
    yes: bool = typer.Option(False, "--yes", help=YES_HELP),
    max_bytes: int | None = typer.Option(None, "--max-bytes", min=1, help=MAX_BYTES_HELP),
    allow_unverified_chain: bool = typer.Option(False, "--allow-unverified-chain", help=UNVERIFIED_HELP),
    key_file: Path | None = typer.Option(None, "--key-file", help=KEY_FILE_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Restore a backup into an empty database, then verify the audit chain; exit 1 if it does not verify."""
    from cadenza.clinic.backup import restore_backup
    from cadenza.clinic.db import migrate
    from cadenza.settings import Settings

    settings = Settings.from_env()
    url = to or settings.database_url
    if replace and not yes and not typer.confirm(f"Delete EVERY row in {url} and restore {file}?", default=False):
        fail("not confirmed; nothing was changed")
    with domain_errors():
        result = restore_backup(url, file, replace=replace, max_bytes=max_bytes, data_dir=settings.data_dir,
                                allow_unverified_chain=allow_unverified_chain, key=_key_from(key_file))
        migrate(url)  # from the backup's revisions to this code's
    if as_json:
        typer.echo(json.dumps({"rows_restored": result.rows_restored, "chain_ok": result.chain_ok,
                               "chain": result.chain_summary, "files": [str(p) for p in result.files_written],
                               "manifest": result.manifest.as_dict()}))
    else:
        typer.echo(f"restored {result.rows_restored} rows in {len(result.manifest.tables)} tables and "
                   f"{len(result.files_written)} files from {file} (taken {result.manifest.created_at})")
        typer.echo(result.chain_summary)
    _warn_unreadable_mfa(url)
    if not result.chain_ok:
        raise typer.Exit(1)


def _warn_unreadable_mfa(url: str) -> None:
    from cadenza.clinic.auth import unreadable_mfa_usernames
    from cadenza.clinic.db import make_engine, make_session_factory

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            names = unreadable_mfa_usernames(db)
    finally:
        engine.dispose()
    if names:
        typer.echo(f"warning: the two-factor secrets of {len(names)} account(s) ({', '.join(names[:10])}) do not "
                   "open with this installation's data key; put the source's data.key in place (or set "
                   "CADENZA_DATA_KEY), or run `cadenza admin reset-mfa USERNAME` for each", err=True)


@app.command()
def scheduled(
    folder: Path = typer.Argument(..., help="The folder that keeps the scheduled archives (made if missing)."),
    keep_daily: int = typer.Option(7, "--keep-daily", min=0, max=1000, help="Keep the newest archive of this many days."),
    keep_weekly: int = typer.Option(4, "--keep-weekly", min=0, max=1000, help="… of this many ISO weeks."),
    keep_monthly: int = typer.Option(12, "--keep-monthly", min=0, max=1000, help="… of this many months."),
    key_file: Path | None = typer.Option(None, "--key-file", help=KEY_FILE_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """One scheduled run (from a daily timer): an encrypted backup into FOLDER, then the retention rule.

    Only the schedule's own archives (cadenza-<UTC time>.zip.cdzenc) are ever deleted; the newest is always kept.
    """
    from cadenza.clinic.backup_schedule import RetentionRule, run_scheduled_backup
    from cadenza.clinic.secrets_at_rest import data_key
    from cadenza.settings import Settings

    settings = Settings.from_env()
    with domain_errors():
        rule = RetentionRule(keep_daily=keep_daily, keep_weekly=keep_weekly, keep_monthly=keep_monthly)
        run = run_scheduled_backup(settings.database_url, folder,
                                   key=_key_from(key_file) or data_key(settings.database_url), rule=rule)
    if as_json:
        typer.echo(json.dumps({"path": str(run.path), "kept": [str(p) for p in run.kept],
                               "deleted": [str(p) for p in run.deleted]}))
        return
    typer.echo(f"backup written (encrypted with the data key): {run.path}")
    typer.echo(f"{len(run.kept)} scheduled archive(s) kept, {len(run.deleted)} deleted by the rule "
               f"(daily {keep_daily}, weekly {keep_weekly}, monthly {keep_monthly})")


@app.command()
def drill(
    file: Path = typer.Argument(..., help="The archive to test-restore."),
    key_file: Path | None = typer.Option(None, "--key-file", help=KEY_FILE_HELP),
    max_bytes: int | None = typer.Option(None, "--max-bytes", min=1, help=MAX_BYTES_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Restore drill: restore FILE into a throwaway database, verify it, delete it; exit 1 if it fails.

    Nothing is written to the configured database. Run it on a recent archive every month, and after a move.
    """
    from cadenza.clinic.backup import is_encrypted
    from cadenza.clinic.backup_schedule import restore_drill
    from cadenza.clinic.secrets_at_rest import data_key
    from cadenza.settings import Settings

    if not file.is_file():
        fail(f"FILE {str(file)!r} is not a file", code=2)
    with domain_errors():
        key = _key_from(key_file)
        if key is None and is_encrypted(file):
            key = data_key(Settings.from_env().database_url)
        result = restore_drill(file, key=key, max_bytes=max_bytes)
    if as_json:
        typer.echo(json.dumps({"archive": str(result.archive), "ok": result.ok, "created_at": result.created_at,
                               "tables": result.tables, "rows": result.rows, "chain_ok": result.chain_ok,
                               "chain": result.chain_summary, "mismatched_tables": list(result.mismatched_tables),
                               "seconds": round(result.seconds, 2)}))
    else:
        verdict = "PASSED" if result.ok else "FAILED"
        typer.echo(f"restore drill {verdict}: {file} (taken {result.created_at}): {result.rows} rows in "
                   f"{result.tables} tables restored in {result.seconds:.1f} s into a throwaway database")
        typer.echo(result.chain_summary)
        for problem in result.mismatched_tables:
            typer.echo(f"row count differs: {problem}")
    if not result.ok:
        raise typer.Exit(1)
