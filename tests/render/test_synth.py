import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cadenza.render.synth as synth
from cadenza.errors import ParameterError
from cadenza.render.synth import midi_to_hz, render_notes

SR = 16_000


def test_doctests():
    assert doctest.testmod(synth).failed == 0


def test_single_note_pitch_and_soft_onset():
    y = render_notes(np.array([69.0]), onset_times_s=np.array([0.5]), durations_s=np.array([1.0]),
                     sampling_rate_hz=SR)
    assert np.all(y[: int(0.5 * SR)] == 0)
    seg = y[int(0.7 * SR): int(1.4 * SR)].astype(float)
    freqs = np.fft.rfftfreq(seg.size, 1 / SR)
    assert freqs[np.abs(np.fft.rfft(seg * np.hanning(seg.size))).argmax()] == pytest.approx(440, abs=2)
    # no transient: the first 10 ms after onset stay far below the sustained peak
    onset = int(0.5 * SR)
    assert np.abs(y[onset:onset + SR // 100]).max() < 0.05 * np.abs(seg).max()
    # release ends in silence, no click at the end
    assert abs(y[-1]) < 1e-4


def test_fundamental_dominates_timbre():
    y = render_notes(np.array([57.0]), onset_times_s=np.array([0.0]), durations_s=np.array([2.0]),
                     sampling_rate_hz=SR).astype(float)[SR // 2: SR * 3 // 2]
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    freqs = np.fft.rfftfreq(y.size, 1 / SR)
    f0 = midi_to_hz(57.0)
    def band(f):
        return spec[np.abs(freqs - f) < 5].max()
    assert band(f0) > 3 * band(2 * f0) > 3 * band(4 * f0) * 0.9


@settings(max_examples=15, deadline=None)
@given(shift_s=st.floats(0, 2), pitch=st.integers(48, 84))
def test_time_shift_invariance(shift_s, pitch):
    args = dict(durations_s=np.array([0.5, 0.5]), sampling_rate_hz=SR)
    a = render_notes(np.array([pitch, pitch + 2.0]), onset_times_s=np.array([0.0, 0.5]), **args)
    b = render_notes(np.array([pitch, pitch + 2.0]), onset_times_s=np.array([0.0, 0.5]) + shift_s, **args)
    k = int(round(shift_s * SR))
    assert b.size >= a.size + k - 1
    np.testing.assert_allclose(b[k:k + a.size - 2], a[: a.size - 2], atol=2e-3)


def test_empty_and_bad_input():
    assert render_notes(np.empty(0), onset_times_s=np.empty(0), durations_s=np.empty(0)).size == 0
    with pytest.raises(ParameterError, match="pitches_midi"):
        render_notes(np.array([440.0]), onset_times_s=np.array([0.0]), durations_s=np.array([1.0]))
    with pytest.raises(ParameterError, match="durations_s"):
        render_notes(np.array([60.0]), onset_times_s=np.array([0.0]), durations_s=np.array([0.0]))
    with pytest.raises(ParameterError, match="one length"):
        render_notes(np.array([60.0, 62.0]), onset_times_s=np.array([0.0]), durations_s=np.array([1.0]))
    with pytest.raises(ParameterError, match="full scale"):
        render_notes(np.full(8, 60.0), onset_times_s=np.zeros(8), durations_s=np.ones(8), amplitudes=np.ones(8))
