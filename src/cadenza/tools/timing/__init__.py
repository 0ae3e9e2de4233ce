"""Rhythm and timing: tapping, drumming and clapping to a cue, measured from a recording or from events.

The science is :mod:`cadenza.timing` (pure); this folder is the tool around it: ``records`` (the block's
figures as measurements on a session, each device's latency calibration, TIMP-style exercise
prescriptions), ``actions`` (the workflow both faces call: a file's or a live capture's hits, the cue,
the report; with a session, its storage), ``cli`` (``cadenza timing``), ``pages``
(``/clients/{client_id}/timing``: calibrate, prescribe, play a block live), ``templates/timing/`` and
``static/`` (the page's script and its AudioWorklet); ``home_tasks`` (tapping as a home-programme task on
the person's phone, offered to the home programme through the manifest's ``task_kinds``).
"""

from cadenza.plugins import TaskKind, Tool

TOOL = Tool(
    "timing", "Rhythm and timing",
    "Tapping, drumming or clapping to a cue: asynchrony, variability, synchronisation and drift per block.",
    cli="cadenza.tools.timing.cli:app",
    records="cadenza.tools.timing.records",
    pages="cadenza.tools.timing.pages:router",
    templates="cadenza.tools.timing",
    session_title="Rhythm exercise (live)",
    session_query="session_id={session_id}",
    instruments=("cadenza.tools.timing.records:TIMING_MEAN_ASYNCHRONY_MS",
                 "cadenza.tools.timing.records:TIMING_ASYNCHRONY_SD_MS",
                 "cadenza.tools.timing.records:TIMING_CIRCULAR_R",
                 "cadenza.tools.timing.records:TIMING_WITHIN_50MS_PCT"),
    audience="not_nicu",
    # A home-programme task (issue 18): "tap along at 90 BPM", done on the person's phone (home_tasks.py).
    task_kinds=(TaskKind("tapping", "Tap along to a beat (timing)",
                         prepare="cadenza.tools.timing.home_tasks:prepare_tapping",
                         measure="cadenza.tools.timing.home_tasks:measure_tapping",
                         form="timing/home_task_form.html", page="timing/home_task_page.html",
                         intervention_code="timp", script="cadenza.tools.timing:home_tap.js"),),
)
