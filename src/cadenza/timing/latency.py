"""Latency calibration of a playback + recording device: a loopback test signal, and the tap-to-sound offset.

A phone or tablet plays the cue late (its output latency; a Bluetooth speaker adds 180-650 ms) and hears
the microphone late (its input latency). Both are unknown to the page, and uncalibrated apps report them
as the person's asynchrony. The REPP method (Jacoby et al. 2022, Behav Res Methods, "REPP: a robust
cross-platform solution for online sensorimotor synchronization experiments") measures their sum in a
loopback: the device plays a known signal through its speaker and records it with its own microphone.
Hits recorded by the same microphone then need only that sum: a hit heard in the recording at ``t_rec``
(on the audio clock) against a beat scheduled at ``t_sched`` has the asynchrony
``t_rec - t_sched - loopback``.

* :func:`make_loopback_signal` is the test signal: :data:`N_SWEEPS` logarithmic sweeps (300 Hz - 6 kHz,
  within what phone speakers reproduce) at irregular gaps, so the sequence matches itself at one lag only
  and latencies up to :data:`MAX_LATENCY_S` (2 s) are found without ambiguity.
* :func:`measure_loopback` finds it in the recording by cross-correlation (the matched filter of the
  whole sequence for the coarse lag, then each sweep alone near it, to 1/10 of a sample by parabolic
  interpolation of the correlation envelope). The calibration is the median of the per-sweep lags; the
  **error left after calibration** is the RMS of the per-sweep lags about it (the Hi-Audio latency test
  reports 0.5-1.1 ms on real devices). A signal too weak to measure is refused with its SNR named.
* :func:`measure_tap_offset`: a touch or key event is timestamped some ms after (or before) the sound of
  the finger on the screen; tapping a few times while the microphone listens measures that offset, so
  touch/key hits can be put on the microphone's time line.

>>> sr = 16_000
>>> signal, sweep_times_s, sweep = make_loopback_signal(sampling_rate_hz=sr)
>>> recording = np.concatenate([np.zeros(int(0.2345 * sr)), 0.3 * signal, np.zeros(sr)])
>>> result = measure_loopback(recording, sampling_rate_hz=sr)
>>> round(result.latency_ms, 1), result.residual_ms < 0.1
(234.5, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal as sp_signal

from cadenza.errors import ParameterError
from cadenza.timing.events import check_times
from cadenza.timing.onsets import check_audio

SWEEP_S = 0.25
SWEEP_BAND_HZ = (300.0, 6000.0)  # the top is capped at 0.45 x the sampling rate
#: Gaps between sweep starts (s): irregular, so the sequence correlates with a copy of itself at one lag
#: only; the first sweep starts after LEAD_S of silence (the noise reference).
SWEEP_GAPS_S = (0.35, 0.45, 0.4, 0.5, 0.3)
N_SWEEPS = len(SWEEP_GAPS_S) + 1
LEAD_S = 0.3
TAIL_S = 0.3
FADE_S = 0.01
SWEEP_PEAK = 0.5  # of full scale
MAX_LATENCY_S = 2.0
MIN_SNR_DB = 10.0
#: Per-sweep lags further than this from their median are refused as a failed calibration (an echo or
#: a dropout in the recording), not averaged in.
MAX_RESIDUAL_MS = 1.0
REFINE_S = 0.02  # each sweep's own peak is looked for this close to the sequence's lag
MIN_SAMPLING_RATE_HZ = 8000.0
#: Tap-to-sound offset: at least this many taps must match their sound within MATCH_MS.
MIN_TAPS = 3
MATCH_MS = 15.0
MAX_TAP_OFFSET_S = 0.5


@dataclass(frozen=True)
class LoopbackResult:
    """The device's loopback latency (output + input, ms), the error left after calibration (RMS of the
    per-sweep latencies about it, ms), the signal-to-noise ratio of the test signal in the recording (dB)
    and the per-sweep latencies (ms)."""

    latency_ms: float
    residual_ms: float
    snr_db: float
    sweep_latencies_ms: tuple[float, ...]

    def to_dict(self) -> dict:
        return {"latency_ms": round(self.latency_ms, 3), "residual_ms": round(self.residual_ms, 3),
                "snr_db": round(self.snr_db, 1), "sweep_latencies_ms": [round(v, 3) for v in self.sweep_latencies_ms]}


@dataclass(frozen=True)
class TapOffset:
    """Touch/key event time minus the time of the tap's sound (ms, median), its spread (RMS about the
    median, ms) and the number of taps matched to a sound."""

    offset_ms: float
    residual_ms: float
    n_taps: int

    def to_dict(self) -> dict:
        return {"offset_ms": round(self.offset_ms, 3), "residual_ms": round(self.residual_ms, 3), "n_taps": self.n_taps}


def _check_rate(sampling_rate_hz: float) -> float:
    if isinstance(sampling_rate_hz, bool) or not isinstance(sampling_rate_hz, int | float | np.integer | np.floating) \
            or not MIN_SAMPLING_RATE_HZ <= sampling_rate_hz <= 384_000:
        raise ParameterError(f"sampling_rate_hz must be in [{MIN_SAMPLING_RATE_HZ:.0f}, 384000] Hz, got {sampling_rate_hz!r}")
    return float(sampling_rate_hz)


def make_sweep(*, sampling_rate_hz: float) -> np.ndarray:
    """One logarithmic sweep (:data:`SWEEP_S` long, :data:`SWEEP_BAND_HZ`), faded in and out, peak
    :data:`SWEEP_PEAK`.

    >>> make_sweep(sampling_rate_hz=16_000).shape
    (4000,)
    """
    rate = _check_rate(sampling_rate_hz)
    t = np.arange(int(round(SWEEP_S * rate))) / rate
    high = min(SWEEP_BAND_HZ[1], 0.45 * rate)
    sweep = sp_signal.chirp(t, f0=SWEEP_BAND_HZ[0], t1=t[-1], f1=high, method="logarithmic", phi=-90)
    fade = int(round(FADE_S * rate))
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    sweep[:fade] *= ramp
    sweep[-fade:] *= ramp[::-1]
    return SWEEP_PEAK * sweep


def sweep_start_times_s() -> np.ndarray:
    """Start times (s) of the sweeps within the loopback signal."""
    return LEAD_S + np.concatenate([[0.0], np.cumsum(SWEEP_GAPS_S)])


def make_loopback_signal(*, sampling_rate_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the test signal, its sweeps' start times in s, one sweep): silence, :data:`N_SWEEPS` sweeps at
    irregular gaps, silence.

    >>> signal, times_s, sweep = make_loopback_signal(sampling_rate_hz=16_000)
    >>> round(signal.size / 16_000, 2), times_s.round(2).tolist()[:3]
    (2.85, [0.3, 0.65, 1.1])
    """
    rate = _check_rate(sampling_rate_hz)
    sweep = make_sweep(sampling_rate_hz=rate)
    starts_s = sweep_start_times_s()
    out = np.zeros(int(round((starts_s[-1] + SWEEP_S + TAIL_S) * rate)))
    for start_s in starts_s:
        i = int(round(start_s * rate))
        out[i:i + sweep.size] += sweep
    return out, starts_s, sweep


