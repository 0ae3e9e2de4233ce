"""Two-pitch melodies for Melodic Intonation Therapy: one note per syllable, stressed syllables high.

MIT intones a phrase on "a small range of pitches, often just two, usually separated by a minor or
major third" (Conklyn et al. 2012), with stressed syllables on the higher pitch (Norton et al. 2009),
slowed to about one syllable per second at the first level, and faster toward the rhythm of speech
(Sprechgesang) at the last level.

The syllable durations of levels II and III below are a convention of this project, not a published
figure: the protocol only says the rate moves toward natural speech.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.mit.syllables import Phrase, Syllable

A4_HZ = 440.0
MINOR_THIRD_SEMITONES = 3.0
# Low note of the pair per voice: near the speaking pitch of the voice, where intoning is comfortable
# (typical speaking F0 is about 110 Hz for men and 200 Hz for women).
VOICE_LOW_NOTE_MIDI = {"male": 45, "female": 55}  # A2 (110 Hz), G3 (196 Hz)
# Syllable duration (stressed, unstressed) in seconds per level and style.
LEVEL_SYLLABLE_S = {1: (1.0, 1.0), 2: (0.8, 0.8), 3: (0.8, 0.8)}
SPRECHGESANG_SYLLABLE_S = (0.45, 0.3)
DEFAULT_LEAD_IN_S = 0.5
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def midi_to_hz(midi_pitch: float) -> float:
    """Frequency of a MIDI pitch number (69 = A4 = 440 Hz).

    >>> midi_to_hz(57)
    220.0
    """
    return float(A4_HZ * 2.0 ** ((midi_pitch - 69.0) / 12.0))


def hz_to_midi(frequency_hz: float) -> float:
    """MIDI pitch number of a frequency (fractional between semitones).

    >>> hz_to_midi(220.0)
    57.0
    """
    return float(69.0 + 12.0 * math.log2(frequency_hz / A4_HZ))


def note_name(midi_pitch: float) -> str:
    """Name of the nearest equal-tempered note, e.g. ``"A2"`` for 45.

    >>> note_name(48)
    'C3'
    """
    n = int(round(midi_pitch))
    return f"{NOTE_NAMES[n % 12]}{n // 12 - 1}"


@dataclass(frozen=True)
class Note:
    """One intoned syllable: pitch, onset on the tapping grid, and duration until the next onset."""

    syllable: Syllable
    midi_pitch: float
    onset_s: float
    duration_s: float
    high: bool

    @property
    def pitch_hz(self) -> float:
        return midi_to_hz(self.midi_pitch)


@dataclass(frozen=True)
class Melody:
    """A phrase set to two pitches. ``onset_times_s`` are the syllable onsets, where the therapist taps."""

    phrase: Phrase
    notes: tuple[Note, ...]
    level: int
    sprechgesang: bool
    low_midi: float
    high_midi: float
    lead_in_s: float

    @property
    def onset_times_s(self) -> np.ndarray:
        return np.array([n.onset_s for n in self.notes], dtype=float)

    @property
    def durations_s(self) -> np.ndarray:
        return np.array([n.duration_s for n in self.notes], dtype=float)

    @property
    def pitches_hz(self) -> np.ndarray:
        return np.array([n.pitch_hz for n in self.notes], dtype=float)

    @property
    def duration_s(self) -> float:
        """Length of the phrase from time 0 to the end of the last note."""
        if not self.notes:
            return 0.0
        return self.notes[-1].onset_s + self.notes[-1].duration_s

    def to_text(self) -> str:
        """A readable score: the pitch line, syllables under it, and the tap on each syllable."""
        if not self.notes:
            return f"{self.phrase.text!r}: no syllables"
        cells = [n.syllable.display_text for n in self.notes]
        width = max(4, *(len(c) for c in cells)) + 1
        hi = "".join(("—" * (width - 1) + " ") if n.high else " " * width for n in self.notes)
        lo = "".join(" " * width if n.high else ("—" * (width - 1) + " ") for n in self.notes)
        syl = "".join(c.ljust(width) for c in cells)
        tap = "".join("tap".ljust(width) for _ in self.notes)
        style = "Sprechgesang" if self.sprechgesang else "intoned"
        lines = [
            f"{self.phrase.text}  (level {self.level}, {style}, {len(self.notes)} syllables, "
            f"{self.duration_s - self.lead_in_s:.1f} s)",
            f"{note_name(self.high_midi):>4} {hi}",
            f"{note_name(self.low_midi):>4} {lo}",
            f"{'':>4} {syl}",
            f"{'':>4} {tap}",
        ]
        lines.extend(f"note: {n}" for n in self.phrase.notes)
        return "\n".join(line.rstrip() for line in lines)


def compose_melody(
    phrase: Phrase,
    *,
    level: int = 1,
    voice: str = "male",
    low_midi: float | None = None,
    interval_semitones: float = MINOR_THIRD_SEMITONES,
    syllable_s: float | None = None,
    sprechgesang: bool = False,
    lead_in_s: float = DEFAULT_LEAD_IN_S,
) -> Melody:
    """Set a syllabified phrase to the two-pitch MIT melody.

    Stressed syllables get ``low_midi + interval_semitones``, unstressed ones ``low_midi``. Each
    syllable lasts ``syllable_s`` (default: 1.0 s at level 1, 0.8 s at levels 2 and 3); with
    ``sprechgesang=True`` stressed syllables last 0.45 s and unstressed 0.3 s, toward speech rhythm.

    >>> from cadenza.mit.syllables import Lexicon, syllabify_phrase
    >>> lex = Lexicon({"i": (("AY1",),), "need": (("N", "IY1", "D"),), "help": (("HH", "EH1", "L", "P"),)})
    >>> m = compose_melody(syllabify_phrase("I need help", lexicon=lex), voice="male")
    >>> [round(float(f), 1) for f in m.pitches_hz], m.onset_times_s.tolist()
    ([110.0, 130.8, 130.8], [0.5, 1.5, 2.5])
    """
    if level not in LEVEL_SYLLABLE_S:
        raise ParameterError(f"level must be 1, 2 or 3 (MIT levels I-III), got {level!r}")
    if voice not in VOICE_LOW_NOTE_MIDI:
        raise ParameterError(f"voice must be one of {sorted(VOICE_LOW_NOTE_MIDI)}, got {voice!r}")
    if low_midi is None:
        low_midi = VOICE_LOW_NOTE_MIDI[voice]
    if not np.isfinite(low_midi) or not 28 <= low_midi <= 84:
        raise ParameterError(
            f"low_midi must be a MIDI pitch between 28 (E1) and 84 (C6), got {low_midi!r} "
            "(pass a MIDI note number, not a frequency in Hz)"
        )
    if not np.isfinite(interval_semitones) or not 1 <= interval_semitones <= 7:
        raise ParameterError(
            f"interval_semitones must be between 1 and 7 (MIT uses a minor or major third, 3 or 4), "
            f"got {interval_semitones!r}"
        )
    if syllable_s is not None and (not np.isfinite(syllable_s) or not 0.2 <= syllable_s <= 3.0):
        raise ParameterError(f"syllable_s must be between 0.2 and 3.0 seconds, got {syllable_s!r}")
    if not np.isfinite(lead_in_s) or not 0 <= lead_in_s <= 10:
        raise ParameterError(f"lead_in_s must be between 0 and 10 seconds, got {lead_in_s!r}")
    if sprechgesang:
        stressed_s, unstressed_s = SPRECHGESANG_SYLLABLE_S
    else:
        stressed_s, unstressed_s = LEVEL_SYLLABLE_S[level]
    if syllable_s is not None:
        scale = syllable_s / stressed_s
        stressed_s, unstressed_s = stressed_s * scale, unstressed_s * scale
    high_midi = low_midi + interval_semitones
    notes = []
    t = lead_in_s
    for syl in phrase.syllables:
        dur = stressed_s if syl.stressed else unstressed_s
        notes.append(Note(syllable=syl, midi_pitch=high_midi if syl.stressed else low_midi, onset_s=t,
                          duration_s=dur, high=syl.stressed))
        t += dur
    return Melody(phrase=phrase, notes=tuple(notes), level=level, sprechgesang=sprechgesang,
                  low_midi=float(low_midi), high_midi=float(high_midi), lead_in_s=float(lead_in_s))
