"""Live cueing while walking: the phone's motion sensor streams to the server, which finds the steps and
freezes as they happen and answers with the next beats of an adaptive cue (issue 20).

The science is :mod:`cadenza.gait.stream` (streaming steps), :mod:`cadenza.gait.freezing` (``FreezeStream``)
and :mod:`cadenza.ras.live` (the session that composes them with the adaptive controller); this folder is
the tool around it: ``records`` (the walk row and its outcome instruments), ``actions`` (one batch in, the
reply out; the workflow the WebSocket and the CLI share), ``cli`` (``cadenza live``), ``pages`` (the
therapist's ``/clients/{client_id}/live``, the person's ``/me/live`` and the WebSocket),
``templates/live/`` and ``static/live.js``.
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "live", "Live cueing while walking",
    "The phone finds the steps as the client walks; the beat follows them towards a goal cadence, and freezes of "
    "gait are counted.",
    cli="cadenza.tools.live.cli:app",
    pages="cadenza.tools.live.pages:router",
    records="cadenza.tools.live.records",
    instruments=("cadenza.tools.live.records:LIVE_FREEZE_COUNT", "cadenza.tools.live.records:LIVE_TIME_FROZEN_S"),
    templates="cadenza.tools.live",
    audience="not_nicu",
    person_title="Walk with the beat",
    person_path="/me/live",
)
