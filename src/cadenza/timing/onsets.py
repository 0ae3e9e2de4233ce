"""Onsets of percussive sounds (drum, clap, tabla, a tap on a table) from audio, timed to the attack.

Two stages, both on the recording's own sampling rate:

1. **Detection.** Band-wise log-compressed spectral flux, the detector that scored best among the
   non-learned ones in Dixon (2006, DAFx "Onset detection revisited") and Böck, Krebs & Schedl (2012,
   ISMIR "Evaluating the online capabilities of onset detection methods"): 32-ms Hann windows every
   5 ms, 24 log-spaced bands from 30 Hz to 8 kHz, ``log(1 + 10 x)`` of each band relative to the loud
   level of the recording, and the half-wave rectified frame-to-frame increase summed over bands. Peaks
   are picked with Böck et al.'s three conditions: the local maximum over -30..+10 ms, above the
   moving mean over -100..+30 ms by :data:`DEFAULT_THRESHOLD` (relative to the recording's loud flux
   level, so the result does not depend on the recording gain), and at least :data:`MIN_INTERVAL_S`
   after the previous onset.
2. **Refinement to the attack.** A spectral-flux peak is not the start of the sound: the flux jumps as
   soon as the attack enters the leading edge of the 32-ms window, so it fires several ms before the
   sound starts, by an amount that depends on the window, the hop and the attack's steepness. Each
   detection is therefore moved onto a 2-ms energy envelope (1-sample resolution): to the steepest 1-ms
   rise within -10..+30 ms of it (never past a neighbouring onset), then back to where the envelope
   leaves the level just before the search window by :data:`FLOOR_RISE_DB`. This is the physical
   attack, independent of the window and hop, and what tapping studies time (the start of the tap's
   sound; Repp 2005, Psychon Bull Rev 12:969).

Three instants can be reported (``instant``): ``"attack"`` (default, stage 2: the first sample of the
sound, for asynchrony to a cue), ``"spectral"`` (the flux peak placed between frames by a parabola
through it and its neighbours: the onset as onset datasets annotate it, where the sound first shows in
a ~30-ms analysis window, several ms before it starts) and ``"frame"`` (the flux peak on the 5-ms grid).

A flux peak must also stand :data:`MIN_PEAK_OVER_MEDIAN` times above the recording's median flux, so
silence or steady noise gives no onsets, whatever the threshold relative to its own loudest frame.

Parameters were chosen on the development clips of ``../shared/data/timing/`` (see bench/timing.py and
docs/timing.md); the threshold sits in the middle of a plateau (0.10-0.16 give F within 0.01 there).

>>> sr = 16_000
>>> taps = np.zeros(2 * sr)
>>> rng = np.random.default_rng(0)
>>> for start in (0.25, 0.75, 1.25):
...     i = int(start * sr)
...     taps[i:i + 800] = rng.normal(size=800) * np.exp(-np.arange(800) / 80)
>>> detect_onsets(taps, sampling_rate_hz=sr).round(3).tolist()
[0.25, 0.75, 1.25]
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft as sp_fft

from cadenza.errors import ParameterError

WINDOW_S = 0.032
HOP_S = 0.005
BAND_EDGES_HZ = (30.0, 8000.0)  # the top is capped at 0.45 x the sampling rate
N_BANDS = 24
LOG_COMPRESSION = 1000.0
#: The loud level that band energies and the flux are measured against: this quantile of the per-frame
#: maxima, so one very loud hit (a knock on the microphone) does not make every other hit look quiet.
LOUD_QUANTILE = 0.995
PEAK_LOUD_QUANTILE = 0.99  # the same for the flux: this quantile of its local maxima
PRE_MAX_S = 0.03
POST_MAX_S = 0.01
PRE_MEAN_S = 0.10
POST_MEAN_S = 0.03
DEFAULT_THRESHOLD = 0.13
MIN_INTERVAL_S = 0.03
# Refinement to the attack.
ENVELOPE_SMOOTH_S = 0.002
RISE_SPAN_S = 0.001
SEARCH_BEFORE_S = 0.010
SEARCH_AFTER_S = 0.030
FLOOR_S = 0.020
FLOOR_RISE_DB = 3.0
NEIGHBOUR_GAP_S = 0.005  # the attack search stops this far from a neighbouring detection
#: A flux peak must also stand this far above the recording's median flux: steady noise (white, pink, hum)
#: peaks at 2-3.6 x its median, the softest stroke of the dense development solo at 4.1 x.
MIN_PEAK_OVER_MEDIAN = 4.0
MIN_SAMPLING_RATE_HZ = 4000.0
#: What ``detect_onsets`` can report for each hit (see the module docstring).
INSTANTS = ("attack", "spectral", "frame")
_EPS = 1e-12


def check_audio(samples: np.ndarray, *, sampling_rate_hz: float) -> np.ndarray:
    """``samples`` as a mono float64 array (channels averaged), or :class:`ParameterError`.

    >>> check_audio(np.zeros((2, 5)), sampling_rate_hz=16_000).shape
    (5,)
    """
    if isinstance(sampling_rate_hz, bool) or not isinstance(sampling_rate_hz, int | float | np.number) \
            or not np.isfinite(sampling_rate_hz) or sampling_rate_hz < MIN_SAMPLING_RATE_HZ:
        raise ParameterError(f"sampling_rate_hz must be a number >= {MIN_SAMPLING_RATE_HZ:g} (audio samples per "
                             f"second, not frames or kHz), got {sampling_rate_hz!r}")
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=0)  # channels first, time last
    if x.ndim != 1:
        raise ParameterError(f"samples must be (n,) or (channels, n), got shape {np.shape(samples)!r}")
    if not np.all(np.isfinite(x)):
        raise ParameterError("samples contain NaN or infinite values")
    return x


@lru_cache(maxsize=8)
def _band_matrix(n_fft: int, sampling_rate_hz: float) -> np.ndarray:
    """Each FFT bin summed into one of up to ``N_BANDS`` log-spaced bands (empty bands dropped)."""
    low_hz, high_hz = BAND_EDGES_HZ
    edges_hz = np.geomspace(low_hz, min(high_hz, 0.45 * sampling_rate_hz), N_BANDS + 1)
    bin_hz = np.arange(n_fft // 2 + 1) * sampling_rate_hz / n_fft
    band_of_bin = np.searchsorted(edges_hz, bin_hz, side="right") - 1
    rows = [(band_of_bin == band).astype(np.float64) for band in range(N_BANDS)]
    return np.array([row for row in rows if row.any()])


def onset_strength(samples: np.ndarray, *, sampling_rate_hz: float) -> tuple[np.ndarray, float]:
    """The spectral-flux onset strength, one value per 5-ms frame, and its frame rate in Hz.

    Frame ``k`` is centred at ``k / frame_rate_hz`` seconds. The strength is relative to the recording's
    loud level (dimensionless). Frames within half a window (16 ms) of either end are 0: a recording that
    starts or stops mid-sound has no onset there.

    >>> strength, frame_rate_hz = onset_strength(np.zeros(16_000), sampling_rate_hz=16_000)
    >>> strength.shape, frame_rate_hz, float(strength.max())
    ((201,), 200.0, 0.0)
    """
    x = check_audio(samples, sampling_rate_hz=sampling_rate_hz)
    return _onset_strength(x, float(sampling_rate_hz))


def _onset_strength(x: np.ndarray, sampling_rate_hz: float) -> tuple[np.ndarray, float]:
    hop = max(1, int(round(HOP_S * sampling_rate_hz)))
    frame_rate_hz = sampling_rate_hz / hop
    n_frames = 1 + x.size // hop
    window_len = int(round(WINDOW_S * sampling_rate_hz))
    n_fft = int(2 ** np.ceil(np.log2(window_len)))
    if x.size == 0:
        return np.zeros(n_frames), frame_rate_hz
    padded = np.pad(x, (window_len // 2, window_len))
    frames = np.lib.stride_tricks.sliding_window_view(padded, window_len)[::hop][:n_frames]
    magnitude = np.abs(sp_fft.rfft(frames * np.hanning(window_len), n=n_fft, axis=1))  # (frames, bins)
    bands = _band_matrix(n_fft, sampling_rate_hz) @ magnitude.T  # (bands, frames)
    loud = float(np.quantile(bands.max(axis=0), LOUD_QUANTILE))
    if loud <= _EPS:
        return np.zeros(n_frames), frame_rate_hz
    bands = np.log1p(LOG_COMPRESSION * bands / loud)
    flux = np.zeros(n_frames)
    flux[1:] = np.maximum(np.diff(bands, axis=1), 0.0).sum(axis=0)
    # Frames that reach past either end of the recording see a partial window: its edge is no onset.
    centre_idx = np.arange(n_frames) * hop
    flux[(centre_idx < window_len // 2) | (centre_idx > x.size - window_len // 2)] = 0.0
    return flux, frame_rate_hz


def _pick_peaks(strength: np.ndarray, frame_rate_hz: float, threshold: float, min_interval_s: float) -> np.ndarray:
    """Frame indices of onsets: local maximum, above the moving mean by ``threshold`` x the loud level,
    ``min_interval_s`` after the previous one (Böck, Krebs & Schedl 2012)."""
    n = strength.size
    pre_max, post_max = (max(1, int(round(s * frame_rate_hz))) for s in (PRE_MAX_S, POST_MAX_S))
    pre_mean, post_mean = (max(1, int(round(s * frame_rate_hz))) for s in (PRE_MEAN_S, POST_MEAN_S))
    padded = np.pad(strength, (pre_max, post_max), constant_values=-np.inf)
    local_max = np.lib.stride_tricks.sliding_window_view(padded, pre_max + post_max + 1).max(axis=1)
    peaks = strength[(strength >= local_max) & (strength > 0)]
    loud = float(np.quantile(peaks, PEAK_LOUD_QUANTILE)) if peaks.size else 0.0
    if loud <= _EPS:
        return np.empty(0, dtype=np.int64)
    f, local_max = strength / loud, local_max / loud
    cumulative = np.concatenate([[0.0], np.cumsum(f)])
    idx = np.arange(n)
    lo, hi = np.maximum(idx - pre_mean, 0), np.minimum(idx + post_mean + 1, n)
    moving_mean = (cumulative[hi] - cumulative[lo]) / (hi - lo)
    median = float(np.median(f))
    candidates = np.flatnonzero((f >= local_max) & (f > 0) & (f >= moving_mean + threshold)
                                & (f >= MIN_PEAK_OVER_MEDIAN * median))
    wait = int(round(min_interval_s * frame_rate_hz))
    kept: list[int] = []
    for i in candidates:
        if not kept or i - kept[-1] >= wait:
            kept.append(int(i))
    return np.asarray(kept, dtype=np.int64)


def _energy_db(x: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    """Energy over the trailing ``ENVELOPE_SMOOTH_S`` at each sample (dB): it rises at the attack's first
    sample, not half a window before it."""
    width = max(1, int(round(ENVELOPE_SMOOTH_S * sampling_rate_hz)))
    cumulative = np.concatenate([np.zeros(width), np.cumsum(x * x)])
    return 10.0 * np.log10((cumulative[width:] - cumulative[:-width]) / width + _EPS)


def _attacks(x: np.ndarray, coarse_idx: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    """Sample index of each detection's attack start."""
    energy_db = _energy_db(x, sampling_rate_hz)
    n = x.size
    span = max(1, int(round(RISE_SPAN_S * sampling_rate_hz)))
    before, after = int(round(SEARCH_BEFORE_S * sampling_rate_hz)), int(round(SEARCH_AFTER_S * sampling_rate_hz))
    floor_len, gap = int(round(FLOOR_S * sampling_rate_hz)), int(round(NEIGHBOUR_GAP_S * sampling_rate_hz))
    attack_idx = np.empty(coarse_idx.size, dtype=np.int64)
    for k, centre in enumerate(coarse_idx):
        lo = centre - before
        hi = centre + after
        if k > 0:
            lo = max(lo, (coarse_idx[k - 1] + centre) // 2, coarse_idx[k - 1] + gap)
        if k + 1 < coarse_idx.size:
            hi = min(hi, coarse_idx[k + 1] - gap)
        lo, hi = max(lo, 0), min(hi, n - span - 1)
        if hi <= lo:
            attack_idx[k] = min(max(centre, 0), n - 1)
            continue
        rise = energy_db[lo + span:hi + span] - energy_db[lo:hi]
        steepest = lo + int(np.argmax(rise)) + span // 2
        floor_db = float(np.median(energy_db[max(0, lo - floor_len):lo])) if lo > 0 else float(energy_db[lo])
        start = steepest
        while start > lo and energy_db[start - 1] > floor_db + FLOOR_RISE_DB:
            start -= 1
        attack_idx[k] = start
    return attack_idx


def _subframe_peaks(strength: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Each peak frame moved by the vertex of the parabola through it and its two neighbours (within
    half a frame; a flat or edge peak stays on its frame)."""
    before = strength[np.maximum(frames - 1, 0)]
    here = strength[frames]
    after = strength[np.minimum(frames + 1, strength.size - 1)]
    curvature = before - 2.0 * here + after
    safe = np.where(curvature < 0, curvature, -1.0)
    offset = np.where(curvature < 0, 0.5 * (before - after) / safe, 0.0)
    return frames + np.clip(offset, -0.5, 0.5)


def detect_onsets(samples: np.ndarray, *, sampling_rate_hz: float, threshold: float = DEFAULT_THRESHOLD,
                  min_interval_s: float = MIN_INTERVAL_S, instant: str = "attack") -> np.ndarray:
    """Onset times (s, sorted) of the percussive sounds in ``samples`` (``(n,)`` or ``(channels, n)``).

    ``threshold`` is the flux peak's height above its moving mean, relative to the recording's loud
    level; lower finds softer hits and more false ones. Onsets closer than ``min_interval_s`` count as
    one. ``instant`` is which instant of each hit is reported: ``"attack"`` (default) the start of the
    sound to the sample; ``"spectral"`` the flux peak between frames, where onset datasets annotate it
    (several ms before the sound starts); ``"frame"`` the flux peak on the 5-ms grid.
    A recording without hits (silence, steady noise) gives an empty array.

    >>> detect_onsets(np.zeros(8_000), sampling_rate_hz=8_000).size
    0
    >>> detect_onsets(np.zeros(8_000), sampling_rate_hz=8)
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: sampling_rate_hz must be a number >= 4000 (audio samples per second, not frames or kHz), got 8
    """
    x = check_audio(samples, sampling_rate_hz=sampling_rate_hz)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < 10:
        raise ParameterError(f"threshold must be a number in (0, 10) (relative flux height), got {threshold!r}")
    if isinstance(min_interval_s, bool) or not isinstance(min_interval_s, int | float) or not 0.005 <= min_interval_s <= 5:
        raise ParameterError(f"min_interval_s must be in [0.005, 5] seconds (not ms), got {min_interval_s!r}")
    if not isinstance(instant, str) or instant not in INSTANTS:
        raise ParameterError(f"instant must be one of {', '.join(INSTANTS)}, got {instant!r}")
    rate = float(sampling_rate_hz)
    strength, frame_rate_hz = _onset_strength(x, rate)
    frames = _pick_peaks(strength, frame_rate_hz, float(threshold), float(min_interval_s))
    if frames.size == 0:
        return np.empty(0)
    if instant == "spectral":
        return np.unique(np.clip(_subframe_peaks(strength, frames) / frame_rate_hz, 0.0, (x.size - 1) / rate))
    coarse_idx = np.minimum(np.rint(frames * rate / frame_rate_hz).astype(np.int64), x.size - 1)
    times_s = (_attacks(x, coarse_idx, rate) if instant == "attack" else coarse_idx) / rate
    return np.unique(times_s)
