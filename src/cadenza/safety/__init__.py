"""Hearing safety and clinical safety flags that change what every tool does.

``flags`` turns a client's safety flags into the :class:`AudioPolicy` every audio tool obeys (level cap,
autoplay, NICU limits); ``enforce`` applies it to rendered samples; ``dose`` keeps the weekly sound dose
after WHO/ITU-T H.870 (``playlist``: the level and dose of a playlist); ``calibration`` ties digital level to
the level at the ear.

>>> from cadenza.safety import audio_policy, dose_fraction
>>> audio_policy(["hearing_loss"]).max_level_dba
75.0
>>> round(dose_fraction(80.0, 40 * 3600.0), 3)  # 40 h at 80 dB(A): the adult weekly allowance
1.0
"""

from cadenza._lazy import attach

# The face: each public name and the submodule it comes from, imported on first use (PEP 562), so that
# importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach(__name__, {
    "calibration": ["DEFAULT_CALIBRATION", "Calibration", "render_calibration_tone"],
    "dose": ["DoseLedger", "TrackDose", "allowed_duration_s", "assess_track", "dose_fraction",
             "estimate_listening_level_dba", "sound_dose_pa2h", "weekly_allowance_pa2h"],
    "enforce": ["NICU_LIMITS", "NicuLimits", "NicuRender", "PolicyRender", "apply_audio_policy", "check_limits",
                "enforce_nicu_limits"],
    "flags": ["AudioPolicy", "SafetyFlag", "audio_policy", "parse_flags"],
    "playlist": ["PlaylistDose", "playlist_dose"],
})

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for editors and type checkers
    from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration, render_calibration_tone
    from cadenza.safety.dose import (
        DoseLedger,
        TrackDose,
        allowed_duration_s,
        assess_track,
        dose_fraction,
        estimate_listening_level_dba,
        sound_dose_pa2h,
        weekly_allowance_pa2h,
    )
    from cadenza.safety.enforce import (
        NICU_LIMITS,
        NicuLimits,
        NicuRender,
        PolicyRender,
        apply_audio_policy,
        check_limits,
        enforce_nicu_limits,
    )
    from cadenza.safety.flags import AudioPolicy, SafetyFlag, audio_policy, parse_flags
    from cadenza.safety.playlist import PlaylistDose, playlist_dose
