"""Scaffolds therapists use: a well-known public-domain song whose words the client changes.

* **Song parody / lyric substitution**: new words on the tune's melody, line by line, each line keeping
  the original's syllable count (:func:`tune_song` with ``lines``).
* **Fill-in-the-blank**: the tune's lyric with the last word of some lines left blank for the client
  (:func:`blank_lines`); a fill must have the blanked word's syllable count (:func:`fill_blanks`).

The tunes are encoded here, one note per syllable (where the traditional tune slurs two notes on one
syllable, the first is kept). All three are in the public domain (words and tune published before 1900):

* *Twinkle, Twinkle, Little Star*: words Jane Taylor (1806), tune the French "Ah! vous dirai-je, maman" (1761).
* *Mary Had a Little Lamb*: words Sarah Josepha Hale (1830), tune as arranged by Lowell Mason (1830s).
* *Amazing Grace*: words John Newton (1779), tune "New Britain" (1829; as set by William Walker, 1835),
  first verse; the second half repeats the first half's melody, ending on the tonic.

("You Are My Sunshine", 1939/1940, and "Happy Birthday", whose words' status was long disputed, are left out.)

>>> from cadenza.mit.syllables import Lexicon
>>> lex = Lexicon({w: p for w, p in _TEST_LEXICON.items()})
>>> song = tune_song(TUNES["mary"], lexicon=lex, lines=["Sunny days are full of light", "full of light, full of light",
...                  "Sunny days are full of light and we are feeling fine"])
>>> [n.lyric for n in song.notes][:7]
['sun', 'ny', 'days', 'are', 'full', 'of', 'light']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cadenza.errors import ParameterError
from cadenza.mit.syllables import Lexicon, tokenize_phrase
from cadenza.songwriting.lyrics import LyricLine, check_line_text, syllabify_line
from cadenza.songwriting.song import (
    SLOTS_PER_BEAT, Song, SongNote, SongSpec, syllabic_position, slot_strength,
)

BLANK = "____"


@dataclass(frozen=True)
class TuneLine:
    """One line of a tune: its original words and its notes as (MIDI pitch, onset beats, length beats)."""

    text: str
    notes: tuple[tuple[int, float, float], ...]


@dataclass(frozen=True)
class Tune:
    """A public-domain song: melody and words, the credit, and the lines whose last word may be blanked."""

    name: str
    title: str
    credit: str
    key: str
    mode: str
    beats_per_bar: int
    tempo_bpm: float
    lines: tuple[TuneLine, ...]
    chords: tuple[str, ...]  # a roman numeral per bar
    blank_lines: tuple[int, ...]

    @property
    def n_bars(self) -> int:
        return len(self.chords)

    def spec(self, *, theme: str = "free") -> SongSpec:
        return SongSpec(key=self.key, mode=self.mode, tempo_bpm=self.tempo_bpm, beats_per_bar=self.beats_per_bar,
                        progression=self.chords, theme=theme)


def _line(text: str, pitches: Sequence[int], onsets: Sequence[float], lengths: Sequence[float]) -> TuneLine:
    return TuneLine(text, tuple(zip(pitches, onsets, lengths)))


def _shift(line: TuneLine, text: str, beats: float, *, last_pitch: int | None = None) -> TuneLine:
    notes = [(p, o + beats, d) for p, o, d in line.notes]
    if last_pitch is not None:
        notes[-1] = (last_pitch, notes[-1][1], notes[-1][2])
    return TuneLine(text, tuple(notes))


_Q = (0, 1, 2, 3, 4, 5, 6)  # seven quarter-note onsets, the last held for a half note
_TW1 = _line("Twinkle, twinkle, little star", (60, 60, 67, 67, 69, 69, 67), _Q, (1, 1, 1, 1, 1, 1, 2))
_TW2 = _line("How I wonder what you are", (65, 65, 64, 64, 62, 62, 60), [o + 8 for o in _Q], (1, 1, 1, 1, 1, 1, 2))
_TW3 = _line("Up above the world so high", (67, 67, 65, 65, 64, 64, 62), [o + 16 for o in _Q], (1, 1, 1, 1, 1, 1, 2))
_AG1 = _line("Amazing grace, how sweet the sound", (62, 67, 71, 71, 69, 67, 64, 62),
             (2, 3, 5, 6, 8, 9, 11, 12), (1, 2, 1, 2, 1, 2, 1, 2))
_AG2 = _line("That saved a wretch like me", (62, 67, 71, 71, 69, 74), (14, 15, 17, 18, 20, 21), (1, 2, 1, 2, 1, 3))
_MA1 = _line("Mary had a little lamb", (64, 62, 60, 62, 64, 64, 64), _Q, (1, 1, 1, 1, 1, 1, 2))

TUNES: dict[str, Tune] = {
    "twinkle": Tune(
        "twinkle", "Twinkle, Twinkle, Little Star",
        "Words Jane Taylor (1806); tune 'Ah! vous dirai-je, maman' (France, 1761). Public domain.",
        "C", "major", 4, 96.0,
        (_TW1, _TW2, _TW3, _shift(_TW3, "Like a diamond in the sky", 8), _shift(_TW1, "Twinkle, twinkle, little star", 32),
         _shift(_TW2, "How I wonder what you are", 32)),
        ("I", "I", "IV", "I", "I", "IV", "I", "V", "I", "IV", "I", "V", "I", "I", "IV", "I"), (0, 1, 2, 3)),
    "mary": Tune(
        "mary", "Mary Had a Little Lamb",
        "Words Sarah Josepha Hale (1830); tune as arranged by Lowell Mason (1830s). Public domain.",
        "C", "major", 4, 104.0,
        (_MA1, _line("Little lamb, little lamb", (62, 62, 62, 64, 67, 67), (8, 9, 10, 12, 13, 14), (1, 1, 2, 1, 1, 2)),
         _line("Mary had a little lamb, its fleece was white as snow",
               (64, 62, 60, 62, 64, 64, 64, 64, 62, 62, 64, 62, 60),
               (16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28), (1,) * 12 + (4,))),
        ("I", "I", "V", "I", "I", "I", "V", "I"), (0, 2)),
    "amazing_grace": Tune(
        "amazing_grace", "Amazing Grace",
        "Words John Newton (1779); tune 'New Britain' (1829, as set by William Walker 1835), simplified to one "
        "note per syllable. Public domain.",
        "G", "major", 3, 80.0,
        (_AG1, _AG2, _shift(_AG1, "I once was lost, but now am found", 24),
         _shift(_AG2, "Was blind, but now I see", 24, last_pitch=67)),
        ("I", "I", "I", "IV", "I", "I", "I", "V", "V", "I", "I", "IV", "I", "I", "V", "I"), (0, 1, 2, 3)),
}


def get_tune(name: object) -> Tune:
    """The tune called ``name`` (a key of :data:`TUNES`), or :class:`ParameterError` listing them."""
    if not isinstance(name, str) or name not in TUNES:
        raise ParameterError(f"tune must be one of {sorted(TUNES)}, got {name!r}")
    return TUNES[name]


def tune_song(tune: Tune, *, lexicon: Lexicon, lines: Sequence[str] | None = None, title: str = "",
              theme: str = "free") -> Song:
    """The tune with its own words, or with new ``lines`` (one per tune line, each with the original
    line's syllable count): the new syllables take the original notes one by one.

    A line with the wrong count is refused with a :class:`ParameterError` that names the line, both
    counts and the original words. Stress that the tune's rhythm goes against is left to
    :func:`~cadenza.songwriting.song.check_fit` to report.
    """
    texts = [line.text for line in tune.lines] if lines is None else list(lines)
    if isinstance(lines, str):
        raise ParameterError(f"lines must be a list of lyric lines, got a string {lines[:40]!r}")
    if len(texts) != len(tune.lines):
        raise ParameterError(f"lines must be {len(tune.lines)} lines for {tune.title!r} (one per line of the tune), "
                             f"got {len(texts)}")
    parsed: list[LyricLine] = []
    notes: list[SongNote] = []
    for li, (text, tline) in enumerate(zip(texts, tune.lines)):
        line = syllabify_line(text, lexicon=lexicon, name=f"line {li + 1}")
        if line.n_syllables != len(tline.notes):
            raise ParameterError(
                f"line {li + 1} must have {len(tline.notes)} syllables like {tline.text!r}, got {line.n_syllables} "
                f"in {line.text[:60]!r}")
        parsed.append(line)
        for k, ((pitch, onset, length), syllable) in enumerate(zip(tline.notes, line.syllables)):
            notes.append(SongNote(
                pitch_midi=pitch, onset_beats=float(onset), duration_beats=float(length), lyric=syllable.text,
                syllabic=syllabic_position(line.syllables, k), stressed=syllable.stressed,
                strength=slot_strength(int(round(onset * SLOTS_PER_BEAT)), beats_per_bar=tune.beats_per_bar),
                line_index=li, word_index=syllable.word_index))
    default_title = tune.title if lines is None else f"New words to {tune.title}"
    return Song(title=title.strip() or default_title, spec=tune.spec(theme=theme), lines=tuple(parsed),
                notes=tuple(notes), n_bars=tune.n_bars, chords=tune.chords, source=tune.credit)


_LAST_WORD = re.compile(r"([A-Za-z']+)([^A-Za-z']*)$")


def blank_lines(tune: Tune) -> list[str]:
    """The tune's lines with the last word of each of ``tune.blank_lines`` replaced by ``____``."""
    out = []
    for li, line in enumerate(tune.lines):
        out.append(_LAST_WORD.sub(lambda m: BLANK + m.group(2), line.text) if li in tune.blank_lines else line.text)
    return out


def fill_blanks(tune: Tune, fills: Sequence[str], *, lexicon: Lexicon, title: str = "", theme: str = "free") -> Song:
    """The tune with the client's words in the blanks (one fill per blanked line, in order). Each fill must
    have the syllable count of the word it replaces; it may be several words ("the sea" for "star" is
    refused, "sea" is taken)."""
    if isinstance(fills, str) or len(fills) != len(tune.blank_lines):
        raise ParameterError(f"fills must be {len(tune.blank_lines)} words or short phrases for {tune.title!r}, "
                             f"got {fills!r}"[:300])
    lines = [line.text for line in tune.lines]
    for fill, li in zip(fills, tune.blank_lines):
        fill = check_line_text(fill, name=f"fill for line {li + 1}")
        if not tokenize_phrase(fill):
            raise ParameterError(f"fill for line {li + 1} must contain a word, got {fill!r}")
        match = _LAST_WORD.search(lines[li])
        blanked = syllabify_line(match.group(1), lexicon=lexicon).n_syllables
        got = syllabify_line(fill, lexicon=lexicon).n_syllables
        if got != blanked:
            raise ParameterError(f"fill for line {li + 1} must have {blanked} syllable(s) like {match.group(1)!r}, "
                                 f"got {got} in {fill!r}")
        lines[li] = lines[li][:match.start(1)] + fill + match.group(2)
    return tune_song(tune, lexicon=lexicon, lines=lines, title=title or f"My {tune.title}", theme=theme)


# a few words for the doctest (the real dictionary is loaded by cadenza.io.speech)
_TEST_LEXICON = {
    "sunny": (("S", "AH1", "N", "IY0"),), "days": (("D", "EY1", "Z"),), "are": (("AA1", "R"),),
    "full": (("F", "UH1", "L"),), "of": (("AH1", "V"),), "light": (("L", "AY1", "T"),), "and": (("AH0", "N", "D"),),
    "we": (("W", "IY1"),), "feeling": (("F", "IY1", "L", "IH0", "NG"),), "fine": (("F", "AY1", "N"),),
}
