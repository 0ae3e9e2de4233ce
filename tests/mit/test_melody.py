"""Two-pitch melodies: known answers, level timing, properties, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.mit.melody import compose_melody, hz_to_midi, midi_to_hz, note_name
from cadenza.mit.syllables import Lexicon, syllabify_phrase

LEX = Lexicon({
    "i": (("AY1",),), "want": (("W", "AA1", "N", "T"),), "water": (("W", "AO1", "T", "ER0"),),
})


def test_i_want_water_level_1():
    m = compose_melody(syllabify_phrase("I want water", lexicon=LEX), level=1, voice="male")
    assert [n.high for n in m.notes] == [False, True, True, False]
    assert [n.midi_pitch for n in m.notes] == [45, 48, 48, 45]
    np.testing.assert_allclose(m.pitches_hz, [110.0, 130.81, 130.81, 110.0], atol=0.01)
    np.testing.assert_allclose(m.onset_times_s, [0.5, 1.5, 2.5, 3.5])
    assert m.duration_s == pytest.approx(4.5)


def test_levels_get_faster_and_sprechgesang_follows_stress():
    phrase = syllabify_phrase("I want water", lexicon=LEX)
    d1 = compose_melody(phrase, level=1).durations_s
    d2 = compose_melody(phrase, level=2).durations_s
    sg = compose_melody(phrase, level=3, sprechgesang=True)
    assert np.all(d2 < d1)
    assert np.all(sg.durations_s < d2)
    assert sg.durations_s[1] > sg.durations_s[0]  # stressed longer than unstressed


def test_female_voice_and_major_third():
    m = compose_melody(syllabify_phrase("I want", lexicon=LEX), voice="female", interval_semitones=4)
    assert note_name(m.low_midi) == "G3" and note_name(m.high_midi) == "B3"


def test_text_display_shows_pitches_syllables_and_taps():
    text = compose_melody(syllabify_phrase("I want water", lexicon=LEX)).to_text()
    lines = text.splitlines()
    assert lines[1].strip().startswith("C3") and lines[2].strip().startswith("A2")
    assert "WANT" in lines[3] and "ter" in lines[3]
    assert lines[4].split() == ["tap"] * 4


def test_conversions():
    assert midi_to_hz(69) == 440.0
    assert hz_to_midi(midi_to_hz(52.3)) == pytest.approx(52.3)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"level": 4}, "level"), ({"voice": "child"}, "voice"), ({"low_midi": 110.0}, "low_midi"),
    ({"interval_semitones": 12}, "interval_semitones"), ({"syllable_s": 0.01}, "syllable_s"),
    ({"lead_in_s": -1}, "lead_in_s"),
])
def test_bad_input(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        compose_melody(syllabify_phrase("I want", lexicon=LEX), **kwargs)


def test_empty_phrase_gives_empty_melody():
    m = compose_melody(syllabify_phrase("", lexicon=LEX))
    assert m.notes == () and m.duration_s == 0.0 and m.onset_times_s.size == 0


@settings(max_examples=50, deadline=None)
@given(pattern=st.lists(st.booleans(), min_size=1, max_size=12), level=st.sampled_from([1, 2, 3]),
       sprechgesang=st.booleans(), low=st.floats(36, 70), interval=st.floats(1, 7))
def test_two_pitches_and_contiguous_notes(pattern, level, sprechgesang, low, interval):
    words = ["hi" if p else "lo" for p in pattern]
    lex = Lexicon({"hi": (("HH", "AY1"),), "lo": (("L", "OW0"),)})
    m = compose_melody(syllabify_phrase(" ".join(words), lexicon=lex), level=level, sprechgesang=sprechgesang,
                       low_midi=low, interval_semitones=interval)
    assert set(n.midi_pitch for n in m.notes) <= {low, low + interval}
    assert all(n.high == (n.midi_pitch == low + interval) for n in m.notes)
    ends = m.onset_times_s + m.durations_s
    np.testing.assert_allclose(ends[:-1], m.onset_times_s[1:])
    assert np.all(np.diff(m.onset_times_s) > 0)
