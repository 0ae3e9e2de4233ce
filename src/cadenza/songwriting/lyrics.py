"""Lyrics as syllables with stress, syllable counts per line, and rhymes by CMU phones.

Syllables and stress come from the pronouncing dictionary MIT already uses
(:func:`cadenza.mit.syllables.syllabify_phrase`, handed a :class:`~cadenza.mit.syllables.Lexicon`):
one syllable per vowel phone, primary stress of content words marked, function words ("the", "of",
"I") unstressed as in connected speech. Two words rhyme when their phones agree from the last stressed
vowel to the end (a perfect rhyme: "grace" / "place", "singing" / "bringing").

>>> from cadenza.mit.syllables import Lexicon
>>> lex = Lexicon({"grace": (("G", "R", "EY1", "S"),), "place": (("P", "L", "EY1", "S"),),
...                "amazing": (("AH0", "M", "EY1", "Z", "IH0", "NG"),)})
>>> line = syllabify_line("Amazing grace", lexicon=lex)
>>> line.n_syllables, line.stress_pattern
(4, 'LHLH')
>>> find_rhymes("grace", index=build_rhyme_index(lex), lexicon=lex)
('place',)
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from cadenza.errors import ParameterError
from cadenza.mit.syllables import Lexicon, Phrase, Syllable, syllabify_phrase, tokenize_phrase

MAX_LINE_CHARS = 200
MAX_RHYMES = 60
MAX_RHYME_WORD_CHARS = 12
_VOWEL_LETTER = re.compile("[aeiouy]")
_VOWEL_GROUPS = re.compile("[aeiouy]+")
_TWO_LETTER_WORDS = frozenset("am an as at be by do go he hi if in is it me my no of oh ok on or so to up us we".split())


def _spelled_syllables(word: str) -> int:
    """Vowel-letter groups, a final silent "e" not counted ("time" 1, "little" 2): a rough spelling count."""
    n = len(_VOWEL_GROUPS.findall(word))
    if n > 1 and word.endswith("e") and not word.endswith(("le", "ee", "ie", "ye")) and word[-2] not in "aeiouy":
        n -= 1
    return n


@dataclass(frozen=True)
class LyricLine:
    """One line of a song as syllables (each with its word and stress)."""

    text: str
    syllables: tuple[Syllable, ...]
    guessed_words: tuple[str, ...] = ()

    @property
    def n_syllables(self) -> int:
        return len(self.syllables)

    @property
    def stress_pattern(self) -> str:
        """``"H"`` stressed, ``"L"`` unstressed, e.g. ``"HLHLHLH"`` for "Twinkle twinkle little star"."""
        return "".join("H" if s.stressed else "L" for s in self.syllables)


def check_line_text(text: object, *, name: str = "line") -> str:
    """A lyric line as a stripped string, or :class:`ParameterError` naming ``name`` and the value."""
    if not isinstance(text, str):
        raise ParameterError(f"{name} must be text, got {type(text).__name__} {text!r}")
    if "\x00" in text:
        raise ParameterError(f"{name} must not contain NUL characters, got {text[:40]!r}")
    if len(text) > MAX_LINE_CHARS:
        raise ParameterError(f"{name} must be at most {MAX_LINE_CHARS} characters, got {len(text)}")
    return text.strip()


def syllabify_line(text: str, *, lexicon: Lexicon, name: str = "line") -> LyricLine:
    """Split one lyric line into syllables with stress (an empty line has none)."""
    text = check_line_text(text, name=name)
    if not tokenize_phrase(text):
        return LyricLine(text=text, syllables=())
    try:
        phrase: Phrase = syllabify_phrase(text, lexicon=lexicon)
    except ParameterError as exc:
        raise ParameterError(f"{name}: {exc}") from None
    return LyricLine(text=text, syllables=phrase.syllables, guessed_words=phrase.guessed_words)


def count_word_syllables(word: str, *, lexicon: Lexicon) -> int:
    """Syllables of one word as the song fitter counts them (the same split as :func:`syllabify_line`)."""
    words = tokenize_phrase(check_line_text(word, name="word"))
    if len(words) != 1:
        raise ParameterError(f"word must be one word, got {word!r}")
    return syllabify_line(words[0], lexicon=lexicon, name="word").n_syllables


def rhyme_key(phones: tuple[str, ...]) -> tuple[str, ...]:
    """The phones from the last primary-stressed vowel (else the last secondary-stressed, else the last
    vowel) to the end, stress digits removed: words with equal keys rhyme perfectly.

    >>> rhyme_key(("S", "IH1", "NG", "IH0", "NG"))
    ('IH', 'NG', 'IH', 'NG')
    """
    start = -1
    for wanted in ("1", "2", "0"):
        for i in range(len(phones) - 1, -1, -1):
            if phones[i][-1:] == wanted:
                start = i
                break
        if start >= 0:
            break
    if start < 0:
        return tuple(phones)
    return tuple(p[:-1] if p[-1:].isdigit() else p for p in phones[start:])


@dataclass(frozen=True)
class RhymeIndex:
    """Words by rhyme key; built once from a lexicon by :func:`build_rhyme_index`."""

    words_by_key: Mapping[tuple[str, ...], tuple[str, ...]]


def build_rhyme_index(lexicon: Lexicon) -> RhymeIndex:
    """Index every plain word of the lexicon (2..12 letters, with a vowel letter) by its rhyme keys."""
    by_key: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for word, prons in lexicon.pronunciations.items():
        if not 2 <= len(word) <= MAX_RHYME_WORD_CHARS or not word.isalpha() or not _VOWEL_LETTER.search(word):
            continue  # abbreviations ("hr") and long compounds are no help in a song
        if len(word) == 2 and word not in _TWO_LETTER_WORDS:
            continue
        for phones in prons:
            if _spelled_syllables(word) == sum(p[-1].isdigit() for p in phones):
                # spelling and sound agree on the syllables: leaves out letter names ("abc", "dr")
                by_key[rhyme_key(phones)].append(word)
    by_key = {key: list(dict.fromkeys(words)) for key, words in by_key.items()}
    return RhymeIndex({key: tuple(words) for key, words in by_key.items()})


def find_rhymes(word: str, *, index: RhymeIndex, lexicon: Lexicon, max_words: int = MAX_RHYMES) -> tuple[str, ...]:
    """Perfect rhymes of ``word`` (shortest words first, the word itself and words ending in it left out).

    A word not in the dictionary has no known phones and gets no rhymes (an empty tuple).
    """
    words = tokenize_phrase(check_line_text(word, name="word"))
    if len(words) != 1:
        raise ParameterError(f"word must be one word, got {word!r}")
    if not isinstance(max_words, int) or isinstance(max_words, bool) or not 1 <= max_words <= 1000:
        raise ParameterError(f"max_words must be an integer 1..1000, got {max_words!r}")
    target = words[0]
    found: list[str] = []
    for phones in lexicon.pronunciations.get(target, ()):
        for other in index.words_by_key.get(rhyme_key(tuple(phones)), ()):
            if other != target and not other.endswith(target) and not target.endswith(other) and other not in found:
                found.append(other)
    found.sort(key=lambda w: (len(w), w))
    return tuple(found[:max_words])


def rhymes(first: str, second: str, *, lexicon: Lexicon) -> bool:
    """True when some pronunciation of ``first`` rhymes perfectly with some pronunciation of ``second``."""
    keys = [{rhyme_key(tuple(p)) for p in lexicon.pronunciations.get(w.lower(), ())} for w in (first, second)]
    return bool(keys[0] & keys[1])
