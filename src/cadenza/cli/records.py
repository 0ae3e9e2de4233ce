"""CLI group: Clients, goals, sessions, measurements, exports."""

from __future__ import annotations

import typer

app = typer.Typer(help="Clients, goals, sessions, measurements, exports.", no_args_is_help=True)
