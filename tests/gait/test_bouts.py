import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.gait import contacts_in_window, detect_walking_bouts


def test_split_at_pause_and_drop_short_runs():
    times = np.concatenate([np.arange(0, 3, 0.5), [10.0, 10.5], np.arange(20, 25, 0.6)])
    bouts = detect_walking_bouts(times)
    assert bouts.tolist() == [[0.0, 2.5], [20.0, pytest.approx(24.8)]]


def test_empty():
    assert detect_walking_bouts(np.array([])).shape == (0, 2)


@given(
    runs=st.lists(st.tuples(st.integers(1, 30), st.floats(0.35, 1.2)), min_size=1, max_size=6),
    pause_s=st.floats(2.0, 30.0),
)
@settings(max_examples=60)
def test_bouts_are_ordered_disjoint_and_cover_long_runs(runs, pause_s):
    times, t, expected = [], 0.0, 0
    for n, step in runs:
        run = t + step * np.arange(n)
        times.append(run)
        expected += n >= 4
        t = run[-1] + pause_s
    times = np.concatenate(times)
    bouts = detect_walking_bouts(times)
    assert len(bouts) == expected
    assert np.all(bouts[:, 1] >= bouts[:, 0])
    assert np.all(bouts[1:, 0] > bouts[:-1, 1])
    for start, end in bouts:
        assert contacts_in_window(times, start, end).size >= 4


def test_bad_parameters():
    with pytest.raises(ParameterError, match="min_steps"):
        detect_walking_bouts(np.arange(5.0), min_steps=1)
    with pytest.raises(ParameterError, match="max_step_s"):
        detect_walking_bouts(np.arange(5.0), max_step_s=0)
