"""Tempo from an onset envelope: autocorrelation tempogram, metrical-level choice, local tempo.

The hard part of tempo estimation is not finding a periodicity but choosing the metrical level
that listeners tap (the tactus): a piece at 60 BPM also repeats at 120 (eighth notes) and at 30
(half notes). A fixed prior centred at 120 BPM reports slow music at double tempo. Here the level
is chosen from evidence about the candidate levels themselves (see :func:`choose_tactus_bpm`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError

MIN_TEMPO_BPM = 30.0
MAX_TEMPO_BPM = 300.0
#: Tempo range the tactus is searched in. Tapped beats rarely fall outside about 50-170 BPM
#: (Moelants 2002; McKinney & Moelants 2006 found fast pieces tapped at half tempo), and a
#: candidate above 170 is usually the subdivision of a slower beat: limiting the range removes the
#: doubling of slow music whose eighth notes are strong. Music faster than 170 BPM is reported at
#: half tempo (its half-time feel), which is what a walking or relaxation playlist needs anyway.
TACTUS_RANGE_BPM = (50.0, 170.0)
LOCAL_WINDOW_S = 8.0
LOCAL_HOP_S = 0.5
#: Log-normal tempo preference: a broad preference for moderate tempi. Centre and width are the
#: geometric middle and the spread of tapped tempi in listening studies (Moelants 2002: preferred
#: tempo about 100-120 BPM, tapped tempi mostly within 60-200); used only to break near-ties.
PRIOR_CENTRE_BPM = 100.0
PRIOR_WIDTH_OCTAVES = 1.0
#: Below this level confidence the metrical level is reported as ambiguous: the user is offered the
#: competing level (half or double) instead of one being picked silently. At 0.7 the level model (a ranking of
#: the levels since issue 22's fourth round) flags, held out, about 3 in 10 correct levels and 5 in 6 of its
#: misses; higher thresholds catch few more misses for many more false alarms (bench/RESULTS.md).
AMBIGUOUS_LEVEL_CONFIDENCE = 0.7


@dataclass(frozen=True)
class TempoEstimate:
    """A tempo in BPM with confidence (0-1), and the periodicity salience over the tempo grid it was chosen from."""

    tempo_bpm: float
    confidence: float
    salience_bpm: np.ndarray  # tempo grid
    salience: np.ndarray  # periodicity strength at each grid tempo


def autocorrelation(env: np.ndarray) -> np.ndarray:
    """Unbiased, normalised autocorrelation (lag 0 = 1) via FFT.

    >>> pulses = np.tile([1.0, 0.0, 0.0, 0.0], 50)
    >>> acf = autocorrelation(pulses)
    >>> int(np.argmax(acf[1:10])) + 1  # the period, in frames
    4
    """
    n = env.size
    x = env - env.mean()
    spec = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spec * np.conj(spec))[:n]
    acf = acf / np.maximum(n - np.arange(n), 1)  # unbiased: long lags are not penalised
    return acf / acf[0] if acf[0] > 0 else np.zeros(n)


def _acf_at(acf: np.ndarray, lags: np.ndarray) -> np.ndarray:
    return np.interp(lags, np.arange(acf.size), acf, right=0.0)


def tempo_grid_bpm() -> np.ndarray:
    """Log-spaced tempo grid, 1 % steps."""
    return np.exp(np.arange(np.log(MIN_TEMPO_BPM), np.log(MAX_TEMPO_BPM), 0.01))


def periodicity_salience(env: np.ndarray, *, frame_rate_hz: float, bpm: np.ndarray) -> np.ndarray:
    """Periodicity strength of each tempo: autocorrelation at the beat lag, reinforced by its
    multiples (a true beat period also repeats at 2 and 4 beats; Ellis 2007, Percival & Tzanetakis 2014)."""
    acf = autocorrelation(env)
    lags = 60.0 * frame_rate_hz / bpm
    return np.maximum(_acf_at(acf, lags), 0.0)


LEVEL_RATIO = 0.65


def choose_tactus_bpm(salience: np.ndarray, bpm: np.ndarray, *, level_ratio: float | None = None,
                      tactus_range_bpm: tuple[float, float] | None = None) -> tuple[float, float]:
    """Pick the tactus tempo from the salience curve; returns (tempo_bpm, confidence 0-1).

    A periodicity at T also shows at every multiple of its period, so slower metrical levels
    are always about as salient as the beat itself; what distinguishes the beat is that the next
    faster level is clearly weaker. The tactus is therefore the *fastest* peak whose salience is
    within ``LEVEL_RATIO`` of the strongest peak in the tactus range.
    """
    level_ratio = LEVEL_RATIO if level_ratio is None else level_ratio
    peaks = _salience_peaks(salience, bpm, tactus_range_bpm)
    if peaks.size == 0:
        return float("nan"), 0.0
    strongest = salience[peaks].max()
    strong = peaks[salience[peaks] >= level_ratio * strongest]
    best = int(strong.max())
    return float(bpm[best]), float(np.clip(salience[best], 0.0, 1.0))


def _salience_peaks(salience: np.ndarray, bpm: np.ndarray, tactus_range_bpm: tuple[float, float] | None) -> np.ndarray:
    """Indices of the local maxima of ``salience`` inside the tactus range."""
    low_bpm, high_bpm = TACTUS_RANGE_BPM if tactus_range_bpm is None else tactus_range_bpm
    in_range = (bpm >= low_bpm) & (bpm <= high_bpm)
    inner = np.r_[False, (salience[1:-1] >= salience[:-2]) & (salience[1:-1] >= salience[2:]), False]
    peaks = np.flatnonzero(inner & in_range & (salience > 0))
    return peaks


def tactus_candidates(salience: np.ndarray, bpm: np.ndarray, *, tactus_range_bpm: tuple[float, float] | None = None,
                      floor: float = 0.3) -> list[tuple[float, float]]:
    """Salience peaks in the tactus range as (tempo_bpm, salience / strongest), fastest first,
    down to ``floor`` of the strongest."""
    peaks = _salience_peaks(salience, bpm, tactus_range_bpm)
    if peaks.size == 0:
        return []
    strongest = salience[peaks].max()
    return [(float(bpm[i]), float(salience[i] / strongest)) for i in peaks[::-1] if salience[i] >= floor * strongest]


def estimate_tempo(env: np.ndarray, *, frame_rate_hz: float, level_ratio: float | None = None,
                   tactus_range_bpm: tuple[float, float] | None = None) -> TempoEstimate:
    """Global tempo of an onset envelope (see :mod:`cadenza.music.onset`); options default to
    ``LEVEL_RATIO`` and ``TACTUS_RANGE_BPM``.

    Strong beats every 0.6 s with weaker eighth notes between them: the eighth-note level (200 BPM)
    is outside the tactus range and weaker, so the beat is 100 BPM.

    >>> frame_rate_hz = 50.0
    >>> env = np.zeros(1500); env[::30] = 1.0; env[15::30] = 0.4
    >>> round(estimate_tempo(env, frame_rate_hz=frame_rate_hz).tempo_bpm)
    100
    """
    env = np.asarray(env, dtype=float)
    if env.ndim != 1:
        raise ParameterError(f"env must be a 1-D onset envelope, got shape {env.shape!r}")
    if not frame_rate_hz > 0:
        raise ParameterError(f"frame_rate_hz must be > 0, got {frame_rate_hz!r}")
    if level_ratio is not None and not 0 < level_ratio <= 1:
        raise ParameterError(f"level_ratio must be within (0, 1], got {level_ratio!r}")
    if tactus_range_bpm is not None and not (MIN_TEMPO_BPM <= tactus_range_bpm[0] < tactus_range_bpm[1] <= MAX_TEMPO_BPM):
        raise ParameterError(f"tactus_range_bpm must be (low, high) within {MIN_TEMPO_BPM:g}-{MAX_TEMPO_BPM:g} BPM, "
                             f"got {tactus_range_bpm!r}")
    bpm = tempo_grid_bpm()
    if env.size < 4 * frame_rate_hz or not np.any(env > 0):
        return TempoEstimate(float("nan"), 0.0, bpm, np.zeros_like(bpm))
    sal = periodicity_salience(env, frame_rate_hz=frame_rate_hz, bpm=bpm)
    tempo_bpm, confidence = choose_tactus_bpm(sal, bpm, level_ratio=level_ratio, tactus_range_bpm=tactus_range_bpm)
    return TempoEstimate(tempo_bpm, confidence, bpm, sal)


def local_period_frames(env: np.ndarray, *, frame_rate_hz: float, tempo_bpm: float,
                        max_deviation: float = 0.12) -> np.ndarray:
    """Beat period (in frames) at every frame, following drift around ``tempo_bpm``.

    Each window of ``LOCAL_WINDOW_S`` picks its autocorrelation peak within +-``max_deviation``
    of the global period; the per-window periods are smoothed and interpolated to frames.
    """
    n = env.size
    period = 60.0 * frame_rate_hz / tempo_bpm
    win = int(round(LOCAL_WINDOW_S * frame_rate_hz))
    hop = max(1, int(round(LOCAL_HOP_S * frame_rate_hz)))
    if n < 2 * win:
        return np.full(n, period)
    lags = np.arange(int(period * (1 - max_deviation)), int(np.ceil(period * (1 + max_deviation))) + 1)
    centres, periods, weights = [], [], []
    for start in range(0, n - win + 1, hop):
        acf = autocorrelation(env[start:start + win])
        # Reinforce with the second multiple so one strong off-beat pattern cannot pull the pick.
        curve = _acf_at(acf, lags) + 0.5 * _acf_at(acf, 2 * lags)
        k = int(np.argmax(curve))
        lag = float(lags[k])
        if 0 < k < lags.size - 1:  # parabolic refinement
            a, b, c = curve[k - 1:k + 2]
            denom = a - 2 * b + c
            if denom < 0:
                lag += 0.5 * (a - c) / denom
        centres.append(start + win / 2)
        periods.append(lag)
        weights.append(max(curve[k], 1e-6))
    periods_arr = np.asarray(periods)
    # Median over neighbouring windows removes single-window outliers before interpolating.
    smoothed = np.array([np.median(periods_arr[max(0, i - 2):i + 3]) for i in range(periods_arr.size)])
    return np.interp(np.arange(n), np.asarray(centres), smoothed)
