"""Public names of cadenza.improv, by submodule: read by type checkers and, at run time, by
cadenza._lazy.attach_stub (the face in __init__.py)."""

from .analysis import ImprovReport, analyze_take
from .audio import notes_from_audio, take_from_audio
from .duet import Activity, DuetFeatures, count_imitations, estimate_lag_ms, measure_duet, measure_synchrony, measure_turn_taking
from .events import Notes, Take, make_take
from .player import PlayerFeatures, measure_player, measure_syncopation, measure_tonality
from .pulse import Pulse, estimate_pulse, local_tempo_bpm
