import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cadenza.render.levels as levels
from cadenza.errors import ParameterError
from cadenza.render.levels import LevelReport, gain_db_to_reach, measure_levels

SR = 22_050


def sine(rms_dbfs, seconds, freq_hz=1000.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return np.sqrt(2) * 10 ** (rms_dbfs / 20) * np.sin(2 * np.pi * freq_hz * t)


def test_doctests():
    assert doctest.testmod(levels).failed == 0


def test_steady_tone_all_statistics_equal():
    r = measure_levels(sine(-30, 8), sampling_rate_hz=SR, level_offset_db=95.0)
    assert r.leq_dba == pytest.approx(65.0, abs=0.05)
    assert r.lmax_dba == pytest.approx(65.0, abs=0.1)
    assert r.l50_dba == pytest.approx(65.0, abs=0.1)
    assert r.duration_s == pytest.approx(8.0)


def test_low_tone_counts_less_in_dba_than_unweighted():
    r = measure_levels(sine(-30, 4, freq_hz=100), sampling_rate_hz=SR, level_offset_db=95.0)
    assert r.leq_dba == pytest.approx(65.0 - 19.1, abs=0.2)
    assert r.lzeq_db == pytest.approx(65.0, abs=0.05)


def test_two_level_signal_known_leq_l10_lmax():
    # 9 s at 40 dB(A) then 1 s at 60 dB(A): Leq = 10 log10(0.9e4 + 0.1e6)
    x = np.concatenate([sine(-60, 9), sine(-40, 1)])
    r = measure_levels(x, sampling_rate_hz=SR, level_offset_db=100.0)
    assert r.leq_dba == pytest.approx(10 * np.log10(0.9 * 1e4 + 0.1 * 1e6), abs=0.1)
    # Slow weighting: a 1-s burst reaches 1 - e^-1 of its power.
    assert r.lmax_dba == pytest.approx(10 * np.log10(1e4 + (1e6 - 1e4) * (1 - np.exp(-1))), abs=0.3)
    assert r.l50_dba == pytest.approx(40.0, abs=0.1)
    assert r.max_rise_db_per_s > 15


def test_sudden_step_has_large_rise_but_slow_fade_small():
    step = np.concatenate([np.zeros(3 * SR), sine(-40, 3)])
    # a fade linear in dB from 30 to 60 dB(A) over 8 s rises 3.75 dB per second
    fade_db = np.clip(-30 + 30 * np.arange(10 * SR) / (8 * SR), -30, 0)
    fade = sine(-40, 10) * 10 ** (fade_db / 20)
    r_step = measure_levels(step, sampling_rate_hz=SR, level_offset_db=100.0, floor_dba=30.0)
    r_fade = measure_levels(fade, sampling_rate_hz=SR, level_offset_db=100.0, floor_dba=30.0)
    assert r_step.max_rise_db_per_s > 25
    assert r_fade.max_rise_db_per_s == pytest.approx(3.75, abs=0.5)


@settings(max_examples=10, deadline=None)
@given(gain_db=st.floats(-30, 10), offset_db=st.floats(60, 110))
def test_levels_shift_exactly_with_gain(gain_db, offset_db):
    rng = np.random.default_rng(7)
    x = 0.05 * rng.standard_normal(SR * 3)
    a = measure_levels(x, sampling_rate_hz=SR, level_offset_db=offset_db, floor_dba=-100)
    b = measure_levels(x * 10 ** (gain_db / 20), sampling_rate_hz=SR, level_offset_db=offset_db, floor_dba=-100)
    for name in ("leq_dba", "l10_dba", "l50_dba", "lmax_dba", "lzeq_db"):
        assert getattr(b, name) == pytest.approx(getattr(a, name) + gain_db, abs=1e-6)
    # and gain_db_to_reach brings the louder one exactly down to the cap
    g = gain_db_to_reach(b, leq_dba=a.leq_dba)
    assert g == pytest.approx(min(0.0, -gain_db), abs=1e-6)


def test_stereo_is_mean_power():
    x = sine(-30, 2)
    r = measure_levels(np.stack([x, x]), sampling_rate_hz=SR, level_offset_db=100)
    r1 = measure_levels(x, sampling_rate_hz=SR, level_offset_db=100)
    assert r.leq_dba == pytest.approx(r1.leq_dba)


def test_empty_gives_nan_and_bad_input_raises():
    r = measure_levels(np.empty(0), sampling_rate_hz=SR, level_offset_db=100)
    assert np.isnan(r.leq_dba) and r.duration_s == 0
    with pytest.raises(ParameterError, match="level_offset_db"):
        measure_levels(np.zeros(100), sampling_rate_hz=SR, level_offset_db=float("nan"))
    with pytest.raises(ParameterError, match="samples"):
        measure_levels(np.zeros((2, 2, 2)), sampling_rate_hz=SR, level_offset_db=100)


def test_gain_never_positive():
    r = LevelReport(30.0, 31.0, 29.0, 35.0, 0.0, 40.0, 1.0)
    assert gain_db_to_reach(r, leq_dba=45, l10_dba=50, lmax_dba=65) == 0.0
