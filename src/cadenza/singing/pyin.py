"""pYIN pitch tracking as librosa computes it, decoded with a banded Viterbi (numpy only).

pYIN (Mauch & Dixon 2014, ICASSP) scores, every frame, the period candidates of YIN's cumulative mean
normalised difference function and decodes pitch and voicing with a hidden Markov model over
``2 x n_pitch_bins`` states (about 850 for 60-700 Hz at 0.1 semitone). ``librosa.pyin`` decodes with a
dense Viterbi, ``n_states**2`` operations per frame, although pYIN's pitch transitions are a triangle
at most a few semitones wide: every other transition has probability 0, which librosa's log domain
turns into ``log(tiny)`` (about -708). :func:`track_pyin` computes the same observation model
(same operations, same order, so the same floating-point numbers) and the same max-plus recursion
restricted to the band, plus the one "jump anywhere at ``log(tiny)``" candidate, which is all the
dense recursion can ever pick outside the band (the best previous state). Ties are broken as
``np.argmax`` breaks them (the lowest previous state). The decoded states, hence ``f0_hz`` and
``voiced``, and the voicing probability are identical to ``librosa.pyin``'s (tests/singing/test_pyin.py:
hypothesis on built signals, real singing, a rendered MIT attempt, an instrumental excerpt), for about
a seventh of the CPU time on 3-20 s of 44.1-kHz singing (bench/mit_attempt.py; YIN's FFT is then a
third of what is left), and the module needs numpy only, so a child process analysing an upload does
not import librosa, numba and scipy (seconds of start-up).

>>> sr = 22_050
>>> t = np.arange(sr // 2) / sr
>>> track = track_pyin(0.5 * np.sin(2 * np.pi * 220.0 * t), fmin_hz=60.0, fmax_hz=700.0,
...                    sampling_rate_hz=sr, frame_length=1024, hop_length=128)
>>> bool(abs(np.median(track.f0_hz[track.voiced]) - 220.0) < 3.0)
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError

#: pYIN's own constants (Mauch & Dixon 2014; librosa's defaults).
N_THRESHOLDS = 100
BETA_PARAMETERS = (2, 18)
BOLTZMANN_PARAMETER = 2.0
MAX_TRANSITION_RATE_OCTAVES_PER_S = 35.92
SWITCH_PROBABILITY = 0.01
NO_TROUGH_PROBABILITY = 0.01

_TINY = np.finfo(np.float64).tiny
FRAMES_PER_BLOCK = 256


@dataclass(frozen=True)
class PyinTrack:
    """Per frame (frame ``i`` centred at sample ``i * hop_length``): ``f0_hz`` (NaN where unvoiced),
    ``voiced`` and pYIN's ``voiced_probability``."""

    f0_hz: np.ndarray
    voiced: np.ndarray
    voiced_probability: np.ndarray


