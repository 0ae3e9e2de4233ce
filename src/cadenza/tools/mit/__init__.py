"""Melodic Intonation Therapy (not yet moved into this folder: the manifest names today's modules)."""

from cadenza.plugins import Tool

TOOL = Tool(
    "mit", "Melodic Intonation Therapy", "The phrase bank, intoned cues and scored attempts by level.",
    cli="cadenza.cli.mit:app",
    pages="cadenza.web.routes.mit:router",
    records="cadenza.clinic.mit_records",
    instruments=("cadenza.clinic.mit_records:MIT_SCORE_PCT", "cadenza.clinic.mit_records:MIT_TIMING_MATCH_PCT",
                 "cadenza.clinic.mit_records:MIT_PITCH_PATTERN"),
    audience="not_nicu",
)
