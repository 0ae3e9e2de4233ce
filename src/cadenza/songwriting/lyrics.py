"""Lyrics as syllables with stress, syllable counts per line, and rhymes by CMU phones.

Syllables and stress come from the pronouncing dictionary MIT already uses
(:func:`cadenza.mit.syllables.syllabify_phrase`, handed a :class:`~cadenza.mit.syllables.Lexicon`):
one syllable per vowel phone, primary stress of content words marked, function words ("the", "of",
"I") unstressed as in connected speech. Two words rhyme when their phones agree from the last stressed
vowel to the end (a perfect rhyme: "grace" / "place", "singing" / "bringing"); they rhyme nearly when
only the vowels from there on agree (assonance: "grace" / "great", "star" / "heart").

Rhymes are offered common words first, so a client sees "day, way, say" before "Cathay". How common a
word is comes from a word-frequency list handed to :func:`build_rhyme_index` (Zipf values, e.g. the
wordfreq list that :func:`cadenza.io.word_frequency.load_word_frequencies` reads when the ``words`` extra
is installed); without one, from the dictionary itself: how many of the word's inflected and derived
forms ("days", "played", "player") it holds, a rough stand-in, since rare names seldom have any.

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
from dataclasses import dataclass, field

from cadenza.errors import ParameterError
from cadenza.mit.syllables import Lexicon, Phrase, Syllable, syllabify_phrase, tokenize_phrase

MAX_LINE_CHARS = 200
MAX_RHYMES = 60
MAX_RHYME_WORD_CHARS = 12
_VOWEL_LETTER = re.compile("[aeiouy]")
_VOWEL_GROUPS = re.compile("[aeiouy]+")
_FAMILY_SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "ers", "ly", "y", "ness", "ful")  # not "'s": names have it
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


def vowel_key(phones: tuple[str, ...]) -> tuple[str, ...]:
    """The vowels of :func:`rhyme_key` (consonants left out): words with equal keys rhyme nearly.

    >>> vowel_key(("S", "T", "AA1", "R")), vowel_key(("HH", "AA1", "R", "T"))
    (('AA',), ('AA',))
    """
    return tuple(p for p in rhyme_key(phones) if p[:1] in "AEIOU")


@dataclass(frozen=True)
class RhymeIndex:
    """Words by rhyme key and by vowel key, and how common each word is (higher first); built once from a
    lexicon by :func:`build_rhyme_index`. ``ranked_by`` names the source of ``commonness``."""

    words_by_key: Mapping[tuple[str, ...], tuple[str, ...]]
    words_by_vowels: Mapping[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    commonness: Mapping[str, float] = field(default_factory=dict)
    ranked_by: str = "length"


def family_sizes(lexicon: Lexicon, words: set[str] | None = None) -> dict[str, int]:
    """For each word, how many of its inflected and derived forms the dictionary holds ("day": "days";
    "play": "plays", "played", "playing", "player", ...): the stand-in for a frequency list.

    >>> from cadenza.mit.syllables import Lexicon
    >>> lex = Lexicon({w: (("D", "EY1"),) for w in ("play", "plays", "played", "playing", "cathay")})
    >>> family_sizes(lex)["play"], family_sizes(lex)["cathay"]
    (3, 0)
    """
    prons = lexicon.pronunciations
    out = {}
    for word in (prons if words is None else words):
        n = sum((word + suffix) in prons for suffix in _FAMILY_SUFFIXES)
        if word.endswith("e"):
            n += sum((word[:-1] + suffix) in prons for suffix in ("ing", "ed", "er"))
        out[word] = n
    return out


def _stressed(phones: tuple[str, ...]) -> bool:
    return any(p[-1:] in ("1", "2") for p in phones)


def build_rhyme_index(lexicon: Lexicon, *, frequency: Mapping[str, float] | None = None,
                      frequency_source: str = "word frequency") -> RhymeIndex:
    """Index every plain word of the lexicon (2..12 letters, with a vowel letter) by its rhyme and vowel
    keys. ``frequency`` (word -> how common, e.g. a Zipf value) ranks the rhymes; without it, the
    dictionary's word families (:func:`family_sizes`) do. A pronunciation with no stressed vowel ("the"
    as DH IY0) is left out when the word has a stressed one."""
    by_key: dict[tuple[str, ...], list[str]] = defaultdict(list)
    by_vowels: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for word, prons in lexicon.pronunciations.items():
        if not 2 <= len(word) <= MAX_RHYME_WORD_CHARS or not word.isalpha() or not _VOWEL_LETTER.search(word):
            continue  # abbreviations ("hr") and long compounds are no help in a song
        if len(word) == 2 and word not in _TWO_LETTER_WORDS:
            continue
        any_stressed = any(_stressed(tuple(p)) for p in prons)
        for phones in prons:
            phones = tuple(phones)
            if any_stressed and not _stressed(phones):
                continue
            if _spelled_syllables(word) == sum(p[-1].isdigit() for p in phones):
                # spelling and sound agree on the syllables: leaves out letter names ("abc", "dr")
                by_key[rhyme_key(phones)].append(word)
                by_vowels[vowel_key(phones)].append(word)
    index = RhymeIndex({key: tuple(dict.fromkeys(words)) for key, words in by_key.items()},
                       {key: tuple(dict.fromkeys(words)) for key, words in by_vowels.items()})
    return rank_index(index, lexicon, frequency=frequency, frequency_source=frequency_source)


def rank_index(index: RhymeIndex, lexicon: Lexicon, *, frequency: Mapping[str, float] | None = None,
               frequency_source: str = "word frequency") -> RhymeIndex:
    """The same index ranked by ``frequency`` (word -> how common; a word missing from it counts 0), or
    without one by the dictionary's word families (:func:`family_sizes`)."""
    indexed = {w for words in index.words_by_key.values() for w in words}
    if frequency is not None:
        if not isinstance(frequency, Mapping):
            raise ParameterError(f"frequency must map words to how common they are, got {type(frequency).__name__}")
        commonness = {w: float(frequency.get(w, 0.0)) for w in indexed}
        ranked_by = frequency_source
    else:
        commonness = {w: float(n) for w, n in family_sizes(lexicon, indexed).items()}
        ranked_by = "the dictionary's word families (no word-frequency list installed)"
    return RhymeIndex(index.words_by_key, index.words_by_vowels, commonness, ranked_by)


