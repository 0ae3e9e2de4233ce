import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.gait.episodes import merge_freeze_episodes

intervals = st.lists(st.tuples(st.floats(0, 500), st.floats(0, 20)), max_size=30).map(
    lambda pairs: np.array([[a, a + d] for a, d in pairs]).reshape(-1, 2))


@given(intervals, st.floats(0, 5), st.floats(0, 6))
@settings(max_examples=40, deadline=None, derandomize=True)
def test_merging_never_adds_episodes_and_is_idempotent(iv, gap, min_s):
    once = merge_freeze_episodes(iv, max_gap_s=gap, min_duration_s=min_s)
    assert once.shape[0] <= iv.shape[0]
    assert np.all(once[:, 1] - once[:, 0] >= min_s)
    assert np.all(np.diff(once[:, 0]) > gap) if once.shape[0] > 1 else True
    np.testing.assert_array_equal(merge_freeze_episodes(once, max_gap_s=gap, min_duration_s=min_s), once)


def test_one_freeze_broken_by_a_step_is_one_episode_and_a_stumble_is_none():
    detections = np.array([[10.0, 12.5], [13.0, 16.0], [40.0, 41.0], [60.0, 66.0]])
    np.testing.assert_array_equal(merge_freeze_episodes(detections), [[10.0, 16.0], [60.0, 66.0]])
    assert merge_freeze_episodes(np.empty((0, 2))).shape == (0, 2)


def test_bad_input_is_named():
    with pytest.raises(ParameterError, match="end >= start"):
        merge_freeze_episodes(np.array([[5.0, 4.0]]))
    with pytest.raises(ParameterError, match="max_gap_s"):
        merge_freeze_episodes(np.array([[1.0, 2.0]]), max_gap_s=-1)
    with pytest.raises(ParameterError, match="min_duration_s"):
        merge_freeze_episodes(np.array([[1.0, 2.0]]), min_duration_s=float("nan"))
