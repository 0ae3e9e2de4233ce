"""Rendered cues: the intoned phrase in real words recovers the planned pitches and onsets under pYIN."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cadenza.io.speech import espeak_available, prepare_cue_material
from cadenza.mit.cues import render_model, render_step_cue
from cadenza.mit.levels import Model, level_steps
from cadenza.mit.response import measure_pitch_contour

pytestmark = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (scripts/setup installs it)")

QUARTER_TONE_CENTS = 50.0
ONSET_TOLERANCE_S = 0.03


def _voicing_onsets(contour) -> np.ndarray:
    voiced = np.isfinite(contour.f0_hz)
    return contour.times_s[1:][voiced[1:] & ~voiced[:-1]]


# espeak-ng's /f/ and /v/ carry weak voicing at speech pitch into the vowel, so the measured onset of
# a syllable starting with one can come up to ~31 ms early (female "feel"); every other syllable is
# held to 30 ms.
VOICED_FRICATIVE_ONSET_TOLERANCE_S = 0.04


def _onset_tolerance_s(syllable: str) -> float:
    return VOICED_FRICATIVE_ONSET_TOLERANCE_S if syllable.lower().startswith(("f", "v", "ph")) else ONSET_TOLERANCE_S


def _render_and_measure(case) -> tuple[list[float], list[tuple]]:
    """One (text, voice, level): assert every pitch within a quarter tone; return the onset errors (s) and
    the onsets outside their tolerance."""
    text, voice, level = case
    material = prepare_cue_material(text, voice=voice, question=None)
    y, taps_s, melody = render_model(material, Model.INTONED, level=level)
    np.testing.assert_allclose(taps_s, melody.onset_times_s)
    contour = measure_pitch_contour(y, sampling_rate_hz=material.sampling_rate_hz)
    t, f0 = contour.times_s, contour.f0_hz
    onsets = _voicing_onsets(contour)
    errors_s, misses = [], []
    for note in melody.notes:
        sel = (t > note.onset_s + 0.05) & (t < note.onset_s + 0.6 * note.duration_s) & np.isfinite(f0)
        assert sel.sum() > 10, (text, note.syllable.text)
        cents = 1200 * np.log2(np.median(f0[sel]) / note.pitch_hz)
        assert abs(cents) < QUARTER_TONE_CENTS, (text, voice, note.syllable.text, cents)
        err = float(np.min(np.abs(onsets - note.onset_s)))
        errors_s.append(err)
        if err > _onset_tolerance_s(note.syllable.text):
            misses.append((text, voice, note.syllable.text, round(1000 * err)))
    return errors_s, misses


def _check_rendered(cases, *, processes: int = 1) -> np.ndarray:
    """Render each (text, voice, level); assert every pitch within a quarter tone and every onset
    within its tolerance; return the onset errors (s). ``processes`` > 1 renders cases in parallel
    (each case is independent; the machine has 2 cores and the suite runs on one)."""
    if processes > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(processes) as pool:
            results = list(pool.map(_render_and_measure, cases))
    else:
        results = [_render_and_measure(case) for case in cases]
    misses = [miss for _, found in results for miss in found]
    assert not misses, misses
    return np.array([err for errors, _ in results for err in errors])


RENDER_CASES = [  # both voices, levels I and II, onsets after /h/, voiced stops, fricatives and vowels
    ("I want a glass of water", "male", 1),
    ("Thank you very much", "female", 2),
    ("I need help", "male", 1),
    ("Call my daughter", "female", 1),
    ("I feel sick", "female", 2),
    ("Good morning", "male", 2),
]


def test_rendered_phrases_pitch_and_onsets():
    """Every syllable on its planned pitch within a quarter tone and its voicing onset (pYIN, breathy
    onsets included) within 30 ms of the plan; this set is weighted toward the hard onsets (/h/,
    voiceless stops, /s/)."""
    assert _check_rendered(RENDER_CASES).size == 25


@pytest.mark.slow
def test_every_functional_phrase_in_one_of_the_two_voices():
    """The 30-phrase list at level I, each phrase once, the voices taking turns (every pitch within a
    quarter tone, every onset within 30 ms; f/v-initial syllables within 40 ms, see above). The figure over
    both voices (232 syllables) is measured by the script in docs/mit.md."""
    spec = importlib.util.spec_from_file_location("_mit_phrase_list", Path(__file__).with_name("test_syllables.py"))
    phrases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(phrases)
    cases = [(text, ("male", "female")[index % 2], 1) for index, (text, _, _) in enumerate(phrases.FUNCTIONAL_PHRASES)]
    assert len(cases) == 30
    errors_s = _check_rendered(cases)
    assert errors_s.size > 100  # every syllable of the 30 phrases was found and measured
    assert np.median(errors_s) < 0.02


@pytest.fixture(scope="module")
def material():
    return prepare_cue_material("I need help")


def test_every_step_of_every_level_renders(material):
    for level in (1, 2, 3):
        for step in level_steps(level):
            cue = render_step_cue(material, level=level, step_code=step.code)
            assert cue.samples.shape[0] == 2 and cue.samples.shape[1] > material.sampling_rate_hz
            assert np.all(np.isfinite(cue.samples)) and np.abs(cue.samples).max() <= 1.0
            if step.cue.taps:
                tap_idx = np.round(cue.tap_times_s * material.sampling_rate_hz).astype(int)
                assert np.all(np.abs(cue.samples[1, tap_idx]) > 0.5)
            else:
                assert not np.any(cue.samples[1])


def test_fading_silences_the_end_and_delays_add_time(material):
    plain = render_step_cue(material, level=1, step_code="unison")
    faded = render_step_cue(material, level=1, step_code="unison_fading")
    sr = material.sampling_rate_hz
    last = plain.melody.notes[-1]
    tail = slice(int((last.onset_s + 0.1) * sr), int((last.onset_s + 0.5) * sr))
    assert np.abs(plain.samples[0, tail]).max() > 0.1
    assert np.abs(faded.samples[0, tail]).max() == 0.0
    delayed = render_step_cue(material, level=2, step_code="delayed_repetition")
    assert delayed.duration_s > 6.0 + 2 * plain.melody.duration_s - 1.0
