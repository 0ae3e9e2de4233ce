"""Singing: the pitch of a sung voice, its notes against target notes, range and phonation (pure).

``pitch`` (pYIN tuned for the voice, octave errors corrected by continuity) -> ``notes`` (notes from
the contour; cents error per target note, share within +-50 cents) and ``voice`` (range, comfortable
range, maximum phonation time); ``analysis`` runs the chain for one recording. See docs/timing.md.

>>> from cadenza.singing import score_notes, segment_notes
>>> notes = segment_notes([0.01 * k for k in range(60)], [220.0] * 60)
>>> round(score_notes(notes, target_midi=[57.2]).cents_error[0])
-20
"""

from cadenza._lazy import attach_stub

# The face: the names listed in __init__.pyi, each imported from its submodule on first use (PEP 562).
__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
