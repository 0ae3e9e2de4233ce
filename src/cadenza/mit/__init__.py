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

from cadenza._lazy import attach_stub

# The face: the names listed in __init__.pyi, each imported from its submodule on first use (PEP 562), so
# that importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
