"""CLI group: Rhythmic Auditory Stimulation: plans, cue tracks, synchronisation."""

from __future__ import annotations

import typer

app = typer.Typer(help="Rhythmic Auditory Stimulation: plans, cue tracks, synchronisation.", no_args_is_help=True)
