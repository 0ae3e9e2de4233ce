import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.timing import clean_event_times, make_cue_times


def test_bounces_are_dropped_and_times_sorted():
    assert clean_event_times([1.0, 0.2, 0.21, 0.5, 0.52]).tolist() == [0.2, 0.5, 1.0]
    assert clean_event_times([0.2, 0.21], min_interval_s=0).tolist() == [0.2, 0.21]


@settings(max_examples=40, deadline=None)
@given(times=st.lists(st.floats(0, 100), max_size=50), interval_s=st.floats(0.01, 0.5))
def test_cleaned_events_are_sorted_and_apart(times, interval_s):
    cleaned = clean_event_times(times, min_interval_s=interval_s)
    assert np.all(np.diff(cleaned) >= interval_s)
    assert cleaned.size <= len(times)
    if times:
        assert cleaned[0] == min(times)


@settings(max_examples=40, deadline=None)
@given(tempo_bpm=st.floats(10, 400), start_s=st.floats(0, 100), n_beats=st.integers(0, 200))
def test_cue_grids_are_isochronous(tempo_bpm, start_s, n_beats):
    cue = make_cue_times(tempo_bpm=tempo_bpm, start_s=start_s, n_beats=n_beats)
    assert cue.size == n_beats
    if n_beats > 1:
        np.testing.assert_allclose(np.diff(cue), 60 / tempo_bpm)
        assert cue[0] == start_s


def test_cue_up_to_an_end_includes_it():
    assert make_cue_times(tempo_bpm=120, end_s=2.0).tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"tempo_bpm": 0, "n_beats": 4}, "tempo_bpm"),
    ({"tempo_bpm": 60, "start_s": -1, "n_beats": 4}, "start_s"),
    ({"tempo_bpm": 60}, "n_beats"),
    ({"tempo_bpm": 60, "n_beats": 4, "end_s": 3.0}, "n_beats"),
    ({"tempo_bpm": 60, "end_s": 1e9}, "end_s"),
])
def test_bad_cues_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        make_cue_times(**kwargs)


@pytest.mark.parametrize(("times", "match"), [
    ([0.0, np.nan], "finite"), ([[0.0]], "1-D"), ([-1.0], "minimum"), ([5e6], "milliseconds"), (["a"], "numbers"),
])
def test_bad_times_are_named(times, match):
    with pytest.raises(ParameterError, match=match):
        clean_event_times(times)
