"""Public names of cadenza.nicu, by submodule: read by type checkers and, at run time, by
cadenza._lazy.attach_stub (the face in __init__.py)."""

from .age import InfantAge, PalAgeCheck, check_pal_age, format_weeks_days, parse_weeks_days
from .limits import NICU_LIMITS, NicuLimits, NicuRender, enforce_nicu_limits
from .lullaby import LULLABIES, LullabyRender, prepare_parent_recording, render_lullaby
from .pal import PalController, PalSummary, Suck, detect_sucks, render_pal_audio, simulate_suck_pressure
from .stop_rules import InfantThresholds, Observation, StopEvent, StopRuleEngine
from .womb import RECORDED_SOUND_CAVEAT, WombRender, render_womb_sound
