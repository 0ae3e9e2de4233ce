"""CLI group: the tamper-evident audit trail.

``cadenza audit verify`` re-computes the hash chain over ``audit_event`` (see
:mod:`cadenza.clinic.audit_chain`) and prints OK with the count and head seal, or the first broken
position and what is wrong; the exit code is 1 when the chain is broken. It only reads: it never
migrates the database it checks, and writes only the seals of pending events when asked to (``--seal``).
"""

from __future__ import annotations

import json

import typer

from cadenza.cli._db import domain_errors, fail

app = typer.Typer(help="Tamper-evident audit trail: verify the hash chain, read the log.", no_args_is_help=True)

EXPECT_COUNT_HELP = ("At least this many events must be sealed (a count written down earlier): detects a deletion "
                     "of the newest rows, which a shorter chain alone does not reveal.")
EXPECT_SEAL_HELP = "A head seal written down earlier: it must still be in the chain."
JSON_HELP = "Print one JSON object instead of a sentence."
SEAL_HELP = ("First seal the events committed but not sealed yet (PostgreSQL seals in batches; a running server does "
             "it within a second): the one write this command may make.")


@app.command()
def verify(
    expect_count: int | None = typer.Option(None, "--expect-count", min=0, help=EXPECT_COUNT_HELP),
    expect_seal: str | None = typer.Option(None, "--expect-seal", help=EXPECT_SEAL_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    seal: bool = typer.Option(False, "--seal", help=SEAL_HELP),
) -> None:
    """Re-compute the audit hash chain; exit 1 at the first edited, missing, reordered or unsealed row.

    Events committed on PostgreSQL in the last moments may still await their seal: they are counted apart
    ("pending", not a problem); ``--seal`` seals them first."""
    from pathlib import Path

    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url

    from cadenza.clinic.audit_chain import seal_pending, verify_chain
    from cadenza.clinic.db import make_engine
    from cadenza.settings import Settings

    settings = Settings.from_env()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).expanduser().exists():
        fail(f"no database at {url.database}; nothing to verify")
    with domain_errors():
        # SQLite: a plain engine, not make_engine's BEGIN IMMEDIATE, so a long check holds no write lock
        # and the running app keeps writing (WAL readers see one committed state per statement).
        engine = create_engine(url) if url.get_backend_name() == "sqlite" else make_engine(settings.database_url)
        try:
            with engine.connect() as connection:
                if not inspect(connection).has_table("audit_seal"):
                    fail("this database has no audit_seal table yet; run `cadenza migrate` first (it seals the "
                         "existing audit rows)")
                if seal and inspect(connection).has_table("audit_pending"):
                    seal_pending(connection, wait=True)
                    connection.commit()
                report = verify_chain(connection, expect_count=expect_count, expect_seal=expect_seal)
                connection.rollback()
        finally:
            engine.dispose()
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@app.command("log")
def log(
    user: str = typer.Option(None, "--user", help="Only this actor's events (a username, 'system' or 'anonymous')."),
    client_id: int = typer.Option(None, "--client-id", min=1, help="Only events about this client id."),
    action: str = typer.Option(None, "--action", help="Only this action (read, create, update, delete, ...)."),
    since: str = typer.Option(None, "--since", help="From this date (YYYY-MM-DD, UTC)."),
    until: str = typer.Option(None, "--until", help="Up to and including this date (YYYY-MM-DD, UTC)."),
    before: int = typer.Option(None, "--before", min=1, help="Only events older than this id (the next page)."),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="Events per page."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The audit trail, newest first, filtered; prints the --before value of the next page (no acting
    user: the local command line has system authority, like `cadenza admin`)."""
    import datetime as dt

    from cadenza.cli._db import open_db
    from cadenza.clinic import audit_log
    from cadenza.errors import ParameterError

    def day(name: str, text: str | None) -> dt.date | None:
        if text is None:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ParameterError(f"{name} must be a date YYYY-MM-DD, got {text!r}") from None

    with domain_errors(), open_db() as db:
        filters = audit_log.AuditFilter(username=user, client_id=client_id, action=action,
                                        since_date=day("since", since), until_date=day("until", until))
        page = audit_log.audit_page(db, actor=None, filters=filters, before_id=before, limit=limit)
        rows = [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor_username, "action": e.action,
                 "entity": e.entity, "entity_id": e.entity_id, "client_id": e.client_id} for e in page.rows]
    if as_json:
        typer.echo(json.dumps({"events": rows, "next_before": page.next_before_id}))
        return
    for r in rows:
        typer.echo(f"{r['id']:>8}  {r['at'][:19]}  {r['actor']:<16} {r['action']:<14} {r['entity']}"
                   + (f" {r['entity_id']}" if r["entity_id"] is not None else "")
                   + (f"  client {r['client_id']}" if r["client_id"] is not None else ""))
    if page.next_before_id is not None:
        typer.echo(f"more: --before {page.next_before_id}")
