"""A song as notes that carry syllables: the client's choices, the syllable-to-note fit, the fit check.

The fit puts each line on a grid of eighth notes over whole bars. Metric weight of a grid slot: 3 on the
downbeat, 2 on the middle beat of a 4/4 bar and on the second dotted-quarter beat of a 6/8 bar (its 4th
eighth), 1 on the other beats, 0 between beats (in 6/8 the beat is the dotted quarter, so the 2nd, 3rd, 5th
and 6th eighths are between beats). A dynamic programme
places the syllables in order, one note each, so that stressed syllables take beats (the strongest
available) and unstressed ones stay off the downbeat, with even spacing preferred. A line takes the
fewest bars (2, 3, 4, ... up to 32 beats) in which that works.

The fit check (:func:`check_fit`) counts three kinds of mismatch:

* ``count``: a line with a different number of notes than syllables;
* ``offbeat``: a stressed syllable between beats;
* ``word_stress``: within one word, an unstressed syllable on a stronger position than the word's
  stressed syllable (the word would be sung mis-stressed, "to-DAY" as "TO-day").

Melody pitches follow the chords: each bar takes the next 1, 2 or 4 chords of the progression (its
``chords_per_bar``, changing on beats); syllables on beats
take a chord tone near the previous note, the ones between beats a scale step; every line ends on a
chord tone and the song on the tonic, in a range of about an octave above the tonic (C4..E5 for C, G3..B4 for G).

>>> from cadenza.mit.syllables import Lexicon
>>> lex = Lexicon({"sing": (("S", "IH1", "NG"),), "a": (("AH0",),), "song": (("S", "AO1", "NG"),)})
>>> song = compose_song(["sing a song"], spec=SongSpec(key="C", mode="major", tempo_bpm=90), lexicon=lex)
>>> [(n.lyric, n.onset_beats, n.strength) for n in song.notes]
[('sing', 0.0, 3), ('a', 1.5, 0), ('song', 4.0, 3)]
>>> check_fit(song)
()
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cadenza.errors import ParameterError
from cadenza.mit.syllables import Lexicon, Syllable
from cadenza.songwriting.lyrics import LyricLine, syllabify_line

SLOTS_PER_BEAT = 2  # eighth notes per quarter note (onsets and lengths are counted in quarter notes)
TIME_SIGNATURES = ((2, 4), (3, 4), (4, 4), (6, 8))  # (beats_per_bar, beat_unit); 6/8 is compound
METERS = tuple(f"{b}/{u}" for b, u in TIME_SIGNATURES)
CHORDS_PER_BAR = (1, 2, 4)
MIN_TEMPO_BPM, MAX_TEMPO_BPM = 40.0, 200.0
MAX_LINES = 40
MAX_PROGRESSION_CHORDS = 64  # e.g. 16 bars of 4 chords
MAX_LINE_BEATS = 32  # quarter notes: a line takes at most 8 bars of 4/4, 10 of 3/4 or 6/8, 16 of 2/4
MAX_GAP_SLOTS = 8  # at most a whole 4/4 bar between two syllables of a line
NOTE_LENGTHS_SLOTS = (1, 2, 3, 4, 6, 8)  # eighth, quarter, dotted quarter, half, dotted half, whole
_BIG = 1000.0

PITCH_CLASSES = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6, "G": 7,
                 "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}
MODES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
_NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")
PROGRESSIONS = {  # common choices offered to the client; any roman-numeral progression is accepted
    "major": (("I", "IV", "V", "I"), ("I", "V", "vi", "IV"), ("I", "vi", "IV", "V"), ("I", "IV", "I", "V")),
    "minor": (("i", "iv", "v", "i"), ("i", "VI", "III", "VII"), ("i", "VII", "VI", "VII"), ("i", "iv", "VII", "III")),
}
THEMES = {  # prompts a therapist may use to start the lyric; the theme is kept with the song
    "free": ("What would you like this song to say?",),
    "hope": ("What helps you get through a hard day?", "What are you looking forward to?"),
    "memory": ("Who or what would you like to remember?", "What did you do together?"),
    "gratitude": ("Who would you like to thank?", "What are you grateful for today?"),
    "feelings": ("How do you feel right now?", "What colour or weather is that feeling?"),
    "goodbye": ("What would you like to say to them?", "What will you keep with you?"),
}


def _is_compound(beats_per_bar: int, beat_unit: int) -> bool:
    return beat_unit == 8 and beats_per_bar % 3 == 0


def slots_per_bar_of(beats_per_bar: int, beat_unit: int = 4) -> int:
    """Eighth-note slots in a bar of ``beats_per_bar``/``beat_unit`` time (8 in 4/4, 6 in 3/4 and 6/8)."""
    if (beats_per_bar, beat_unit) not in TIME_SIGNATURES or isinstance(beats_per_bar, bool):
        raise ParameterError(f"beats_per_bar/beat_unit must be one of {', '.join(METERS)} (the time signature), "
                             f"got {beats_per_bar!r}/{beat_unit!r}")
    return beats_per_bar * 8 // beat_unit


def parse_meter(text: object) -> tuple[int, int]:
    """A time signature from text: ``"6/8"`` -> ``(6, 8)``; a bare ``"3"`` is 3/4 (beats of a quarter note).

    >>> parse_meter("6/8"), parse_meter("3"), parse_meter(" 4/4 ")
    ((6, 8), (3, 4), (4, 4))
    """
    match = re.fullmatch(r"\s*(\d{1,2})\s*(?:/\s*(\d{1,2})\s*)?", str(text)) if isinstance(text, (str, int)) else None
    meter = (int(match.group(1)), int(match.group(2) or 4)) if match else None
    if isinstance(text, bool) or meter not in TIME_SIGNATURES:
        raise ParameterError(f"meter must be one of {', '.join(METERS)}, got {str(text)[:20]!r}")
    return meter


@dataclass(frozen=True)
class SongSpec:
    """The client's choices for a song.

    The metre is ``beats_per_bar``/``beat_unit`` (2/4, 3/4, 4/4, or 6/8: two dotted-quarter beats a
    bar). ``tempo_bpm`` counts the felt beat: quarter notes in x/4, dotted quarters in 6/8.
    ``chords_per_bar`` (1, 2 or 4) is how many chords of the progression each bar takes; they change on
    beats, so 4 needs 4/4 and 2 needs 2/4, 4/4 or 6/8.
    """

    key: str = "C"
    mode: str = "major"
    tempo_bpm: float = 90.0
    beats_per_bar: int = 4
    progression: tuple[str, ...] = ("I", "IV", "V", "I")
    theme: str = "free"
    beat_unit: int = 4
    chords_per_bar: int = 1

    def __post_init__(self) -> None:
        if self.key not in PITCH_CLASSES:
            raise ParameterError(f"key must be one of {sorted(PITCH_CLASSES)}, got {self.key!r}")
        if self.mode not in MODES:
            raise ParameterError(f"mode must be 'major' or 'minor', got {self.mode!r}")
        if isinstance(self.tempo_bpm, bool) or not isinstance(self.tempo_bpm, (int, float)) \
                or not MIN_TEMPO_BPM <= self.tempo_bpm <= MAX_TEMPO_BPM:
            raise ParameterError(f"tempo_bpm must be {MIN_TEMPO_BPM:g}..{MAX_TEMPO_BPM:g} beats per minute, got "
                                 f"{self.tempo_bpm!r}")
        slots_per_bar_of(self.beats_per_bar, self.beat_unit)
        if self.chords_per_bar not in CHORDS_PER_BAR or isinstance(self.chords_per_bar, bool) \
                or self.pulses_per_bar % self.chords_per_bar:
            allowed = [n for n in CHORDS_PER_BAR if self.pulses_per_bar % n == 0]
            raise ParameterError(f"chords_per_bar must be one of {allowed} in {self.time_signature} (chords change "
                                 f"on beats), got {self.chords_per_bar!r}")
        if not isinstance(self.progression, tuple) or not 1 <= len(self.progression) <= MAX_PROGRESSION_CHORDS:
            raise ParameterError(f"progression must be 1..{MAX_PROGRESSION_CHORDS} roman numerals, got "
                                 f"{str(self.progression)[:120]}")
        for numeral in self.progression:
            parse_numeral(numeral)
        if self.theme not in THEMES:
            raise ParameterError(f"theme must be one of {sorted(THEMES)}, got {self.theme!r}")

    @property
    def tonic_midi(self) -> int:
        """The tonic from G3 to F#4 (MIDI 55..66): the melody sits at and up to 16 semitones above it, about
        A3..D5 for most keys, a range most adults and children can sing."""
        pc = PITCH_CLASSES[self.key]
        return 60 + pc if pc <= 6 else 48 + pc

    @property
    def time_signature(self) -> str:
        return f"{self.beats_per_bar}/{self.beat_unit}"

    @property
    def compound(self) -> bool:
        """6/8: the beat is a dotted quarter, divided in three eighths."""
        return _is_compound(self.beats_per_bar, self.beat_unit)

    @property
    def slots_per_bar(self) -> int:
        return slots_per_bar_of(self.beats_per_bar, self.beat_unit)

    @property
    def bar_beats(self) -> float:
        """A bar's length in quarter notes (3.0 in 3/4 and in 6/8)."""
        return self.slots_per_bar / SLOTS_PER_BEAT

    @property
    def pulses_per_bar(self) -> int:
        """Felt beats in a bar: 2 in 6/8, else ``beats_per_bar``."""
        return self.beats_per_bar // 3 if self.compound else self.beats_per_bar

    @property
    def slots_per_chord(self) -> int:
        return self.slots_per_bar // self.chords_per_bar

    @property
    def quarter_bpm(self) -> float:
        """Quarter notes per minute (MIDI's and MusicXML's sound tempo): 1.5 x ``tempo_bpm`` in 6/8."""
        return self.tempo_bpm * 1.5 if self.compound else float(self.tempo_bpm)


