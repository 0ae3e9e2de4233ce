"""CLI group: The evidence catalog: what the research says, with caveats."""

from __future__ import annotations

import typer

app = typer.Typer(help="The evidence catalog: what the research says, with caveats.", no_args_is_help=True)
