"""Rhythm and timing: tapping, drumming and clapping to a cue, measured from a recording or from events.

The science is :mod:`cadenza.timing` (pure); this folder is the tool around it: ``records`` (the block's
figures as measurements on a session), ``actions`` (the workflow: a file's hits, the cue, the report;
with a session, its storage) and ``cli`` (``cadenza timing``). No pages yet: the live browser exercise
is a later part of issue 18.
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "timing", "Rhythm and timing",
    "Tapping, drumming or clapping to a cue: asynchrony, variability, synchronisation and drift per block.",
    cli="cadenza.tools.timing.cli:app",
    records="cadenza.tools.timing.records",
    instruments=("cadenza.tools.timing.records:TIMING_MEAN_ASYNCHRONY_MS",
                 "cadenza.tools.timing.records:TIMING_ASYNCHRONY_SD_MS",
                 "cadenza.tools.timing.records:TIMING_CIRCULAR_R",
                 "cadenza.tools.timing.records:TIMING_WITHIN_50MS_PCT"),
    audience="not_nicu",
)
