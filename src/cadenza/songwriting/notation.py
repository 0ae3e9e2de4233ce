"""A song as a standard MIDI file and as MusicXML, each with the syllables as lyrics on the notes, and
both read back (for the round-trip checks and for re-opening an export). Building and parsing only:
files are written by the callers' ``io`` layer.

MIDI: type 1; track 0 tempo (quarter notes), time signature (6/8 with a dotted-quarter click) and key
signature; track 1 the melody (a ``lyrics`` meta event at each note's onset, General MIDI voice "Choir
Aahs" on channel 0); track 2 the chords as struck (:meth:`Song.chord_changes`: root-position triads below
the melody, "Acoustic Grand Piano" on channel 1). MusicXML 4.0 partwise: one part, the time signature,
chord symbols as ``<harmony>`` where each chord is struck (an ``<offset>`` when a held note spans the
change), lyrics as ``<lyric>`` with ``<syllabic>``, rests filling the gaps.

:func:`read_midi` and :func:`read_musicxml` read back what the round trip compares (:class:`ReadSong`):
the sung notes with their lyrics, the time signature and the chords with their onsets.

>>> from cadenza.songwriting.song import Song, SongNote, SongSpec
>>> note = SongNote(64, 0.0, 2.0, "hel", "begin", True, 3, 0, 0)
>>> song = Song("Hi", SongSpec(), (), (note, SongNote(62, 2.0, 2.0, "lo", "end", False, 2, 0, 0)), 1, ("I",))
>>> read_musicxml(song_to_musicxml(song)) == read_midi(song_to_midi(song)) == expected_reading(song)
True
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import mido

from cadenza.errors import ParameterError
from cadenza.songwriting.song import (
    PITCH_CLASSES, SLOTS_PER_BEAT, Song, chord_pitch_classes, parse_numeral, uses_flats,
)

_QUALITY_OF_INTERVALS = {(4, 7): "major", (3, 7): "minor", (3, 6): "diminished"}

TICKS_PER_BEAT = 480
VOICE_PROGRAM = 52  # General MIDI "Choir Aahs" (0-based)
CHORD_PROGRAM = 0  # "Acoustic Grand Piano"
NOTE_VELOCITY, CHORD_VELOCITY = 90, 55
MAX_IMPORT_BYTES = 2_000_000


@dataclass(frozen=True)
class SungNote:
    """What the round trip compares: pitch, onset and length in beats, and the lyric syllable."""

    pitch_midi: int
    onset_beats: float
    duration_beats: float
    lyric: str


@dataclass(frozen=True)
class ChordMark:
    """A chord as a file gives it back: onset in quarter notes, root pitch class (0..11) and quality."""

    onset_beats: float
    root_pitch_class: int
    quality: str  # "major", "minor" or "diminished"


@dataclass(frozen=True)
class ReadSong:
    """What the round trip compares: the sung notes, the time signature ("6/8") and the chords."""

    notes: list[SungNote]
    time_signature: str
    chords: list[ChordMark]


def sung_notes(song: Song) -> list[SungNote]:
    """The song's notes as :class:`SungNote`, in time order."""
    return [SungNote(n.pitch_midi, n.onset_beats, n.duration_beats, n.lyric)
            for n in sorted(song.notes, key=lambda n: n.onset_beats)]


def chord_marks(song: Song) -> list[ChordMark]:
    """The song's chords as struck (:meth:`Song.chord_changes`), as the files carry them."""
    out = []
    for change in song.chord_changes():
        root, _, _ = chord_pitch_classes(change.numeral, key=song.spec.key, mode=song.spec.mode)
        out.append(ChordMark(change.onset_beats, root, parse_numeral(change.numeral)[1]))
    return out


def expected_reading(song: Song) -> ReadSong:
    """What :func:`read_midi` and :func:`read_musicxml` should give back for ``song``'s files."""
    return ReadSong(sung_notes(song), song.spec.time_signature, chord_marks(song))


# --- MIDI --------------------------------------------------------------------------------------------

def _key_signature(song: Song) -> str:
    key = song.spec.key
    if song.spec.mode == "minor":
        key += "m"
    try:
        mido.MetaMessage("key_signature", key=key)
    except (KeyError, ValueError):  # a spelling MIDI cannot carry (G# major): the sharps/flats are then unknown
        return "C"
    return key


