"""NICU music: lullabies and womb sounds within sound limits, stop rules, pacifier-activated lullaby.

``lullaby`` and ``womb`` render calm, steady sound that ``limits`` holds under the NICU design standard
(hourly Leq <= 45, L10 <= 50, Lmax <= 65 dB(A) at the infant's head); ``stop_rules`` pauses or stops the
music on the infant's stress cues and vital signs; ``pal`` gates a lullaby by non-nutritive sucking
(pacifier-activated lullaby). Pure: recordings are read in :mod:`cadenza.io.pressure`.

>>> from cadenza.nicu import NICU_LIMITS, LULLABIES
>>> NICU_LIMITS.leq_dba, "twinkle" in LULLABIES
(45.0, True)
"""

from cadenza._lazy import attach_stub

# The face: the names listed in __init__.pyi, each imported from its submodule on first use (PEP 562), so
# that importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
