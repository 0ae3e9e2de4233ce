"""The syllable-to-note fit: known answers, Hypothesis invariants, the choices' validation."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.mit.syllables import Lexicon
from cadenza.songwriting.song import (
    PROGRESSIONS, SLOTS_PER_BEAT, TIME_SIGNATURES, SongSpec, check_fit, chord_name, chord_numeral, compose_song,
    fit_line, parse_meter, parse_progression, slot_strength,
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
NUMERALS = ("I", "ii", "iii", "IV", "V", "vi", "viio", "i", "III", "iv", "v", "VI", "VII")


@st.composite
def spec_st(draw):
    """Any key, mode, tempo, metre (6/8 too), progression and chords per bar that the metre allows."""
    beats_per_bar, beat_unit = draw(st.sampled_from(TIME_SIGNATURES))
    pulses = 2 if beat_unit == 8 else beats_per_bar
    return SongSpec(key=draw(st.sampled_from(["C", "G", "F", "D", "Bb", "A", "E"])),
                    mode=draw(st.sampled_from(["major", "minor"])), tempo_bpm=draw(st.floats(60, 160)),
                    beats_per_bar=beats_per_bar, beat_unit=beat_unit,
                    progression=tuple(draw(st.lists(st.sampled_from(NUMERALS), min_size=1, max_size=8))),
                    chords_per_bar=draw(st.sampled_from([n for n in (1, 2, 4) if pulses % n == 0])))


spec_st = spec_st()


@settings(max_examples=80, deadline=None)
@given(lines=lines_st, spec=spec_st)
def test_every_syllable_gets_a_note_with_stress_on_the_beat(lines, spec):
    song = compose_song(lines, spec=spec, lexicon=LEX)
    n_syllables = sum(syllabify_line(text, lexicon=LEX).n_syllables for text in lines)
    assert len(song.notes) == n_syllables
    assert check_fit(song) == ()  # no stressed syllable between beats, no word sung against its stress
    onsets = [n.onset_beats for n in song.notes]
    assert onsets == sorted(onsets) and len(set(onsets)) == len(onsets)
    bar_beats = spec.bar_beats
    strong = {0, 3} if spec.compound else set(range(0, spec.slots_per_bar, SLOTS_PER_BEAT))
    for n in song.notes:  # stressed syllables on the beats of that metre: 1 and 4 of the eighths in 6/8
        assert not n.stressed or round(n.onset_beats * SLOTS_PER_BEAT) % spec.slots_per_bar in strong
    for a, b in zip(song.notes, song.notes[1:]):
        assert a.onset_beats + a.duration_beats <= b.onset_beats + 1e-9  # one voice: no overlaps
    for n in song.notes:
        assert int(n.onset_beats // bar_beats) == int((n.onset_beats + n.duration_beats - 1e-9) // bar_beats)
        assert n.stressed <= (n.strength >= 1)
        assert spec.tonic_midi - 1 <= n.pitch_midi <= spec.tonic_midi + 16
    assert song.notes[-1].pitch_midi % 12 == spec.tonic_midi % 12  # the song ends on the tonic
    assert song.n_bars * bar_beats >= song.notes[-1].onset_beats + song.notes[-1].duration_beats
    assert len(song.chords) == song.n_bars * spec.chords_per_bar
    changes = song.chord_changes()  # every bar starts with a chord; within a bar only where it changes
    assert {c.onset_beats for c in changes} >= {b * bar_beats for b in range(song.n_bars)}
    assert sum(c.duration_beats for c in changes) == pytest.approx(song.n_bars * bar_beats)
    for n in song.notes:  # chord tones on the beats follow the chord struck under them
        if n.strength >= 1 and n is not song.notes[-1]:
            chord = max((c for c in changes if c.onset_beats <= n.onset_beats + 1e-9), key=lambda c: c.onset_beats)
            tones = {(p - 0) % 12 for p in _chord_pcs(chord.numeral, spec)}
            assert n.pitch_midi % 12 in tones


def _chord_pcs(numeral, spec):
    from cadenza.songwriting.song import chord_pitch_classes

    return chord_pitch_classes(numeral, key=spec.key, mode=spec.mode)


def test_six_eight_is_two_dotted_quarter_beats():
    spec = SongSpec(key="D", beats_per_bar=6, beat_unit=8, tempo_bpm=60, chords_per_bar=2,
                    progression=("I", "V", "vi", "IV"))
    assert [slot_strength(s, beats_per_bar=6, beat_unit=8) for s in range(12)] == [3, 0, 0, 2, 0, 0] * 2
    assert spec.quarter_bpm == 90 and spec.bar_beats == 3 and spec.time_signature == "6/8"
    song = compose_song(["wh wlh wh wlhl wh", "wlh the wh of wh"], spec=spec, lexicon=LEX)
    assert check_fit(song) == ()
    assert {n.onset_beats % 3 for n in song.notes if n.stressed} <= {0.0, 1.5}
    assert song.duration_s == pytest.approx(song.n_bars * 2 * 1.0)  # two beats of a second a bar
    assert all(n.duration_beats not in (2.0, 4.0) for n in song.notes)  # no half note hides the 2nd beat
    assert [c.onset_beats for c in song.chord_changes()][:4] == [0.0, 1.5, 3.0, 4.5]
    assert song.chord_names()[:4] == ("D", "A", "Bm", "G")


def test_progressions_typed_by_bars_or_chord_symbols():
    assert parse_progression("C G | Am F", key="C", mode="major") == (("I", "V", "vi", "IV"), 2)
    assert parse_progression("Am | Dm G C F", key="A", mode="minor") == (("i",) * 4 + ("iv", "VII", "III", "VI"), 4)
    assert parse_progression("I, vi, IV, V", key="C", mode="major", chords_per_bar=2) == (("I", "vi", "IV", "V"), 2)
    assert parse_progression("Bb-F-Gm-Eb", key="Bb", mode="major")[0] == ("I", "V", "vi", "IV")
    assert chord_numeral("F#dim", key="G", mode="major") == "viio"
    assert parse_meter("6/8") == (6, 8) and parse_meter(3) == (3, 4)
    for bad, match in [("C G A | F", "1, 2 or 4"), ("C F# G", "F#"), ("I IX", "IX"), ("", "progression"),
                       ("I " * 65, "1..64"), (None, "progression")]:
        with pytest.raises(ParameterError, match=match):
            parse_progression(bad, key="C", mode="major")
    for bad in ("5/4", "6/4", "x", "12/8", True):
        with pytest.raises(ParameterError, match="meter"):
            parse_meter(bad)
    with pytest.raises(ParameterError, match=r"chords_per_bar must be one of \[1\] in 3/4"):
        SongSpec(beats_per_bar=3, chords_per_bar=2)
    with pytest.raises(ParameterError, match="chords_per_bar"):
        SongSpec(beats_per_bar=6, beat_unit=8, chords_per_bar=4)
    with pytest.raises(ParameterError, match="beats_per_bar/beat_unit"):
        SongSpec(beats_per_bar=3, beat_unit=8)


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


@settings(max_examples=60, deadline=None)
@given(bars=st.lists(st.sampled_from([1, 2, 4]).flatmap(lambda n: st.lists(st.integers(0, 6), min_size=n, max_size=n)),
                     min_size=1, max_size=12),
       key=st.sampled_from(["C", "G", "F", "Bb", "E", "Ab", "F#"]), mode=st.sampled_from(["major", "minor"]),
       symbols=st.booleans())
def test_typed_bars_read_back_as_the_same_chords(bars, key, mode, symbols):
    from cadenza.songwriting.song import default_numerals

    numerals = default_numerals(mode)
    spell = (lambda d: chord_name(numerals[d], key=key, mode=mode)) if symbols else (lambda d: numerals[d])
    text = " | ".join(" ".join(spell(d) for d in bar) for bar in bars)
    fullest = max(len(bar) for bar in bars)
    # with '|' the bars say how many chords a bar; one bar alone has none, and the form's choice says it
    chords, per_bar = parse_progression(text, key=key, mode=mode, chords_per_bar=fullest if len(bars) == 1 else 1)
    assert per_bar == fullest
    assert len(chords) == per_bar * len(bars)
    for b, bar in enumerate(bars):  # each bar's chords in order, each held per_bar / len(bar) chord spans
        held = per_bar // len(bar)
        assert chords[b * per_bar:(b + 1) * per_bar] == tuple(numerals[d] for d in bar for _ in range(held))
    spec = SongSpec(key=key, mode=mode, progression=chords, chords_per_bar=per_bar)
    song = compose_song(["wh wlh the wh"], spec=spec, lexicon=LEX)
    assert check_fit(song) == () and len(song.chords) == song.n_bars * per_bar


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="ABCDEFGIVivmdo#b°|-, 7x\x00", max_size=40), key=st.sampled_from(["C", "Eb", "F#"]),
       mode=st.sampled_from(["major", "minor"]), per_bar=st.sampled_from([1, 2, 4]))
def test_any_typed_progression_is_read_or_refused_by_name(text, key, mode, per_bar):
    try:
        chords, n = parse_progression(text, key=key, mode=mode, chords_per_bar=per_bar)
    except ParameterError as exc:
        assert "progression" in str(exc)
        return
    assert 1 <= len(chords) <= 64 and n in (1, 2, 4)
    assert all(chord_numeral(c, key=key, mode=mode) == c for c in chords)
