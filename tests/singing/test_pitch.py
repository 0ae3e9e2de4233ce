import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.singing import hz_to_midi, midi_to_hz, track_pitch
from cadenza.singing.pitch import _correct_octaves

SR = 22_050


def _voice(f0_hz, duration_s=1.0, *, sampling_rate_hz=SR, vibrato_cents=0.0, noise=0.0, seed=0):
    """A sung-vowel-like tone: harmonics falling 6 dB/octave, optional 5.5-Hz vibrato."""
    t = np.arange(int(duration_s * sampling_rate_hz)) / sampling_rate_hz
    inst_hz = f0_hz * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(inst_hz) / sampling_rate_hz
    x = sum(np.sin(k * phase) / k for k in range(1, 8))
    return 0.2 * x + noise * np.random.default_rng(seed).normal(size=t.size)


@pytest.mark.parametrize("f0_hz", [82.4, 146.8, 220.0, 440.0, 880.0])
def test_steady_notes_across_the_voice_range(f0_hz):
    track = track_pitch(_voice(f0_hz), sampling_rate_hz=SR)
    voiced = track.f0_hz[np.isfinite(track.f0_hz)]
    assert voiced.size > 0.9 * track.f0_hz.size
    cents = 1200 * np.log2(voiced / f0_hz)
    assert np.median(np.abs(cents)) < 3  # refined off the 20-cent candidate grid


def test_vibrato_and_noise_stay_within_a_quarter_tone():
    track = track_pitch(_voice(196.0, 2.0, vibrato_cents=40, noise=0.02), sampling_rate_hz=SR)
    cents = 1200 * np.log2(track.f0_hz[np.isfinite(track.f0_hz)] / 196.0)
    assert np.mean(np.abs(cents) <= 50) > 0.97


@pytest.mark.parametrize("sampling_rate_hz", [16_000, 44_100, 48_000])
def test_any_input_rate(sampling_rate_hz):
    track = track_pitch(_voice(261.63, sampling_rate_hz=sampling_rate_hz), sampling_rate_hz=sampling_rate_hz)
    assert np.nanmedian(track.f0_hz) == pytest.approx(261.63, rel=0.003)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(delay_frames=st.integers(0, 40))
def test_a_delayed_recording_gives_a_delayed_track(delay_frames):
    x = _voice(220.0, 0.6)
    hop = 128  # 5.8 ms at 22.05 kHz
    base = track_pitch(x, sampling_rate_hz=SR)
    later = track_pitch(np.concatenate([np.zeros(delay_frames * hop), x]), sampling_rate_hz=SR)
    inner = slice(10, base.f0_hz.size - 10)
    shifted = later.f0_hz[delay_frames:][inner]
    both = np.isfinite(base.f0_hz[inner]) & np.isfinite(shifted)
    assert both.mean() > 0.9
    np.testing.assert_allclose(shifted[both], base.f0_hz[inner][both], rtol=1e-3)


def test_octave_slips_are_moved_back():
    f0 = np.full(100, 200.0)
    f0[40:43] = 400.0  # three frames an octave up
    f0[70] = 99.0  # one frame an octave down (and 17 cents flat)
    fixed = _correct_octaves(f0, 0.0058)
    np.testing.assert_allclose(fixed[40:43], 200.0)
    assert fixed[70] == pytest.approx(198.0)
    real_leap = np.concatenate([np.full(60, 200.0), np.full(60, 400.0)])  # a sung octave leap, held
    np.testing.assert_allclose(_correct_octaves(real_leap, 0.0058)[70:], 400.0)


def test_silence_is_unvoiced_and_short_input_is_empty():
    assert not track_pitch(np.zeros(SR), sampling_rate_hz=SR).voiced.any()
    assert track_pitch(np.zeros(10), sampling_rate_hz=SR).f0_hz.size == 1


def test_midi_conversions_round_trip():
    np.testing.assert_allclose(hz_to_midi(midi_to_hz(np.array([40.0, 60.5, 81.0]))), [40.0, 60.5, 81.0])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sampling_rate_hz": 44.1}, "sampling_rate_hz"),
    ({"sampling_rate_hz": SR, "fmax_hz": 5000.0}, "fmax_hz"),
])
def test_bad_options_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        track_pitch(np.zeros(100), **kwargs)
