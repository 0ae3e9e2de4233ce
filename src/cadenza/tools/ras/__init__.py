"""Rhythmic auditory stimulation: cue plans from the measured cadence, cue tracks, cue-step synchronisation.

The science is :mod:`cadenza.ras` (pure); this folder is the tool around it: ``records`` (stored plans,
synchronisation figures as measurements), ``actions`` (the workflows both faces call), ``cli``
(``cadenza ras``), ``pages`` (``/clients/{client_id}/ras``) and ``templates/ras/``.
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "ras", "Rhythmic auditory stimulation",
    "Cue plans from the measured cadence, cue tracks to listen to, and cue-step synchronisation.",
    cli="cadenza.tools.ras.cli:app",
    pages="cadenza.tools.ras.pages:router",
    records="cadenza.tools.ras.records",
    instruments=("cadenza.tools.ras.records:RAS_SYNC_R", "cadenza.tools.ras.records:RAS_MEAN_ASYNCHRONY_MS",
                 "cadenza.tools.ras.records:RAS_STEPS_IN_WINDOW_PCT",
                 "cadenza.tools.ras.records:RAS_STEPS_LOCKED_PCT"),
    templates="cadenza.tools.ras",
    audience="not_nicu",
)
