"""The songwriting workflow both faces call: make a song from lines and choices (composed, or on a
public-domain tune), show its fit, save and restore versions, export it (MIDI, MusicXML, WAV).

The pronouncing dictionary and the rhyme index are loaded once per process (about 2 s together).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from cadenza.clinic.models import Client, Therapist
from cadenza.errors import ParameterError
from cadenza.songwriting.lyrics import build_rhyme_index, find_near_rhymes, find_rhymes
from cadenza.songwriting.scaffolds import get_tune, tune_song
from cadenza.songwriting.song import (
    CHORDS_PER_BAR, METERS, MODES, PITCH_CLASSES, PROGRESSIONS, THEMES, FitProblem, Song, SongSpec, check_fit,
    compose_song, parse_meter, parse_progression,
)
from cadenza.tools.songs import records

SAMPLING_RATE_HZ = 22_050
MELODY_AMPLITUDE = 0.25
CHORD_AMPLITUDE = 0.06  # the chords softly under the melody, struck on each beat
OFFBEAT_CHORD_GAIN = 0.55  # beats after the downbeat are struck softer, so the metre is heard
PEAK_LIMIT = 0.5  # the take-home audio peaks at most at -6 dBFS; the listener's device sets the level
EVIDENCE_INTERVENTION = "songwriting"
EXPORTS = {"mid": "audio/midi", "musicxml": "application/vnd.recordare.musicxml+xml", "wav": "audio/wav",
           "sung.wav": "audio/wav"}
VOICE_AMPLITUDE = 0.45
SUNG_OCTAVE_DOWN = {"male": 12, "female": 0}  # the MIT voice sings the written line an octave lower when male


@lru_cache(maxsize=1)
def lexicon():
    from cadenza.io.speech import load_lexicon

    return load_lexicon()


@lru_cache(maxsize=1)
def rhyme_index():
    """The rhyme index, common words first: by wordfreq's list when the ``words`` extra is installed,
    else by the dictionary's word families (``rhyme_index().ranked_by`` says which)."""
    from cadenza.io.word_frequency import load_word_frequencies

    lex = lexicon()
    frequencies = load_word_frequencies(lex.pronunciations)
    if frequencies is None:
        return build_rhyme_index(lex)
    return build_rhyme_index(lex, frequency=frequencies.zipf, frequency_source=frequencies.source)


def spec_from_values(values: dict[str, Any]) -> SongSpec:
    """The client's choices from text values (a form or the command line); each bad one named."""
    def number(name: str, default: float) -> float:
        text = str(values.get(name, "") or "").strip()
        if not text:
            return default
        try:
            return float(text)
        except ValueError:
            raise ParameterError(f"{name} must be a number, got {text[:20]!r}") from None

    mode = str(values.get("mode") or "major")
    key = str(values.get("key") or "C")
    # the metre as "6/8" ("meter"), or the older beats of a quarter note ("beats_per_bar": "3" is 3/4)
    beats_per_bar, beat_unit = parse_meter(str(values.get("meter") or values.get("beats_per_bar") or "4/4"))
    per_bar_text = str(values.get("chords_per_bar") or "1").strip()
    if per_bar_text not in {str(n) for n in CHORDS_PER_BAR}:
        raise ParameterError(f"chords_per_bar must be one of {CHORDS_PER_BAR}, got {per_bar_text[:20]!r}")
    progression_text = str(values.get("progression") or "").strip()
    if progression_text:
        if key not in PITCH_CLASSES or mode not in MODES:  # named by SongSpec below, before chords are read
            SongSpec(key=key, mode=mode)
        progression, chords_per_bar = parse_progression(progression_text, key=key, mode=mode,
                                                         chords_per_bar=int(per_bar_text))
    else:
        progression, chords_per_bar = PROGRESSIONS.get(mode, PROGRESSIONS["major"])[0], int(per_bar_text)
    return SongSpec(key=key, mode=mode, tempo_bpm=number("tempo_bpm", 90.0), beats_per_bar=beats_per_bar,
                    beat_unit=beat_unit, progression=progression, theme=str(values.get("theme") or "free"),
                    chords_per_bar=chords_per_bar)


