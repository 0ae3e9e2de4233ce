"""Top-level commands that run the web app: ``cadenza serve`` and ``cadenza migrate``."""

from __future__ import annotations

import typer

app = typer.Typer()


def _migrate_configured_database() -> str:
    """Migrate to the newest schema; a refused upgrade (e.g. rows breaking a new rule) is one line, exit 1."""
    from cadenza.cli._db import domain_errors
    from cadenza.clinic.db import ensure_private_dir, migrate
    from cadenza.settings import Settings

    settings = Settings.from_env()
    ensure_private_dir(settings.data_dir)
    with domain_errors():
        migrate(settings.database_url)
    return settings.database_url


def _display_url(database_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (SQLite in the data directory, or CADENZA_DATABASE_URL)."""
    from rich.console import Console

    url = _migrate_configured_database()
    Console().print(f"[green]Database is up to date:[/green] {_display_url(url)}")


def uvicorn_proxy_options(forwarded_allow_ips: str | None) -> dict[str, object]:
    """The ``uvicorn.run`` keywords for trusting a reverse proxy's ``X-Forwarded-*`` headers.

    Off unless the operator names the proxy: uvicorn's own default trusts those headers from any
    loopback client, which lets anyone on the host pick the address the login throttling counts.

    >>> uvicorn_proxy_options(None)
    {'proxy_headers': False}
    >>> uvicorn_proxy_options(" 10.0.0.5, ::1 ")
    {'proxy_headers': True, 'forwarded_allow_ips': '10.0.0.5,::1'}
    """
    addresses = [a.strip() for a in (forwarded_allow_ips or "").split(",") if a.strip()]
    if not addresses:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(addresses)}


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    forwarded_allow_ips: str | None = typer.Option(
        None, envvar="CADENZA_FORWARDED_ALLOW_IPS",
        help="Comma-separated addresses (or networks) of the TLS-terminating reverse proxy whose "
             "X-Forwarded-For/-Proto headers are trusted. Unset: the headers are ignored.",
    ),
) -> None:
    """Migrate the database, print the URL and run the web app."""
    import uvicorn
    from rich.console import Console
    from sqlalchemy import select

    from cadenza.clinic.db import make_engine, make_session_factory, session_scope
    from cadenza.clinic.models import Therapist

    console = Console()
    url = _migrate_configured_database()
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as db:
        has_accounts = db.scalar(select(Therapist.id).limit(1)) is not None
    engine.dispose()
    console.print(f"Database: {_display_url(url)}")
    if not has_accounts:
        console.print("[yellow]No accounts yet.[/yellow] Create one with: cadenza admin create USERNAME")
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # nosec B104 - a comparison, not a bind
    console.print(f"[bold green]Cadenza is running at http://{shown_host}:{port}/[/bold green]  (Ctrl+C to stop)")
    proxy = uvicorn_proxy_options(forwarded_allow_ips)
    if proxy["proxy_headers"]:
        console.print(f"Trusting X-Forwarded-* headers from: {proxy['forwarded_allow_ips']}")
    uvicorn.run("cadenza.web.main:create_app", factory=True, host=host, port=port, log_level="warning", **proxy)
