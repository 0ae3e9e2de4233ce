"""Intoning the therapist's own recording (`cadenza mit phrase --recording`): the recording is split
into the phrase's syllables, and the intoned result is on time and on pitch.

The recordings here are espeak-ng standing in for a therapist, in two forms: words spoken one at a
time with pauses (where each word's span is known, so the split has a known answer), and whole
phrases in connected speech (the figure in docs/mit.md, "Limits"). The full 30-phrase figure takes
about a minute; the tests below hold a subset of it and the cheap structural checks on all 30.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.io.speech import (
    SPEECH_RATE_HZ,
    analyse_words,
    espeak_available,
    load_lexicon,
    prepare_cue_material,
    synthesize_speech,
    synthesize_words,
)
from cadenza.mit.cues import render_model
from cadenza.mit.levels import Model
from cadenza.mit.response import analyse_response, measure_pitch_contour
from cadenza.mit.syllables import syllabify_phrase
from cadenza.render.voice import analyse_source

pytestmark = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (scripts/setup installs it)")

QUARTER_TONE_CENTS = 50.0
ONSET_TOLERANCE_S = 0.03
# espeak-ng's /f/, /v/ carry weak voicing into the vowel (see test_cues.py and docs/mit.md)
VOICED_FRICATIVE_ONSET_TOLERANCE_S = 0.04
MIN_NUCLEUS_S = 0.04
WORD_EDGE_SLACK_S = 0.02


@cache
def _phrases() -> tuple[str, ...]:
    spec = importlib.util.spec_from_file_location("_mit_phrase_list", Path(__file__).with_name("test_syllables.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(text for text, _, _ in module.FUNCTIONAL_PHRASES)


def _onset_tolerance_s(syllable: str) -> float:
    return VOICED_FRICATIVE_ONSET_TOLERANCE_S if syllable.lower().startswith(("f", "v", "ph")) else ONSET_TOLERANCE_S


def _nucleus_is_voiced(source, segment) -> bool:
    """A syllable's nucleus is at least 40 ms long and mostly pitch-marked as voiced; a nucleus on
    a voiceless consonant (the /ch/ of "much") or on a 10 ms sliver fails."""
    if segment.voiced_end_s - segment.voiced_onset_s < MIN_NUCLEUS_S:
        return False
    marks_s = source.marks.idx / SPEECH_RATE_HZ
    inside = (marks_s >= segment.voiced_onset_s) & (marks_s < segment.voiced_end_s)
    return bool(inside.any()) and float(source.marks.voiced[inside].mean()) > 0.5


def _words_with_pauses(text: str, voice: str, *, lead_s: float = 0.3, pause_s: float = 0.25):
    """The phrase's words spoken one at a time with pauses: the recording and each word's span (s)."""
    words = synthesize_words(text, voice=voice)
    sr = words.sampling_rate_hz
    parts, spans, t_s = [np.zeros(int(lead_s * sr))], [], lead_s
    for y in words.samples:
        spans.append((t_s, t_s + y.size / sr))
        parts += [np.asarray(y, dtype=float), np.zeros(int(pause_s * sr))]
        t_s += y.size / sr + pause_s
    return np.concatenate(parts), sr, spans


def _split_misses(text: str, voice: str, lexicon) -> list[str]:
    """Syllables of the words-with-pauses recording whose nucleus is not voiced or not in its word."""
    phrase = syllabify_phrase(text, lexicon=lexicon)
    y, sr, spans = _words_with_pauses(text, voice)
    source = analyse_source(y, sampling_rate_hz=sr, n_syllables=phrase.n_syllables)
    misses = []
    for syllable, segment in zip(phrase.syllables, source.segments, strict=True):
        lo_s, hi_s = spans[syllable.word_index]
        inside = lo_s - WORD_EDGE_SLACK_S <= segment.voiced_onset_s and segment.voiced_end_s <= hi_s + WORD_EDGE_SLACK_S
        if not inside or not _nucleus_is_voiced(source, segment):
            misses.append(syllable.text)
    return misses


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


def test_words_spoken_with_pauses_split_into_their_own_words(lexicon):
    """Known answer on all 30 phrases in both voices: every syllable's voiced nucleus lies inside
    the word it belongs to."""
    misses = {(voice, text): m for voice in ("male", "female") for text in _phrases()
              if (m := _split_misses(text, voice, lexicon))}
    assert not misses, misses


@settings(max_examples=5, deadline=None)
@given(lead_s=st.floats(0.05, 1.0), pause_s=st.floats(0.15, 0.6))
def test_split_moves_with_the_recording(lead_s, pause_s):
    """Time-shift invariance: more silence before and between the words moves every nucleus start
    with its word, to within one 5 ms pitch hop (the shifts are not whole hops). A nucleus end in a
    fading tail sits where voicing crosses YIN's threshold, which can move a few frames (~30 ms)."""
    text, voice, lexicon = "I need a doctor", "female", load_lexicon()
    n = syllabify_phrase(text, lexicon=lexicon).n_syllables
    y0, sr, spans0 = _words_with_pauses(text, voice, lead_s=0.3, pause_s=0.3)
    y1, _, spans1 = _words_with_pauses(text, voice, lead_s=lead_s, pause_s=pause_s)
    phrase = syllabify_phrase(text, lexicon=lexicon)
    seg0 = analyse_source(y0, sampling_rate_hz=sr, n_syllables=n).segments
    seg1 = analyse_source(y1, sampling_rate_hz=sr, n_syllables=n).segments
    for syllable, a, b in zip(phrase.syllables, seg0, seg1, strict=True):
        shift_s = spans1[syllable.word_index][0] - spans0[syllable.word_index][0]
        assert b.voiced_onset_s - a.voiced_onset_s == pytest.approx(shift_s, abs=0.006), syllable.text
        assert b.voiced_end_s - a.voiced_end_s == pytest.approx(shift_s, abs=0.035), syllable.text


