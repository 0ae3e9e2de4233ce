"""MIDI and MusicXML round trips: parsed back, the same notes and the same lyrics."""

import pytest
from hypothesis import given, settings

from cadenza.errors import ParameterError
from cadenza.songwriting.notation import (
    midi_bytes, parse_midi, parse_musicxml, song_to_midi, song_to_musicxml, sung_notes,
)
from cadenza.songwriting.scaffolds import TUNES, tune_song
from cadenza.songwriting.song import SongSpec, compose_song

from tests.songwriting.test_song import LEX, lines_st, spec_st


@settings(max_examples=30, deadline=None)
@given(lines=lines_st, spec=spec_st)
def test_round_trip_of_composed_songs(lines, spec):
    song = compose_song(lines, spec=spec, lexicon=LEX)
    expected = sung_notes(song)
    assert parse_midi(midi_bytes(song)) == expected
    assert parse_musicxml(song_to_musicxml(song)) == expected


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


@pytest.mark.parametrize("bad", ["<score", "<html/>", '<!DOCTYPE x [<!ENTITY a "b">]><score-partwise/>'])
def test_bad_musicxml_is_refused(bad):
    with pytest.raises(ParameterError, match="text"):
        parse_musicxml(bad)