def parse_numeral(numeral: object) -> tuple[int, str]:
    """A roman-numeral chord as (scale degree 0..6, quality "major" / "minor" / "diminished").

    >>> parse_numeral("vi"), parse_numeral("V"), parse_numeral("viio")
    ((5, 'minor'), (4, 'major'), (6, 'diminished'))
    """
    if not isinstance(numeral, str):
        raise ParameterError(f"progression chords must be roman numerals such as 'IV' or 'vi', got {numeral!r}")
    core = numeral.rstrip("o°")
    diminished = core != numeral
    if core.upper() not in _NUMERALS or core not in (core.upper(), core.lower()):
        raise ParameterError(f"progression chords must be roman numerals such as 'IV' or 'vi', got {numeral!r}")
    quality = "diminished" if diminished else ("major" if core.isupper() else "minor")
    return _NUMERALS.index(core.upper()), quality


def chord_pitch_classes(numeral: str, *, key: str, mode: str) -> tuple[int, int, int]:
    """Root, third and fifth (pitch classes 0..11) of a roman-numeral chord in ``key`` and ``mode``."""
    degree, quality = parse_numeral(numeral)
    root = (PITCH_CLASSES[key] + MODES[mode][degree]) % 12
    third, fifth = {"major": (4, 7), "minor": (3, 7), "diminished": (3, 6)}[quality]
    return root, (root + third) % 12, (root + fifth) % 12


