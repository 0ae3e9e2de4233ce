"""CLI group: Administer therapist accounts."""

from __future__ import annotations

import sys

import typer

from cadenza.cli._db import domain_errors, open_db

app = typer.Typer(help="Administer therapist accounts.", no_args_is_help=True)


@app.command()
def create(
    username: str = typer.Argument(..., help="Login name: lower-case letters, digits, '.', '_' or '-'."),
    role: str = typer.Option(None, help="therapist or admin (default: admin for the first account, else therapist)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    qualification: str = typer.Option("", help="Professional credential, e.g. MT-BC (exported with FHIR records)."),
) -> None:
    """Create an account; the password is prompted for (twice) unless --password-stdin is given."""
    from rich.console import Console
    from sqlalchemy import select

    from cadenza.clinic import service
    from cadenza.clinic.models import Therapist

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with domain_errors(), open_db() as db:
        if role is None:
            role = "admin" if db.scalar(select(Therapist.id).limit(1)) is None else "therapist"
        therapist = service.create_therapist(db, actor=None, username=username, password=password, role=role,
                                             qualification=qualification)
        Console().print(f"Created [bold]{therapist.username}[/bold] ({therapist.role}).")
        if therapist.is_admin:
            # Enrolment happens in the browser, where the QR code can be scanned; the terminal never
            # holds the secret (no scrollback or log copy of it).
            Console().print(
                "Administrators must use two-factor login: at the first web login, Cadenza asks for the "
                "password and then opens the set-up page (/account/mfa); nothing else opens until an "
                "authenticator app is set up."
            )


@app.command("list")
def list_accounts() -> None:
    """List accounts with role and status."""
    from rich.console import Console
    from rich.table import Table

    from cadenza.clinic import service

    with domain_errors(), open_db() as db:
        table = Table("username", "role", "active", "created")
        for t in service.list_therapists(db, actor=None):
            table.add_row(t.username, t.role, "yes" if t.active else "no", t.created_at.strftime("%Y-%m-%d"))
        Console().print(table)


def _set_active(username: str, active: bool) -> None:
    from rich.console import Console

    from cadenza.clinic import auth

    with domain_errors(), open_db() as db:
        # auth, not service: disabling must also end the account's browser sessions and API tokens.
        auth.set_therapist_active(db, actor=None, username=username, active=active)
        Console().print(f"{username}: {'enabled' if active else 'disabled (sessions and API tokens revoked)'}.")


@app.command()
def disable(username: str = typer.Argument(..., help="Account to disable.")) -> None:
    """Disable an account: it can no longer log in, and its sessions and API tokens stop working."""
    _set_active(username, False)


@app.command()
def enable(username: str = typer.Argument(..., help="Account to enable.")) -> None:
    """Re-enable a disabled account."""
    _set_active(username, True)


@app.command()
def qualification(
    username: str = typer.Argument(..., help="Account."),
    credential: str = typer.Argument(..., help="Professional credential, e.g. MT-BC; '' to clear it."),
) -> None:
    """Record an account's professional credential; FHIR exports name it as the Practitioner's qualification."""
    from rich.console import Console

    from cadenza.clinic import service

    with domain_errors(), open_db() as db:
        therapist = service.set_qualification(db, actor=None, username=username, qualification=credential)
        Console().print(f"{therapist.username}: qualification {therapist.qualification or '(none)'}.")


@app.command("reset-mfa")
def reset_mfa(username: str = typer.Argument(..., help="Account whose authenticator was lost.")) -> None:
    """Remove an account's two-factor login (lost phone); its sessions and API tokens end too (audited)."""
    from rich.console import Console

    from cadenza.clinic import auth

    with domain_errors(), open_db() as db:
        therapist = auth.reset_mfa(db, actor=None, username=username)
        then = ("must set it up again at the next login" if therapist.is_admin
                else "can log in with the password alone and set it up again")
        Console().print(f"{username}: two-factor login removed, sessions and API tokens revoked; the account {then}.")


@app.command("reset-password")
def reset_password(username: str = typer.Argument(..., help="Account whose password was forgotten.")) -> None:
    """Give an account a temporary password, printed once; its owner must choose their own at the next
    login. Its sessions and API tokens end; two-factor login is unchanged (audited as password_reset)."""
    from rich.console import Console

    from cadenza.clinic import auth

    with domain_errors(), open_db() as db:
        password = auth.reset_password(db, actor=None, username=username)
        Console().print(f"{username}: temporary password [bold]{password}[/bold] (shown once). Sessions and API "
                        "tokens revoked; a new password must be chosen at the next login.", highlight=False)


@app.command()
def reassign(
    from_username: str = typer.Argument(..., help="Therapist whose clients move (may be disabled)."),
    to_username: str = typer.Argument(..., help="Active therapist who takes them over."),
    code: list[str] = typer.Option(None, "--code", help="Move only this client (repeatable); default: every client."),
) -> None:
    """Move a caseload to another therapist (each client audited as reassign); sessions keep their author."""
    from rich.console import Console

    from cadenza.clinic import reassignment

    with domain_errors(), open_db() as db:
        moved = reassignment.reassign_caseload(db, actor=None, from_username=from_username, to_username=to_username,
                                           codes=code or None)
        Console().print(f"{len(moved.client_ids)} client(s) moved from {moved.from_username} to {moved.to_username}"
                        + (f": {', '.join(moved.codes)}" if moved.codes else "") + ".", highlight=False)
