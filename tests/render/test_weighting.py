import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

import cadenza.render.weighting as weighting
from cadenza.errors import ParameterError
from cadenza.render.weighting import a_weighting_db, a_weighting_sos, apply_a_weighting

# IEC 61672-1:2013 Table 3 A-weightings (dB) at the exact base-10 mid-band frequencies 1000 * 10^(k/10)
# (nominal 31.5, 63, 125, ... 16k Hz).
IEC_TABLE = {1000 * 10 ** (k / 10): db for k, db in
             [(-15, -39.4), (-12, -26.2), (-9, -16.1), (-6, -8.6), (-3, -3.2), (0, 0.0),
              (3, 1.2), (6, 1.0), (9, -1.1), (12, -6.6)]}


def test_doctests():
    assert doctest.testmod(weighting).failed == 0


@pytest.mark.parametrize("freq_hz,expected_db", sorted(IEC_TABLE.items()))
def test_analogue_curve_matches_iec_table(freq_hz, expected_db):
    assert a_weighting_db(freq_hz) == pytest.approx(expected_db, abs=0.1)


@pytest.mark.parametrize("sampling_rate_hz", [44_100, 48_000])
def test_digital_filter_tracks_curve_up_to_quarter_rate(sampling_rate_hz):
    freqs = np.array([31.5, 63, 125, 250, 500, 1000, 2000, 4000, 6000])
    _, h = signal.sosfreqz(a_weighting_sos(sampling_rate_hz), worN=freqs, fs=sampling_rate_hz)
    np.testing.assert_allclose(20 * np.log10(np.abs(h)), a_weighting_db(freqs), atol=0.5)


@settings(max_examples=15, deadline=None)
@given(freq_hz=st.floats(40, 4000), amplitude=st.floats(1e-3, 1.0))
def test_sine_is_attenuated_by_curve(freq_hz, amplitude):
    sr = 44_100
    t = np.arange(sr) / sr
    tone = amplitude * np.sin(2 * np.pi * freq_hz * t)
    out = apply_a_weighting(tone, sampling_rate_hz=sr)[sr // 2:]
    gain_db = 20 * np.log10(np.std(out) / np.std(tone[sr // 2:]))
    assert gain_db == pytest.approx(float(a_weighting_db(freq_hz)), abs=0.6)


def test_multichannel_filters_each_channel():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4000))
    out = apply_a_weighting(x, sampling_rate_hz=16_000)
    np.testing.assert_allclose(out[1], apply_a_weighting(x[1], sampling_rate_hz=16_000))


def test_empty_and_bad_input():
    assert apply_a_weighting(np.empty(0), sampling_rate_hz=44_100).size == 0
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        apply_a_weighting(np.zeros(10), sampling_rate_hz=4000)
    with pytest.raises(ParameterError, match="NaN"):
        apply_a_weighting(np.array([0.0, np.nan]), sampling_rate_hz=44_100)
    with pytest.raises(ParameterError, match="frequencies_hz"):
        a_weighting_db(-1.0)
