"""Public names of cadenza.mit, by submodule: read by type checkers and, at run time, by
cadenza._lazy.attach_stub (the face in __init__.py)."""

from .cues import CueMaterial, StepCue, render_step_cue
from .levels import LEVELS, CueSpec, Model, Step, get_step, level_steps, max_points
from .melody import Melody, Note, compose_melody
from .midi import melody_to_midi
from .response import PitchContour, ResponseAnalysis, analyse_response, measure_pitch_contour
from .scoring import Advancement, SessionScore, advancement, score_session, score_step
from .syllables import Lexicon, Phrase, Syllable, syllabify_phrase
