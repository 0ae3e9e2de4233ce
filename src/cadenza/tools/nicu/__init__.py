"""NICU music: stop rules on vital signs, pacifier-activated lullaby, lullaby and womb sounds.

The science is :mod:`cadenza.nicu` (pure); the listener (flags, audio policy, calibration) and the dose
ledger are the record core's (:mod:`cadenza.clinic.listening`). This folder is the tool around them:
``records`` (each infant's stop-rule thresholds, the stop-rule log, PAL session summaries), ``actions``
(the workflows both faces call: renders within NICU limits at the infant's calibration, the stop rules with
the infant's own thresholds, PAL runs), ``cli`` (``cadenza nicu``), ``pages`` (``/clients/{client_id}/nicu``)
and ``templates/nicu/``.
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "nicu", "NICU tools",
    "Infant-led stop rules on vital signs, pacifier-activated lullaby, lullaby and womb sounds within NICU "
    "sound limits.",
    cli="cadenza.tools.nicu.cli:app",
    pages="cadenza.tools.nicu.pages:router",
    records="cadenza.tools.nicu.records",
    templates="cadenza.tools.nicu",
    instruments=("cadenza.tools.nicu.records:PAL_SUCKS_PER_MIN",),
    audience="nicu",
)
