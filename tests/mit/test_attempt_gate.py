"""An MIT attempt is scored only when the recording holds one attempt at the phrase (issue 15,
clinic-day walk-through problem 10): rendered attempts are found; instrumental music, someone
singing another song and silence are "no attempt found", never a score."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.io.audio import load_audio
from cadenza.io.speech import espeak_available, load_lexicon, prepare_cue_material
from cadenza.mit.cues import render_model
from cadenza.mit.levels import Model
from cadenza.mit.melody import compose_melody
from cadenza.mit.response import analyse_response, check_attempt
from cadenza.mit.syllables import syllabify_phrase

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
PHRASES = ("I want water", "Good morning", "Please open the door")


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


def _melody(text: str, lexicon, level: int = 1):
    return compose_melody(syllabify_phrase(text, lexicon=lexicon), level=level, sprechgesang=level == 3)


@needs_espeak
@pytest.mark.parametrize("voice", ["male", "female"])
@pytest.mark.parametrize(("model", "level"), [(Model.INTONED, 1), (Model.SPRECHGESANG, 3), (Model.SPOKEN, 3)])
def test_rendered_attempts_are_found(lexicon, voice, model, level):
    for text in PHRASES:
        material = prepare_cue_material(text, voice=voice, question=None, lexicon=lexicon)
        rate = material.sampling_rate_hz
        y, _, _ = render_model(material, model, level=level)
        y = np.concatenate([np.zeros(rate // 2), y, np.zeros(rate)])  # the pause before and after
        result = analyse_response(y, sampling_rate_hz=rate, melody=_melody(text, lexicon, level))
        assert result.attempt_found, (text, result.attempt_problem)


def test_walkthrough_p10_the_excerpt_is_no_attempt(lexicon, shared_data):
    audio = load_audio(shared_data("music", "audio") / "dev010.flac", mono=True)
    y = audio.samples[: 30 * audio.sampling_rate_hz]
    result = analyse_response(y, sampling_rate_hz=audio.sampling_rate_hz, melody=_melody("I want water", lexicon))
    assert not result.attempt_found
    assert "sound onsets" in result.attempt_problem
    assert np.isnan(result.timing_match) and not result.pitch_pattern_followed
    assert result.to_dict()["timing_match"] is None and result.to_dict()["attempt_found"] is False


@pytest.mark.slow
def test_short_instrumental_excerpts_are_mostly_refused(lexicon, shared_data):
    # The first 5 s of every other one of the 40 beat-annotated excerpts, offered as "I want water"
    # (4 syllables). Measured on all 40 when the rule was set: 34 refused; the others hold few enough
    # notes to pass the syllable-count rule (docs/mit.md, "No attempt found").
    files = sorted(shared_data("music", "audio").glob("*.flac"))[::2]
    assert len(files) >= 20
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    melody = _melody("I want water", lexicon)
    with ProcessPoolExecutor(2) as pool:  # independent files; the suite itself runs on one of the 2 cores
        found = list(pool.map(partial(_attempt_found_in_first_5_s, melody=melody), files))
    refused = found.count(False)
    assert refused >= 15, f"only {refused} of {len(files)} refused"


def _attempt_found_in_first_5_s(path, *, melody) -> bool:
    audio = load_audio(path, mono=True)
    return analyse_response(audio.samples[: 5 * audio.sampling_rate_hz], sampling_rate_hz=audio.sampling_rate_hz,
                            melody=melody).attempt_found


def test_singing_another_song_is_no_attempt(lexicon, shared_data):
    folder = shared_data("singing", "vocadito", "Audio")
    audio = load_audio(folder / "vocadito_1.wav", mono=True)
    result = analyse_response(audio.samples, sampling_rate_hz=audio.sampling_rate_hz,
                              melody=_melody("I want water", lexicon))
    assert not result.attempt_found


@pytest.mark.parametrize(("n_onsets", "n_syllables", "n_matched", "found"), [
    (4, 4, 4, True), (6, 4, 4, True), (7, 4, 4, False),    # 4 syllables: up to 2 extra onsets
    (5, 3, 3, True), (6, 3, 3, False),
    (11, 8, 8, True), (12, 8, 8, True), (13, 8, 8, False),  # 8 syllables: up to 4 extra
    (4, 4, 1, False), (4, 4, 2, True),                      # at least half the syllables matched
    (0, 4, 0, False),
])
def test_check_attempt_boundaries(n_onsets, n_syllables, n_matched, found):
    assert (check_attempt(n_onsets=n_onsets, n_syllables=n_syllables, n_matched=n_matched) == "") is found


def test_check_attempt_needs_a_phrase():
    with pytest.raises(ParameterError, match="n_syllables"):
        check_attempt(n_onsets=3, n_syllables=0, n_matched=0)