def _track(events: list[tuple[int, int, mido.Message | mido.MetaMessage]], name: str) -> mido.MidiTrack:
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def song_to_midi(song: Song) -> mido.MidiFile:
    """The song as a type-1 ``mido.MidiFile`` (melody with lyrics, chords on their own track)."""
    spec = song.spec
    meta = mido.MidiTrack([
        mido.MetaMessage("track_name", name=song.title[:60].encode("ascii", "replace").decode(), time=0),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(spec.quarter_bpm), time=0),
        # the metronome clicks on the felt beat: a dotted quarter (36 MIDI clocks) in 6/8, else a quarter (24)
        mido.MetaMessage("time_signature", numerator=spec.beats_per_bar, denominator=spec.beat_unit,
                         clocks_per_click=36 if spec.compound else 24, time=0),
        mido.MetaMessage("key_signature", key=_key_signature(song), time=0),
        mido.MetaMessage("end_of_track", time=0),
    ])
    voice: list = [(0, 0, mido.Message("program_change", program=VOICE_PROGRAM, channel=0))]
    for n in song.notes:
        on = int(round(n.onset_beats * TICKS_PER_BEAT))
        off = int(round((n.onset_beats + n.duration_beats) * TICKS_PER_BEAT))
        # within a tick: note_off (0) before the lyric (1) before note_on (2)
        voice.append((on, 1, mido.MetaMessage("lyrics", text=_latin1(n.lyric))))
        voice.append((on, 2, mido.Message("note_on", note=n.pitch_midi, velocity=NOTE_VELOCITY, channel=0)))
        voice.append((off, 0, mido.Message("note_off", note=n.pitch_midi, velocity=0, channel=0)))
    chords: list = [(0, 0, mido.Message("program_change", program=CHORD_PROGRAM, channel=1))]
    for change in song.chord_changes():
        on = int(round(change.onset_beats * TICKS_PER_BEAT))
        off = int(round((change.onset_beats + change.duration_beats) * TICKS_PER_BEAT))
        for pitch in chord_voicing(change.numeral, song):
            chords.append((on, 2, mido.Message("note_on", note=pitch, velocity=CHORD_VELOCITY, channel=1)))
            chords.append((off, 0, mido.Message("note_off", note=pitch, velocity=0, channel=1)))
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.extend([meta, _track(voice, "Melody"), _track(chords, "Chords")])
    return mid


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def chord_voicing(numeral: str, song: Song) -> list[int]:
    """A chord's root-position triad (MIDI pitches) in the octave from C3, under the melody."""
    root, third, fifth = chord_pitch_classes(numeral, key=song.spec.key, mode=song.spec.mode)
    base = 48 + root  # root in the octave from C3
    return [base, base + (third - root) % 12, base + (fifth - root) % 12]


def midi_bytes(song: Song) -> bytes:
    buffer = io.BytesIO()
    song_to_midi(song).save(file=buffer)
    return buffer.getvalue()


def parse_midi(data: bytes | mido.MidiFile) -> list[SungNote]:
    """The melody track's notes with their lyrics (the track that carries ``lyrics`` events)."""
    return read_midi(data).notes


def read_midi(data: bytes | mido.MidiFile) -> ReadSong:
    """The melody with its lyrics, the first time signature (4/4 when none, as MIDI assumes) and the
    chords: the notes struck together on a track without lyrics, read as root-position triads."""
    mid = data if isinstance(data, mido.MidiFile) else _read_midi(data)
    meter = next((f"{m.numerator}/{m.denominator}" for track in mid.tracks for m in track
                  if m.type == "time_signature"), "4/4")
    return ReadSong(_midi_melody(mid), meter, _midi_chords(mid))


def _midi_chords(mid: mido.MidiFile) -> list[ChordMark]:
    marks: list[ChordMark] = []
    for track in mid.tracks:
        if any(m.type == "lyrics" for m in track):
            continue
        struck: dict[int, list[int]] = {}
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                struck.setdefault(tick, []).append(msg.note)
        for onset, pitches in sorted(struck.items()):
            root = min(pitches)
            intervals = tuple(sorted({(p - root) % 12 for p in pitches} - {0}))
            marks.append(ChordMark(onset / mid.ticks_per_beat, root % 12,
                                   _QUALITY_OF_INTERVALS.get(intervals, "other")))
    return sorted(marks, key=lambda m: m.onset_beats)


