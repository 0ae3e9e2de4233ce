"""Hearing safety: the listener's audio policy, calibration and the weekly sound-dose ledger.

The science is :mod:`cadenza.safety` (pure); the tables every audio tool reads (calibrations and the dose
ledger) and the listener itself are in the record core, :mod:`cadenza.clinic.listening`. This folder is the
tool around them: ``records`` (the page's one audited read, the weekly-dose measure), ``actions`` (the
workflows both faces call: log listening, calibrate, the dose report, a track checked against the policy),
``cli`` (``cadenza safety``), ``pages`` (``/clients/{client_id}/safety`` and the sound-dose API) and
``templates/safety/``.
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "safety", "Hearing safety and dose ledger",
    "Calibrate the playback level, log listening and see the weekly sound dose.",
    cli="cadenza.tools.safety.cli:app",
    pages="cadenza.tools.safety.pages:router",
    records="cadenza.tools.safety.records",
    templates="cadenza.tools.safety",
    instruments=("cadenza.tools.safety.records:WEEKLY_DOSE_PCT",),
)
