"""Rhythmic auditory stimulation (not yet moved into this folder: the manifest names today's modules)."""

from cadenza.plugins import Tool

TOOL = Tool(
    "ras", "Rhythmic auditory stimulation",
    "Cue plans from the measured cadence, cue tracks to listen to, and cue-step synchronisation.",
    cli="cadenza.cli.ras:app",
    pages="cadenza.web.routes.ras:router",
    records="cadenza.clinic.ras_records",
    instruments=("cadenza.clinic.ras_records:RAS_SYNC_R", "cadenza.clinic.ras_records:RAS_MEAN_ASYNCHRONY_MS",
                 "cadenza.clinic.ras_records:RAS_STEPS_IN_WINDOW_PCT",
                 "cadenza.clinic.ras_records:RAS_STEPS_LOCKED_PCT"),
    audience="not_nicu",
)