def _midi_melody(mid: mido.MidiFile) -> list[SungNote]:
    for track in mid.tracks:
        if not any(m.type == "lyrics" for m in track):
            continue
        notes: list[SungNote] = []
        open_notes: dict[int, tuple[int, str]] = {}
        tick, lyric = 0, ""
        for msg in track:
            tick += msg.time
            if msg.type == "lyrics":
                lyric = msg.text
            elif msg.type == "note_on" and msg.velocity > 0:
                open_notes[msg.note] = (tick, lyric)
                lyric = ""
            elif msg.type in ("note_off", "note_on") and msg.note in open_notes:
                start, text = open_notes.pop(msg.note)
                notes.append(SungNote(msg.note, start / mid.ticks_per_beat, (tick - start) / mid.ticks_per_beat, text))
        return sorted(notes, key=lambda n: n.onset_beats)
    return []


def _read_midi(data: bytes) -> mido.MidiFile:
    if not isinstance(data, (bytes, bytearray)) or len(data) > MAX_IMPORT_BYTES:
        raise ParameterError(f"data must be the bytes of a MIDI file of at most {MAX_IMPORT_BYTES} bytes")
    try:
        return mido.MidiFile(file=io.BytesIO(bytes(data)))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise ParameterError(f"data is not a readable MIDI file: {exc}") from exc


# --- MusicXML ----------------------------------------------------------------------------------------

_STEPS = {0: ("C", 0), 1: ("C", 1), 2: ("D", 0), 3: ("D", 1), 4: ("E", 0), 5: ("F", 0), 6: ("F", 1), 7: ("G", 0),
          8: ("G", 1), 9: ("A", 0), 10: ("A", 1), 11: ("B", 0)}
_STEPS_FLAT = {**_STEPS, 1: ("D", -1), 3: ("E", -1), 6: ("G", -1), 8: ("A", -1), 10: ("B", -1)}
_STEP_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_TYPES = {1: ("eighth", 0), 2: ("quarter", 0), 3: ("quarter", 1), 4: ("half", 0), 6: ("half", 1), 8: ("whole", 0)}
_MAJOR_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7, "F": -1, "Bb": -2, "Eb": -3,
                 "Ab": -4, "Db": -5, "Gb": -6, "G#": -4, "D#": -3, "A#": -2}


def _fifths(key: str, mode: str) -> int:
    if mode == "major":
        return _MAJOR_FIFTHS[key]
    relative = (PITCH_CLASSES[key] + 3) % 12  # the relative major
    names = [k for k, v in PITCH_CLASSES.items() if v == relative]
    flats = uses_flats(key, mode)
    name = next((n for n in names if ("b" in n) == flats), names[0])
    return _MAJOR_FIFTHS[name]


