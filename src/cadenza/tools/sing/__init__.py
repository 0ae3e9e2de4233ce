"""Singing: pitch matching, range and phonation from a recording of the person singing.

The science is :mod:`cadenza.singing` (pure); this folder is the tool around it: ``records`` (the
figures as measurements on a session), ``actions`` (a recording's pitch track, notes, score against
target notes and voice measures; with a session, their storage) and ``cli`` (``cadenza sing``);
``home_tasks`` (singing back a phrase as a home-programme task on the person's phone, offered to the home
programme through the manifest's ``task_kinds``, with ``templates/sing/`` and ``static/``). No pages yet:
the live contour display is a later part of issue 18.
"""

from cadenza.plugins import TaskKind, Tool

TOOL = Tool(
    "sing", "Singing",
    "Pitch matching against target notes (cents per note, share within +-50 cents), range and phonation time.",
    cli="cadenza.tools.sing.cli:app",
    records="cadenza.tools.sing.records",
    instruments=("cadenza.tools.sing.records:SING_WITHIN_50_CENTS_PCT",
                 "cadenza.tools.sing.records:SING_RANGE_SEMITONES",
                 "cadenza.tools.sing.records:SING_MAX_PHONATION_S"),
    templates="cadenza.tools.sing",  # the singing home task's parts (no pages of its own yet)
    audience="not_nicu",
    # A home-programme task (issue 18): "sing this phrase", done on the person's phone (home_tasks.py).
    task_kinds=(TaskKind("singing", "Sing this phrase (singing)",
                         prepare="cadenza.tools.sing.home_tasks:prepare_singing",
                         measure="cadenza.tools.sing.home_tasks:measure_singing",
                         form="sing/home_task_form.html", page="sing/home_task_page.html",
                         intervention_code="therapeutic_singing", script="cadenza.tools.sing:home_sing.js"),),
)
