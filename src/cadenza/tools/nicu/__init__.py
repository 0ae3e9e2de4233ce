"""NICU music: stop rules on vital signs, pacifier-activated lullaby, lullaby and womb sounds (not yet
moved into this folder: the manifest names today's modules; its tables still live with hearing safety's)."""

from cadenza.plugins import Tool

TOOL = Tool(
    "nicu", "NICU tools",
    "Infant-led stop rules on vital signs, pacifier-activated lullaby, lullaby and womb sounds within NICU "
    "sound limits.",
    cli="cadenza.cli.nicu:app",
    pages="cadenza.web.routes.nicu:router",
    records="cadenza.clinic.safety_records",
    instruments=("cadenza.clinic.safety_records:PAL_SUCKS_PER_MIN",),
    audience="nicu",
)
