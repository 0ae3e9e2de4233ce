"""CLI group: Administer therapist accounts."""

from __future__ import annotations

import typer

app = typer.Typer(help="Administer therapist accounts.", no_args_is_help=True)