def _envelope_peak(envelope: np.ndarray, lo: int, hi: int) -> float:
    """Sub-sample index of the envelope's maximum within [lo, hi) (parabolic interpolation)."""
    k = lo + int(np.argmax(envelope[lo:hi]))
    if 0 < k < envelope.size - 1:
        a, b, c = envelope[k - 1], envelope[k], envelope[k + 1]
        denom = a - 2 * b + c
        if denom < 0:
            return k + 0.5 * (a - c) / denom
    return float(k)


def _correlation_envelope(recording: np.ndarray, template: np.ndarray) -> np.ndarray:
    """|analytic signal| of the cross-correlation; index i = the template starting at sample i."""
    corr = sp_signal.fftconvolve(recording, template[::-1], mode="full")[template.size - 1:]
    return np.abs(sp_signal.hilbert(corr))


def measure_loopback(recording: np.ndarray, *, sampling_rate_hz: float, played_at_s: float = 0.0,
                     max_latency_s: float = MAX_LATENCY_S, min_snr_db: float = MIN_SNR_DB) -> LoopbackResult:
    """The loopback latency of a device: ``recording`` (mono or channels-first, the microphone) holds the
    signal of :func:`make_loopback_signal`, which started playing at ``played_at_s`` on the recording's
    time line (0 = its first sample; negative when the recording started later). The latency is where
    the signal was found minus ``played_at_s`` (ms), searched in [0, ``max_latency_s``].

    Refused with a :class:`ParameterError` that names the SNR when the sweeps stand less than
    ``min_snr_db`` above the noise between them, and names the spread when the sweeps disagree by more
    than :data:`MAX_RESIDUAL_MS` (an echo or a dropout).

    >>> measure_loopback(np.zeros(80_000), sampling_rate_hz=16_000)
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: the test signal is too weak in the recording: SNR -inf dB, at least 10 dB is needed (turn the volume up, or bring the microphone nearer the speaker)
    """
    rate = _check_rate(sampling_rate_hz)
    x = check_audio(recording, sampling_rate_hz=rate)
    if not isinstance(played_at_s, int | float) or isinstance(played_at_s, bool) or not np.isfinite(played_at_s) \
            or abs(played_at_s) > 3600:
        raise ParameterError(f"played_at_s must be a time in seconds within +-3600, got {played_at_s!r}")
    if not isinstance(max_latency_s, int | float) or isinstance(max_latency_s, bool) or not 0 < max_latency_s <= 5:
        raise ParameterError(f"max_latency_s must be in (0, 5] seconds (not ms), got {max_latency_s!r}")
    signal, starts_s, sweep = make_loopback_signal(sampling_rate_hz=rate)
    # The sequence's first sweep is searched from played_at + its start, over [0, max_latency].
    first = (played_at_s + starts_s[0]) * rate
    span = signal.size - int(round(starts_s[0] * rate))
    lo = int(np.floor(first))
    needed = lo + int(max_latency_s * rate) + span
    if lo < 0 or x.size < lo + span:
        raise ParameterError(f"recording must hold the whole test signal ({signal.size / rate:.2f} s from "
                             f"played_at_s={played_at_s!r}); it is {x.size / rate:.2f} s long")
    segment = np.zeros(needed)
    available = x[lo:needed]
    segment[:available.size] = available
    template = signal[int(round(starts_s[0] * rate)):]
    envelope = _correlation_envelope(segment, template)
    n_lags = int(max_latency_s * rate) + 1
    coarse = int(np.argmax(envelope[:n_lags]))

    # Each sweep alone, near the coarse lag.
    sweep_env = _correlation_envelope(segment, sweep)
    offsets = (starts_s - starts_s[0]) * rate
    near = int(round(REFINE_S * rate))
    lags = []
    for offset in offsets:
        centre = coarse + int(round(offset))
        a, b = max(centre - near, 0), min(centre + near + 1, sweep_env.size)
        if b - a < 3:
            continue
        lags.append(_envelope_peak(sweep_env, a, b) - offset)
    lags_s = (lo + np.asarray(lags) - first) / rate  # per sweep: found - expected without latency, s

    # SNR: power where the sweeps are against power in the silences between and before them.
    shift = lo + coarse - int(round(starts_s[0] * rate))  # the sample of the signal's start in the recording
    on = np.zeros(x.size, dtype=bool)
    off = np.zeros(x.size, dtype=bool)
    ring = int(round(0.05 * rate))
    for start_s in starts_s:
        i = shift + int(round(start_s * rate))
        on[max(i, 0):max(i + sweep.size, 0)] = True
    for k, start_s in enumerate(starts_s):
        i = shift + int(round(start_s * rate)) + sweep.size + ring
        j = shift + int(round(starts_s[k + 1] * rate)) if k + 1 < starts_s.size else i + int(round(TAIL_S * rate)) - ring
        off[max(i, 0):max(j, 0)] = True
    off &= ~on
    p_on = float(np.mean(x[on] ** 2)) if on.any() else 0.0
    p_off = float(np.mean(x[off] ** 2)) if off.any() else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        snr_db = float(10 * np.log10(max(p_on - p_off, 0.0) / p_off)) if p_off > 0 else (
            float("inf") if p_on > 0 else float("-inf"))
    if not snr_db >= min_snr_db:
        raise ParameterError(f"the test signal is too weak in the recording: SNR {snr_db:.1f} dB, at least "
                             f"{min_snr_db:g} dB is needed (turn the volume up, or bring the microphone nearer the "
                             f"speaker)")
    latency_s = float(np.median(lags_s))
    residual_ms = float(np.sqrt(np.mean((lags_s - latency_s) ** 2))) * 1000.0
    if residual_ms > MAX_RESIDUAL_MS:
        raise ParameterError(f"the sweeps of the test signal disagree by {residual_ms:.1f} ms RMS (at most "
                             f"{MAX_RESIDUAL_MS:g} ms): an echo or a dropout in the recording; try again in a quieter "
                             f"place, without headphones")
    return LoopbackResult(latency_s * 1000.0, residual_ms, snr_db, tuple(float(v) * 1000.0 for v in lags_s))


