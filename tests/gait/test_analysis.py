import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.gait import LOW_CONFIDENCE_MIN_STEPS, analyze_gait

SETTINGS = settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _two_bouts(rng, make_lower_back, make_walk, *, rate=100.0, short_steps=5):
    long_ic = make_walk(start_s=2.0, n_steps=20, step_s=0.55, rng=rng)
    short_ic = make_walk(start_s=20.0, n_steps=short_steps, step_s=0.65, rng=rng)
    ic = np.concatenate([long_ic, short_ic])
    return ic, make_lower_back(ic, duration_s=26.0, sampling_rate_hz=rate, rng=rng)


def test_two_bouts_and_low_confidence_flag(rng, make_lower_back, make_walk):
    ic, acc = _two_bouts(rng, make_lower_back, make_walk)
    result = analyze_gait(acc, sampling_rate_hz=100)
    assert len(result.bouts) == 2
    long, short = result.bouts
    assert long.n_steps == 20 and long.cadence_spm == pytest.approx(60 / 0.55, rel=0.01)
    assert not long.low_confidence
    assert short.n_steps == 5 < LOW_CONFIDENCE_MIN_STEPS and short.low_confidence
    assert short.cadence_spm == pytest.approx(60 / 0.65, rel=0.02)
    assert long.step_time_cv < 0.05
    assert result.flags == ()


def test_to_dict_is_json(rng, make_lower_back, make_walk):
    _, acc = _two_bouts(rng, make_lower_back, make_walk)
    payload = analyze_gait(acc, sampling_rate_hz=100).to_dict()
    text = json.dumps(payload)
    back = json.loads(text)
    assert len(back["bouts"]) == 2
    assert back["bouts"][1]["flags"] == ["low_confidence_few_steps"]
    assert back["bouts"][0]["asymmetry"] is None  # NaN becomes null, never a number


@given(nan_at_s=st.floats(5.0, 10.0))
@SETTINGS
def test_nan_run_splits_bout_and_is_flagged(nan_at_s, rng, make_lower_back, make_walk):
    ic = make_walk(start_s=1.0, n_steps=28, step_s=0.55, rng=rng)
    acc = make_lower_back(ic, duration_s=18.0, sampling_rate_hz=100, rng=rng)
    acc[:, int(nan_at_s * 100) : int((nan_at_s + 1.0) * 100)] = np.nan
    result = analyze_gait(acc, sampling_rate_hz=100)
    assert "missing_data" in result.flags
    for bout in result.bouts:
        assert not (bout.start_s < nan_at_s + 0.5 < bout.end_s)  # no bout spans the gap
    assert any("next_to_missing_data" in b.flags for b in result.bouts)


def test_constant_signal_is_flagged_not_analysed():
    acc = np.zeros((3, 3000))
    acc[0] = 9.81
    result = analyze_gait(acc, sampling_rate_hz=100)
    assert result.bouts == () and "constant_signal" in result.flags


def test_too_short_is_flagged(rng, make_lower_back):
    acc = make_lower_back(np.array([0.5, 1.0, 1.5]), duration_s=2.0, sampling_rate_hz=100, rng=rng)
    result = analyze_gait(acc, sampling_rate_hz=100)
    assert "too_short" in result.flags and result.bouts == ()


def test_clipped_signal_is_flagged(rng, make_lower_back, make_walk):
    ic = make_walk(start_s=1.0, n_steps=20, step_s=0.55, rng=rng)
    acc = make_lower_back(ic, duration_s=14.0, sampling_rate_hz=100, rng=rng, amplitude_m_s2=8.0)
    acc = np.clip(acc, -np.inf, 12.0)  # a +-12 m/s^2 sensor saturating at every heel strike
    result = analyze_gait(acc, sampling_rate_hz=100)
    assert "clipped" in result.flags
    assert all("clipped" in b.flags for b in result.bouts)


def test_standing_gives_no_walking_flag(rng):
    acc = np.zeros((3, 3000))
    acc[0] = 9.81
    acc += rng.normal(0, 0.03, acc.shape)
    result = analyze_gait(acc, sampling_rate_hz=100)
    assert result.bouts == () and "no_walking_found" in result.flags


def test_wrong_units_and_placement(rng, make_lower_back, make_walk):
    ic = make_walk(start_s=1.0, n_steps=10, step_s=0.55, rng=rng)
    acc = make_lower_back(ic, duration_s=8.0, sampling_rate_hz=100, rng=rng)
    with pytest.raises(ParameterError, match="in g"):
        analyze_gait(acc / 9.81, sampling_rate_hz=100)
    with pytest.raises(ParameterError, match="placement"):
        analyze_gait(acc, sampling_rate_hz=100, placement="wrist")
    with pytest.raises(ParameterError, match="gyr_deg_s"):
        analyze_gait(acc, sampling_rate_hz=100, placement="foot")
