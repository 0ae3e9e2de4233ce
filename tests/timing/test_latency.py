import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal as sp_signal

from cadenza.errors import ParameterError
from cadenza.timing.latency import (
    MAX_RESIDUAL_MS,
    make_loopback_signal,
    measure_loopback,
    measure_tap_offset,
)

SR = 16_000


def _delayed(signal: np.ndarray, delay_s: float, *, rate: int = SR, extra_s: float = 0.5) -> np.ndarray:
    """``signal`` delayed by a fractional number of samples (a frequency-domain shift)."""
    n = signal.size + int(np.ceil((delay_s + extra_s) * rate))
    padded = np.zeros(n)
    padded[:signal.size] = signal
    spectrum = np.fft.rfft(padded)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    return np.fft.irfft(spectrum * np.exp(-2j * np.pi * freqs * delay_s), n)


def _phone(x: np.ndarray, rng: np.random.Generator, *, gain: float = 0.2, noise: float = 0.002,
           rate: int = SR) -> np.ndarray:
    """A small speaker and microphone: band-limited (400 Hz - 5 kHz), inverted polarity, a room echo, noise."""
    b, a = sp_signal.butter(2, [400, min(5000, 0.45 * rate)], "band", fs=rate)
    y = -gain * sp_signal.lfilter(b, a, x)
    echo = int(0.013 * rate)
    y[echo:] += 0.3 * y[:-echo]
    return y + noise * rng.normal(size=y.size)


@settings(max_examples=6, deadline=None)
@given(latency_s=st.floats(0.0, 1.2), played_at_s=st.floats(0.0, 1.0), seed=st.integers(0, 1000))
def test_a_known_loopback_latency_is_recovered_within_a_tenth_of_a_ms(latency_s, played_at_s, seed):
    """Up to 1.2 s (Bluetooth), through a band-limited, inverted, echoing speaker with noise."""
    rng = np.random.default_rng(seed)
    signal, _, _ = make_loopback_signal(sampling_rate_hz=SR)
    recording = _phone(_delayed(signal, played_at_s + latency_s), rng)
    result = measure_loopback(recording, sampling_rate_hz=SR, played_at_s=played_at_s)
    assert result.latency_ms == pytest.approx(latency_s * 1000, abs=0.25)  # + the speaker filter's group delay
    assert result.residual_ms < 0.1
    assert result.snr_db > 20


def test_the_latency_is_the_same_at_48_khz_and_shifting_the_recording_shifts_it(rng):
    rate = 48_000
    signal, _, _ = make_loopback_signal(sampling_rate_hz=rate)
    recording = _phone(_delayed(signal, 0.6543, rate=rate), rng, rate=rate)
    first = measure_loopback(recording, sampling_rate_hz=rate)
    later = measure_loopback(np.concatenate([np.zeros(4800), recording]), sampling_rate_hz=rate, played_at_s=0.1)
    assert first.latency_ms == pytest.approx(654.3, abs=0.25)
    assert later.latency_ms == pytest.approx(first.latency_ms, abs=1e-6)


def test_a_weak_signal_is_refused_naming_its_snr(rng):
    signal, _, _ = make_loopback_signal(sampling_rate_hz=SR)
    recording = _phone(_delayed(signal, 0.2), rng, gain=0.002, noise=0.01)
    with pytest.raises(ParameterError, match=r"SNR (-?\d+\.\d|-inf) dB, at least 10 dB"):
        measure_loopback(recording, sampling_rate_hz=SR)


def test_a_dropout_is_refused_not_averaged_in(rng):
    signal, starts_s, _ = make_loopback_signal(sampling_rate_hz=SR)
    recording = _phone(_delayed(signal, 0.1), rng)
    cut = int((0.1 + starts_s[3] + 0.05) * SR)
    recording = np.concatenate([recording[:cut], np.zeros(int(0.005 * SR)), recording[cut:]])  # 5 ms of lost audio
    with pytest.raises(ParameterError, match=f"disagree by .* ms RMS \\(at most {MAX_RESIDUAL_MS:g} ms\\)"):
        measure_loopback(recording, sampling_rate_hz=SR)


def test_bad_input_is_named():
    signal, _, _ = make_loopback_signal(sampling_rate_hz=SR)
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        measure_loopback(signal, sampling_rate_hz=16)
    with pytest.raises(ParameterError, match="must hold the whole test signal"):
        measure_loopback(signal[: SR], sampling_rate_hz=SR)
    with pytest.raises(ParameterError, match="max_latency_s"):
        measure_loopback(signal, sampling_rate_hz=SR, max_latency_s=500)
    with pytest.raises(ParameterError, match="played_at_s"):
        measure_loopback(signal, sampling_rate_hz=SR, played_at_s=float("nan"))
    with pytest.raises(ParameterError):
        measure_loopback(np.full(signal.size, np.nan), sampling_rate_hz=SR)


@settings(max_examples=15, deadline=None)
@given(offset_s=st.floats(-0.4, 0.4), seed=st.integers(0, 1000))
def test_a_tap_offset_is_recovered(offset_s, seed):
    rng = np.random.default_rng(seed)
    sounds = 1.0 + np.cumsum(rng.uniform(0.45, 0.9, size=8))
    events = sounds + offset_s + rng.normal(0, 0.002, size=sounds.size)
    result = measure_tap_offset(np.concatenate([events, [0.2]]), sounds)  # one stray touch
    assert result.offset_ms == pytest.approx(offset_s * 1000, abs=3)
    assert result.n_taps == sounds.size


def test_too_few_taps_are_refused_naming_the_count():
    with pytest.raises(ParameterError, match="only 2 tap"):
        measure_tap_offset([1.0, 2.0], [1.01, 2.01])
    with pytest.raises(ParameterError, match="only 0 tap"):
        measure_tap_offset([], [])
    with pytest.raises(ParameterError, match="max_offset_s"):
        measure_tap_offset([1.0], [1.0], max_offset_s=50)
