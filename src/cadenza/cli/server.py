"""Top-level commands that run the web app: ``cadenza serve`` and ``cadenza migrate``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

app = typer.Typer()
LogFormat = StrEnum("LogFormat", {"JSON": "json", "TEXT": "text"})


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
    https: bool = typer.Option(
        False, "--https", help="Serve HTTPS with a certificate from a local authority made in the data directory "
                               "(install its cadenza-local-ca.pem on each tablet or phone), unless --cert is given."),
    cert: Path | None = typer.Option(None, "--cert", help="The clinic's own certificate (PEM; implies HTTPS)."),
    key: Path | None = typer.Option(None, "--key", help="The private key of --cert (PEM)."),
    name: list[str] = typer.Option([], "--name", help="A host name or address the devices use (repeat); with "
                                                      "--https, the certificate covers these, localhost and this "
                                                      "machine's name."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Worker processes (PostgreSQL only: SQLite has one writer). About one per "
                                     "core; every worker is stateless, all shared state is in the database."),
    log_format: LogFormat = typer.Option(LogFormat.JSON, "--log-format",
                                   help="One line per request and message on standard error: JSON (with the "
                                        "request id, route, status and duration) or plain text."),
) -> None:
    """Migrate the database, print the URL and run the web app.

    On the clinic network: ``cadenza serve --host 0.0.0.0 --https --name tablet-room.local``. Passkeys,
    offline use and the microphone in the person's app need HTTPS (or localhost).
    """
    import uvicorn
    from rich.console import Console
    from sqlalchemy import select

    from cadenza.clinic.db import make_engine, make_session_factory, session_scope
    from cadenza.clinic.models import Therapist

    console = Console()
    from cadenza.cli._db import fail
    from cadenza.settings import Settings

    configured = Settings.from_env()
    if workers > 1 and configured.database_url.startswith("sqlite"):
        fail(f"--workers {workers} needs PostgreSQL (CADENZA_DATABASE_URL): a SQLite file has one writer, and "
             "its request limit only holds inside one process; run one worker, or move the clinic to PostgreSQL",
             code=2)
    url = _migrate_configured_database()
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as db:
        has_accounts = db.scalar(select(Therapist.id).limit(1)) is not None
    engine.dispose()
    console.print(f"Database: {_display_url(url)}")
    if not has_accounts:
        console.print("[yellow]No accounts yet.[/yellow] Create one with: cadenza admin create USERNAME")
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # nosec B104 - a comparison, not a bind
    tls = _tls_options(https=https, cert=cert, key=key, names=name, host=host, console=console)
    scheme = "https" if tls else "http"
    shown = (name[0] if name else shown_host) if tls else shown_host
    console.print(f"[bold green]Cadenza is running at {scheme}://{shown}:{port}/[/bold green]  (Ctrl+C to stop)")
    proxy = uvicorn_proxy_options(forwarded_allow_ips)
    if proxy["proxy_headers"]:
        console.print(f"Trusting X-Forwarded-* headers from: {proxy['forwarded_allow_ips']}")
    from cadenza.logs import logging_config

    if workers > 1:
        _fresh_metrics_dir(configured.data_dir)
        console.print(f"{workers} workers")
    uvicorn.run("cadenza.web.main:create_served_app", factory=True, host=host, port=port, workers=workers,
                timeout_keep_alive=KEEP_ALIVE_S, log_config=logging_config(json_lines=log_format is LogFormat.JSON), **proxy, **tls)


# How long an idle kept-alive connection stays open. Longer than a reverse proxy's own idle limit for its
# upstream connections (nginx `keepalive_timeout` 60 s, Caddy 2 min), so the proxy, not the app, closes an idle
# connection and never sends a request into one the app is closing; uvicorn's 5-s default raced clients that
# pause about 5 s between requests (issue 23's think-time users: "server disconnected without a response").
KEEP_ALIVE_S = 130


def _fresh_metrics_dir(data_dir: Path) -> None:
    """Every worker writes its Prometheus figures under one empty folder, which ``/metrics`` adds up."""
    import os
    import shutil

    folder = data_dir / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700, parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def _tls_options(*, https: bool, cert: Path | None, key: Path | None, names: list[str], host: str,
                 console) -> dict[str, str]:
    """uvicorn's ``ssl_certfile``/``ssl_keyfile``: the clinic's own pair, or a local authority's (made once)."""
    from cadenza.cli._db import fail

    if (cert is None) != (key is None):
        fail("give --cert and --key together", code=2)
    if cert is not None:
        for what, path in (("--cert", cert), ("--key", key)):
            if not path.is_file():
                fail(f"{what} {str(path)!r} is not a file", code=2)
        return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    if not https:
        return {}
    import socket

    from cadenza.cli._db import domain_errors
    from cadenza.io.certificates import local_certificate
    from cadenza.settings import Settings

    machine = socket.gethostname()
    wanted = [*names, "localhost", "127.0.0.1", machine, f"{machine}.local"]
    if host not in ("0.0.0.0", "::", "127.0.0.1", "localhost"):  # nosec B104 - a comparison, not a bind
        wanted.append(host)
    with domain_errors():
        made = local_certificate(Settings.from_env().data_dir / "tls", wanted)
    console.print(f"HTTPS certificate for {', '.join(made.names)}"
                  f"{' (new)' if made.created else ''}. Install this authority once on each tablet or phone: "
                  f"{made.ca_pem}", soft_wrap=True, highlight=False)
    return {"ssl_certfile": str(made.cert_pem), "ssl_keyfile": str(made.key_pem)}
