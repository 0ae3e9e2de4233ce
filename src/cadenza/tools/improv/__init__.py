"""Clinical improvisation: what each player did and how they played together, from MIDI.

The science is :mod:`cadenza.improv` (pure); this folder is the tool around it: ``records`` (a take and
the client's figures on a session), ``actions`` (the workflow both faces call), ``cli``
(``cadenza improv``), ``timeline`` (the take drawn as SVG), ``pages`` (``/clients/{client_id}/improv``:
MIDI upload, Web MIDI capture, a take's timeline) and ``templates/improv/``.
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "improv", "Improvisation",
    "Play together (Web MIDI) or upload a MIDI file: each player's figures, synchrony, who leads, turn-taking.",
    cli="cadenza.tools.improv.cli:app",
    pages="cadenza.tools.improv.pages:router",
    records="cadenza.tools.improv.records",
    templates="cadenza.tools.improv",
    instruments=("cadenza.tools.improv.records:IMPROV_NOTE_DENSITY",
                 "cadenza.tools.improv.records:IMPROV_VELOCITY_MEAN",
                 "cadenza.tools.improv.records:IMPROV_PULSE_CLARITY",
                 "cadenza.tools.improv.records:IMPROV_SYNCHRONY_PCT",
                 "cadenza.tools.improv.records:IMPROV_CLIENT_LAG_MS"),
    audience="not_nicu",
    session_title="Analyse an improvisation for this session",
    session_query="session_id={session_id}",
)
