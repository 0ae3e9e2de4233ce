"""An MIT melody as a standard MIDI file: the intoned notes with their syllables as lyrics, and the
syllable taps on the General MIDI percussion channel. Building only; writing is in ``cadenza.io``."""

from __future__ import annotations

import mido

from cadenza.mit.melody import Melody

TICKS_PER_BEAT = 480
# One beat per second (60 BPM) so that ticks map to seconds directly.
TEMPO_US_PER_BEAT = 1_000_000
VOICE_PROGRAM = 52  # General MIDI "Choir Aahs" (0-based 52)
TAP_CHANNEL = 9  # General MIDI percussion
TAP_NOTE = 76  # Hi Wood Block
TAP_LENGTH_S = 0.05
NOTE_VELOCITY = 80
TAP_VELOCITY = 100


def _ticks(seconds: float) -> int:
    return int(round(seconds * TICKS_PER_BEAT * 1_000_000 / TEMPO_US_PER_BEAT))


def _track(events: list[tuple[int, int, mido.Message | mido.MetaMessage]], name: str) -> mido.MidiTrack:
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def melody_to_midi(melody: Melody, *, legato: float = 0.9) -> mido.MidiFile:
    """A type-1 MIDI file: a tempo track, the voice track (notes + lyric per syllable) and a tap track.

    >>> from cadenza.mit.syllables import Lexicon, syllabify_phrase
    >>> from cadenza.mit.melody import compose_melody
    >>> lex = Lexicon({"hello": (("HH", "AH0", "L", "OW1"),)})
    >>> mid = melody_to_midi(compose_melody(syllabify_phrase("hello", lexicon=lex)))
    >>> [m.note for m in mid.tracks[1] if m.type == "note_on"], round(mid.length, 2)
    ([45, 48], 2.5)
    """
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=TEMPO_US_PER_BEAT, time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=1, denominator=4, time=0))
    meta.append(mido.MetaMessage("end_of_track", time=0))
    voice: list = [(0, 0, mido.Message("program_change", program=VOICE_PROGRAM, channel=0, time=0))]
    taps: list = []
    for note in melody.notes:
        on, off = _ticks(note.onset_s), _ticks(note.onset_s + note.duration_s * legato)
        pitch = int(round(note.midi_pitch))
        # order within a tick: note_off (0) before lyric (1) before note_on (2)
        voice.append((on, 1, mido.MetaMessage("lyrics", text=note.syllable.text, time=0)))
        voice.append((on, 2, mido.Message("note_on", note=pitch, velocity=NOTE_VELOCITY, channel=0, time=0)))
        voice.append((off, 0, mido.Message("note_off", note=pitch, velocity=0, channel=0, time=0)))
        t_on, t_off = _ticks(note.onset_s), _ticks(note.onset_s + TAP_LENGTH_S)
        taps.append((t_on, 2, mido.Message("note_on", note=TAP_NOTE, velocity=TAP_VELOCITY, channel=TAP_CHANNEL)))
        taps.append((t_off, 0, mido.Message("note_off", note=TAP_NOTE, velocity=0, channel=TAP_CHANNEL)))
    if melody.notes:  # hold the file open to the end of the last syllable
        end = _ticks(melody.duration_s)
        voice.append((end, 3, mido.MetaMessage("marker", text="end", time=0)))
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.append(meta)
    mid.tracks.append(_track(voice, "MIT voice"))
    mid.tracks.append(_track(taps, "MIT taps"))
    return mid
