import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.gait import cadence_spm, gait_speed_m_s, step_time_asymmetry, step_time_cv


def test_known_answers():
    assert cadence_spm(np.array([0, 0.5, 1.0])) == 120
    assert cadence_spm(np.array([10.0, 10.6, 11.2, 11.8])) == pytest.approx(100)
    # A final slow step (a stop) counts fully in the span rule, as one stride in the stride mean.
    times = np.array([0, 0.6, 1.2, 1.8, 2.4, 4.4])
    assert cadence_spm(times) == pytest.approx(5 / 4.4 * 60)
    assert cadence_spm(times, method="stride-mean") == pytest.approx(np.mean([100, 100, 100, 120 / 2.6]))


@given(period_s=st.floats(0.3, 1.5), offset_s=st.floats(0, 600), n=st.integers(3, 40))
def test_even_steps(period_s, offset_s, n):
    times_s = offset_s + period_s * np.arange(n)
    assert cadence_spm(times_s) == pytest.approx(60 / period_s)
    assert cadence_spm(times_s, method="stride-mean") == pytest.approx(60 / period_s)
    assert step_time_cv(times_s) == pytest.approx(0, abs=1e-6)


@given(scale=st.floats(0.5, 2.0))
@settings(max_examples=30)
def test_cadence_scales_inversely_with_time(scale):
    times = np.array([0.0, 0.55, 1.13, 1.66, 2.2])
    assert cadence_spm(times * scale) == pytest.approx(cadence_spm(times) / scale)


def test_empty_is_nan_not_error():
    assert np.isnan(cadence_spm(np.array([])))
    assert np.isnan(cadence_spm(np.array([1.0])))
    assert np.isnan(step_time_cv(np.array([0.0, 1.0])))


@pytest.mark.parametrize(
    "times, match",
    [(np.array([0, 1.0, 0.5]), "increasing"), (np.array([0, np.nan]), "NaN"), (np.zeros((2, 2)), "1-D")],
)
def test_bad_times(times, match):
    with pytest.raises(ParameterError, match=match):
        cadence_spm(times)


def test_unknown_method():
    with pytest.raises(ParameterError, match="method"):
        cadence_spm(np.array([0, 1.0]), method="mean")


def test_asymmetry():
    times = np.array([0.0, 0.6, 1.0, 1.6, 2.0])
    sides = np.array(["left", "right", "left", "right", "left"])
    assert step_time_asymmetry(times, sides) == pytest.approx(0.4)
    assert np.isnan(step_time_asymmetry(times, np.array(["left"] * 5)))
    with pytest.raises(ParameterError, match="sides"):
        step_time_asymmetry(times, sides[:3])


def test_gait_speed_ten_metre_walk():
    assert gait_speed_m_s(10, 8) == 1.25
    with pytest.raises(ParameterError, match="duration_s"):
        gait_speed_m_s(10, 0)
    with pytest.raises(ParameterError, match="minutes"):
        gait_speed_m_s(10, 0.5)  # 20 m/s: time entered in minutes?
