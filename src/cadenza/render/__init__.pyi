"""Public names of cadenza.render, by submodule: read by type checkers and, at run time, by
cadenza._lazy.attach_stub (the face in __init__.py)."""

from .clicks import CUE_SOUNDS, ClickTrack, constant_beat_times_s, find_cue_onsets_idx, ramp_beat_times_s, render_click_track, tempo_curve_beat_times_s
from .levels import LevelReport, measure_levels
from .loudness import LoudnessResult, measure_loudness_lufs, normalize_loudness
from .mix import mix_overlay
from .stretch import PhaseVocoderStretcher, TimeMap, WsolaStretcher, beat_time_map, constant_rate_time_map, make_stretcher, time_stretch
from .synth import midi_to_hz, render_notes
from .weighting import a_weighting_db, apply_a_weighting
