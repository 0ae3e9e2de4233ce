"""Top-level commands that run the web app."""

from __future__ import annotations

import typer

app = typer.Typer()