def find_sweep(recording: np.ndarray, *, sampling_rate_hz: float, expected_at_s: float,
               search_s: float = 0.05) -> float:
    """Where one sweep of the test signal (:func:`make_sweep`) starts in ``recording``, searched within
    +-``search_s`` of ``expected_at_s`` (s from the recording's first sample, to a tenth of a sample).

    The end marker of a live block: its time against the time the start marker's latency predicts shows
    whether the capture slipped (skipped or repeated audio) during the block.

    >>> sr = 16_000
    >>> x = np.zeros(sr); x[4000:8000] = make_sweep(sampling_rate_hz=sr)
    >>> round(find_sweep(x, sampling_rate_hz=sr, expected_at_s=0.26), 4)
    0.25
    """
    rate = _check_rate(sampling_rate_hz)
    x = check_audio(recording, sampling_rate_hz=rate)
    if not isinstance(expected_at_s, int | float) or isinstance(expected_at_s, bool) or not np.isfinite(expected_at_s):
        raise ParameterError(f"expected_at_s must be a time in seconds, got {expected_at_s!r}")
    if not isinstance(search_s, int | float) or isinstance(search_s, bool) or not 0 < search_s <= 1:
        raise ParameterError(f"search_s must be in (0, 1] seconds, got {search_s!r}")
    sweep = make_sweep(sampling_rate_hz=rate)
    lo = int(np.floor((expected_at_s - search_s) * rate))
    hi = int(np.ceil((expected_at_s + search_s) * rate))
    if lo < 0 or hi + sweep.size > x.size:
        raise ParameterError(f"recording must hold the sweep expected at {expected_at_s:.3f} s (+-{search_s:g} s); "
                             f"it is {x.size / rate:.2f} s long")
    envelope = _correlation_envelope(x[lo:hi + sweep.size], sweep)
    return float((lo + _envelope_peak(envelope, 0, hi - lo + 1)) / rate)


