"""Onset-strength envelope: log-compressed, band-wise spectral flux.

The envelope is what tempo and beat tracking read. It is built to respond to slow attacks
(organ, strings, flute) as well as to plucks and drums:

- a log-spaced filterbank (equal weight per octave, so bass and treble notes count alike);
- log compression ``log(1 + C * band)``, which turns level changes into ratios (Klapuri 1999;
  Böck & Widmer 2013 use the same compression for their spectral-flux onset detector);
- a long window (186 ms), fine enough in frequency that a legato pitch change on strings or flute
  shows as new energy in a band even without a level rise;
- per-band adaptive whitening: each band is divided by a slowly decaying peak memory, so a quiet
  band that carries the rhythm is not masked by a loud sustained one (Stowell & Plumbley 2007).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import fft as sp_fft
from scipy import sparse
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from cadenza.errors import ParameterError

#: Every input is analysed at this rate, so all parameters below mean the same at any file rate;
#: onsets need less than 5.5 kHz of bandwidth, and the cost of everything after scales with it.
ANALYSIS_RATE_HZ: float | None = 11025.0
#: Analysis grid: 23 ms frames (256 samples at 11.025 kHz); beats are refined to sub-frame peaks.
HOP_S = 0.0232
#: 2048 samples at 11.025 kHz: 5.4 Hz bins resolve semitones down to ~90 Hz, so legato pitch
#: changes register. On the development corpus a 93 ms window lost 5 points of Acc1 and 0.04 F.
WINDOW_S = 0.186
BAND_EDGES_HZ = (40.0, 8000.0)  # the top is capped at 0.45 x the analysis rate
N_BANDS = 36
LOG_COMPRESSION = 30.0
FLUX_SPAN_S = 0.023  # one frame at the analysis hop; longer spans blur neighbouring notes
WHITEN_MEMORY_S = 4.0
WHITEN_FLOOR = 1e-3
#: Timing convention. Log-compressed flux rises as soon as a sound enters the leading edge of the
#: window, so a zero-attack click is reported about 45 ms early. Instrument tones
#: reach their perceived onset 20-60 ms after note-on (the music corpus README measures +20-30 ms for
#: plucked/struck sounds and ~50 ms for bowed strings and organ), so reported onsets and beats sit
#: close to *note-on* times, which is what beat annotations of rendered scores and tapping studies
#: of real instruments mark. Measured on the corpus, any shift away from this (+-15 ms) lowers beat F.
NOTE_ON_LEAD_S = 0.045
LOCAL_MEAN_S = 0.5  # removes the slow floor of sustained notes and reverb tails
#: The filterbank split in two, below and above about 450 Hz (bass and tenor fundamentals; melody, upper voices
#: and harmonics), each with its own envelope for beat placement. Under reverb and noise one half often keeps a
#: clearer pulse than the mix (bench/RESULTS.md, issue 22, seventh round: 2 parts chosen over 3 and 6).
PLACEMENT_BAND_GROUPS = 2


@dataclass(frozen=True)
class OnsetEnvelope:
    """Onset strength per analysis frame; ``frame_rate_hz`` converts frames to seconds.

    Frame ``i`` is centred at ``i / frame_rate_hz`` seconds. ``level_db`` (when known) is the signal's
    level per frame in dB (arbitrary reference, see :func:`frame_level_db`): the tracker stops its beats
    where the music has ended. ``band_strength`` (when known) is the same envelope for each of
    :data:`PLACEMENT_BAND_GROUPS` parts of the filterbank, low to high, ``(groups, frames)``: beats are placed
    on them weighted by their own periodicity (:func:`cadenza.music.beats.placement_envelope`).
    """

    strength: np.ndarray
    frame_rate_hz: float
    level_db: np.ndarray | None = None
    band_strength: np.ndarray | None = None

    @property
    def times_s(self) -> np.ndarray:
        return np.arange(self.strength.size) / self.frame_rate_hz


@dataclass(frozen=True)
class Spectrogram:
    """Magnitude STFT ``(frames, bins)`` at ``sampling_rate_hz`` (the analysis rate)."""

    magnitude: np.ndarray
    sampling_rate_hz: float
    n_fft: int
    frame_rate_hz: float

    @property
    def bin_hz(self) -> np.ndarray:
        return np.arange(self.n_fft // 2 + 1) * self.sampling_rate_hz / self.n_fft


def _validate(samples: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    if not np.isscalar(sampling_rate_hz) or not np.isfinite(sampling_rate_hz) or sampling_rate_hz < 4000:
        raise ParameterError(
            f"sampling_rate_hz must be a number >= 4000 (audio, not frames), got {sampling_rate_hz!r}"
        )
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0, dtype=np.float32)  # channels first, time last
    if x.ndim != 1:
        raise ParameterError(f"samples must be (n,) or (channels, n), got shape {np.shape(samples)!r}")
    if not np.all(np.isfinite(x)):
        raise ParameterError("samples contain NaN or infinite values")
    return x


def _to_analysis_rate(x: np.ndarray, sampling_rate_hz: float) -> tuple[np.ndarray, float]:
    """Resample to ``ANALYSIS_RATE_HZ`` when the input is faster: onsets need no more bandwidth,
    and the cost of everything after this scales with the rate."""
    if ANALYSIS_RATE_HZ is None or sampling_rate_hz <= ANALYSIS_RATE_HZ * 1.01 or x.size == 0:
        return x, sampling_rate_hz
    from fractions import Fraction

    from scipy.signal import resample_poly  # 1 s import: only when resampling is needed

    ratio = Fraction(int(ANALYSIS_RATE_HZ), int(round(sampling_rate_hz))).limit_denominator(1000)
    y = resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)
    return y, sampling_rate_hz * ratio.numerator / ratio.denominator


@lru_cache(maxsize=8)
def _filterbank(n_fft: int, sampling_rate_hz: float) -> tuple[sparse.csr_matrix, int]:
    """Triangular filters on a log-frequency axis, each normalised to unit area, as float32,
    truncated to the bins they cover; returns (bank, n_bins_used)."""
    low_hz, high_hz = BAND_EDGES_HZ
    high_hz = min(high_hz, 0.45 * sampling_rate_hz)
    edges_hz = np.geomspace(low_hz, high_hz, N_BANDS + 2)
    bin_hz = np.arange(n_fft // 2 + 1) * sampling_rate_hz / n_fft
    bank = np.zeros((N_BANDS, bin_hz.size))
    for band in range(N_BANDS):
        lo, mid, hi = edges_hz[band:band + 3]
        # At least one bin per filter, else the lowest bands are empty at short FFT sizes.
        rise = (bin_hz - lo) / max(mid - lo, 1e-9)
        fall = (hi - bin_hz) / max(hi - mid, 1e-9)
        tri = np.clip(np.minimum(rise, fall), 0.0, None)
        if tri.sum() == 0:
            tri[np.argmin(np.abs(bin_hz - mid))] = 1.0
        bank[band] = tri / tri.sum()
    used = int(np.flatnonzero(bank.any(axis=0)).max()) + 1
    return sparse.csr_matrix(bank[:, :used].astype(np.float32)), used


def _stft_magnitude(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    pad = n_fft // 2
    x = np.pad(x, (pad, pad))
    n_frames = 1 + (x.size - n_fft) // hop
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(n_frames, n_fft), strides=(x.strides[0] * hop, x.strides[0])
    )
    window = np.hanning(n_fft).astype(np.float32)
    return np.abs(sp_fft.rfft(frames * window, axis=1))  # (frames, bins), float32 throughout


def compute_onset_envelope(samples: np.ndarray, *, sampling_rate_hz: float) -> OnsetEnvelope:
    """Onset-strength envelope of an audio signal.

    >>> sr = 22050
    >>> clicks = np.zeros(sr * 4, dtype=np.float32)
    >>> clicks[::sr // 2] = 1.0
    >>> env = compute_onset_envelope(clicks, sampling_rate_hz=sr)
    >>> peak_s = env.times_s[np.argmax(env.strength[int(0.25 * env.frame_rate_hz): int(0.75 * env.frame_rate_hz)])]
    >>> bool(abs(0.25 + peak_s - (0.5 - NOTE_ON_LEAD_S)) < 0.025)  # click at 0.5 s, reported ~45 ms early
    True
    """
    return onset_envelope_from_spectrogram(compute_spectrogram(samples, sampling_rate_hz=sampling_rate_hz))


def compute_spectrogram(samples: np.ndarray, *, sampling_rate_hz: float) -> Spectrogram:
    """Magnitude spectrogram on the analysis grid (shared by onsets, chroma and brightness)."""
    x = _validate(samples, sampling_rate_hz)
    x, rate_hz = _to_analysis_rate(x, float(sampling_rate_hz))
    hop = max(1, int(round(HOP_S * rate_hz)))
    n_fft = int(2 ** np.round(np.log2(WINDOW_S * rate_hz)))
    if x.size == 0:
        mag = np.zeros((0, n_fft // 2 + 1), dtype=np.float32)
    else:
        mag = _stft_magnitude(x, n_fft, hop)
    return Spectrogram(magnitude=mag, sampling_rate_hz=rate_hz, n_fft=n_fft, frame_rate_hz=rate_hz / hop)


def onset_envelope_from_spectrogram(spec: Spectrogram, *,
                                    band_groups: int = PLACEMENT_BAND_GROUPS) -> OnsetEnvelope:
    """The onset envelope of :func:`compute_onset_envelope`, from a precomputed spectrogram; its
    ``band_strength`` splits the filterbank into ``band_groups`` parts (1: placement on the plain envelope;
    another value is for cross-validation in ``bench/tempo_beats.py``)."""
    if not isinstance(band_groups, (int, np.integer)) or not 1 <= band_groups <= N_BANDS:
        raise ParameterError(f"band_groups must be an integer from 1 to {N_BANDS}, got {band_groups!r}")
    frame_rate_hz = spec.frame_rate_hz
    if spec.magnitude.shape[0] == 0:
        return OnsetEnvelope(np.zeros(0), frame_rate_hz)
    bank, used = _filterbank(spec.n_fft, float(spec.sampling_rate_hz))
    # Sparse product: no BLAS call, whose thread wake-ups cost more than the product itself on
    # a loaded machine (measured 3x on a scan of short files).
    bands = np.asarray(bank @ spec.magnitude[:, :used].T, dtype=np.float64)  # (bands, frames)
    bands = np.log1p(LOG_COMPRESSION * bands / max(float(bands.max()), 1e-12))

    memory = max(1, int(round(WHITEN_MEMORY_S * frame_rate_hz)))
    peak = maximum_filter1d(bands, size=memory, axis=1, origin=(memory - 1) // 2)
    bands = bands / np.maximum(peak, WHITEN_FLOOR)

    span = max(1, int(round(FLUX_SPAN_S * frame_rate_hz)))
    flux = np.zeros_like(bands)
    flux[:, span:] = np.maximum(bands[:, span:] - bands[:, :-span], 0.0)
    # Timing convention (see NOTE_ON_LEAD_S): no shift; the flux peaks as a sound enters the window.

    strength = detrend_envelope(flux.mean(axis=0)[None, :], frame_rate_hz)[0]
    parts = np.array_split(np.arange(flux.shape[0]), band_groups)
    band_strength = detrend_envelope(np.stack([flux[part].mean(axis=0) for part in parts]), frame_rate_hz)
    return OnsetEnvelope(strength=strength, frame_rate_hz=frame_rate_hz, level_db=frame_level_db(spec),
                         band_strength=band_strength)


#: The level is averaged (in dB) over this window: steadier than one frame on a noise floor, short enough
#: that the end of the music is not blurred by more than a few frames.
LEVEL_WINDOW_S = 0.25


def frame_level_db(spec: Spectrogram) -> np.ndarray:
    """The signal's level per frame in dB (reference: a spectral magnitude of 1; -120 dB for digital
    silence), averaged in dB over :data:`LEVEL_WINDOW_S` (so one loud note does not hold the level up for
    the window after it)."""
    power = np.einsum("ij,ij->i", spec.magnitude, spec.magnitude, dtype=np.float64)
    if power.size == 0:
        return power
    width = max(1, int(round(LEVEL_WINDOW_S * spec.frame_rate_hz)))
    return uniform_filter1d(10.0 * np.log10(np.maximum(power, 1e-12)), size=width)


def detrend_envelope(env: np.ndarray, frame_rate_hz: float) -> np.ndarray:
    """Remove the slowly varying floor (a :data:`LOCAL_MEAN_S` running mean) of ``(rows, frames)`` onset
    envelopes and scale each row to unit standard deviation."""
    width = max(1, int(round(LOCAL_MEAN_S * frame_rate_hz)))
    env = np.maximum(env - uniform_filter1d(env, size=width, axis=-1), 0.0)
    scale = env.std(axis=-1, keepdims=True)
    return env / np.where(scale > 0, scale, 1.0)