def _check_rhyme_args(word: object, max_words: object) -> str:
    words = tokenize_phrase(check_line_text(word, name="word"))
    if len(words) != 1:
        raise ParameterError(f"word must be one word, got {word!r}")
    if not isinstance(max_words, int) or isinstance(max_words, bool) or not 1 <= max_words <= 1000:
        raise ParameterError(f"max_words must be an integer 1..1000, got {max_words!r}")
    return words[0]


def _ranked(found: list[str], index: RhymeIndex, max_words: int) -> tuple[str, ...]:
    found.sort(key=lambda w: (-index.commonness.get(w, 0.0), len(w), w))
    return tuple(found[:max_words])


def _related(target: str, other: str) -> bool:
    return other == target or other.endswith(target) or target.endswith(other)


def find_rhymes(word: str, *, index: RhymeIndex, lexicon: Lexicon, max_words: int = MAX_RHYMES) -> tuple[str, ...]:
    """Perfect rhymes of ``word``, the most common first (then the shortest); the word itself and words
    ending in it left out.

    A word not in the dictionary has no known phones and gets no rhymes (an empty tuple).
    """
    target = _check_rhyme_args(word, max_words)
    found: list[str] = []
    for phones in lexicon.pronunciations.get(target, ()):
        for other in index.words_by_key.get(rhyme_key(tuple(phones)), ()):
            if not _related(target, other) and other not in found:
                found.append(other)
    return _ranked(found, index, max_words)


def find_near_rhymes(word: str, *, index: RhymeIndex, lexicon: Lexicon,
                     max_words: int = MAX_RHYMES) -> tuple[str, ...]:
    """Near rhymes of ``word``: the same vowels from the last stressed one, other consonants ("grace" /
    "great" / "rain"), perfect rhymes left out; the most common first.

    >>> from cadenza.mit.syllables import Lexicon
    >>> lex = Lexicon({"star": (("S", "T", "AA1", "R"),), "heart": (("HH", "AA1", "R", "T"),),
    ...                "car": (("K", "AA1", "R"),), "far": (("F", "AA1", "R"),)})
    >>> find_near_rhymes("star", index=build_rhyme_index(lex), lexicon=lex)
    ('heart',)
    """
    target = _check_rhyme_args(word, max_words)
    perfect = {key for phones in lexicon.pronunciations.get(target, ()) for key in [rhyme_key(tuple(phones))]}
    found: list[str] = []
    seen: set[str] = set()
    for phones in lexicon.pronunciations.get(target, ()):
        for other in index.words_by_vowels.get(vowel_key(tuple(phones)), ()):
            if other in seen or _related(target, other) or other.startswith(target):  # not "days" for "day"
                continue
            seen.add(other)
            if not any(rhyme_key(tuple(p)) in perfect for p in lexicon.pronunciations.get(other, ())):
                found.append(other)
    return _ranked(found, index, max_words)


def rhymes(first: str, second: str, *, lexicon: Lexicon) -> bool:
    """True when some pronunciation of ``first`` rhymes perfectly with some pronunciation of ``second``."""
    keys = [{rhyme_key(tuple(p)) for p in lexicon.pronunciations.get(w.lower(), ())} for w in (first, second)]
    return bool(keys[0] & keys[1])
