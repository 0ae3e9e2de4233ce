"""Singing: pitch matching, range and phonation from a recording of the person singing.

The science is :mod:`cadenza.singing` (pure); this folder is the tool around it: ``records`` (the
figures as measurements on a session), ``actions`` (a recording's pitch track, notes, score against
target notes and voice measures; with a session, their storage) and ``cli`` (``cadenza sing``). No pages
yet: the live contour display is a later part of issue 18.
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "sing", "Singing",
    "Pitch matching against target notes (cents per note, share within +-50 cents), range and phonation time.",
    cli="cadenza.tools.sing.cli:app",
    records="cadenza.tools.sing.records",
    instruments=("cadenza.tools.sing.records:SING_WITHIN_50_CENTS_PCT",
                 "cadenza.tools.sing.records:SING_RANGE_SEMITONES",
                 "cadenza.tools.sing.records:SING_MAX_PHONATION_S"),
    audience="not_nicu",
)
