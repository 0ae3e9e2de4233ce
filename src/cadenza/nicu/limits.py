"""NICU sound limits and their enforcement on every NICU render.

The implementation lives in :mod:`cadenza.safety.enforce` so that every audio tool (RAS, playlists, MIT)
applies the same limits to an NICU-flagged listener through ``apply_audio_policy``; the NICU tools use
it from here. Limits: Recommended Standards for Newborn ICU Design, Standard 23 (hourly Leq <= 45,
L10 <= 50, Lmax <= 65 dB(A) in the infant's space).

>>> NICU_LIMITS.leq_dba, NICU_LIMITS.l10_dba, NICU_LIMITS.lmax_dba
(45.0, 50.0, 65.0)
"""

from __future__ import annotations

from cadenza.safety.enforce import (
    LIMIT_MARGIN_DB,
    NICU_LIMITS,
    NicuLimits,
    NicuRender,
    check_limits,
    enforce_nicu_limits,
    smooth_level_rises,
)

__all__ = ["LIMIT_MARGIN_DB", "NICU_LIMITS", "NicuLimits", "NicuRender", "check_limits", "enforce_nicu_limits",
           "smooth_level_rises"]
