"""CLI group: Hearing safety: sound-dose ledger and calibration."""

from __future__ import annotations

import typer

app = typer.Typer(help="Hearing safety: sound-dose ledger and calibration.", no_args_is_help=True)
