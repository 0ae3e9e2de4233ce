"""NICU music: lullabies and womb sounds within sound limits, stop rules, pacifier-activated lullaby.

``lullaby`` and ``womb`` render calm, steady sound that ``limits`` holds under the NICU design standard
(hourly Leq <= 45, L10 <= 50, Lmax <= 65 dB(A) at the infant's head); ``stop_rules`` pauses or stops the
music on the infant's stress cues and vital signs; ``pal`` gates a lullaby by non-nutritive sucking
(pacifier-activated lullaby). Pure: recordings are read in :mod:`cadenza.io.pressure`.

>>> from cadenza.nicu import NICU_LIMITS, LULLABIES
>>> NICU_LIMITS.leq_dba, "twinkle" in LULLABIES
(45.0, True)
"""

from cadenza._lazy import attach

# The face: each public name and the submodule it comes from, imported on first use (PEP 562), so that
# importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach(__name__, {
    "limits": ["NICU_LIMITS", "NicuLimits", "NicuRender", "enforce_nicu_limits"],
    "lullaby": ["LULLABIES", "LullabyRender", "prepare_parent_recording", "render_lullaby"],
    "pal": ["PalController", "PalSummary", "Suck", "detect_sucks", "render_pal_audio", "simulate_suck_pressure"],
    "stop_rules": ["InfantThresholds", "Observation", "StopEvent", "StopRuleEngine"],
    "womb": ["WombRender", "render_womb_sound"],
})

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for editors and type checkers
    from cadenza.nicu.limits import NICU_LIMITS, NicuLimits, NicuRender, enforce_nicu_limits
    from cadenza.nicu.lullaby import LULLABIES, LullabyRender, prepare_parent_recording, render_lullaby
    from cadenza.nicu.pal import PalController, PalSummary, Suck, detect_sucks, render_pal_audio, simulate_suck_pressure
    from cadenza.nicu.stop_rules import InfantThresholds, Observation, StopEvent, StopRuleEngine
    from cadenza.nicu.womb import WombRender, render_womb_sound