def spec_dict(spec: SongSpec) -> dict[str, Any]:
    """The choices as stored with a version (``beat_unit`` and ``chords_per_bar`` since 6/8 and several
    chords a bar; a version saved before has neither, and is 4/4-style x/4 with one chord a bar)."""
    return {"key": spec.key, "mode": spec.mode, "tempo_bpm": float(spec.tempo_bpm),
            "beats_per_bar": spec.beats_per_bar, "progression": list(spec.progression), "theme": spec.theme,
            "beat_unit": spec.beat_unit, "chords_per_bar": spec.chords_per_bar}


def spec_of_dict(spec: dict[str, Any]) -> SongSpec:
    """The choices of a stored version (see :func:`spec_dict`)."""
    return SongSpec(key=spec["key"], mode=spec["mode"], tempo_bpm=spec["tempo_bpm"],
                    beats_per_bar=spec["beats_per_bar"], progression=tuple(spec["progression"]), theme=spec["theme"],
                    beat_unit=spec.get("beat_unit", 4), chords_per_bar=spec.get("chords_per_bar", 1))


def make_song(lines: list[str], *, spec: SongSpec, tune: str | None = None, title: str = "") -> Song:
    """A composed song on the client's choices, or, with ``tune``, the lines sung to that public-domain
    tune (each line keeping its syllable count)."""
    if tune:
        return tune_song(get_tune(tune), lexicon=lexicon(), lines=list(lines) or None, title=title, theme=spec.theme)
    return compose_song(lines, spec=spec, lexicon=lexicon(), title=title)


def song_of_version(version: records.SongVersion) -> Song:
    return make_song(version.lines, spec=spec_of_dict(version.spec), tune=version.tune, title=version.title)


@dataclass(frozen=True)
class LineFit:
    """One line as the page and the command show it."""

    text: str
    display: str  # syllables, stressed ones in capitals: "TWIN-kle TWIN-kle"
    n_syllables: int
    stress_pattern: str
    problems: tuple[str, ...]
    guessed_words: tuple[str, ...]


def line_fits(song: Song) -> list[LineFit]:
    problems = check_fit(song)
    out = []
    for li, line in enumerate(song.lines):
        words: dict[int, list[str]] = {}
        for s in line.syllables:
            words.setdefault(s.word_index, []).append(s.display_text)
        out.append(LineFit(text=line.text, display=" ".join("-".join(w) for w in words.values()),
                           n_syllables=line.n_syllables, stress_pattern=line.stress_pattern,
                           problems=tuple(p.message for p in problems if p.line_index == li),
                           guessed_words=line.guessed_words))
    return out


