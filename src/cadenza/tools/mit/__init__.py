"""Melodic Intonation Therapy: a phrase bank per client, intoned step cues, level runs and scored attempts.

The science is :mod:`cadenza.mit` (pure); this folder is the tool around it: ``records`` (the phrase bank,
level runs, step scores and analysed attempts), ``actions`` (the workflows both faces call: a step cue for a
client, an attempt analysed and stored), ``cli`` (``cadenza mit``), ``pages`` (``/clients/{client_id}/mit``)
and ``templates/mit/``.
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "mit", "Melodic Intonation Therapy", "The phrase bank, intoned cues and scored attempts by level.",
    cli="cadenza.tools.mit.cli:app",
    pages="cadenza.tools.mit.pages:router",
    records="cadenza.tools.mit.records",
    templates="cadenza.tools.mit",
    instruments=("cadenza.tools.mit.records:MIT_SCORE_PCT", "cadenza.tools.mit.records:MIT_TIMING_MATCH_PCT",
                 "cadenza.tools.mit.records:MIT_PITCH_PATTERN"),
    audience="not_nicu",
)