def _sub(parent: ET.Element, tag: str, text: object | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = str(text)
    return el


def _pieces(slots: int) -> list[int]:
    out = []
    while slots > 0:
        piece = max(v for v in _TYPES if v <= slots)
        out.append(piece)
        slots -= piece
    return out


def _add_note(measure: ET.Element, *, slots: int, pitch: int | None, flats: bool, lyric: tuple[str, str] | None) -> None:
    note = _sub(measure, "note")
    if pitch is None:
        _sub(note, "rest")
    else:
        step, alter = (_STEPS_FLAT if flats else _STEPS)[pitch % 12]
        p = _sub(note, "pitch")
        _sub(p, "step", step)
        if alter:
            _sub(p, "alter", alter)
        _sub(p, "octave", pitch // 12 - 1)
    _sub(note, "duration", slots)
    kind, dots = _TYPES[slots]
    _sub(note, "type", kind)
    for _ in range(dots):
        _sub(note, "dot")
    if lyric is not None:
        lyr = _sub(note, "lyric", number="1")
        _sub(lyr, "syllabic", lyric[0])
        _sub(lyr, "text", lyric[1])


def _harmony(measure: ET.Element, numeral: str, song: Song, flats: bool, *, offset_slots: int = 0) -> None:
    root, _, _ = chord_pitch_classes(numeral, key=song.spec.key, mode=song.spec.mode)
    _, quality = parse_numeral(numeral)
    h = _sub(measure, "harmony")
    r = _sub(h, "root")
    step, alter = (_STEPS_FLAT if flats else _STEPS)[root]
    _sub(r, "root-step", step)
    if alter:
        _sub(r, "root-alter", alter)
    _sub(h, "kind", quality)
    if offset_slots:  # the chord changes under a held note: so far after the note's start
        _sub(h, "offset", offset_slots)


def _rest_pieces(start: int, end: int, cuts: set[int]) -> list[int]:
    """Rests from slot ``start`` to ``end`` of a bar, cut where a chord is struck or a beat of 6/8 starts."""
    bounds = sorted({start, end} | {c for c in cuts if start < c < end})
    return [p for a, b in zip(bounds, bounds[1:]) for p in _pieces(b - a)]


def song_to_musicxml(song: Song) -> str:
    """The song as a MusicXML 4.0 score (text), one part "Voice", lyrics on the notes, chord symbols."""
    spec = song.spec
    flats = uses_flats(spec.key, spec.mode)
    slots_per_bar = spec.slots_per_bar
    root = ET.Element("score-partwise", version="4.0")
    work = _sub(root, "work")
    _sub(work, "work-title", song.title)
    ident = _sub(root, "identification")
    _sub(ident, "creator", song.source or "composed", type="composer")
    part_list = _sub(root, "part-list")
    sp = _sub(part_list, "score-part", id="P1")
    _sub(sp, "part-name", "Voice")
    part = _sub(root, "part", id="P1")
    by_bar: dict[int, list] = {}
    for n in song.notes:
        start = int(round(n.onset_beats * SLOTS_PER_BEAT))
        by_bar.setdefault(start // slots_per_bar, []).append((start % slots_per_bar, n))
    chords_by_bar: dict[int, list[tuple[int, str]]] = {}
    for change in song.chord_changes():
        start = int(round(change.onset_beats * SLOTS_PER_BEAT))
        chords_by_bar.setdefault(start // slots_per_bar, []).append((start % slots_per_bar, change.numeral))
    beat_cuts = set(range(0, slots_per_bar, 3)) if spec.compound else set()
    for bar in range(max(song.n_bars, 1)):
        measure = _sub(part, "measure", number=str(bar + 1))
        if bar == 0:
            attrs = _sub(measure, "attributes")
            _sub(attrs, "divisions", SLOTS_PER_BEAT)
            key = _sub(attrs, "key")
            _sub(key, "fifths", _fifths(spec.key, spec.mode))
            _sub(key, "mode", spec.mode)
            time = _sub(attrs, "time")
            _sub(time, "beats", spec.beats_per_bar)
            _sub(time, "beat-type", spec.beat_unit)
            clef = _sub(attrs, "clef")
            _sub(clef, "sign", "G")
            _sub(clef, "line", 2)
            direction = _sub(measure, "direction", placement="above")
            dtype = _sub(direction, "direction-type")
            metro = _sub(dtype, "metronome")
            _sub(metro, "beat-unit", "quarter")
            if spec.compound:  # the felt beat of 6/8 is a dotted quarter
                _sub(metro, "beat-unit-dot")
            _sub(metro, "per-minute", f"{spec.tempo_bpm:g}")
            _sub(direction, "sound", tempo=f"{spec.quarter_bpm:g}")
        pending = sorted(chords_by_bar.get(bar, []))
        cuts = beat_cuts | {at for at, _ in pending}

        def place(slots_at: int, length: int, pitch: int | None, lyric: tuple[str, str] | None) -> None:
            while pending and pending[0][0] < slots_at + length:  # chords struck at or under this note
                at, numeral = pending.pop(0)
                _harmony(measure, numeral, song, flats, offset_slots=max(0, at - slots_at))
            _add_note(measure, slots=length, pitch=pitch, flats=flats, lyric=lyric)

        cursor = 0
        for start, n in sorted(by_bar.get(bar, []), key=lambda e: e[0]):
            for piece in _rest_pieces(cursor, start, cuts):
                place(cursor, piece, None, None)
                cursor += piece
            length = int(round(n.duration_beats * SLOTS_PER_BEAT))
            place(start, length, n.pitch_midi, (n.syllabic, n.lyric))
            cursor = start + length
        for piece in _rest_pieces(cursor, slots_per_bar, cuts):
            place(cursor, piece, None, None)
            cursor += piece
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 '
            'Partwise//EN" "http://www.musicxml.org/dtds/partwise.dtd">\n' + ET.tostring(root, encoding="unicode") + "\n")


def parse_musicxml(text: str) -> list[SungNote]:
    """The first part's notes (pitch, onset and length in beats, first lyric) from MusicXML text.

    Entity declarations are refused (no expansion of untrusted documents); ties and chords are not read.
    """
    return read_musicxml(text).notes


def read_musicxml(text: str) -> ReadSong:
    """The first part's notes, its first time signature (4/4 when none) and its chord symbols
    (``<harmony>`` with ``<root>`` and ``<kind>``, placed at the next note plus any ``<offset>``)."""
    if not isinstance(text, str) or len(text) > MAX_IMPORT_BYTES:
        raise ParameterError(f"text must be MusicXML of at most {MAX_IMPORT_BYTES} characters")
    if "<!ENTITY" in text.upper() or re.search(r"<!DOCTYPE[^>\[]*\[", text, flags=re.IGNORECASE):
        raise ParameterError("text must not declare XML entities or an internal DTD subset")
    try:
        body = text.split("?>", 1)[-1] if text.lstrip().startswith("<?xml") else text
        # no entity can be declared (refused above) and ElementTree resolves no external entity
        root = ET.fromstring(body)  # nosec B314
    except ET.ParseError as exc:
        raise ParameterError(f"text is not well-formed MusicXML: {exc}") from exc
    part = root.find("part")
    if root.tag != "score-partwise" or part is None:
        raise ParameterError("text must be a partwise MusicXML score with a part")
    divisions, time_div, notes, chords, meter = 1, 0, [], [], ""
    try:
        for measure in part.iter("measure"):
            attrs = measure.find("attributes")
            if attrs is not None and attrs.findtext("divisions"):
                divisions = int(attrs.findtext("divisions"))
            time_div = _read_measure(measure, divisions, time_div, notes, chords)
            if not meter and attrs is not None and attrs.find("time") is not None:
                meter = f"{int(attrs.findtext('time/beats'))}/{int(attrs.findtext('time/beat-type'))}"
    except (TypeError, ValueError, KeyError, ZeroDivisionError) as exc:
        raise ParameterError(f"text is not MusicXML this reader understands: {exc}") from exc
    return ReadSong(notes, meter or "4/4", chords)


_KIND_QUALITY = {"major": "major", "minor": "minor", "diminished": "diminished"}


def _read_measure(measure: ET.Element, divisions: int, time_div: int, notes: list, chords: list) -> int:
    """Read one measure's notes and chord symbols into ``notes`` and ``chords``; the time after it."""
    waiting: list[tuple[int, int, str]] = []  # harmonies placed at the next note: (offset, root, quality)
    for el in measure:
        if el.tag == "harmony":
            root = _STEP_PC[el.findtext("root/root-step")] + int(float(el.findtext("root/root-alter") or 0))
            waiting.append((int(el.findtext("offset") or 0), root % 12,
                            _KIND_QUALITY.get(el.findtext("kind") or "", "other")))
        elif el.tag in ("backup", "forward"):
            step = int(el.findtext("duration") or 0)
            time_div += -step if el.tag == "backup" else step
        elif el.tag == "note":
            for offset, root, quality in waiting:
                chords.append(ChordMark((time_div + offset) / divisions, root, quality))
            waiting.clear()
            duration = int(el.findtext("duration") or 0)
            pitch = el.find("pitch")
            if pitch is not None:
                midi = 12 * (int(pitch.findtext("octave")) + 1) + _STEP_PC[pitch.findtext("step")] \
                    + int(float(pitch.findtext("alter") or 0))
                notes.append(SungNote(midi, time_div / divisions, duration / divisions,
                                      el.findtext("lyric/text") or ""))
            time_div += duration
    for offset, root, quality in waiting:  # a harmony after the measure's last note
        chords.append(ChordMark((time_div + offset) / divisions, root, quality))
    return time_div

