"""CLI group: Gait analysis from IMU recordings."""

from __future__ import annotations

import typer

app = typer.Typer(help="Gait analysis from IMU recordings.", no_args_is_help=True)
