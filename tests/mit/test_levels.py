"""Protocol levels: steps, maxima and phrase-length advice."""

from __future__ import annotations

import pytest

from cadenza.errors import ParameterError
from cadenza.mit.levels import Model, get_step, level_steps, max_points, phrase_length_notes


def test_level_structure_matches_the_kit():
    assert [(s.code, s.max_points) for s in level_steps(1)] == [
        ("humming", 0), ("unison", 1), ("unison_fading", 1), ("immediate_repetition", 1), ("probe", 1)]
    assert [(s.code, s.max_points) for s in level_steps(2)] == [
        ("introduce", 0), ("unison_fading", 1), ("delayed_repetition", 2), ("probe", 2)]
    assert [(s.code, s.max_points) for s in level_steps(3)] == [
        ("delayed_repetition", 2), ("introduce_sprechgesang", 0), ("sprechgesang_fading", 2),
        ("delayed_spoken_repetition", 2), ("probe", 2)]
    assert [max_points(level) for level in (1, 2, 3)] == [4, 5, 8]


def test_cue_content_per_step():
    assert get_step(1, "humming").cue.model is Model.HUM and not get_step(1, "humming").scored
    assert get_step(1, "unison_fading").cue.fade_out
    assert get_step(2, "delayed_repetition").backup_step and get_step(2, "delayed_repetition").cue.delay_s > 0
    assert get_step(3, "delayed_spoken_repetition").cue.model is Model.SPOKEN
    assert get_step(3, "sprechgesang_fading").cue.model is Model.SPRECHGESANG


def test_bad_level_and_step():
    with pytest.raises(ParameterError, match="level"):
        level_steps(0)
    with pytest.raises(ParameterError, match="humming"):
        get_step(2, "humming")


def test_phrase_length_advice():
    assert phrase_length_notes(3, level=1) == ()
    assert "long" in phrase_length_notes(7, level=1)[0]
    assert "short" in phrase_length_notes(1, level=1)[0]
