"""Public names of cadenza.safety, by submodule: read by type checkers and, at run time, by
cadenza._lazy.attach_stub (the face in __init__.py)."""

from .calibration import DEFAULT_CALIBRATION, Calibration, render_calibration_tone
from .dose import DoseLedger, TrackDose, allowed_duration_s, assess_track, dose_fraction, estimate_listening_level_dba, sound_dose_pa2h, weekly_allowance_pa2h
from .enforce import NICU_LIMITS, NicuLimits, NicuRender, PolicyRender, apply_audio_policy, check_limits, enforce_nicu_limits
from .flags import AudioPolicy, SafetyFlag, audio_policy, parse_flags
from .playlist import PlaylistDose, playlist_dose
