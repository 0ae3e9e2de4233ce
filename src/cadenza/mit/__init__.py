"""Melodic Intonation Therapy: syllables, two-pitch melodies, protocol levels, response analysis.

``syllables`` (phrase -> syllables with stress) -> ``melody`` (two pitches, tapping grid, text score)
-> ``midi`` / ``cues`` (audio of each protocol step, rendered by :mod:`cadenza.render.voice`);
``levels`` and ``scoring`` hold the Helm-Estabrooks protocol; ``response`` measures an attempt.
Everything here is pure; speech synthesis and files are in :mod:`cadenza.io.speech`. See docs/mit.md.

>>> from cadenza.mit import Lexicon, compose_melody, syllabify_phrase
>>> lexicon = Lexicon({"good": (("G", "UH1", "D"),), "morning": (("M", "AO1", "R", "N", "IH0", "NG"),)})
>>> phrase = syllabify_phrase("good morning", lexicon=lexicon)
>>> phrase.stress_pattern, len(compose_melody(phrase, level=1).notes)
('HHL', 3)
"""

from cadenza._lazy import attach

# The face: each public name and the submodule it comes from, imported on first use (PEP 562), so that
# importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach(__name__, {
    "cues": ["CueMaterial", "StepCue", "render_step_cue"],
    "levels": ["LEVELS", "CueSpec", "Model", "Step", "get_step", "level_steps", "max_points"],
    "melody": ["Melody", "Note", "compose_melody"],
    "midi": ["melody_to_midi"],
    "response": ["PitchContour", "ResponseAnalysis", "analyse_response", "measure_pitch_contour"],
    "scoring": ["Advancement", "SessionScore", "advancement", "score_session", "score_step"],
    "syllables": ["Lexicon", "Phrase", "Syllable", "syllabify_phrase"],
})

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for editors and type checkers
    from cadenza.mit.cues import CueMaterial, StepCue, render_step_cue
    from cadenza.mit.levels import LEVELS, CueSpec, Model, Step, get_step, level_steps, max_points
    from cadenza.mit.melody import Melody, Note, compose_melody
    from cadenza.mit.midi import melody_to_midi
    from cadenza.mit.response import PitchContour, ResponseAnalysis, analyse_response, measure_pitch_contour
    from cadenza.mit.scoring import Advancement, SessionScore, advancement, score_session, score_step
    from cadenza.mit.syllables import Lexicon, Phrase, Syllable, syllabify_phrase
