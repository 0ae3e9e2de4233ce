import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cadenza.nicu.limits as limits_mod
from cadenza.errors import DataQualityError, ParameterError
from cadenza.nicu.limits import NICU_LIMITS, NicuLimits, check_limits, enforce_nicu_limits, smooth_level_rises
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import Calibration

SR = 16_000


def test_doctests():
    assert doctest.testmod(limits_mod).failed == 0


def test_standard_23_values():
    assert (NICU_LIMITS.leq_dba, NICU_LIMITS.l10_dba, NICU_LIMITS.lmax_dba) == (45.0, 50.0, 65.0)


def test_loud_step_is_brought_within_every_limit():
    rng = np.random.default_rng(3)
    x = np.concatenate([0.001 * rng.standard_normal(5 * SR), 0.5 * rng.standard_normal(5 * SR)])
    cal = Calibration.from_measurement(85.0)
    assert check_limits(measure_levels(x, sampling_rate_hz=SR, level_offset_db=cal.level_offset_db,
                                       floor_dba=NICU_LIMITS.floor_dba))
    out = enforce_nicu_limits(x, sampling_rate_hz=SR, calibration=cal)
    independent = measure_levels(out.samples, sampling_rate_hz=SR, level_offset_db=cal.level_offset_db,
                                 floor_dba=NICU_LIMITS.floor_dba)
    assert check_limits(independent) == ()
    assert independent.max_rise_db_per_s <= NICU_LIMITS.max_rise_db_per_s


@settings(max_examples=8, deadline=None)
@given(level_db=st.floats(-40, 0), tone_level=st.floats(40, 95), burst=st.booleans())
def test_any_input_comes_out_within_limits(level_db, tone_level, burst):
    rng = np.random.default_rng(11)
    x = 10 ** (level_db / 20) * rng.standard_normal(6 * SR) * 0.3
    if burst:
        x[3 * SR: 3 * SR + SR // 10] *= 30
    cal = Calibration.from_measurement(tone_level)
    out = enforce_nicu_limits(x, sampling_rate_hz=SR, calibration=cal)
    r = measure_levels(out.samples, sampling_rate_hz=SR, level_offset_db=cal.level_offset_db,
                       floor_dba=NICU_LIMITS.floor_dba)
    assert check_limits(r) == ()
    assert out.gain_db <= 0 or r.leq_dba <= NICU_LIMITS.leq_dba


def test_stricter_target_is_respected():
    rng = np.random.default_rng(5)
    strict = NICU_LIMITS.with_target(leq_dba=40.0)
    out = enforce_nicu_limits(0.1 * rng.standard_normal(4 * SR), sampling_rate_hz=SR, limits=strict)
    assert out.report.leq_dba <= 40.0


def test_smoothing_never_amplifies():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(3 * SR) * np.repeat([0.001, 0.3, 0.01], SR)
    y = smooth_level_rises(x, sampling_rate_hz=SR, max_rise_db_per_s=6.0)
    assert np.all(np.abs(y) <= np.abs(x) + 1e-12)


def test_check_limits_reports_each_problem():
    from cadenza.render.levels import LevelReport
    problems = check_limits(LevelReport(50.0, 55.0, 49.0, 70.0, 20.0, 60.0, 10.0))
    assert len(problems) == 4 and any("Lmax 70.0" in p for p in problems)
    assert len(check_limits(LevelReport(*[float("nan")] * 6, 0.0))) == 4  # NaN never passes


def test_bad_limits_and_input():
    with pytest.raises(ParameterError, match="lmax_dba"):
        NicuLimits(lmax_dba=80.0)
    with pytest.raises(ParameterError, match="leq_dba <= l10_dba"):
        NicuLimits(leq_dba=55.0, l10_dba=50.0)
    with pytest.raises(ParameterError, match="only lower"):
        NICU_LIMITS.with_target(leq_dba=60.0)
    with pytest.raises(ParameterError, match="silent"):
        enforce_nicu_limits(np.zeros(SR), sampling_rate_hz=SR)
    with pytest.raises(ParameterError, match="mono"):
        enforce_nicu_limits(np.ones((2, SR)), sampling_rate_hz=SR)


def test_quiet_speaker_is_never_turned_up():
    # a speaker so quiet that reaching even the floor would need more than full scale
    cal = Calibration.from_measurement(20.0)
    rng = np.random.default_rng(1)
    x = 0.01 * rng.standard_normal(3 * SR)
    out = enforce_nicu_limits(x, sampling_rate_hz=SR, calibration=cal)  # never turns up: just quiet
    assert out.gain_db <= 0


def test_unfixable_render_raises(monkeypatch):
    import cadenza.safety.enforce as enforce

    monkeypatch.setattr(enforce, "smooth_level_rises", lambda x, **kw: x)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(4 * SR) * np.repeat([0.0001, 1.0, 0.0001, 1.0], SR)
    with pytest.raises(DataQualityError, match="NICU limits"):
        enforce_nicu_limits(x, sampling_rate_hz=SR)
