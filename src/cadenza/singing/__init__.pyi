"""Public names of cadenza.singing, by submodule: read by type checkers and, at run time, by
cadenza._lazy.attach_stub (the face in __init__.py)."""

from .analysis import SingingReport, analyze_singing
from .notes import NoteScore, SungNote, score_notes, segment_notes
from .pitch import PitchTrack, hz_to_midi, midi_to_hz, midi_to_name, note_to_midi, track_pitch
from .voice import VoiceMeasures, measure_voice
