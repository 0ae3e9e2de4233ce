"""Clinical improvisation analysis from played notes (pure numpy; no files, no record).

``events`` (a take: notes per player, checked) -> ``pulse`` (tempo and pulse clarity from the onsets)
-> ``player`` (note density, velocity, pitch range and register, syncopation, tonal clarity) and
``duet`` (synchrony, leader-follower lag, tempo coupling, imitation, turn-taking); ``analysis`` runs
the chain for a take. After the Music Therapy Toolbox (Erkkilä, Luck et al.). See docs/improv.md.

>>> from cadenza.improv import analyze_take, make_take
>>> take = make_take([0.0, 0.5, 1.0], pitches=[60, 64, 67], velocities=[70, 80, 90], players=["a", "b", "a"])
>>> analyze_take(take).per_player["a"].n_notes
2
"""

from cadenza._lazy import attach_stub

# The face: the names listed in __init__.pyi, each imported from its submodule on first use (PEP 562).
__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