# Whole phrases used to lose a syllable's voiced nucleus in two ways, both fixed in
# segment_syllables: male "Thank you very much" (the voiceless /ch/ of "much" passed the dip test
# before the shallow dip in "ve|ry" was tried) and female "Open the door" (level smoothing padded
# with zeros gave the vowel at the first sample a 10 ms sliver).


def test_whole_phrases_every_syllable_gets_a_voiced_nucleus(lexicon):
    """All 30 phrases in both voices, spoken whole (connected speech): every syllable has a voiced
    nucleus (a regression here also lowers the docs figure)."""
    bad = set()
    for voice in ("male", "female"):
        for text in _phrases():
            phrase = syllabify_phrase(text, lexicon=lexicon)
            y, sr = synthesize_speech(text, voice=voice)
            source = analyse_source(np.asarray(y, dtype=float), sampling_rate_hz=sr, n_syllables=phrase.n_syllables)
            if not all(_nucleus_is_voiced(source, seg) for seg in source.segments):
                bad.add((voice, text))
    assert not bad, bad


def _intone_whole_phrase(text: str, voice: str, lexicon):
    y, sr = synthesize_speech(text, voice=voice)
    material = prepare_cue_material(text, voice=voice, question=None, lexicon=lexicon, recording=(y, sr))
    sung, _, melody = render_model(material, Model.INTONED, level=1)
    return sung.astype(float), material.sampling_rate_hz, melody


def _misses(contour, melody) -> list[tuple[str, float, float]]:
    """Syllables off pitch (> quarter tone) or off time (voicing onset > 30 ms, f/v/ph 40 ms):
    (syllable, cents, onset error ms)."""
    t, f0 = contour.times_s, contour.f0_hz
    voiced = np.isfinite(f0)
    onsets = t[1:][voiced[1:] & ~voiced[:-1]]
    misses = []
    for note in melody.notes:
        sel = (t > note.onset_s + 0.05) & (t < note.onset_s + 0.6 * note.duration_s) & voiced
        cents = abs(1200 * np.log2(np.median(f0[sel]) / note.pitch_hz)) if sel.sum() > 10 else np.inf
        err_s = float(np.min(np.abs(onsets - note.onset_s))) if onsets.size else np.inf
        if cents >= QUARTER_TONE_CENTS or err_s > _onset_tolerance_s(note.syllable.text):
            misses.append((note.syllable.text, round(cents, 1), round(1000 * err_s)))
    return misses


# A subset of the 30 phrases (both voices; vowel-initial and several-syllable words, /h/, voiced and
# voiceless stops, f/v, nasals) that comes out with every syllable on time and on pitch.
WHOLE_PHRASE_SUBSET = [
    ("I want a glass of water", "male"),
    ("Happy birthday", "male"),
    ("My name is Anna", "male"),
    ("Good afternoon", "male"),
    ("I feel sick", "female"),
    ("Where is the bathroom", "female"),
    ("Can I have coffee", "female"),
    ("Leave me alone", "female"),
]


def test_whole_phrase_recordings_on_time_and_on_pitch(lexicon):
    """A recorded whole phrase, intoned: every syllable within a quarter tone of its note and its
    voicing onset within 30 ms of the beat (40 ms for f/v/ph), and the response analysis (150 ms,
    the figure's older criterion) finds every syllable on time and the two-pitch pattern followed."""
    misses = {}
    for text, voice in WHOLE_PHRASE_SUBSET:
        sung, sr, melody = _intone_whole_phrase(text, voice, lexicon)
        contour = measure_pitch_contour(sung, sampling_rate_hz=sr)
        if found := _misses(contour, melody):
            misses[(voice, text)] = found
        result = analyse_response(sung, sampling_rate_hz=sr, melody=melody, contour=contour)
        assert result.timing_match == 1.0 and result.pitch_pattern_followed, (voice, text)
    assert not misses, misses


@pytest.mark.xfail(reason="known miss in the docs figure: the /m/ after the /p/ closure is too weak for the "
                          "renderer's YIN, so it stays at speech pitch before the beat and voicing is heard "
                          "~95 ms early; if this passes, re-measure the figure in docs/mit.md", strict=False)
def test_nasal_after_a_stop_starts_on_the_beat(lexicon):
    sung, sr, melody = _intone_whole_phrase("Help me please", "male", lexicon)
    assert not _misses(measure_pitch_contour(sung, sampling_rate_hz=sr), melody)


def test_word_by_word_synthesis_splits_every_word(lexicon):
    """The default espeak-ng route (one recording per word): every syllable gets a voiced nucleus,
    vowel-initial words whose recording starts on the first sample included (female "water",
    "later", "open" once lost their first syllable to the level-smoothing edge)."""
    bad = set()
    for voice in ("male", "female"):
        for text in _phrases():
            phrase = syllabify_phrase(text, lexicon=lexicon)
            for word, source in zip(phrase.words, analyse_words(synthesize_words(text, voice=voice), phrase)):
                if not all(_nucleus_is_voiced(source, seg) for seg in source.segments):
                    bad.add((voice, word))
    assert not bad, bad