def track_pyin(y: np.ndarray, *, fmin_hz: float, fmax_hz: float, sampling_rate_hz: float, frame_length: int,
               hop_length: int, resolution_semitones: float = 0.1, center: bool = True) -> PyinTrack:
    """pYIN of a mono signal ``y`` (in float64): what ``librosa.pyin(y, fmin=fmin_hz, fmax=fmax_hz,
    sr=sampling_rate_hz, frame_length=frame_length, hop_length=hop_length, resolution=resolution_semitones,
    center=center)`` returns (its other options at their defaults), as a :class:`PyinTrack`.

    >>> track_pyin(np.zeros(3000), fmin_hz=60.0, fmax_hz=700.0, sampling_rate_hz=22_050,
    ...            frame_length=1024, hop_length=128).voiced.any()
    np.False_
    >>> track_pyin(np.zeros(3000), fmin_hz=10.0, fmax_hz=700.0, sampling_rate_hz=22_050,
    ...            frame_length=1024, hop_length=128)
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: fmin_hz must be > sampling_rate_hz / (frame_length - 1) (21.6 Hz) so a period fits in a frame, got 10.0
    """
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(f"y must be a 1-D float array of samples, got shape {y.shape} dtype {y.dtype}")
    y = y.astype(np.float64, copy=False)  # librosa's numbers for the float64 signal
    if not np.all(np.isfinite(y)):
        raise ParameterError(f"y must be finite; {int(np.sum(~np.isfinite(y)))} samples are NaN or infinite")
    if not (np.isfinite(sampling_rate_hz) and sampling_rate_hz > 0):
        raise ParameterError(f"sampling_rate_hz must be > 0, got {sampling_rate_hz!r}")
    if not (isinstance(frame_length, int | np.integer) and frame_length >= 4):
        raise ParameterError(f"frame_length must be an integer >= 4 samples, got {frame_length!r}")
    if not (isinstance(hop_length, int | np.integer) and hop_length >= 1):
        raise ParameterError(f"hop_length must be an integer >= 1 sample, got {hop_length!r}")
    if not (np.isfinite(resolution_semitones) and 0 < resolution_semitones < 1):
        raise ParameterError(f"resolution_semitones must be in (0, 1) semitone, got {resolution_semitones!r}")
    if not (np.isfinite(fmin_hz) and fmin_hz > 0 and sampling_rate_hz / fmin_hz < frame_length - 1):
        raise ParameterError(f"fmin_hz must be > sampling_rate_hz / (frame_length - 1) "
                             f"({sampling_rate_hz / (frame_length - 1):.1f} Hz) so a period fits in a frame, "
                             f"got {fmin_hz!r}")
    if not (np.isfinite(fmax_hz) and fmin_hz < fmax_hz <= sampling_rate_hz / 2):
        raise ParameterError(f"fmax_hz must be in (fmin_hz, sampling_rate_hz / 2] = ({fmin_hz!r}, "
                             f"{sampling_rate_hz / 2!r}] Hz, got {fmax_hz!r}")
    if center:
        y = np.pad(y, (frame_length // 2, frame_length // 2), mode="constant")
    if y.size < frame_length:
        raise ParameterError(f"y must hold at least frame_length = {frame_length} samples"
                             f"{' less the centring padding' if center else ''}, got {y.size}")
    frames = np.lib.stride_tricks.sliding_window_view(y, frame_length)[::hop_length].T  # (frame_length, n)
    min_period = int(np.floor(sampling_rate_hz / fmax_hz))
    max_period = min(int(np.ceil(sampling_rate_hz / fmin_hz)), frame_length - 1)
    # In blocks of frames: each frame's numbers do not depend on the others, and a block's FFTs stay in
    # cache (a 20-s attempt at 44.1 kHz is otherwise ~230 MB of spectra at once).
    yin = np.concatenate([_cumulative_mean_normalized_difference(frames[:, i:i + FRAMES_PER_BLOCK], min_period,
                                                                 max_period)
                          for i in range(0, frames.shape[1], FRAMES_PER_BLOCK)], axis=1)
    shifts = _parabolic_shifts(yin)

    bins_per_semitone = int(np.ceil(1.0 / resolution_semitones))
    n_bins = int(np.floor(12 * bins_per_semitone * np.log2(fmax_hz / fmin_hz))) + 1
    observation, voiced_probability = _observation_probabilities(
        yin, shifts, sampling_rate_hz=sampling_rate_hz, min_period=min_period, fmin_hz=fmin_hz, n_bins=n_bins,
        bins_per_semitone=bins_per_semitone)
    max_semitones_per_frame = round(MAX_TRANSITION_RATE_OCTAVES_PER_S * 12 * hop_length / sampling_rate_hz)
    width = max_semitones_per_frame * bins_per_semitone + 1
    states = _viterbi(observation, *_pyin_band(n_bins, width))
    freqs_hz = fmin_hz * 2 ** (np.arange(n_bins) / (12 * bins_per_semitone))
    voiced = states < n_bins
    f0_hz = np.where(voiced, freqs_hz[states % n_bins], np.nan)
    return PyinTrack(f0_hz=f0_hz, voiced=voiced, voiced_probability=voiced_probability[0])


# -- YIN -----------------------------------------------------------------------------------------------

def _next_fast_len(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= ``n`` (``scipy.fft.next_fast_len(n, real=True)``, as librosa pads).

    >>> [_next_fast_len(n) for n in (1, 7, 2047, 1411)]
    [1, 8, 2048, 1440]
    """
    best = 1 << max(0, int(n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _cumulative_mean_normalized_difference(frames: np.ndarray, min_period: int, max_period: int) -> np.ndarray:
    """YIN's d'(tau) for tau in [min_period, max_period], from the FFT autocorrelation of each frame."""
    # numpy's FFT is the same pocketfft as scipy.fft (which librosa calls): the same autocorrelation
    # to the last bit (tests/singing/test_pyin.py), without importing scipy.fft.
    # The FFT runs over contiguous rows (each frame's samples next to each other), which gives the same
    # numbers as librosa's column-wise call at two thirds of the time.
    n_pad = _next_fast_len(2 * frames.shape[-2] - 1)
    spectrum = np.fft.rfft(frames.T, n=n_pad, axis=-1)
    acf = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, n=n_pad, axis=-1)[:, :max_period + 1].T
    del spectrum
    # Only the first max_period cumulative energies are used (librosa sums the whole frame; a running
    # sum's first terms do not depend on the rest).
    energy = np.cumsum(np.square(frames[:max_period + 1]), axis=-2)
    energy[0, :] = 0
    energy[1:max_period + 1, :] = 2 * (acf[0:1, :] - acf[1:max_period + 1, :]) - energy[:max_period, :]
    numerator = energy[min_period:max_period + 1, :]
    k_range = np.arange(1, max_period + 1)[:, np.newaxis]
    cumulative_mean = np.cumsum(energy[1:max_period + 1, :], axis=-2) / k_range
    denominator = cumulative_mean[min_period - 1:max_period, :]
    return numerator / (denominator + _TINY)


def _parabolic_shifts(x: np.ndarray) -> np.ndarray:
    """Offset of the parabola's vertex through each lag and its neighbours (0 when over one lag away)."""
    shifts = np.zeros_like(x)
    a = x[2:] + x[:-2] - 2 * x[1:-1]
    b = (x[2:] - x[:-2]) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        shifts[1:-1] = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a)
    return shifts


# -- the observation model --------------------------------------------------------------------------

#: ``scipy.stats.beta.cdf(np.linspace(0, 1, N_THRESHOLDS + 1), *BETA_PARAMETERS)``, the numbers librosa
#: computes every call (tests/singing/test_pyin.py checks them to the bit), written out so that a child
#: process analysing an upload imports no scipy (0.3 s and 130 MB of address space).
BETA_CDF_AT_THRESHOLDS = (
    0.0, 0.015273761488896611, 0.054615950034435104, 0.1099550556837169, 0.1750822631590913, 0.24529279492938452,
    0.3170880697674956, 0.3879294086282141, 0.4560352987272883, 0.5202153457415037, 0.5797350211684026,
    0.6342061633358498, 0.6834989309185446, 0.7276715501652941, 0.7669147530549755, 0.8015082837194422,
    0.8317872640071742, 0.8581165642996578, 0.8808716299986966, 0.9004244740113687, 0.9171337668563828,
    0.9313381438152039, 0.9433520073644374, 0.9534632369233408, 0.9619323302196656, 0.9689925943748676,
    0.9748510828084593, 0.9796900385917222, 0.983668657970772, 0.9869250311872337, 0.9895781529733731,
    0.9917299235000887, 0.9934670832392798, 0.994863043133834, 0.9959795854745597, 0.9968684216661481,
    0.997572601218635, 0.9981277723286026, 0.9985632987366575, 0.9989032405162188, 0.999167208355319,
    0.9993711019788772, 0.9995277438211415, 0.9996474190571961, 0.9997383327679001, 0.9998069944475068,
    0.9998585393487838, 0.9998969953598535, 0.9999255032684011, 0.9999464974283173, 0.9999618530273438,
    0.9999730053799891, 0.9999810459497281, 0.9999867991452132, 0.9999908833400576, 0.9999937590350161,
    0.9999957666133381, 0.9999971557315039, 0.9999981080343308, 0.9999987545808221, 0.9999991891101745,
    0.9999994780610055, 0.999999668076261, 0.999999791576736, 0.9999998708634015, 0.9999999211088078,
    0.9999999525171946, 0.9999999718684219, 0.9999999836096739, 0.9999999906187004, 0.9999999947310814,
    0.9999999970998986, 0.999999998437824, 0.9999999991777627, 0.9999999995778535, 0.9999999997889972,
    0.9999999998975461, 0.9999999999517919, 0.9999999999780792, 0.999999999990398, 0.999999999995963,
    0.9999999999983777, 0.9999999999993799, 0.9999999999997758, 0.9999999999999238, 0.9999999999999759,
    0.999999999999993, 0.9999999999999981, 0.9999999999999996, 0.9999999999999999, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    1.0, 1.0, 1.0, 1.0, 1.0,
)


def _threshold_prior() -> tuple[np.ndarray, np.ndarray]:
    """pYIN's thresholds 0..1 and the beta(2, 18) probability of each interval between them."""
    return np.linspace(0, 1, N_THRESHOLDS + 1), np.diff(np.array(BETA_CDF_AT_THRESHOLDS))


def _observation_probabilities(yin: np.ndarray, shifts: np.ndarray, *, sampling_rate_hz: float, min_period: int,
                               fmin_hz: float, n_bins: int, bins_per_semitone: int) -> tuple[np.ndarray, np.ndarray]:
    """pYIN's probability of each (pitch bin, voiced/unvoiced) state per frame, and of voicing."""
    thresholds, beta_probs = _threshold_prior()
    lam = BOLTZMANN_PARAMETER
    yin_probs = np.zeros_like(yin)
    is_trough = np.zeros(yin.shape, dtype=bool)
    is_trough[1:-1] = (yin[1:-1] < yin[:-2]) & (yin[1:-1] <= yin[2:])
    is_trough[-1] = yin[-1] < yin[-2]
    is_trough[0] = yin[0] < yin[1]
    for i in range(yin.shape[1]):
        frame = yin[:, i]
        (trough_index,) = np.nonzero(is_trough[:, i])
        if trough_index.size == 0:
            continue
        heights = frame[trough_index]
        below = np.less.outer(heights, thresholds[1:])
        positions = np.cumsum(below, axis=0) - 1
        n_troughs = np.count_nonzero(below, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            fact = (1 - np.exp(-lam)) / (1 - np.exp(-lam * n_troughs))  # Boltzmann pmf as scipy computes it
            prior = fact * np.exp(-lam * positions)
        prior[~below] = 0
        probs = prior.dot(beta_probs)
        global_min = np.argmin(heights)
        n_thresholds_below_min = np.count_nonzero(~below[global_min, :])
        probs[global_min] += NO_TROUGH_PROBABILITY * np.sum(beta_probs[:n_thresholds_below_min])
        yin_probs[trough_index, i] = probs
    period_idx, frame_idx = np.nonzero(yin_probs)
    periods = min_period + period_idx + shifts[period_idx, frame_idx]
    f0_candidates_hz = sampling_rate_hz / periods
    bin_index = 12 * bins_per_semitone * np.log2(f0_candidates_hz / fmin_hz)
    bin_index = np.clip(np.round(bin_index), 0, n_bins).astype(int)
    observation = np.zeros((2 * n_bins, yin.shape[1]))
    observation[bin_index, frame_idx] = yin_probs[period_idx, frame_idx]
    voiced_probability = np.clip(np.sum(observation[np.newaxis, :n_bins, :], axis=-2, keepdims=True), 0, 1)[0]
    observation[n_bins:, :] = (1 - voiced_probability) / n_bins
    return observation, voiced_probability


# -- the hidden Markov model --------------------------------------------------------------------------

def _triangle_window(width: int) -> np.ndarray:
    """The symmetric triangular window of ``width`` points with non-zero ends (scipy's ``triang``)."""
    n = np.arange(1, (width + 1) // 2 + 1)
    if width % 2 == 0:
        w = (2 * n - 1.0) / width
        return np.concatenate([w, w[::-1]])
    w = 2 * n / (width + 1.0)
    return np.concatenate([w, w[-2::-1]])


@functools.lru_cache(maxsize=8)
def _pyin_transition(n_bins: int, width: int) -> np.ndarray:
    """pYIN's transition matrix over ``2 * n_bins`` states: a triangle of ``width`` bins around the
    current pitch, times staying voiced/unvoiced (0.99) or switching (0.01). Built exactly as librosa
    builds it (row by row, then row-normalised), so every entry is the same number."""
    if n_bins < 2 or width < 1:
        raise ParameterError(f"n_bins must be > 1 and width >= 1, got {n_bins!r} and {width!r}")
    if width > n_bins:
        raise ParameterError(f"width must be <= n_bins = {n_bins}, got {width!r} (narrow the transition or widen "
                             f"the pitch range)")
    local = np.zeros((n_bins, n_bins))
    window = _triangle_window(width)
    lpad = (n_bins - width) // 2
    for i in range(n_bins):
        row = np.zeros(n_bins)
        row[lpad:lpad + width] = window
        row = np.roll(row, n_bins // 2 + i + 1)
        row[min(n_bins, i + width // 2 + 1):] = 0
        row[:max(0, i - width // 2)] = 0
        local[i] = row
    local /= local.sum(axis=1, keepdims=True)
    stay = 1 - SWITCH_PROBABILITY
    switch = np.full((2, 2), (1 - stay) / (2 - 1))  # 0.010000000000000009, as librosa's transition_loop
    np.fill_diagonal(switch, stay)
    transition = np.kron(switch, local)
    transition.setflags(write=False)
    return transition


def viterbi_banded(prob: np.ndarray, transition: np.ndarray) -> np.ndarray:
    """Most likely state sequence of ``prob`` (``(n_states, n_frames)`` observation likelihoods) under
    the mostly-zero ``transition`` matrix and a uniform start: ``librosa.sequence.viterbi(prob,
    transition, p_init=uniform)``, to the same states, in ``O(n_states x band)`` per frame.

    Like librosa, works in logs with ``tiny`` added, so a zero transition is ``log(tiny)`` rather than
    impossible: a target state's best predecessor is the best of its in-band ones or, at that fixed
    cost, the best previous state overall (the only out-of-band state that can beat every other).

    >>> t = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> viterbi_banded(np.array([[0.9, 0.9, 0.05], [0.1, 0.1, 0.95]]), t).tolist()
    [0, 0, 1]
    """
    prob = np.asarray(prob, dtype=float)
    transition = np.asarray(transition, dtype=float)
    if prob.ndim != 2 or transition.shape != (prob.shape[0], prob.shape[0]):
        raise ParameterError(f"prob must be (n_states, n_frames) and transition (n_states, n_states), got "
                             f"{prob.shape} and {transition.shape}")
    if np.any(transition < 0) or not np.allclose(transition.sum(axis=1), 1):
        raise ParameterError("transition must be non-negative with rows summing to 1")
    if np.any(~(prob >= 0)) or np.any(prob > 1):
        raise ParameterError("prob must be probabilities in [0, 1] (no NaN)")
    return _viterbi(prob, *_band(transition))


def _viterbi(prob: np.ndarray, preds: np.ndarray, log_trans: np.ndarray, nonzero: np.ndarray) -> np.ndarray:
    n_states, n_frames = prob.shape
    states = np.zeros(n_frames, dtype=np.int64)
    if n_frames == 0:
        return states
    log_prob = np.log(prob + _TINY).T  # (n_frames, n_states), as librosa computes it
    log_zero = np.log(0.0 + _TINY)
    value = log_prob[0] + np.log(np.ones(n_states) / n_states + _TINY)
    ptr = np.zeros((n_frames, n_states), dtype=np.int64)
    width = preds.shape[1]
    row_start = np.arange(n_states) * width
    flat_preds = preds.ravel()
    cand = np.empty(preds.shape)
    for t in range(1, n_frames):
        np.take(value, preds, out=cand)
        cand += log_trans  # (n_states, band), predecessors in increasing order
        flat = row_start + np.argmax(cand, axis=1)
        best = cand.ravel()[flat]
        best_k = flat_preds[flat]
        k_star = int(np.argmax(value))
        jump = value[k_star] + log_zero
        take_jump = ~nonzero[k_star] & ((jump > best) | ((jump == best) & (k_star < best_k)))
        if take_jump.any():
            best_k = np.where(take_jump, k_star, best_k)
            best = np.where(take_jump, jump, best)
        ptr[t] = best_k
        value = log_prob[t] + best
    states[-1] = np.argmax(value)
    for t in range(n_frames - 2, -1, -1):
        states[t] = ptr[t + 1, states[t + 1]]
    return states


def _band(transition: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each target state, its predecessors with a non-zero transition (padded, increasing), the
    log transition from each (``-inf`` for padding), and the non-zero pattern ``nonzero[k, j]``."""
    nonzero = transition > 0
    log_trans_full = np.log(transition + _TINY)
    width = int(nonzero.sum(axis=0).max())
    preds = np.zeros((transition.shape[1], width), dtype=np.int64)
    log_trans = np.full((transition.shape[1], width), -np.inf)
    for j in range(transition.shape[1]):
        (k,) = np.nonzero(nonzero[:, j])
        preds[j, :k.size] = k
        log_trans[j, :k.size] = log_trans_full[k, j]
    return preds, log_trans, nonzero


@functools.lru_cache(maxsize=8)
def _pyin_band(n_bins: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _band(_pyin_transition(n_bins, width))
