"""CLI group: Melodic Intonation Therapy: phrases, cues, attempt analysis."""

from __future__ import annotations

import typer

app = typer.Typer(help="Melodic Intonation Therapy: phrases, cues, attempt analysis.", no_args_is_help=True)
