import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.gait import match_contacts, pool_matches, score_bout


@given(shift_s=st.floats(-0.2, 0.2), n=st.integers(1, 50))
@settings(max_examples=40)
def test_shift_within_tolerance_matches_all(shift_s, n):
    ref = 0.55 * np.arange(n) + 1.0
    m = match_contacts(ref + shift_s, ref)
    assert (m.n_true_positive, m.n_false_positive, m.n_false_negative) == (n, 0, 0)
    assert m.f1 == 1.0
    np.testing.assert_allclose(m.timing_errors_s, shift_s, atol=1e-9)


def test_extra_and_missing_contacts_are_counted():
    ref = np.arange(10) * 0.5
    det = np.sort(np.concatenate([np.delete(ref, [3, 6]), [4.26]]))  # 2 missing, 1 between two
    m = match_contacts(det, ref, tolerance_s=0.1)
    assert m.n_false_negative == 2
    assert m.n_false_positive == 1
    assert m.f1 == pytest.approx(2 * 8 / (2 * 8 + 1 + 2))


def test_one_to_one():
    # Two detections near one reference: only one may match.
    m = match_contacts(np.array([0.95, 1.05]), np.array([1.0]))
    assert (m.n_true_positive, m.n_false_positive) == (1, 1)


def test_score_bout_counts_contacts_in_window():
    det = np.arange(0, 20, 0.6)
    s = score_bout(det, start_s=3.0, end_s=9.0, reference_cadence_spm=100.0, n_reference=11)
    assert s.n_detected == 11
    assert s.cadence_spm == pytest.approx(100.0)
    assert s.abs_rel_error == pytest.approx(0.0)
    empty = score_bout(np.array([]), start_s=3.0, end_s=9.0, reference_cadence_spm=100.0, n_reference=11)
    assert empty.abs_rel_error == 1.0  # no cadence is a total miss, never skipped


def test_bad_window():
    with pytest.raises(ParameterError, match="end_s"):
        score_bout(np.array([1.0]), start_s=5, end_s=5, reference_cadence_spm=100, n_reference=1)


TIMES_S = st.floats(0, 50).map(lambda t: round(t, 3))  # millisecond grid: distinct even after +1000 s


@settings(max_examples=30, deadline=None)
@given(
    det=st.lists(TIMES_S, max_size=15, unique=True),
    ref=st.lists(TIMES_S, max_size=15, unique=True),
    det2=st.lists(TIMES_S, max_size=15, unique=True),
    ref2=st.lists(TIMES_S, max_size=15, unique=True),
)
def test_pooled_matches_equal_one_match_of_far_apart_walks(det, ref, det2, ref2):
    # Two walks 1000 s apart cannot share a match, so matching them together is the pooled result.
    a, b = (np.sort(np.array(x, dtype=float)) for x in (det, ref))
    c, d = (np.sort(np.array(x, dtype=float)) + 1000.0 for x in (det2, ref2))
    pooled = pool_matches([match_contacts(a, b), match_contacts(c, d)])
    whole = match_contacts(np.concatenate([a, c]), np.concatenate([b, d]))
    assert (pooled.n_true_positive, pooled.n_false_positive, pooled.n_false_negative) == (
        whole.n_true_positive, whole.n_false_positive, whole.n_false_negative)
    assert pooled.timing_errors_s.size == whole.timing_errors_s.size == whole.n_true_positive


def test_pool_of_nothing_and_bad_input():
    empty = pool_matches([])
    assert (empty.n_true_positive, empty.n_false_positive, empty.n_false_negative) == (0, 0, 0)
    assert np.isnan(empty.f1)
    with pytest.raises(ParameterError, match=r"matches\[0\]"):
        pool_matches([(1, 0, 0)])


def test_timed_stretches_cut_at_untimed_contacts_long_steps_and_repeated_feet():
    from cadenza.gait.scoring import timed_stretches

    ic = np.r_[np.arange(0, 4.5, 0.5), np.nan, np.arange(5.5, 8.0, 0.5), 9.5 + np.arange(0, 5.0, 0.5)]
    stretches = timed_stretches(ic)
    assert [s.size for s in stretches] == [9, 10]  # 5.5-7.5 is too short; 7.5 -> 9.5 is a 4x step
    sides = np.array(["L", "R"] * 13)[: ic.size]
    sides[3] = sides[2]
    assert [s[0] for s in timed_stretches(ic, sides)] == [9.5]  # the same foot twice cuts the first one
    assert timed_stretches(np.array([np.nan, np.nan])) == []
    with pytest.raises(ParameterError, match="sides"):
        timed_stretches(ic, sides[:3])


def test_the_reference_scores_zero_on_its_own_stretches_and_a_missed_contact_costs():
    from cadenza.gait.scoring import score_stretch

    ref = np.cumsum(np.r_[1.0, np.tile([0.35, 0.76], 6)])  # alternating short and long steps
    got, want, match = score_stretch(ref, ref)
    assert got == want and match.f1 == 1.0
    got, want, match = score_stretch(np.delete(ref, 5), ref)
    assert got == pytest.approx(want, rel=0.2) and match.n_false_negative == 1
    # Neighbours just outside the stretch (half a step away or more) are not counted.
    got, _, _ = score_stretch(np.r_[ref[0] - 0.3, ref, ref[-1] + 0.3], ref)
    assert got == pytest.approx(want)