_NAMES_SHARP = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_NAMES_FLAT = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_FLAT_KEYS = {"F", "Bb", "Eb", "Ab", "Db", "Gb"}
_FLAT_MINOR_KEYS = {"D", "G", "C", "F", "Bb", "Eb"}


def uses_flats(key: str, mode: str) -> bool:
    return key in (_FLAT_KEYS if mode == "major" else _FLAT_MINOR_KEYS) or "b" in key


def chord_name(numeral: str, *, key: str, mode: str) -> str:
    """A chord symbol for the lead sheet, e.g. ``"Am"`` for vi in C major."""
    root, _, _ = chord_pitch_classes(numeral, key=key, mode=mode)
    _, quality = parse_numeral(numeral)
    names = _NAMES_FLAT if uses_flats(key, mode) else _NAMES_SHARP
    return names[root] + {"major": "", "minor": "m", "diminished": "dim"}[quality]


_CHORD_SYMBOL = re.compile(r"([A-G])([#b]?)(m|dim|o|°)?")
_SYMBOL_QUALITY = {None: "major", "m": "minor", "dim": "diminished", "o": "diminished", "°": "diminished"}


def chord_numeral(token: object, *, key: str, mode: str) -> str:
    """A chord as a roman numeral of ``key``/``mode``: a chord symbol of the key ("Am", "F", "Bdim" in C
    major) becomes its numeral ("vi", "IV", "viio"); a roman numeral is returned as it is.

    >>> chord_numeral("Am", key="C", mode="major"), chord_numeral("Bb", key="F", mode="major")
    ('vi', 'IV')
    """
    if not isinstance(token, str):
        raise ParameterError(f"progression chords must be roman numerals or chord symbols, got {token!r}")
    match = _CHORD_SYMBOL.fullmatch(token)
    if match is None:
        parse_numeral(token)
        return token
    if match.group(1) + match.group(2) not in PITCH_CLASSES:  # Cb, E#, Fb, B#: spelled another way here
        raise ParameterError(f"progression chord {token!r} must be spelled with one of {sorted(PITCH_CLASSES)}")
    root = PITCH_CLASSES[match.group(1) + match.group(2)]
    interval = (root - PITCH_CLASSES[key]) % 12
    if interval not in MODES[mode]:
        in_key = " ".join(chord_name(n, key=key, mode=mode) for n in default_numerals(mode))
        raise ParameterError(f"progression chord {token!r} has no degree in {key} {mode}; use chords of the key "
                             f"({in_key}) or roman numerals")
    numeral = _NUMERALS[MODES[mode].index(interval)]
    quality = _SYMBOL_QUALITY[match.group(3)]
    return numeral if quality == "major" else numeral.lower() + ("o" if quality == "diminished" else "")


