import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.timing import check_alternation, measure_continuation


@settings(max_examples=40, deadline=None)
@given(iti_s=st.floats(0.2, 2.0), drift_s=st.floats(-0.01, 0.01), n=st.integers(4, 40), start_s=st.floats(0, 1000))
def test_a_linear_drift_is_recovered(iti_s, drift_s, n, start_s):
    intervals = iti_s + drift_s * np.arange(n - 1)
    if intervals.min() <= 0.05:
        return
    taps = start_s + np.concatenate([[0.0], np.cumsum(intervals)])
    c = measure_continuation(taps, cue_interval_s=iti_s)
    assert c.n_taps == n
    assert c.drift_ms_per_tap == pytest.approx(drift_s * 1000, abs=1e-6)
    assert c.mean_iti_ms == pytest.approx(np.mean(intervals) * 1000)
    assert c.tempo_kept_pct == pytest.approx(100 * np.mean(intervals) / iti_s)


def test_steady_taps_have_no_drift_and_no_variability():
    c = measure_continuation(0.6 * np.arange(10), cue_interval_s=0.6)
    assert c.drift_ms_per_tap == pytest.approx(0, abs=1e-9) and c.iti_cv_pct == pytest.approx(0, abs=1e-9)
    assert c.tempo_kept_pct == pytest.approx(100)


def test_too_few_taps_give_nan():
    assert np.isnan(measure_continuation([]).mean_iti_ms)
    two = measure_continuation([0.0, 0.5])
    assert two.mean_iti_ms == 500.0 and np.isnan(two.sd_iti_ms) and np.isnan(two.drift_ms_per_tap)


def test_alternation():
    check = check_alternation(["L", "R", "l", "L", "R", "R"])
    assert check.n_hits == 6 and check.repeat_idx.tolist() == [3, 5]
    assert check.alternating_pct == pytest.approx(60.0)
    assert check_alternation("LRLR").alternating_pct == 100.0
    assert np.isnan(check_alternation(["L"]).alternating_pct)


def test_bad_input_is_named():
    with pytest.raises(ParameterError, match="sides"):
        check_alternation(["L", "left"])
    with pytest.raises(ParameterError, match="cue_interval_s"):
        measure_continuation([0.0, 0.5], cue_interval_s=500)
