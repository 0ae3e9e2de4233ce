"""Onsets from audio: synthetic taps with exact onsets, invariances, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.timing import detect_onsets, onset_strength

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)


def _tap(kind: str, sampling_rate_hz: int, rng: np.random.Generator) -> np.ndarray:
    """A percussive sound starting at its first sample: a 0.5-ms rise, then a decay."""
    t = np.arange(int(0.12 * sampling_rate_hz)) / sampling_rate_hz
    rise = np.minimum(t / 0.0005, 1.0)
    if kind == "click":  # a tap on a table: broadband, short
        sound = rng.normal(size=t.size) * np.exp(-t / 0.004)
    elif kind == "thump":  # a drum: a low resonance with a noisy attack
        sound = np.sin(2 * np.pi * 180 * t) * np.exp(-t / 0.03) + 0.3 * rng.normal(size=t.size) * np.exp(-t / 0.003)
    else:  # a clap-like noise burst
        sound = rng.normal(size=t.size) * np.exp(-t / 0.012)
    return sound * rise * np.exp(-((t / t[-1]) ** 8))  # fade out: no click at the end of the buffer


def _recording(onsets_s, *, kind="click", sampling_rate_hz=16_000, duration_s=None, noise=1e-3, rng=None):
    rng = rng or np.random.default_rng(0)
    duration_s = duration_s or (max(onsets_s, default=0) + 0.5)
    x = rng.normal(size=int(duration_s * sampling_rate_hz)) * noise
    for onset_s in onsets_s:
        i = int(round(onset_s * sampling_rate_hz))
        sound = _tap(kind, sampling_rate_hz, rng) * rng.uniform(0.3, 1.0)
        x[i:i + sound.size] += sound[: x.size - i]
    return x


@pytest.mark.parametrize("kind", ["click", "thump", "clap"])
@pytest.mark.parametrize("sampling_rate_hz", [16_000, 44_100, 48_000])
def test_synthetic_hits_are_found_at_their_first_sample(kind, sampling_rate_hz, rng):
    onsets_s = np.round((0.5 + np.cumsum(rng.uniform(0.25, 0.7, size=20))) * sampling_rate_hz) / sampling_rate_hz
    x = _recording(onsets_s, kind=kind, sampling_rate_hz=sampling_rate_hz, rng=rng)
    found = detect_onsets(x, sampling_rate_hz=sampling_rate_hz)
    assert found.size == onsets_s.size
    assert np.max(np.abs(found - onsets_s)) < 0.0005  # within half a millisecond


def test_flux_peaks_without_refinement_come_early(rng):
    """The flux fires as the sound enters its 32-ms window: several ms before the sound starts."""
    onsets_s = 0.5 + 0.5 * np.arange(10)
    x = _recording(onsets_s, rng=rng)
    coarse = detect_onsets(x, sampling_rate_hz=16_000, instant="frame")
    assert coarse.size == onsets_s.size
    assert -0.015 < np.median(coarse - onsets_s) < -0.003


def test_spectral_instant_lies_between_frames_and_leads_the_attack(rng):
    """The parabola places the flux peak off the 5-ms grid, near the grid peak, before the sound."""
    onsets_s = 0.5 + 0.5 * np.arange(10) + rng.uniform(0, 0.005, size=10)
    x = _recording(onsets_s, rng=rng)
    frame = detect_onsets(x, sampling_rate_hz=16_000, instant="frame")
    spectral = detect_onsets(x, sampling_rate_hz=16_000, instant="spectral")
    assert spectral.size == frame.size == onsets_s.size
    assert np.all(np.abs(spectral - frame) <= 0.0025 + 1e-12)
    assert np.any(np.abs(np.round(spectral / 0.005) * 0.005 - spectral) > 1e-4)
    assert -0.015 < np.median(spectral - onsets_s) < -0.003


@SETTINGS
@given(shift_samples=st.integers(0, 400))
def test_spectral_instant_follows_a_delay_finer_than_the_hop(shift_samples):
    """Delays of 0-25 ms (not multiples of the 5-ms hop) move the spectral instants by about as much:
    the sub-frame peak tracks the sound, not the frame grid (within 1.5 ms)."""
    sampling_rate_hz = 16_000
    x = _recording([0.3, 0.7, 1.05, 1.6], rng=np.random.default_rng(3))
    base = detect_onsets(x, sampling_rate_hz=sampling_rate_hz, instant="spectral")
    shifted = detect_onsets(np.concatenate([np.zeros(shift_samples), x]), sampling_rate_hz=sampling_rate_hz,
                            instant="spectral")
    assert shifted.size == base.size
    assert np.max(np.abs(shifted - base - shift_samples / sampling_rate_hz)) < 0.0015


def test_an_unknown_instant_is_refused():
    with pytest.raises(ParameterError, match="instant must be one of attack, spectral, frame, got 'peak'"):
        detect_onsets(np.zeros(8_000), sampling_rate_hz=8_000, instant="peak")


@SETTINGS
@given(shift_samples=st.integers(0, 4000))
def test_a_delayed_recording_gives_delayed_onsets(shift_samples):
    sampling_rate_hz = 16_000
    x = _recording([0.3, 0.7, 1.05, 1.6], rng=np.random.default_rng(3))
    base = detect_onsets(x, sampling_rate_hz=sampling_rate_hz)
    shifted = detect_onsets(np.concatenate([np.zeros(shift_samples), x]), sampling_rate_hz=sampling_rate_hz)
    assert shifted.size == base.size
    np.testing.assert_allclose(shifted - base, shift_samples / sampling_rate_hz, atol=1e-9)


@SETTINGS
@given(gain_db=st.floats(-40, 20))
def test_the_recording_gain_does_not_matter(gain_db):
    x = _recording([0.3, 0.7, 1.05, 1.6], rng=np.random.default_rng(4))
    base = detect_onsets(x, sampling_rate_hz=16_000)
    np.testing.assert_allclose(detect_onsets(x * 10 ** (gain_db / 20), sampling_rate_hz=16_000), base, atol=1e-9)


def test_stereo_is_mixed_and_order_of_channels_is_time_last(rng):
    x = _recording([0.3, 0.8], rng=rng)
    np.testing.assert_allclose(detect_onsets(np.stack([x, x]), sampling_rate_hz=16_000),
                               detect_onsets(x, sampling_rate_hz=16_000))


@pytest.mark.parametrize("signal", ["silence", "white", "hum"])
def test_no_hits_in_silence_or_steady_noise(signal, rng):
    n = 16_000 * 5
    x = {"silence": np.zeros(n), "white": rng.normal(size=n) * 0.01,
         "hum": 0.1 * np.sin(2 * np.pi * 100 * np.arange(n) / 16_000) + 0.005 * rng.normal(size=n)}[signal]
    assert detect_onsets(x, sampling_rate_hz=16_000).size == 0


def test_empty_and_short_input_give_empty_results():
    assert detect_onsets(np.zeros(0), sampling_rate_hz=16_000).size == 0
    assert detect_onsets(np.zeros(10), sampling_rate_hz=16_000).size == 0
    strength, frame_rate_hz = onset_strength(np.zeros(0), sampling_rate_hz=16_000)
    assert strength.size == 1 and frame_rate_hz == 200.0


def test_close_hits_count_once_within_the_minimum_interval(rng):
    x = _recording([0.5, 0.51, 1.0], rng=rng)  # a flam 10 ms apart
    assert detect_onsets(x, sampling_rate_hz=16_000).size == 2


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sampling_rate_hz": 16}, "sampling_rate_hz"),
    ({"sampling_rate_hz": 16_000, "threshold": 0}, "threshold"),
    ({"sampling_rate_hz": 16_000, "min_interval_s": 30}, "min_interval_s"),
])
def test_bad_options_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        detect_onsets(np.zeros(1000), **kwargs)


def test_bad_samples_are_refused():
    with pytest.raises(ParameterError, match="NaN"):
        detect_onsets(np.array([0.0, np.nan] * 100), sampling_rate_hz=16_000)
    with pytest.raises(ParameterError, match="shape"):
        detect_onsets(np.zeros((2, 2, 2)), sampling_rate_hz=16_000)
