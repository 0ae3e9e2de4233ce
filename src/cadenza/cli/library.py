"""CLI group: The person's own music: scan, analyse, playlists."""

from __future__ import annotations

import typer

app = typer.Typer(help="The person's own music: scan, analyse, playlists.", no_args_is_help=True)
