import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.timing import align_to_cue, make_cue_times


def test_each_hit_goes_to_its_nearest_beat_within_half_an_interval():
    cue = [1.0, 1.5, 2.0, 2.5]
    a = align_to_cue([0.6, 0.76, 1.24, 1.26, 2.02, 2.03, 2.8], cue_times_s=cue)
    # 0.6 is too early for the first beat (more than 0.25 s before it); 2.8 too late for the last.
    assert a.hit_of_cue.tolist() == [1, 3, 4, -1]
    assert a.cue_of_hit.tolist() == [-1, 0, -1, 1, 2, -1, -1]
    np.testing.assert_allclose(a.asynchrony_ms, [-240.0, -240.0, 20.0, np.nan])
    assert (a.n_matched, a.n_missed, a.n_extra) == (3, 1, 4)


def test_uneven_cue_uses_the_interval_on_each_side():
    # 2.7 is 0.3 s before beat 3.0, whose interval before is 1.0 s: inside; 3.45 is 0.25 s after the
    # last beat 3.2, whose interval is 0.2 s: outside.
    a = align_to_cue([1.4, 2.7, 3.45], cue_times_s=[1.0, 2.0, 3.0, 3.2])
    assert a.hit_of_cue.tolist() == [0, -1, 1, -1]
    assert a.cue_of_hit.tolist() == [0, 2, -1]
    np.testing.assert_allclose(a.cue_interval_s, [1.0, 1.0, 0.2, 0.2])


@settings(max_examples=50, deadline=None)
@given(tempo_bpm=st.floats(30, 200), asynchrony_ms=st.floats(-200, 200), offset_s=st.floats(0.2, 1000),
       n_beats=st.integers(2, 40))
def test_a_constant_asynchrony_is_recovered_exactly(tempo_bpm, asynchrony_ms, offset_s, n_beats):
    cue = make_cue_times(tempo_bpm=tempo_bpm, start_s=offset_s, n_beats=n_beats)
    if abs(asynchrony_ms) / 1000 >= 0.5 * 60 / tempo_bpm - 1e-6:
        return  # beyond half an interval the hit belongs to the neighbouring beat
    a = align_to_cue(cue + asynchrony_ms / 1000, cue_times_s=cue)
    assert a.n_matched == n_beats and a.n_extra == 0
    np.testing.assert_allclose(a.asynchrony_ms, asynchrony_ms, atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(shift_s=st.floats(0, 3600), seed=st.integers(0, 1000))
def test_shifting_hits_and_cue_together_changes_nothing(shift_s, seed):
    rng = np.random.default_rng(seed)
    cue = make_cue_times(tempo_bpm=90, start_s=1.0, n_beats=20)
    hits = np.sort(cue + rng.normal(-0.03, 0.05, size=cue.size))
    hits = hits[hits >= 0]
    base = align_to_cue(hits, cue_times_s=cue)
    moved = align_to_cue(hits + shift_s, cue_times_s=cue + shift_s)
    assert moved.hit_of_cue.tolist() == base.hit_of_cue.tolist()
    np.testing.assert_allclose(moved.asynchrony_ms, base.asynchrony_ms, atol=1e-6)


def test_empty_inputs():
    assert align_to_cue([], cue_times_s=[]).n_matched == 0
    assert align_to_cue([1.0], cue_times_s=[]).n_extra == 1
    one = align_to_cue([5.0, 1.1], cue_times_s=[1.0])
    assert one.hit_of_cue.tolist() == [0]


def test_unsorted_cue_is_refused():
    with pytest.raises(ParameterError, match="cue_times_s"):
        align_to_cue([1.0], cue_times_s=[2.0, 1.0])
    with pytest.raises(ParameterError, match="hit_times_s"):
        align_to_cue([np.inf], cue_times_s=[1.0])
