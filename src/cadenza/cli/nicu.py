"""CLI group: NICU music within sound limits."""

from __future__ import annotations

import typer

app = typer.Typer(help="NICU music within sound limits.", no_args_is_help=True)
