"""Step and session scoring, and the advancement rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.mit.levels import level_steps, max_points
from cadenza.mit.scoring import advancement, score_session, score_step


def test_best_attempt_capped_and_override():
    assert score_step(2, "delayed_repetition", [0, 1]) == 1
    assert score_step(2, "delayed_repetition", [5]) == 2
    assert score_step(1, "unison", [0, 1, 0]) == 1
    assert score_step(1, "unison", [1], override=0) == 0
    assert score_step(1, "humming", [1]) is None
    assert score_step(1, "unison", []) is None


def test_bad_scores():
    with pytest.raises(ParameterError, match="override"):
        score_step(1, "unison", [1], override=2)
    with pytest.raises(ParameterError, match="-1"):
        score_step(1, "unison", [-1])
    with pytest.raises(ParameterError, match="outside"):
        score_session(1, [{"unison": 3}])
    with pytest.raises(ParameterError, match="unknown"):
        score_session(1, [{"sprechgesang_fading": 1}])


def test_session_percentages_per_level():
    full1 = {"unison": 1, "unison_fading": 1, "immediate_repetition": 1, "probe": 1}
    assert score_session(1, [full1, full1]).percent == 100.0
    s2 = score_session(2, [{"unison_fading": 1, "delayed_repetition": 1, "probe": 2}])
    assert (s2.points, s2.possible, s2.percent) == (4, 5, 80.0)
    s3 = score_session(3, [{"delayed_repetition": 2, "sprechgesang_fading": 2, "delayed_spoken_repetition": 1}])
    assert (s3.points, s3.possible) == (5, 8)  # skipped probe counts as 0 of 2


def test_advancement_rule_and_caveat():
    assert advancement([92, 95], level=1).ready
    assert not advancement([95], level=1).ready
    assert not advancement([95, 89.9], level=1).ready
    assert advancement([80, 85], level=2, criterion_pct=80).ready
    assert not advancement([95, 95], level=2, consecutive_sessions=3).ready
    assert "convention" in advancement([], level=1).caveat
    with pytest.raises(ParameterError, match="criterion_pct"):
        advancement([90], level=1, criterion_pct=150)


@settings(max_examples=50, deadline=None)
@given(level=st.sampled_from([1, 2, 3]), data=st.data())
def test_percent_bounded_and_full_marks_is_100(level, data):
    steps = [s for s in level_steps(level) if s.scored]
    phrases = data.draw(st.lists(st.fixed_dictionaries(
        {s.code: st.integers(0, s.max_points) for s in steps}), min_size=1, max_size=5))
    score = score_session(level, phrases)
    assert score.possible == max_points(level) * len(phrases)
    assert 0 <= score.percent <= 100
    full = score_session(level, [{s.code: s.max_points for s in steps}] * len(phrases))
    assert full.percent == 100.0
