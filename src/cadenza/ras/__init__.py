"""Rhythmic Auditory Stimulation: plans, cue tracks, synchronisation, closed-loop tempo.

``plan`` turns a baseline cadence into a session's tempo stages; ``cue`` renders the session's cue
track (a metronome, or the person's own music warped onto the beat grid by ``music_mode``) under the
listener's level cap and verifies its beats; ``sync`` measures how steps lock to the beats; the
``controller`` adapts the cue tempo to the walker step by step, and ``walkers`` simulates walkers to
evaluate it. Composes :mod:`cadenza.gait` and :mod:`cadenza.render`; still pure.

>>> from cadenza.ras import plan_ras_sessions
>>> [stage.tempo_bpm for stage in plan_ras_sessions(100, condition="parkinsons").stages]
[100.0, 105.0, 110.0]
>>> [stage.tempo_bpm for stage in plan_ras_sessions(100, condition="stroke").stages]  # +5 % until symmetry is checked
[100.0, 105.0]
"""

from cadenza._lazy import attach_stub

# The face: the names listed in __init__.pyi, each imported from its submodule on first use (PEP 562), so
# that importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