def default_numerals(mode: str) -> tuple[str, ...]:
    """The seven diatonic triads of ``mode`` as roman numerals (I ii iii IV V vi viio in major)."""
    if mode == "major":
        return ("I", "ii", "iii", "IV", "V", "vi", "viio")
    return ("i", "iio", "III", "iv", "v", "VI", "VII")


def parse_progression(text: object, *, key: str, mode: str, chords_per_bar: int = 1) -> tuple[tuple[str, ...], int]:
    """A chord progression typed by a person: roman numerals or chord symbols of the key, separated by
    spaces, commas or dashes; ``|`` between bars. Returns ``(numerals, chords_per_bar)``.

    Without ``|`` each bar takes ``chords_per_bar`` chords in turn. With ``|`` the bars say it: each bar
    holds 1, 2 or 4 chords, and a bar with fewer than the fullest bar holds each of its chords longer
    (``"C | Am F"`` is ``I I vi IV`` at two chords a bar).

    >>> parse_progression("C G | Am F", key="C", mode="major")
    (('I', 'V', 'vi', 'IV'), 2)
    >>> parse_progression("I | vi IV", key="C", mode="major")
    (('I', 'I', 'vi', 'IV'), 2)
    >>> parse_progression("I-V-vi-IV", key="G", mode="major", chords_per_bar=4)
    (('I', 'V', 'vi', 'IV'), 4)
    """
    if not isinstance(text, str) or len(text) > 400:
        raise ParameterError(f"progression must be text of at most 400 characters, got {str(text)[:40]!r}")
    bars = [[chord_numeral(t, key=key, mode=mode) for t in re.split(r"[\s,\-]+", bar) if t] for bar in text.split("|")]
    if "|" not in text:
        chords = tuple(bars[0])
    else:
        if any(len(bar) not in CHORDS_PER_BAR for bar in bars):
            raise ParameterError(f"progression bars (between '|') must hold 1, 2 or 4 chords each, got "
                                 f"{[len(b) for b in bars]} in {text[:80]!r}")
        chords_per_bar = max(len(bar) for bar in bars)
        chords = tuple(c for bar in bars for c in bar for _ in range(chords_per_bar // len(bar)))
    if not 1 <= len(chords) <= MAX_PROGRESSION_CHORDS:
        raise ParameterError(f"progression must be 1..{MAX_PROGRESSION_CHORDS} chords, got {len(chords)} in "
                             f"{text[:80]!r}")
    return chords, chords_per_bar


@dataclass(frozen=True)
class SongNote:
    """One sung note: pitch, place in beats from the song's start, and the syllable it carries."""

    pitch_midi: int
    onset_beats: float
    duration_beats: float
    lyric: str
    syllabic: str  # MusicXML's: "single", "begin", "middle" or "end" of a word
    stressed: bool
    strength: int  # metric weight of the onset: 3 downbeat, 2 mid-bar, 1 beat, 0 between beats
    line_index: int
    word_index: int


@dataclass(frozen=True)
class Song:
    """A song: the choices, its lines, and the notes (one per syllable), bars of ``spec.beats_per_bar``."""

    title: str
    spec: SongSpec
    lines: tuple[LyricLine, ...]
    notes: tuple[SongNote, ...]
    n_bars: int
    chords: tuple[str, ...] = field(default=())  # a roman numeral per chord: spec.chords_per_bar a bar
    source: str = ""  # where the melody comes from (a public-domain tune, or "composed")

    @property
    def duration_s(self) -> float:
        return self.n_bars * self.spec.bar_beats * 60.0 / self.spec.quarter_bpm

    @property
    def beat_s(self) -> float:
        """Seconds per quarter note (onsets and lengths are in quarter notes)."""
        return 60.0 / self.spec.quarter_bpm

    def chord_names(self) -> tuple[str, ...]:
        return tuple(chord_name(c, key=self.spec.key, mode=self.spec.mode) for c in self.chords)

    def chord_changes(self) -> tuple[ChordChange, ...]:
        """Each bar's chords as struck: one at every bar start, and one within a bar wherever the chord
        changes (two equal chords in a row within a bar are one held chord)."""
        per_bar = self.spec.chords_per_bar
        span_beats = self.spec.bar_beats / per_bar
        out: list[ChordChange] = []
        for i, numeral in enumerate(self.chords):
            if i % per_bar and numeral == self.chords[i - 1]:
                last = out[-1]
                out[-1] = ChordChange(last.onset_beats, last.duration_beats + span_beats, last.numeral)
            else:
                out.append(ChordChange(i * span_beats, span_beats, numeral))
        return tuple(out)


@dataclass(frozen=True)
class ChordChange:
    """A chord as struck: its onset and length in quarter notes, and its roman numeral."""

    onset_beats: float
    duration_beats: float
    numeral: str


def slot_strength(slot: int, *, beats_per_bar: int, beat_unit: int = 4) -> int:
    """Metric weight of an eighth-note slot counted from a downbeat (see the module doc).

    >>> [slot_strength(s, beats_per_bar=4) for s in range(8)]
    [3, 0, 1, 0, 2, 0, 1, 0]
    >>> [slot_strength(s, beats_per_bar=6, beat_unit=8) for s in range(6)]
    [3, 0, 0, 2, 0, 0]
    """
    in_bar = slot % slots_per_bar_of(beats_per_bar, beat_unit)
    if in_bar == 0:
        return 3
    if _is_compound(beats_per_bar, beat_unit):
        return 0 if in_bar % 3 else 2
    if in_bar % SLOTS_PER_BEAT:
        return 0
    return 2 if beats_per_bar == 4 and in_bar == 2 * SLOTS_PER_BEAT else 1


def _syllable_cost(stressed: bool, strength: int) -> float:
    if stressed:
        return {3: 0.0, 2: 0.2, 1: 0.6, 0: _BIG}[strength]
    return {3: 3.0, 2: 0.6, 1: 0.0, 0: 0.1}[strength]


def _word_stress_cost(syllables: Sequence[Syllable], i: int, slot_i: int, j: int, slot_j: int,
                      strengths: Sequence[int]) -> float:
    """Cost of two syllables of one word whose stress order the metre inverts."""
    si, sj = syllables[i], syllables[j]
    if si.word_index != sj.word_index or si.stressed == sj.stressed:
        return 0.0
    weak, strong = (slot_i, slot_j) if sj.stressed else (slot_j, slot_i)
    return _BIG if strengths[weak] > strengths[strong] else 0.0


def place_syllables(syllables: Sequence[Syllable], *, beats_per_bar: int, n_bars: int,
                    beat_unit: int = 4) -> tuple[list[int], float]:
    """Slots (eighth notes from the line's first downbeat) for each syllable, and the total cost
    (>= 1000 when some mismatch could not be avoided in ``n_bars`` bars)."""
    slots_per_bar = slots_per_bar_of(beats_per_bar, beat_unit)
    n, n_slots = len(syllables), n_bars * slots_per_bar
    strengths = [slot_strength(s, beats_per_bar=beats_per_bar, beat_unit=beat_unit) for s in range(n_slots)]
    if n == 0:
        return [], 0.0
    if n > n_slots:
        return [], math.inf
    target_gap = min(4.0, max(1.0, (n_slots - 2) / n))
    # cost[i][s]: best cost with syllable i at slot s; the last syllable leaves room for a held note
    inf = math.inf
    cost = [[inf] * n_slots for _ in range(n)]
    back = [[-1] * n_slots for _ in range(n)]
    for s in range(min(n_slots, MAX_GAP_SLOTS)):
        cost[0][s] = _syllable_cost(syllables[0].stressed, strengths[s]) + 0.3 * s
    for i in range(1, n):
        stressed = syllables[i].stressed
        for s in range(i, n_slots):
            here = _syllable_cost(stressed, strengths[s])
            best, arg = inf, -1
            for p in range(max(0, s - MAX_GAP_SLOTS), s):
                if cost[i - 1][p] == inf:
                    continue
                c = cost[i - 1][p] + 0.25 * abs((s - p) - target_gap) \
                    + _word_stress_cost(syllables, i - 1, p, i, s, strengths)
                if c < best:
                    best, arg = c, p
            if arg >= 0:
                cost[i][s], back[i][s] = best + here, arg
    # the line should end by the last bar's second half, so its last note can be held
    end_pen = [0.0 if s >= n_slots - slots_per_bar else 0.5 for s in range(n_slots)]
    last = min(range(n_slots), key=lambda s: cost[n - 1][s] + end_pen[s] + (0.1 * (n_slots - 1 - s) / n_slots))
    total = cost[n - 1][last]
    if total == inf:
        return [], inf
    slots = [last]
    for i in range(n - 1, 0, -1):
        slots.append(back[i][slots[-1]])
    # word-stress inversion across non-neighbouring syllables of one word (3+ syllable words)
    slots.reverse()
    for i in range(n):
        for j in range(i + 2, n):
            total += _word_stress_cost(syllables, i, slots[i], j, slots[j], strengths)
    return slots, total


def fit_line(line: LyricLine, *, beats_per_bar: int, beat_unit: int = 4) -> tuple[list[int], int]:
    """Slots for a line's syllables and the bars it takes: the fewest bars from 2 with no mismatch,
    else the cheapest within :data:`MAX_LINE_BEATS` quarter notes."""
    slots_per_bar = slots_per_bar_of(beats_per_bar, beat_unit)
    if not line.syllables:
        return [], 1
    first = max(2, math.ceil(line.n_syllables / (slots_per_bar * 0.75)))
    best: tuple[float, list[int], int] | None = None
    max_bars = MAX_LINE_BEATS * SLOTS_PER_BEAT // slots_per_bar
    for bars in range(min(first, max_bars), max_bars + 1):
        slots, total = place_syllables(line.syllables, beats_per_bar=beats_per_bar, n_bars=bars, beat_unit=beat_unit)
        if total < _BIG:
            return slots, bars
        if slots and (best is None or total < best[0]):
            best = (total, slots, bars)
    if best is None:
        raise ParameterError(f"line {line.text[:40]!r} has {line.n_syllables} syllables, too many for "
                             f"{max_bars} bars of {beats_per_bar}/{beat_unit}; split it into shorter lines")
    return best[1], best[2]


def _note_length(available_slots: int, *, compound: bool = False) -> int:
    """The longest plain note that fits; in 6/8 no half or whole note (they would hide the second beat)."""
    return max(v for v in NOTE_LENGTHS_SLOTS if v <= available_slots and not (compound and v in (4, 8)))


def syllabic_position(syllables: Sequence[Syllable], i: int) -> str:
    """Syllable ``i``'s place in its word, as MusicXML's ``<syllabic>``: single, begin, middle or end."""
    same_before = i > 0 and syllables[i - 1].word_index == syllables[i].word_index
    same_after = i + 1 < len(syllables) and syllables[i + 1].word_index == syllables[i].word_index
    return {(False, False): "single", (False, True): "begin", (True, True): "middle", (True, False): "end"}[
        (same_before, same_after)]


def _scale_pitches(spec: SongSpec) -> list[int]:
    tonic = spec.tonic_midi
    return [tonic + 12 * o + d for o in (-1, 0, 1) for d in MODES[spec.mode]]


def _pick_pitch(previous: int, candidates: list[int], *, low: int, high: int, direction: int) -> int:
    usable = [p for p in candidates if low <= p <= high] or candidates
    return min(usable, key=lambda p: (abs(p - previous) + (0.5 if (p - previous) * direction < 0 else 0.0), p))


def assign_pitches(slots_by_line: Sequence[tuple[int, tuple[Sequence[int], Sequence[Syllable]]]], *, spec: SongSpec,
                   chords: Sequence[str]) -> list[list[int]]:
    """A pitch per syllable: chord tones on beats, scale steps between, lines end on chord tones and the
    song on the tonic; range tonic-1 .. tonic+16 semitones."""
    tonic = spec.tonic_midi
    low, high = tonic - 1, tonic + 16
    scale = _scale_pitches(spec)
    pitches: list[list[int]] = []
    previous = tonic + 4
    for li, (first_bar, line_slots) in enumerate(slots_by_line):
        slots, syllables = line_slots
        direction = 1 if li % 2 == 0 else -1
        line_pitches: list[int] = []
        for k, slot in enumerate(slots):
            span = (first_bar * spec.slots_per_bar + slot) // spec.slots_per_chord
            pcs = chord_pitch_classes(chords[span], key=spec.key, mode=spec.mode)
            chord_tones = [p for p in range(low - 12, high + 12) if p % 12 in pcs]
            strength = slot_strength(slot, beats_per_bar=spec.beats_per_bar, beat_unit=spec.beat_unit)
            half = k < len(slots) / 2
            d = direction if half else -direction
            if k == len(slots) - 1 and li == len(slots_by_line) - 1:
                pitch = _pick_pitch(previous, [tonic, tonic + 12], low=low, high=high, direction=-1)
            elif strength >= 1 or k == len(slots) - 1:
                pitch = _pick_pitch(previous, [p for p in chord_tones if p != previous] or chord_tones,
                                    low=low, high=high, direction=d)
            else:
                pitch = _pick_pitch(previous, [p for p in scale if 0 < abs(p - previous) <= 2] or scale,
                                    low=low, high=high, direction=d)
            line_pitches.append(pitch)
            previous = pitch
        pitches.append(line_pitches)
    return pitches


def compose_song(lines: Sequence[str], *, spec: SongSpec, lexicon: Lexicon, title: str = "") -> Song:
    """A new song on the client's lyric lines: each line fitted to the metre, chords from the
    progression (``spec.chords_per_bar`` a bar), a melody carrying one syllable per note.

    Empty lines are skipped. No lines gives an empty song (no notes, no bars).
    """
    if isinstance(lines, str) or not isinstance(lines, Sequence):
        raise ParameterError(f"lines must be a list of lyric lines, got {type(lines).__name__} {lines!r}")
    if len(lines) > MAX_LINES:
        raise ParameterError(f"lines must be at most {MAX_LINES} lyric lines, got {len(lines)}")
    if not isinstance(spec, SongSpec):
        raise ParameterError(f"spec must be a SongSpec, got {type(spec).__name__}")
    parsed = [syllabify_line(text, lexicon=lexicon, name=f"line {i + 1}") for i, text in enumerate(lines)]
    parsed = [line for line in parsed if line.syllables]
    slots_per_bar = spec.slots_per_bar
    layout: list[tuple[int, tuple[list[int], Sequence[Syllable]]]] = []
    bars_of_line: list[int] = []
    bar = 0
    for line in parsed:
        slots, n_bars = fit_line(line, beats_per_bar=spec.beats_per_bar, beat_unit=spec.beat_unit)
        layout.append((bar, (slots, line.syllables)))
        bars_of_line.append(n_bars)
        bar += n_bars
    n_bars = bar
    n_chords = n_bars * spec.chords_per_bar
    chords = tuple(spec.progression[i % len(spec.progression)] for i in range(n_chords))
    if layout:  # end on the tonic chord, from the chord under the last note on
        last_first_bar, (last_slots, _) = layout[-1]
        final = (last_first_bar * slots_per_bar + last_slots[-1]) // spec.slots_per_chord
        chords = chords[:final] + ("I" if spec.mode == "major" else "i",) * (n_chords - final)
    pitches = assign_pitches(layout, spec=spec, chords=chords)
    notes: list[SongNote] = []
    for li, ((first_bar, (slots, syllables)), n_line_bars) in enumerate(zip(layout, bars_of_line)):
        line_end = n_line_bars * slots_per_bar
        for k, slot in enumerate(slots):
            nxt = slots[k + 1] if k + 1 < len(slots) else line_end
            bar_end = (slot // slots_per_bar + 1) * slots_per_bar
            length = _note_length(min(nxt, bar_end) - slot, compound=spec.compound)
            s = syllables[k]
            notes.append(SongNote(
                pitch_midi=pitches[li][k], onset_beats=(first_bar * slots_per_bar + slot) / SLOTS_PER_BEAT,
                duration_beats=length / SLOTS_PER_BEAT, lyric=s.text, syllabic=syllabic_position(syllables, k),
                stressed=s.stressed, strength=slot_strength(slot, beats_per_bar=spec.beats_per_bar,
                                                            beat_unit=spec.beat_unit),
                line_index=li, word_index=s.word_index))
    return Song(title=title.strip() or "Untitled song", spec=spec, lines=tuple(parsed), notes=tuple(notes),
                n_bars=n_bars, chords=chords, source="composed")


@dataclass(frozen=True)
class FitProblem:
    """One syllable-to-note mismatch (see the module doc for the kinds)."""

    kind: str
    line_index: int
    message: str


def check_fit(song: Song) -> tuple[FitProblem, ...]:
    """The song's syllable-to-note mismatches; an empty tuple when every syllable has its note, no stressed
    syllable falls between beats and no word is sung against its stress."""
    problems: list[FitProblem] = []
    for li, line in enumerate(song.lines):
        notes = [n for n in song.notes if n.line_index == li]
        if len(notes) != line.n_syllables:
            problems.append(FitProblem("count", li, f"line {li + 1} has {line.n_syllables} syllables but "
                                                    f"{len(notes)} notes"))
            continue
        for note, syllable in zip(notes, line.syllables):
            if syllable.stressed and note.strength == 0:
                problems.append(FitProblem("offbeat", li, f"line {li + 1}: stressed {syllable.text!r} "
                                                          f"({syllable.word}) falls between beats"))
        by_word: dict[int, list[tuple[Syllable, SongNote]]] = {}
        for note, syllable in zip(notes, line.syllables):
            by_word.setdefault(syllable.word_index, []).append((syllable, note))
        for pairs in by_word.values():
            stressed = [n.strength for s, n in pairs if s.stressed]
            unstressed = [n.strength for s, n in pairs if not s.stressed]
            if stressed and unstressed and max(unstressed) > min(stressed):
                problems.append(FitProblem("word_stress", li, f"line {li + 1}: {pairs[0][0].word!r} is sung "
                                                              "against its stress"))
    stray = [n for n in song.notes if n.line_index >= len(song.lines)]
    if stray:
        problems.append(FitProblem("count", len(song.lines), f"{len(stray)} notes carry no syllable of any line"))
    return tuple(problems)
