"""Hearing safety: calibration and the weekly sound-dose ledger (not yet moved into this folder: the
manifest names today's modules)."""

from cadenza.plugins import Tool

TOOL = Tool(
    "safety", "Hearing safety and dose ledger",
    "Calibrate the playback level, log listening and see the weekly sound dose.",
    cli="cadenza.cli.safety:app",
    pages="cadenza.web.routes.safety:router",
    records="cadenza.clinic.safety_records",
    instruments=("cadenza.clinic.safety_records:WEEKLY_DOSE_PCT",),
)