def measure_tap_offset(event_times_s: Sequence[float] | np.ndarray, sound_times_s: Sequence[float] | np.ndarray, *,
                       max_offset_s: float = MAX_TAP_OFFSET_S) -> TapOffset:
    """The offset of touch or key events from the sounds of the same taps (both on one clock, s): the
    offset within +-``max_offset_s`` that matches the most taps to a sound within :data:`MATCH_MS`,
    refined to the median of the matched differences. Fewer than :data:`MIN_TAPS` matched taps give a
    :class:`ParameterError` naming how many matched.

    >>> sounds = np.array([1.0, 1.6, 2.1, 2.8])
    >>> measure_tap_offset(sounds + 0.042, sounds).offset_ms.__round__(3)
    42.0
    """
    events = np.sort(check_times(event_times_s, name="event_times_s"))
    sounds = np.sort(check_times(sound_times_s, name="sound_times_s"))
    if not isinstance(max_offset_s, int | float) or isinstance(max_offset_s, bool) or not 0 < max_offset_s <= 2:
        raise ParameterError(f"max_offset_s must be in (0, 2] seconds (not ms), got {max_offset_s!r}")
    window_s = MATCH_MS / 1000.0
    best: np.ndarray | None = None
    if events.size and sounds.size:
        candidates = (events[:, None] - sounds[None, :]).ravel()
        candidates = candidates[np.abs(candidates) <= max_offset_s]
        best_count = 0
        for d in candidates:
            diffs = events[:, None] - sounds[None, :] - d
            nearest = np.abs(diffs).min(axis=1)
            count = int(np.count_nonzero(nearest <= window_s))
            if count > best_count:
                best_count = count
                matched = np.abs(diffs).argmin(axis=1)
                keep = nearest <= window_s
                best = events[keep] - sounds[matched[keep]]
    n = 0 if best is None else best.size
    if n < MIN_TAPS:
        raise ParameterError(f"only {n} tap(s) matched a tap sound within {MATCH_MS:g} ms; at least {MIN_TAPS} are "
                             f"needed (tap firmly on the screen, near the microphone, in a quiet room)")
    offset_s = float(np.median(best))
    residual_ms = float(np.sqrt(np.mean((best - offset_s) ** 2))) * 1000.0
    return TapOffset(offset_s * 1000.0, residual_ms, int(n))