def chord_chart(song: Song) -> str:
    """The chords bar by bar as struck, e.g. ``"C G | Am F | C"`` (a chord held through its bar once)."""
    from cadenza.songwriting.song import chord_name

    bars: list[list[str]] = [[] for _ in range(song.n_bars)]
    for change in song.chord_changes():
        bar = int(change.onset_beats // song.spec.bar_beats + 1e-9)
        if 0 <= bar < len(bars):
            bars[bar].append(chord_name(change.numeral, key=song.spec.key, mode=song.spec.mode))
    return " | ".join(" ".join(b) for b in bars)


def fit_problems(song: Song) -> tuple[FitProblem, ...]:
    return check_fit(song)


def rhymes_for(word: str, *, max_words: int = 40) -> tuple[str, ...]:
    """Perfect rhymes, the most common words first."""
    return find_rhymes(word, index=rhyme_index(), lexicon=lexicon(), max_words=max_words)


def near_rhymes_for(word: str, *, max_words: int = 20) -> tuple[str, ...]:
    """Near rhymes (the same vowels, other consonants), the most common words first."""
    return find_near_rhymes(word, index=rhyme_index(), lexicon=lexicon(), max_words=max_words)


def save_song(db: Session, *, actor: Therapist, client: Client, song: Song, lines: list[str], tune: str | None,
              song_key: str | None = None) -> records.SongVersion:
    """Save the song as a new version (the lines as typed, so the client's punctuation is kept)."""
    return records.save_version(db, actor=actor, client=client, title=song.title, lines=lines,
                                spec=spec_dict(song.spec), tune=tune or None, song_key=song_key)


def render_audio(song: Song, *, sampling_rate_hz: int = SAMPLING_RATE_HZ, melody: bool = True) -> np.ndarray:
    """The melody (a soft sung-vowel-like tone; left out with ``melody=False``) over the chords, as mono
    float32 peaking at -6 dBFS at most. The chords follow the metre: each chord is struck on every beat it
    spans (a dotted quarter in 6/8), the downbeat loudest."""
    from cadenza.render.synth import render_notes
    from cadenza.songwriting.notation import chord_voicing

    if not song.notes:
        return np.zeros(0, dtype=np.float32)
    beat_s = song.beat_s
    tune = render_notes(np.array([n.pitch_midi for n in song.notes], dtype=float),
                          onset_times_s=np.array([n.onset_beats for n in song.notes]) * beat_s,
                          durations_s=np.array([n.duration_beats for n in song.notes]) * beat_s,
                          sampling_rate_hz=sampling_rate_hz, amplitudes=np.full(len(song.notes), MELODY_AMPLITUDE),
                          attack_s=0.03, release_s=0.15, vibrato_cents=15.0) if melody else np.zeros(0)
    pulse_beats = song.spec.bar_beats / song.spec.pulses_per_bar  # quarter notes per felt beat
    pitches, onsets, gains = [], [], []
    for change in song.chord_changes():
        n_pulses = int(round(change.duration_beats / pulse_beats))
        for k in range(n_pulses):
            at_beats = change.onset_beats + k * pulse_beats
            downbeat = abs(at_beats / song.spec.bar_beats - round(at_beats / song.spec.bar_beats)) < 1e-9
            for p in chord_voicing(change.numeral, song):
                pitches.append(p)
                onsets.append(at_beats * beat_s)
                gains.append(CHORD_AMPLITUDE * (1.0 if downbeat else OFFBEAT_CHORD_GAIN))
    chords = render_notes(np.array(pitches, dtype=float), onset_times_s=np.array(onsets),
                          durations_s=np.full(len(pitches), pulse_beats * beat_s * 0.95),
                          sampling_rate_hz=sampling_rate_hz, amplitudes=np.array(gains), attack_s=0.02,
                          release_s=0.3)
    n = max(len(tune), len(chords))
    mix = np.zeros(n, dtype=np.float32)
    mix[:len(tune)] += tune
    mix[:len(chords)] += chords
    peak = float(np.max(np.abs(mix))) if n else 0.0
    if peak > PEAK_LIMIT:
        mix *= PEAK_LIMIT / peak
    return mix


def render_sung(song: Song, *, voice: str = "male") -> tuple[np.ndarray, int]:
    """The MIT voice (espeak-ng's words, re-pitched and re-timed by :func:`cadenza.render.voice.render_intoned`)
    singing each line on its notes, over the chords: ``(samples, sampling_rate_hz)``. Needs espeak-ng."""
    from cadenza.io.speech import ESPEAK_VOICES, analyse_words, synthesize_words
    from cadenza.mit.syllables import syllabify_phrase
    from cadenza.render.voice import render_intoned
    from cadenza.render.synth import midi_to_hz

    if voice not in ESPEAK_VOICES:
        raise ParameterError(f"voice must be one of {sorted(ESPEAK_VOICES)}, got {voice!r}")
    beat_s = song.beat_s
    pieces: list[tuple[float, np.ndarray]] = []
    rate = SAMPLING_RATE_HZ
    for li, line in enumerate(song.lines):
        notes = [n for n in song.notes if n.line_index == li]
        if not notes:
            continue
        phrase = syllabify_phrase(line.text, lexicon=lexicon())
        spoken = synthesize_words(line.text, voice=voice)
        rate = spoken.sampling_rate_hz
        start_s = notes[0].onset_beats * beat_s
        onsets = np.array([n.onset_beats * beat_s - start_s for n in notes])
        y = render_intoned(analyse_words(spoken, phrase), sampling_rate_hz=rate, onset_times_s=onsets,
                           durations_s=np.array([n.duration_beats * beat_s for n in notes]),
                           pitches_hz=np.asarray(midi_to_hz(np.array([n.pitch_midi - SUNG_OCTAVE_DOWN.get(voice, 0)
                                                                      for n in notes], dtype=float))))
        pieces.append((start_s, y))
    chords = render_audio(song, sampling_rate_hz=rate, melody=False)
    n = max([len(chords)] + [int(start * rate) + len(y) for start, y in pieces])
    mix = np.zeros(n, dtype=np.float32)
    mix[:len(chords)] += chords
    for start, y in pieces:
        peak = float(np.max(np.abs(y))) if y.size else 0.0
        i = int(start * rate)
        mix[i:i + len(y)] += (y * (VOICE_AMPLITUDE / peak) if peak > 0 else y).astype(np.float32)
    peak = float(np.max(np.abs(mix))) if n else 0.0
    if peak > PEAK_LIMIT:
        mix *= PEAK_LIMIT / peak
    return mix, rate


def export_song(song: Song, fmt: str, *, voice: str = "male") -> tuple[bytes, str]:
    """The song as ``fmt``: "mid", "musicxml", "wav" (an instrumental melody over the chords) or "sung.wav"
    (the MIT voice singing the words, needs espeak-ng): the bytes and their media type."""
    from cadenza.songwriting.notation import midi_bytes, song_to_musicxml

    if fmt not in EXPORTS:
        raise ParameterError(f"format must be one of {sorted(EXPORTS)}, got {fmt!r}")
    if fmt == "mid":
        data = midi_bytes(song)
    elif fmt == "musicxml":
        data = song_to_musicxml(song).encode("utf-8")
    elif fmt == "wav":
        from cadenza.io.speech import encode_wav_bytes

        data = encode_wav_bytes(render_audio(song), sampling_rate_hz=SAMPLING_RATE_HZ)
    else:
        from cadenza.io.speech import encode_wav_bytes

        samples, rate = render_sung(song, voice=voice)
        data = encode_wav_bytes(samples, sampling_rate_hz=rate)
    return data, EXPORTS[fmt]


def file_stem(title: str) -> str:
    """A safe file name from a title: letters, digits and dashes."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:60]
    return stem or "song"


def choices() -> dict[str, Any]:
    """What the page offers: keys, modes, metres, progressions, themes with their prompts, tunes."""
    from cadenza.songwriting.scaffolds import TUNES, blank_lines

    return {"keys": list(PITCH_CLASSES), "modes": list(MODES), "meters": list(METERS),
            "chords_per_bar": list(CHORDS_PER_BAR),
            "progressions": {m: ["-".join(p) for p in ps] for m, ps in PROGRESSIONS.items()},
            "themes": THEMES, "tunes": {name: {"title": t.title, "credit": t.credit, "lines": [x.text for x in t.lines],
                                               "blanks": blank_lines(t)} for name, t in TUNES.items()}}


def evidence_note() -> tuple[str, str]:
    """The catalog's word on songwriting (name, evidence note): shown wherever the tool is offered."""
    from cadenza.evidence.query import get_intervention

    intervention = get_intervention(EVIDENCE_INTERVENTION)
    return intervention.name, intervention.evidence_note
