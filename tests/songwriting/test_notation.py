"""MIDI and MusicXML round trips: parsed back, the same notes and the same lyrics."""

import pytest
from hypothesis import given, settings

from cadenza.errors import ParameterError
from cadenza.songwriting.notation import (
    ChordMark, expected_reading, midi_bytes, parse_midi, parse_musicxml, read_midi, read_musicxml, song_to_midi,
    song_to_musicxml, sung_notes,
)
from cadenza.songwriting.scaffolds import TUNES, tune_song
from cadenza.songwriting.song import SongSpec, compose_song

from tests.songwriting.test_song import LEX, lines_st, spec_st


@settings(max_examples=30, deadline=None)
@given(lines=lines_st, spec=spec_st)
def test_round_trip_of_composed_songs(lines, spec):
    song = compose_song(lines, spec=spec, lexicon=LEX)
    expected = expected_reading(song)  # the same notes, lyrics, time signature and chords where struck
    assert read_midi(midi_bytes(song)) == expected
    assert read_musicxml(song_to_musicxml(song)) == expected
    assert expected.time_signature == spec.time_signature and expected.notes == sung_notes(song)


@pytest.mark.parametrize("name", sorted(TUNES))
def test_round_trip_of_the_tunes_and_an_independent_reader(name, lexicon):
    song = tune_song(TUNES[name], lexicon=lexicon)
    expected = sung_notes(song)
    text = song_to_musicxml(song)
    assert parse_musicxml(text) == expected and parse_midi(midi_bytes(song)) == expected
    music21 = pytest.importorskip("music21", reason="music21 (an independent MusicXML reader) is not installed")
    score = music21.converter.parseData(text, format="musicxml")
    read = [(n.pitch.midi, float(n.getOffsetInHierarchy(score)), float(n.quarterLength), n.lyric)
            for n in score.recurse().getElementsByClass(music21.note.Note)]
    assert read == [(n.pitch_midi, n.onset_beats, n.duration_beats, n.lyric) for n in expected]
    bars = list(score.recurse().getElementsByClass(music21.stream.Measure))
    assert len(bars) == song.n_bars and all(b.duration.quarterLength == song.spec.beats_per_bar for b in bars)
    assert [c.figure for c in score.recurse().getElementsByClass(music21.harmony.ChordSymbol)] == list(song.chord_names())


def test_six_eight_with_two_chords_a_bar_in_both_files():
    spec = SongSpec(key="G", beats_per_bar=6, beat_unit=8, tempo_bpm=60, chords_per_bar=2, progression=("I", "IV"))
    song = compose_song(["wh wlh wh wlhl wh"], spec=spec, lexicon=LEX)
    mid = song_to_midi(song)
    meta = {m.type: m for m in mid.tracks[0] if m.is_meta}
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (6, 8)
    assert meta["time_signature"].clocks_per_click == 36 and meta["set_tempo"].tempo == 666_667  # 90 quarters/min
    assert mid.length == pytest.approx(song.duration_s, abs=1e-3) and song.duration_s == 2.0 * song.n_bars
    text = song_to_musicxml(song)
    assert "<beats>6</beats>" in text and "<beat-type>8</beat-type>" in text and "<beat-unit-dot />" in text
    read = read_musicxml(text)
    assert read.time_signature == "6/8" == read_midi(mid).time_signature
    G, C = 7, 0
    assert read.chords[:4] == [ChordMark(0.0, G, "major"), ChordMark(1.5, C, "major"), ChordMark(3.0, G, "major"),
                               ChordMark(4.5, C, "major")]
    assert read == read_midi(mid) == expected_reading(song)


def test_a_chord_struck_under_a_held_note_is_placed_by_its_offset():
    spec = SongSpec(key="C", progression=("I", "V", "vi", "IV"), chords_per_bar=4)
    song = compose_song(["wh wh"], spec=spec, lexicon=LEX)  # long notes: chords change under them
    text = song_to_musicxml(song)
    assert "<offset>" in text
    assert [c.onset_beats for c in read_musicxml(text).chords] == [c.onset_beats for c in song.chord_changes()]
    assert read_musicxml(text) == read_midi(midi_bytes(song)) == expected_reading(song)


@pytest.mark.parametrize(("spec", "lines"), [
    (SongSpec(key="G", beats_per_bar=6, beat_unit=8, tempo_bpm=60, chords_per_bar=2,
              progression=("I", "IV", "V", "vi")),
     ["wh wlh wh wlhl wh", "wh wh the wlh"]),
    (SongSpec(key="Bb", progression=("I", "V", "vi", "IV"), chords_per_bar=4), ["wh wh"]),  # changes under held notes
])
def test_an_independent_reader_agrees_on_metre_tempo_and_chords(spec, lines):
    music21 = pytest.importorskip("music21", reason="music21 (an independent MusicXML reader) is not installed")
    song = compose_song(lines, spec=spec, lexicon=LEX)
    score = music21.converter.parseData(song_to_musicxml(song), format="musicxml")
    read = [(n.pitch.midi, float(n.getOffsetInHierarchy(score)), float(n.quarterLength), n.lyric)
            for n in score.recurse().getElementsByClass(music21.note.Note)]
    assert read == [(n.pitch_midi, n.onset_beats, n.duration_beats, n.lyric) for n in sung_notes(song)]
    assert score.recurse().getElementsByClass(music21.meter.TimeSignature)[0].ratioString == spec.time_signature
    assert score.metronomeMarkBoundaries()[0][2].getQuarterBPM() == pytest.approx(spec.quarter_bpm)
    chords = [(float(c.getOffsetInHierarchy(score)), c.root().pitchClass, c.chordKind)
              for c in score.recurse().getElementsByClass(music21.harmony.ChordSymbol)]
    assert chords == [(m.onset_beats, m.root_pitch_class, m.quality) for m in expected_reading(song).chords]


def test_midi_carries_tempo_metre_and_chords():
    song = compose_song(["wh wlh wh"], spec=SongSpec(key="Bb", tempo_bpm=120, beats_per_bar=3), lexicon=LEX)
    mid = song_to_midi(song)
    meta = {m.type: m for m in mid.tracks[0] if m.is_meta}
    assert meta["set_tempo"].tempo == 500_000 and meta["time_signature"].numerator == 3
    assert meta["key_signature"].key == "Bb"
    chord_notes = [m for m in mid.tracks[2] if m.type == "note_on"]
    assert len(chord_notes) == 3 * song.n_bars and mid.length == pytest.approx(song.duration_s)


@pytest.mark.parametrize("bad", [b"", b"MThd garbage", b"\x00" * 50])
def test_corrupt_midi_is_refused(bad):
    with pytest.raises(ParameterError, match="data"):
        parse_midi(bad)


@pytest.mark.parametrize("bad", ["<score", "<html/>", '<!DOCTYPE x [<!ENTITY a "b">]><score-partwise/>',
                                 "<score-partwise><part><measure><note><pitch><step>H</step></pitch></note>"
                                 "</measure></part></score-partwise>",
                                 "<score-partwise><part><measure><attributes><time><beats>x</beats></time>"
                                 "</attributes></measure></part></score-partwise>"])
def test_bad_musicxml_is_refused(bad):
    with pytest.raises(ParameterError, match="text"):
        parse_musicxml(bad)
