"""How hard a text is to read: the Flesch-Kincaid grade level (Kincaid, Fishburne, Rogers, Chissom 1975,
Research Branch Report 8-75), used to hold what the person and their family read at grade 8 or lower.

grade = 0.39 x (words / sentences) + 11.8 x (syllables / words) - 15.59

Syllables come from the CMU Pronouncing Dictionary (vowel phones), then pyphen's hyphenation, then vowel
groups, through the same :class:`~cadenza.mit.syllables.Lexicon` MIT uses. A number counts as one word
of one syllable per digit group (a simplification: "18" is read "eigh-teen", two).

>>> from cadenza.mit.syllables import Lexicon
>>> lex = Lexicon({"the": (("DH", "AH0"),), "cat": (("K", "AE1", "T"),), "sat": (("S", "AE1", "T"),)})
>>> round(reading_grade("The cat sat. The cat sat.", lex), 2)
-2.62
"""

from __future__ import annotations

import re

from cadenza.errors import ParameterError
from cadenza.mit.syllables import Lexicon

_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)|\n\s*\n")
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|\d+(?:[.,:]\d+)*")
_VOWELS = re.compile(r"[aeiouy]+")


def count_syllables(word: str, lexicon: Lexicon) -> int:
    if word[0].isdigit():
        return 1
    key = word.lower().replace("’", "'")
    pronunciations = lexicon.pronunciations.get(key)
    if pronunciations:
        return max(1, sum(1 for phone in pronunciations[0] if phone[-1].isdigit()))
    if lexicon.hyphenate is not None:
        parts = [p for p in lexicon.hyphenate(key) if p]
        if len(parts) > 1:
            return len(parts)
    return max(1, len(_VOWELS.findall(key)) - (1 if key.endswith("e") and len(key) > 3 else 0))


def reading_grade(text: str, lexicon: Lexicon) -> float:
    """The Flesch-Kincaid grade of ``text`` (US school grade; 8 = plain English for most adults)."""
    sentences = [s for s in _SENTENCE_END.split(text) if _WORD.search(s)]
    words = _WORD.findall(text)
    if not words:
        raise ParameterError(f"text must contain words, got {text[:40]!r}")
    syllables = sum(count_syllables(w, lexicon) for w in words)
    return 0.39 * len(words) / max(len(sentences), 1) + 11.8 * syllables / len(words) - 15.59
