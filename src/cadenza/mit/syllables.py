"""English phrases split into syllables with lexical stress, for Melodic Intonation Therapy.

The pronunciations come from the CMU Pronouncing Dictionary, handed in as a :class:`Lexicon` (loading
the dictionary file is I/O and lives in :func:`cadenza.io.speech.load_lexicon`). A CMU pronunciation
marks each vowel with a stress digit (1 primary, 2 secondary, 0 none), so the syllable count is the
vowel count and the stressed syllable is the one with a 1.

Two adjustments make the dictionary fit intoned phrases:

* CMUdict lists citation forms, so function words ("I", "of", "a", "the") carry a 1; in connected
  speech they are unstressed, so a fixed list of function words is demoted to unstressed.
* Where a word has several pronunciations, the one with the fewest syllables is taken ("every" as
  EV-RY, "fire" as one syllable), which is how the speech synthesiser says them too.

Words missing from the dictionary are split by spelling (vowel groups, refined by the hyphenation
patterns when the lexicon provides them) and stressed where the lexicon's ``stress_from_end`` guess
puts it (the speech synthesiser's letter-to-sound rules), else on the first syllable, the commonest
English pattern; such syllables carry ``guessed=True`` so the therapist can check them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cadenza.errors import ParameterError

# Closed-class words that are unstressed in connected speech: articles, auxiliaries, pronouns,
# prepositions, conjunctions. Negative contractions ("don't", "can't") stay stressed, as in speech.
FUNCTION_WORDS = frozenset(
    """
    a an the
    am is are was were be been being do does did have has had will would can could shall should may
    might must
    i me my mine you your yours he him his she her hers it its we us our ours they them their theirs
    of to in on at for with from by as into onto than
    and or but if so that
    """.split()
)

MAX_PHRASE_WORDS = 40
SYLLABLE_EXTENDER = "_"  # shown for a syllable that has no letters of its own, as in sung lyrics
_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)*")
_VOWEL_GROUP_RE = re.compile(r"[aeiouy]+")


@dataclass(frozen=True)
class Lexicon:
    """Pronunciations by lower-case word (each a tuple of ARPAbet phones with stress digits), and an
    optional hyphenator used to split unknown words by spelling."""

    pronunciations: Mapping[str, tuple[tuple[str, ...], ...]]
    hyphenate: Callable[[str], list[str]] | None = None
    source: str = "CMU Pronouncing Dictionary"
    # For words not in the dictionary: the stressed syllable counted from the end (1 = last), e.g. from
    # a speech synthesiser's letter-to-sound rules; None when it cannot tell.
    stress_from_end: Callable[[str], int | None] | None = None


@dataclass(frozen=True)
class Syllable:
    """One syllable: its spelling (for display), its phones when known, and whether it is stressed."""

    text: str
    word: str
    word_index: int
    stressed: bool
    phones: tuple[str, ...] = ()
    guessed: bool = False

    @property
    def display_text(self) -> str:
        """Capitals when stressed; the pronoun "I" stays a capital."""
        return self.text.upper() if self.stressed or self.word == "i" else self.text.lower()


@dataclass(frozen=True)
class Phrase:
    """A phrase as syllables, with the words that were not in the dictionary listed in ``guessed_words``."""

    text: str
    words: tuple[str, ...]
    syllables: tuple[Syllable, ...]
    guessed_words: tuple[str, ...] = field(default=())

    @property
    def n_syllables(self) -> int:
        return len(self.syllables)

    @property
    def stress_pattern(self) -> str:
        """``"H"`` for stressed and ``"L"`` for unstressed syllables, e.g. ``"LHH"`` for "I need help"."""
        return "".join("H" if s.stressed else "L" for s in self.syllables)

    def display(self) -> str:
        """Syllables joined by hyphens within a word, stressed ones in capitals: ``"I NEED HELP"``."""
        words: list[list[str]] = [[] for _ in self.words]
        for s in self.syllables:
            words[s.word_index].append(s.display_text)
        return " ".join("-".join(parts) for parts in words)

    @property
    def notes(self) -> tuple[str, ...]:
        """Plain-language notes for the therapist, e.g. where the split was guessed."""
        if not self.guessed_words:
            return ()
        listed = ", ".join(repr(w) for w in self.guessed_words)
        return (f"Not in the pronouncing dictionary, syllables and stress guessed from spelling: {listed}. "
                "Check them before use.",)


def tokenize_phrase(text: str) -> tuple[str, ...]:
    """Lower-case words of a phrase; punctuation and digits are dropped, apostrophes kept.

    >>> tokenize_phrase("Thank you, very much!")
    ('thank', 'you', 'very', 'much')
    """
    return tuple(_WORD_RE.findall(text.lower().replace("\u2019", "'")))


def _n_vowels(phones: tuple[str, ...]) -> int:
    return sum(p[-1].isdigit() for p in phones)


def _syllable_phones(phones: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Group phones into syllables: each vowel is a nucleus; of the consonants between two vowels the
    last goes to the next syllable (maximal onset, simplified to one consonant)."""
    vowel_idx = [i for i, p in enumerate(phones) if p[-1].isdigit()]
    starts = [0]
    for prev, nxt in zip(vowel_idx, vowel_idx[1:]):
        n_cons = nxt - prev - 1
        starts.append(nxt - (1 if n_cons >= 1 else 0))
    bounds = starts + [len(phones)]
    return [phones[a:b] for a, b in zip(bounds, bounds[1:])]


