"""The syllable-to-note fit: known answers, Hypothesis invariants, the choices' validation."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.mit.syllables import Lexicon
from cadenza.songwriting.song import (
    PROGRESSIONS, SLOTS_PER_BEAT, SongSpec, check_fit, chord_name, compose_song, fit_line, slot_strength,
)
from cadenza.songwriting.lyrics import syllabify_line

# Made-up words with every stress shape up to four syllables (H stressed, L not), so the property runs
# without the dictionary; "the", "of", "and" are function words (unstressed in the line).
SHAPES = {"H": "AA1", "L": "AH0"}
PATTERNS = ["H", "HL", "LH", "HLL", "LHL", "LLH", "HLHL", "LHLL", "HLLL", "LLHL"]
VOCAB = {f"w{p.lower()}": p for p in PATTERNS}
LEX = Lexicon({**{w: (tuple(x for ch in p for x in ("T", SHAPES[ch])),) for w, p in VOCAB.items()},
               "the": (("DH", "AH0"),), "of": (("AH1", "V"),), "and": (("AH0", "N", "D"),)})
WORDS = sorted(VOCAB) + ["the", "of", "and"]

lines_st = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=9).map(" ".join), min_size=1, max_size=4)
spec_st = st.builds(SongSpec, key=st.sampled_from(["C", "G", "F", "D", "Bb", "A", "E"]),
                    mode=st.sampled_from(["major", "minor"]), tempo_bpm=st.floats(60, 160),
                    beats_per_bar=st.sampled_from([2, 3, 4]))


@settings(max_examples=80, deadline=None)
@given(lines=lines_st, spec=spec_st)
def test_every_syllable_gets_a_note_with_stress_on_the_beat(lines, spec):
    song = compose_song(lines, spec=spec, lexicon=LEX)
    n_syllables = sum(syllabify_line(text, lexicon=LEX).n_syllables for text in lines)
    assert len(song.notes) == n_syllables
    assert check_fit(song) == ()  # no stressed syllable between beats, no word sung against its stress
    onsets = [n.onset_beats for n in song.notes]
    assert onsets == sorted(onsets) and len(set(onsets)) == len(onsets)
    bar_beats = spec.beats_per_bar
    for a, b in zip(song.notes, song.notes[1:]):
        assert a.onset_beats + a.duration_beats <= b.onset_beats + 1e-9  # one voice: no overlaps
    for n in song.notes:
        assert int(n.onset_beats // bar_beats) == int((n.onset_beats + n.duration_beats - 1e-9) // bar_beats)
        assert n.stressed <= (n.strength >= 1)
        assert spec.tonic_midi - 1 <= n.pitch_midi <= spec.tonic_midi + 16
    assert song.notes[-1].pitch_midi % 12 == spec.tonic_midi % 12  # the song ends on the tonic
    assert song.n_bars * bar_beats >= song.notes[-1].onset_beats + song.notes[-1].duration_beats
    assert len(song.chords) == song.n_bars


def test_known_fit_in_four_four():
    line = syllabify_line("wh wlh wh", lexicon=LEX)  # H LH H
    slots, bars = fit_line(line, beats_per_bar=4)
    assert bars == 2
    assert [slot_strength(s, beats_per_bar=4) >= 1 for s, syl in zip(slots, line.syllables) if syl.stressed] \
        == [True, True, True]
    assert slots[0] == 0  # a stressed start takes the downbeat


def test_check_fit_finds_each_kind_of_mismatch():
    song = compose_song(["wlh wh"], spec=SongSpec(), lexicon=LEX)
    assert check_fit(song) == ()
    first, second, third = song.notes
    offbeat = second.__class__(**{**second.__dict__, "strength": 0})
    inverted = first.__class__(**{**first.__dict__, "strength": 3})
    kinds = [p.kind for p in check_fit(song.__class__(**{**song.__dict__, "notes": (inverted, offbeat, third)}))]
    assert kinds == ["offbeat", "word_stress"]
    assert [p.kind for p in check_fit(song.__class__(**{**song.__dict__, "notes": (first, second)}))] == ["count"]


def test_chords_follow_the_progression_and_end_on_the_tonic():
    spec = SongSpec(key="A", mode="minor", progression=PROGRESSIONS["minor"][1])
    song = compose_song(["wh wh wh wh wh wh wh", "wh wh wh"], spec=spec, lexicon=LEX)
    names = song.chord_names()
    assert names[:3] == ("Am", "F", "C") and names[-1] == "Am"
    assert chord_name("V", key="Bb", mode="major") == "F" and chord_name("viio", key="C", mode="major") == "Bdim"
    assert SLOTS_PER_BEAT == 2


@pytest.mark.parametrize(("field", "value"), [("key", "H"), ("mode", "lydian"), ("tempo_bpm", 0.0),
                                              ("tempo_bpm", float("nan")), ("beats_per_bar", 5),
                                              ("progression", ("I", "IX")), ("progression", ()),
                                              ("theme", "<script>")])
def test_bad_choices_are_refused_by_name(field, value):
    with pytest.raises(ParameterError, match=field if field != "progression" else "progression"):
        SongSpec(**{field: value})


def test_empty_and_hostile_lines():
    assert compose_song([], spec=SongSpec(), lexicon=LEX).notes == ()
    assert compose_song(["", "  "], spec=SongSpec(), lexicon=LEX).n_bars == 0
    with pytest.raises(ParameterError, match="lines"):
        compose_song("one string", spec=SongSpec(), lexicon=LEX)
    with pytest.raises(ParameterError, match="line 2"):
        compose_song(["wh", "x\x00"], spec=SongSpec(), lexicon=LEX)
    with pytest.raises(ParameterError, match="too many"):
        compose_song([" ".join(["whlhl"] * 20)], spec=SongSpec(beats_per_bar=2), lexicon=LEX)
    with pytest.raises(ParameterError, match="line 1: text must be a short phrase"):
        compose_song([" ".join(["wh"] * 41)], spec=SongSpec(), lexicon=LEX)
    # 40 stressed syllables in a row need 40 beats: the line does not allow it, and the check says so
    crowded = compose_song([" ".join(["wh"] * 40)], spec=SongSpec(beats_per_bar=2), lexicon=LEX)
    assert len(crowded.notes) == 40 and {p.kind for p in check_fit(crowded)} == {"offbeat"}
