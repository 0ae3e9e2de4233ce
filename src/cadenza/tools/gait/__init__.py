"""Gait analysis from a body-worn IMU: steps, walking bouts and cadence, stored on a therapy session.

The science is :mod:`cadenza.gait` (pure); this folder is the tool around it: ``records`` (cadence and gait
speed as measurements), ``actions`` (the workflow both faces call), ``cli`` (``cadenza gait``), ``pages``
(``/clients/{client_id}/gait``) and ``templates/gait/``.
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "gait", "Gait analysis",
    "Upload a walk recorded with an IMU or force insoles: steps, walking bouts, cadence and stride timing, stored on a session.",
    cli="cadenza.tools.gait.cli:app",
    pages="cadenza.tools.gait.pages:router",
    records="cadenza.tools.gait.records",
    instruments=("cadenza.tools.gait.records:STEP_TIME_ASYMMETRY", "cadenza.tools.gait.records:STRIDE_TIME_CV",
                 "cadenza.tools.gait.records:SWING_ASYMMETRY"),
    templates="cadenza.tools.gait",
    audience="not_nicu",
    session_title="Analyse a gait recording for this session",
    session_query="session_id={session_id}",
)
