"""MIDI export: notes, lyrics and taps at the planned times, and a file round trip."""

from __future__ import annotations

import mido
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.io.speech import save_midi
from cadenza.mit.melody import compose_melody
from cadenza.mit.midi import TAP_CHANNEL, melody_to_midi
from cadenza.mit.syllables import Lexicon, syllabify_phrase

LEX = Lexicon({"i": (("AY1",),), "need": (("N", "IY1", "D"),), "help": (("HH", "EH1", "L", "P"),)})


def _events(mid: mido.MidiFile):
    notes, lyrics, taps = [], [], []
    t = 0.0
    for msg in mid:  # merged tracks, time in seconds
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            (taps if msg.channel == TAP_CHANNEL else notes).append((round(t, 3), msg.note))
        elif msg.type == "lyrics":
            lyrics.append((round(t, 3), msg.text))
    return notes, lyrics, taps


def test_notes_lyrics_and_taps_at_planned_times(tmp_path):
    melody = compose_melody(syllabify_phrase("I need help", lexicon=LEX), level=2)
    path = save_midi(tmp_path / "phrase.mid", melody_to_midi(melody))
    mid = mido.MidiFile(str(path))
    notes, lyrics, taps = _events(mid)
    assert notes == [(0.5, 45), (1.3, 48), (2.1, 48)]
    assert [t for t, _ in lyrics] == [0.5, 1.3, 2.1]
    assert [text for _, text in lyrics] == ["I", "need", "help"]
    np.testing.assert_allclose([t for t, _ in taps], melody.onset_times_s)
    assert mid.length == np.float64(melody.duration_s) or abs(mid.length - melody.duration_s) < 1e-3


@settings(max_examples=30, deadline=None)
@given(pattern=st.lists(st.booleans(), min_size=1, max_size=10), level=st.sampled_from([1, 2, 3]),
       sprechgesang=st.booleans(), low=st.integers(36, 70), interval=st.integers(1, 7))
def test_midi_round_trip_keeps_notes_times_and_taps(tmp_path_factory, pattern, level, sprechgesang, low, interval):
    lex = Lexicon({"hi": (("HH", "AY1"),), "lo": (("L", "OW0"),)})
    melody = compose_melody(syllabify_phrase(" ".join("hi" if p else "lo" for p in pattern), lexicon=lex),
                            level=level, sprechgesang=sprechgesang, low_midi=low, interval_semitones=interval)
    path = save_midi(tmp_path_factory.mktemp("midi") / "m.mid", melody_to_midi(melody))
    notes, lyrics, taps = _events(mido.MidiFile(str(path)))
    assert [n for _, n in notes] == [int(n.midi_pitch) for n in melody.notes]
    np.testing.assert_allclose([t for t, _ in notes], melody.onset_times_s, atol=1e-3)
    np.testing.assert_allclose([t for t, _ in taps], melody.onset_times_s, atol=1e-3)
    assert [text for _, text in lyrics] == [n.syllable.text for n in melody.notes]