def _spelling_groups(word: str) -> list[str]:
    """Split a spelling into pieces with one vowel group each (V-CV, VC-CV), treating a final silent
    'e' as part of the last piece."""
    core = word.replace("'", "")
    groups = list(_VOWEL_GROUP_RE.finditer(core))
    if len(groups) > 1 and core.endswith("e") and groups[-1].group() == "e" and groups[-1].start() == len(core) - 1:
        if not core.endswith("le") or len(core) < 3 or core[-3] in "aeiouy":
            groups = groups[:-1]
    if len(groups) <= 1:
        return [word]
    cuts = []
    for g, h in zip(groups, groups[1:]):
        n_cons = h.start() - g.end()
        cuts.append(g.end() if n_cons <= 1 else g.end() + n_cons // 2)
    pieces = [core[a:b] for a, b in zip([0] + cuts, cuts + [len(core)])]
    return [p for p in pieces if p]


def _split_spelling(word: str, n: int, hyphenate: Callable[[str], list[str]] | None) -> list[str]:
    """Spelling pieces for display, forced to ``n`` pieces (merge the shortest neighbours, or split
    the longest piece)."""
    pieces: list[str] = []
    parts = hyphenate(word) if hyphenate is not None else [word]
    for part in parts:
        pieces.extend(_spelling_groups(part))
    while len(pieces) > n and len(pieces) > 1:
        i = min(range(len(pieces) - 1), key=lambda k: len(pieces[k]) + len(pieces[k + 1]))
        pieces[i:i + 2] = [pieces[i] + pieces[i + 1]]
    while len(pieces) < n:  # fewer vowel letters than vowels ("rhythm", "prism"): halve the longest piece
        i = max(range(len(pieces)), key=lambda k: len(pieces[k]))
        if len(pieces[i]) < 2:  # a letter said as several syllables ("w" = double-u): extender marks
            pieces.append(SYLLABLE_EXTENDER)
            continue
        half = len(pieces[i]) // 2
        pieces[i:i + 1] = [pieces[i][:half], pieces[i][half:]]
    return pieces


def syllabify_word(word: str, *, lexicon: Lexicon, word_index: int = 0) -> tuple[list[Syllable], bool]:
    """Syllables of one lower-case word and whether they were guessed (word not in the dictionary)."""
    prons = lexicon.pronunciations.get(word) or lexicon.pronunciations.get(word.replace("'", ""))
    function_word = word in FUNCTION_WORDS
    if prons:
        phones = min(prons, key=_n_vowels)  # min keeps the first of equals
        groups = _syllable_phones(phones)
        spelled = _split_spelling(word, len(groups), lexicon.hyphenate)
        stresses = [any(p.endswith("1") for p in g) for g in groups]
        if not any(stresses):  # e.g. a word with only secondary stress: take the first secondary
            stresses = [any(p.endswith("2") for p in g) for g in groups]
            if any(stresses):
                first = stresses.index(True)
                stresses = [i == first for i in range(len(groups))]
        if function_word:
            stresses = [False] * len(groups)
        if word == "i":
            spelled = ["I"]
        return [Syllable(text=t, word=word, word_index=word_index, stressed=s, phones=g)
                for t, g, s in zip(spelled, groups, stresses)], False
    pieces = _split_spelling(word, len(_spelling_groups(word)), lexicon.hyphenate)
    pieces = [p for p in pieces if p] or [word]
    stressed_index = 0  # the commonest English pattern when nothing better is known
    if lexicon.stress_from_end is not None:
        from_end = lexicon.stress_from_end(word)
        if from_end is not None and from_end >= 1:
            # counted from the end: English stress is anchored there, and spelling and sound may
            # disagree on the number of syllables at the start ("mc" in "mcdonald")
            stressed_index = max(0, len(pieces) - from_end)
    return [Syllable(text=p, word=word, word_index=word_index, stressed=(i == stressed_index and not function_word),
                     guessed=True) for i, p in enumerate(pieces)], True


def syllabify_phrase(text: str, *, lexicon: Lexicon) -> Phrase:
    """Split an English phrase into syllables with stress for intoning.

    Stressed syllables (primary stress of content words) go on the high pitch. A phrase of function
    words only ("I am") gets its last syllable stressed so the melody has a peak.

    >>> lex = Lexicon({"i": (("AY1",),), "need": (("N", "IY1", "D"),), "help": (("HH", "EH1", "L", "P"),)})
    >>> p = syllabify_phrase("I need help", lexicon=lex)
    >>> p.stress_pattern, p.display()
    ('LHH', 'I NEED HELP')
    """
    if not isinstance(text, str):
        raise ParameterError(f"text must be a string phrase, got {type(text).__name__} {text!r}")
    words = tokenize_phrase(text)
    if len(words) > MAX_PHRASE_WORDS:
        raise ParameterError(
            f"text must be a short phrase of at most {MAX_PHRASE_WORDS} words, got {len(words)} words"
        )
    syllables: list[Syllable] = []
    guessed: list[str] = []
    for i, word in enumerate(words):
        sylls, was_guessed = syllabify_word(word, lexicon=lexicon, word_index=i)
        syllables.extend(sylls)
        if was_guessed and word not in guessed:
            guessed.append(word)
    if syllables and not any(s.stressed for s in syllables):
        last = syllables[-1]
        syllables[-1] = Syllable(text=last.text, word=last.word, word_index=last.word_index, stressed=True,
                                 phones=last.phones, guessed=last.guessed)
    return Phrase(text=text.strip(), words=words, syllables=tuple(syllables), guessed_words=tuple(guessed))
