"""Tempo and pulse clarity of played notes (MIDI onsets), without the file's tempo marking.

The onsets, weighted by velocity, become an onset envelope (impulses smoothed by a 12 ms Gaussian at
200 frames/s). Its autocorrelation, averaged at 1, 2, 3 and 4 beat periods (a beat repeats at its
multiples), gives each candidate tempo a salience; with a broad log-normal preference for moderate
tempi (centre 110 BPM, one octave wide; tapped tempi cluster there, Moelants 2002) it ranks the
peaks. The metrical level is then chosen among the :data:`N_LEVEL_CANDIDATES` best of them by a
score that adds how well the notes sit on the candidate beat's subdivisions: the resultant length of
the notes' phases at a quarter (sixteenths) and at a third (triplets) of the period, in 8-s windows so
a slow drift does not blur it. A wrong level cuts the played grid: 4/5 of a 5/4 tempo or 3/2 of a
straight one puts the sixteenths between its subdivisions, while half time leaves them unaccounted
for. Half time and the beat itself can carry the same grid (eighths at 184 BPM are sixteenths at 92),
so the score also weighs the metrical accent hierarchy: the loud notes (the top quarter of the
velocities: kick, snare, accented cymbals) sit on the beat's eighths, and the soft ones (the lower
half: ghost notes, unaccented hi-hats) fill its sixteenths. Played at half time, the accents of
eighth-note playing fall on its sixteenths. The weights (:data:`LEVEL_WEIGHTS`) were fitted on the
development drum performances (bench/improv.py). A take whose velocities mark no accents (one
velocity throughout) is scored on the grid features alone (:data:`PLAIN_LEVEL_WEIGHTS`).
A drum kit's take (``drum_pitches``: General MIDI percussion note numbers) adds three features of the
kit's roles (:mod:`cadenza.improv.kit`): the snare's backbeat against the kick, the hi-hat pedal on
every beat, and the meter (a beat divides the bar that the kick and snare's figure repeats, read by
:func:`estimate_bar_s`), with their own weights (:data:`KIT_LEVEL_WEIGHTS`, fitted on the same files).
Whatever the take, a candidate whose beat the notes divide in five or seven (:func:`odd_division`) has its
score lowered by a set penalty (:data:`ODD_DIVISION_PENALTY`): in a metrical hierarchy the beat is the
tatum times 2, 3, 4, 6 or 8, so 4/5 of a 5/4 tempo (five sixteenths a beat) is no beat.
``level_confidence`` (0-1) is how clearly the score preferred the chosen level over the runner-up,
``alternative_tempo_bpm``; below :data:`AMBIGUOUS_LEVEL_CONFIDENCE` both are worth showing, as the
music tracker does.
The period is then refined by a least-squares fit of the onsets near the chosen beat grid, so a
steady player's tempo is read to a fraction of a BPM. ``pulse_clarity`` is the salience of the chosen
tempo (0 = no periodicity, 1 = perfectly periodic), after Lartillot et al. 2008 (MIRtoolbox).

The file's own tempo marking is never read: for a played improvisation it is whatever the sequencer
was left at.

>>> onsets_s = np.arange(0, 30, 0.5)  # a steady pulse every 0.5 s
>>> pulse = estimate_pulse(onsets_s)
>>> round(pulse.tempo_bpm, 3), pulse.pulse_clarity > 0.9
(120.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.improv.kit import BAR_PITCHES, backbeat_alignment, foot_pulse, meter_consistency

FRAME_RATE_HZ = 200.0
SMOOTHING_S = 0.012
TEMPO_RANGE_BPM = (50.0, 240.0)
PRIOR_CENTRE_BPM = 110.0
PRIOR_WIDTH_OCTAVES = 1.0
HARMONICS = (1, 2, 3, 4)
MIN_ONSETS = 8  # fewer notes carry no tempo
#: Local tempo: windows of this length, every hop, searched within +-LOCAL_SEARCH of the global tempo.
LOCAL_WINDOW_S = 8.0
LOCAL_HOP_S = 2.0
LOCAL_SEARCH = 0.15
#: The metrical level: candidates (the best salience x prior peaks), their score's weights on log
#: salience, log prior, alignment to sixteenths (period/4) and to triplets (period/3), alignment of the
#: loud notes to eighths (period/2) and of the soft notes to sixteenths, and the share of beats that
#: hold a loud note; fitted on the development files by pairwise logistic regression (bench/improv.py
#: refits them leaving one drummer out).
N_LEVEL_CANDIDATES = 4
LEVEL_FEATURES = ("log_salience", "log_prior", "sixteenths", "triplets", "loud_on_eighths", "soft_on_sixteenths",
                  "accented_beats")
LEVEL_WEIGHTS = (1.11, 3.72, 1.6, 2.86, 2.91, 2.76, 0.73)
#: A drum kit's take (``drum_pitches`` given, with accents): the seven and the kit's roles
#: (:func:`cadenza.improv.kit.backbeat_alignment`, :func:`cadenza.improv.kit.foot_pulse`, fitted together
#: on the same files; then :func:`cadenza.improv.kit.meter_consistency`, its weight fitted with the other
#: nine held, so that it acts where the bar disagrees with a level and moves nothing else).
KIT_LEVEL_FEATURES = LEVEL_FEATURES + ("backbeat", "foot_pulse", "meter")
KIT_LEVEL_WEIGHTS = (1.02, 3.65, 1.57, 2.8, 2.46, 2.67, 0.79, 1.45, 1.55, 0.77)
#: Without accents (:func:`has_accents`: one velocity, as from many keyboards and pads) the level is
#: scored on the first four features alone, with the weights fitted on them alone (the same files).
PLAIN_LEVEL_WEIGHTS = (2.76, 3.73, 3.52, 1.78)
#: Loud notes: velocity at or above this quantile of the take's; soft notes: at or below SOFT_QUANTILE.
LOUD_QUANTILE = 0.75
SOFT_QUANTILE = 0.5
#: accented_beat_share: a window's loud notes give no beat phase when their resultant is under this share
PHASE_CANCELLED = 0.02
ALIGNMENT_WINDOW_S = 8.0
#: The bar (:func:`estimate_bar_s`): searched within this range of lags, by the mean autocorrelation
#: at the lag and its multiples up to BAR_HARMONICS.
BAR_RANGE_S = (0.75, 6.0)
BAR_HARMONICS = (1, 2, 3, 4)
#: The beat is the tatum (the fastest regular grid the notes sit on) times 2, 3, 4, 6 or 8, never 5 or 7
#: (a metrical hierarchy divides a beat in two or three at each level; Lerdahl & Jackendoff 1983, London
#: 2004): a candidate whose beat the notes divide in 5 or 7 (:func:`odd_division`: 4/5 of a 5/4 tempo
#: spans five of its sixteenths) has its level score lowered by ODD_DIVISION_PENALTY x that excess. The
#: penalty is set, not fitted (fitted, its weight stays near -0.7: the wrong candidates it concerns nearly
#: all lose already); at 10 the excess of 4/5 of the development 5/4's tempo (0.29) costs 2.9, more than
#: the fitted score's margin of all but five development files (bench/RESULTS.md, issue 19, improv9).
METRICAL_DIVISIONS = (2, 3, 4, 6, 8)
ODD_DIVISIONS = (5, 7)
ODD_DIVISION_PENALTY = 10.0
AMBIGUOUS_LEVEL_CONFIDENCE = 0.65
_GRID_BPM = np.exp(np.linspace(np.log(TEMPO_RANGE_BPM[0]), np.log(TEMPO_RANGE_BPM[1]), 1600))


@dataclass(frozen=True)
class Pulse:
    """A player's (or a take's) tempo and how clearly it is felt; NaN tempo when there is none."""

    tempo_bpm: float
    pulse_clarity: float  # 0-1
    beat_phase_s: float  # time of a beat of the fitted grid (NaN without a tempo)
    alternative_tempo_bpm: float = float("nan")  # the runner-up metrical level (NaN without one)
    level_confidence: float = float("nan")  # 0-1: how clearly tempo_bpm won over alternative_tempo_bpm

    @property
    def level_ambiguous(self) -> bool:
        """True when both levels are worth showing (level confidence below the threshold)."""
        return bool(np.isfinite(self.level_confidence) and self.level_confidence < AMBIGUOUS_LEVEL_CONFIDENCE)


def onset_envelope(onset_times_s: np.ndarray, *, weights: np.ndarray | None = None,
                   duration_s: float | None = None) -> np.ndarray:
    """Velocity-weighted onset impulses at ``FRAME_RATE_HZ``, smoothed by a ``SMOOTHING_S`` Gaussian."""
    end_s = float(onset_times_s.max()) if onset_times_s.size else 0.0
    n = int(np.ceil(max(end_s, duration_s or 0.0) * FRAME_RATE_HZ)) + int(FRAME_RATE_HZ)
    env = np.zeros(n)
    w = np.ones(onset_times_s.size) if weights is None else weights
    np.add.at(env, np.round(onset_times_s * FRAME_RATE_HZ).astype(int), w)
    sd = SMOOTHING_S * FRAME_RATE_HZ
    k = np.arange(-int(4 * sd), int(4 * sd) + 1)
    return np.convolve(env, np.exp(-0.5 * (k / sd) ** 2), mode="same")


def _autocorrelation(env: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation (lag 0 = 1) along the last axis, by FFT (a power-of-two size)."""
    x = env - env.mean(axis=-1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(2 * x.shape[-1])))
    spec = np.fft.rfft(x, size, axis=-1)
    acf = np.fft.irfft(spec * np.conj(spec), size, axis=-1)[..., :x.shape[-1]]
    zero = acf[..., :1]
    return np.divide(acf, zero, out=np.zeros_like(acf), where=zero > 0)


def _salience(acf: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    lags = 60.0 * FRAME_RATE_HZ / bpm
    frames = np.arange(acf.size)
    return np.mean([np.interp(h * lags, frames, acf, right=0.0) for h in HARMONICS], axis=0)


def grid_alignment(onset_times_s: np.ndarray, weights: np.ndarray, period_s: np.ndarray | float) -> np.ndarray:
    """Weighted resultant length (0-1) of the onsets' phases at ``period_s`` (one value per period),
    summed over :data:`ALIGNMENT_WINDOW_S` windows so a slow tempo drift does not blur it.

    >>> onsets_s = np.arange(0, 20, 0.25)  # on every eighth at 120 BPM
    >>> grid_alignment(onsets_s, np.ones(80), [0.25, 0.5]).round(6).tolist()  # eighths; beats (half off)
    [1.0, 0.0]
    """
    periods = np.atleast_1d(np.asarray(period_s, dtype=float))
    total = float(weights.sum())
    if onset_times_s.size == 0 or total <= 0:
        return np.zeros(periods.size)
    window = np.floor((onset_times_s - onset_times_s.min()) / ALIGNMENT_WINDOW_S).astype(int)
    phases = np.exp(2j * np.pi * onset_times_s[None, :] / periods[:, None]) * weights[None, :]
    sums = np.zeros((periods.size, int(window.max()) + 1), dtype=complex)
    for k in range(periods.size):
        sums[k] = np.bincount(window, weights=phases[k].real) + 1j * np.bincount(window, weights=phases[k].imag)
    return np.abs(sums).sum(axis=1) / total


def accent_alignment(onset_times_s: np.ndarray, weights: np.ndarray,
                     period_s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(loud notes' alignment to eighths, soft notes' alignment to sixteenths) of each beat period:
    :func:`grid_alignment` of the notes whose weight is at or above the :data:`LOUD_QUANTILE` of the
    weights at ``period_s / 2``, and of those at or below the :data:`SOFT_QUANTILE` at ``period_s / 4``.
    With equal weights every note is both loud and soft.

    >>> beat_s = 0.5; onsets_s = np.arange(0, 16, beat_s / 4)  # sixteenths at 120 BPM
    >>> accents = np.where(np.arange(onsets_s.size) % 2 == 0, 1.0, 0.3)  # loud eighths, soft in between
    >>> loud, soft = accent_alignment(onsets_s, accents, [0.5, 1.0])  # the beat; half time
    >>> loud.round(6).tolist(), soft.round(6).tolist()  # at half time the accents split its eighths
    ([1.0, 0.0], [1.0, 1.0])
    """
    if onset_times_s.size == 0:
        periods = np.atleast_1d(np.asarray(period_s, dtype=float))
        return np.zeros(periods.size), np.zeros(periods.size)
    period = np.asarray(period_s, dtype=float)
    loud = weights >= np.quantile(weights, LOUD_QUANTILE)
    soft = weights <= np.quantile(weights, SOFT_QUANTILE)
    return (grid_alignment(onset_times_s[loud], weights[loud], period / 2),
            grid_alignment(onset_times_s[soft], weights[soft], period / 4))


def accented_beat_share(onset_times_s: np.ndarray, weights: np.ndarray, period_s: np.ndarray | float) -> np.ndarray:
    """Share (0-1) of the beats at each period that hold a loud note (weight at or above the
    :data:`LOUD_QUANTILE`) within an eighth of a period. The beat grid's phase is the loud notes'
    mean phase in each :data:`ALIGNMENT_WINDOW_S` window, or the window's first loud note where
    their phases cancel out (resultant under :data:`PHASE_CANCELLED` of their weight, as when they
    fall evenly on and off the beat). Double time leaves every other beat without an accent.

    >>> onsets_s = np.arange(0, 16, 0.25); accents = np.where(np.arange(64) % 2 == 0, 1.0, 0.3)
    >>> accented_beat_share(onsets_s, accents, [0.5, 0.25]).round(2).tolist()  # the beat; double time
    [1.0, 0.5]
    """
    periods = np.atleast_1d(np.asarray(period_s, dtype=float))
    if onset_times_s.size == 0:
        return np.zeros(periods.size)
    loud = weights >= np.quantile(weights, LOUD_QUANTILE)
    times_s, w = onset_times_s[loud], weights[loud]
    window = np.floor((times_s - times_s[0]) / ALIGNMENT_WINDOW_S).astype(int)
    first = np.searchsorted(window, np.arange(window[-1] + 1))  # each window's first loud note (or the next)
    first = np.minimum(first, times_s.size - 1)
    total = np.maximum(np.bincount(window, weights=w), 1e-12)
    n_beats = np.floor(float(np.ptp(onset_times_s)) / periods) + 1.0
    out = np.zeros(periods.size)
    for k, period in enumerate(periods):
        phase = np.exp(2j * np.pi * times_s / period) * w
        sums = np.bincount(window, weights=phase.real) + 1j * np.bincount(window, weights=phase.imag)
        offset_s = np.where(np.abs(sums) > PHASE_CANCELLED * total, np.angle(sums) / (2 * np.pi) * period,
                            times_s[first])
        offset_s = offset_s[window]
        beat = np.round((times_s - offset_s) / period)
        near = np.abs(times_s - offset_s - beat * period) < period / 8
        out[k] = min(np.unique(beat[near]).size / n_beats[k], 1.0)
    return out


def odd_division(onset_times_s: np.ndarray, weights: np.ndarray, period_s: np.ndarray | float) -> np.ndarray:
    """How far (0-1) the notes' alignment to a fifth or a seventh of each beat period (:data:`ODD_DIVISIONS`)
    exceeds their best alignment to a metrical division of it (:data:`METRICAL_DIVISIONS`: a half, third,
    quarter, sixth or eighth), each by :func:`grid_alignment`; 0 where a metrical division fits as well.
    A beat that the notes divide in five or seven spans five or seven of their tatum, which no metrical
    level does.

    >>> onsets_s = np.arange(0, 20, 0.125)  # sixteenths at 120 BPM
    >>> odd_division(onsets_s, np.ones(160), [0.5, 0.625, 0.25]).round(2).tolist()  # beat; 5 sixteenths; double
    [0.0, 0.98, 0.0]
    """
    periods = np.atleast_1d(np.asarray(period_s, dtype=float))
    odd = np.max([grid_alignment(onset_times_s, weights, periods / m) for m in ODD_DIVISIONS], axis=0)
    metrical = np.max([grid_alignment(onset_times_s, weights, periods / m) for m in METRICAL_DIVISIONS], axis=0)
    return np.maximum(odd - metrical, 0.0)


def has_accents(weights: np.ndarray) -> bool:
    """True when the loud notes (at or above the :data:`LOUD_QUANTILE`) are under half of the notes:
    the velocities mark accents. Not so for a keyboard or pad that sends one velocity.

    >>> has_accents(np.full(40, 0.5)), has_accents(np.tile([1.0, 0.4, 0.5, 0.45], 10))
    (False, True)
    """
    return bool(weights.size and np.mean(weights >= np.quantile(weights, LOUD_QUANTILE)) < 0.5)


def estimate_bar_s(onset_times_s: np.ndarray, weights: np.ndarray) -> float:
    """The bar period (s) of sorted onsets: the lag within :data:`BAR_RANGE_S` whose multiples
    (:data:`BAR_HARMONICS`) hold the highest mean autocorrelation of the weighted onset envelope (a bar
    repeats at its multiples; a 3+3+2 figure inside it does not). NaN with fewer than
    :data:`MIN_ONSETS` onsets, or when the take does not hold the bar's multiples (a bar of a short
    take is a guess: under 3 s, every bar is). Meant for the notes that mark the bar (a kit's kick and
    snare): the whole kit's hi-hats repeat every beat.

    >>> beat_s = 0.4; t = np.arange(36) * beat_s  # a 3/4 figure, loud on 1, soft on 2 and 3: 14 s
    >>> round(estimate_bar_s(t, np.where(np.arange(36) % 3 == 0, 1.0, 0.3)) / beat_s, 2)
    3.0
    """
    span_s = float(np.ptp(onset_times_s)) if onset_times_s.size else 0.0
    if onset_times_s.size < MIN_ONSETS or span_s < max(BAR_HARMONICS) * BAR_RANGE_S[0]:
        return float("nan")
    acf = _autocorrelation(onset_envelope(onset_times_s, weights=weights))
    lags = np.arange(int(BAR_RANGE_S[0] * FRAME_RATE_HZ), int(BAR_RANGE_S[1] * FRAME_RATE_HZ))
    frames = np.arange(acf.size)
    salience = np.mean([np.interp(h * lags, frames, acf, right=0.0) for h in BAR_HARMONICS], axis=0)
    bar_s = float(lags[np.argmax(salience)]) / FRAME_RATE_HZ
    return bar_s if max(BAR_HARMONICS) * bar_s <= span_s else float("nan")  # its multiples inside the take


def _level_features(onsets: np.ndarray, weights: np.ndarray, bpm: np.ndarray, salience: np.ndarray,
                    prior_log: np.ndarray, drum_pitches: np.ndarray | None = None) -> np.ndarray:
    """(candidates, len(LEVEL_FEATURES)): see :data:`LEVEL_FEATURES`; the accent features are 0 (no
    say in the choice) when the velocities mark no accents (:func:`has_accents`). With ``drum_pitches``,
    (candidates, len(KIT_LEVEL_FEATURES)): the kit's roles added."""
    period_s = 60.0 / bpm
    if has_accents(weights):
        loud_eighths, soft_sixteenths = accent_alignment(onsets, weights, period_s)
        accented = accented_beat_share(onsets, weights, period_s)
    else:
        loud_eighths = soft_sixteenths = accented = np.zeros(period_s.size)
    columns = [np.log(np.maximum(salience, 0.01)), prior_log, grid_alignment(onsets, weights, period_s / 4),
               grid_alignment(onsets, weights, period_s / 3), loud_eighths, soft_sixteenths, accented]
    if drum_pitches is not None:
        bar = np.isin(drum_pitches, BAR_PITCHES)
        columns += [backbeat_alignment(onsets, weights, drum_pitches, period_s),
                    foot_pulse(onsets, drum_pitches, period_s),
                    meter_consistency(estimate_bar_s(onsets[bar], weights[bar]), period_s)]
    return np.column_stack(columns)


def _level_candidates(onsets: np.ndarray, weights: np.ndarray, grid: np.ndarray, sal: np.ndarray,
                      prior_centre_bpm: float, prior_width_octaves: float,
                      drum_pitches: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Grid indices of the best salience x prior peaks and their level features (see _level_features)."""
    prior_log = -0.5 * (np.log2(grid / prior_centre_bpm) / prior_width_octaves) ** 2
    peaks = np.flatnonzero((sal > 0) & (sal >= np.roll(sal, 1)) & (sal >= np.roll(sal, -1)))
    ranked = peaks[np.argsort(np.log(sal[peaks]) + prior_log[peaks])[::-1][:N_LEVEL_CANDIDATES]]
    return ranked, _level_features(onsets, weights, grid[ranked], sal[ranked], prior_log[ranked], drum_pitches)


def level_candidates(onset_times_s: np.ndarray, *, velocities: np.ndarray | None = None,
                     drum_pitches: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The metrical-level candidates of sorted onset times: their tempi (BPM, grid values) and the
    features the level score weighs, (candidates, len(LEVEL_FEATURES)); for fitting :data:`LEVEL_WEIGHTS`.
    With ``drum_pitches`` (a drum kit's note numbers) the kit's features too, (candidates,
    len(KIT_LEVEL_FEATURES)), for fitting :data:`KIT_LEVEL_WEIGHTS`.

    >>> bpm, features = level_candidates(np.arange(0, 30, 0.5))
    >>> features.shape[1], bool(np.any(np.abs(bpm - 120) < 1))
    (7, True)
    """
    onsets = np.asarray(onset_times_s, dtype=float)
    weights = np.ones(onsets.size) if velocities is None else np.asarray(velocities, dtype=float) / 127.0
    pitches = None if drum_pitches is None else np.asarray(drum_pitches)
    if onsets.size < MIN_ONSETS or np.ptp(onsets) < 1.0:
        return np.empty(0), np.empty((0, len(LEVEL_FEATURES if pitches is None else KIT_LEVEL_FEATURES)))
    sal = _salience(_autocorrelation(onset_envelope(onsets, weights=weights)), _GRID_BPM)
    ranked, features = _level_candidates(onsets, weights, _GRID_BPM, sal, PRIOR_CENTRE_BPM, PRIOR_WIDTH_OCTAVES,
                                         pitches)
    return _GRID_BPM[ranked], features


def _refine_period_s(onset_times_s: np.ndarray, weights: np.ndarray, period_s: float) -> tuple[float, float]:
    """Least-squares beat period and phase of the onsets within an eighth of a period of the grid."""
    start_s = period_s
    for _ in range(3):
        phase = np.angle(np.sum(weights * np.exp(2j * np.pi * onset_times_s / period_s)))
        offset_s = phase / (2 * np.pi) * period_s
        beats = np.round((onset_times_s - offset_s) / period_s)
        near = np.abs(onset_times_s - offset_s - beats * period_s) < period_s / 8
        if near.sum() < 3 or np.ptp(beats[near]) == 0:
            break
        slope, intercept = np.polyfit(beats[near], onset_times_s[near], 1, w=np.sqrt(weights[near]))
        if not abs(slope / start_s - 1) < 0.01:  # a jump, not a refinement: keep the autocorrelation's period
            break
        period_s, offset_s = float(slope), float(intercept)
    return period_s, float(offset_s % period_s)


def estimate_pulse(onset_times_s: np.ndarray, *, velocities: np.ndarray | None = None,
                   tempo_range_bpm: tuple[float, float] = TEMPO_RANGE_BPM,
                   prior_centre_bpm: float = PRIOR_CENTRE_BPM,
                   prior_width_octaves: float = PRIOR_WIDTH_OCTAVES,
                   drum_pitches: np.ndarray | None = None,
                   level_weights: tuple[float, ...] | None = None) -> Pulse:
    """Tempo (BPM), pulse clarity (0-1) and beat phase of sorted onset times, with the runner-up
    metrical level and the level confidence; NaN with fewer than ``MIN_ONSETS`` onsets or no
    periodicity. ``drum_pitches``: General MIDI percussion note numbers of the onsets when they are a
    drum kit's (any other value, e.g. -1 for a melody's notes in the same take, has no role); the
    level score then weighs the kit's roles too (:data:`KIT_LEVEL_FEATURES`). The prior's centre and
    width and the level weights (default :data:`LEVEL_WEIGHTS`, or :data:`KIT_LEVEL_WEIGHTS` with
    ``drum_pitches``) are options for the benchmark's cross-validation; the defaults are the ones it
    reports."""
    onsets = np.asarray(onset_times_s, dtype=float)
    if onsets.ndim != 1 or not np.all(np.isfinite(onsets)):
        raise ParameterError(f"onset_times_s must be 1-D finite times in seconds, got shape {onsets.shape!r}")
    low, high = tempo_range_bpm
    if not TEMPO_RANGE_BPM[0] / 2 <= low < high <= TEMPO_RANGE_BPM[1] * 2:
        raise ParameterError(f"tempo_range_bpm must be (low, high) within 25-480 BPM, got {tempo_range_bpm!r}")
    if not (20.0 <= prior_centre_bpm <= 300.0 and 0.1 <= prior_width_octaves <= 5.0):
        raise ParameterError(f"prior_centre_bpm must be within 20-300 BPM and prior_width_octaves within 0.1-5, "
                             f"got {prior_centre_bpm!r} and {prior_width_octaves!r}")
    weights = np.ones(onsets.size) if velocities is None else np.asarray(velocities, dtype=float) / 127.0
    if weights.shape != onsets.shape:
        raise ParameterError(f"velocities must have one value per onset ({onsets.size}), got shape {weights.shape!r}")
    pitches = None if drum_pitches is None else np.asarray(drum_pitches)
    if pitches is not None and (pitches.shape != onsets.shape or not np.all(np.isfinite(pitches))):
        raise ParameterError(f"drum_pitches must be one finite note number per onset ({onsets.size}), "
                             f"got shape {pitches.shape!r}")
    kit = pitches is not None  # the kit's weights; used, as any level weights, only when there are accents
    if level_weights is None:
        level_weights = KIT_LEVEL_WEIGHTS if kit else LEVEL_WEIGHTS
    n_features = len(KIT_LEVEL_FEATURES if kit else LEVEL_FEATURES)
    if len(level_weights) != n_features or not all(np.isfinite(level_weights)):
        raise ParameterError(f"level_weights must be {n_features} finite numbers (one per "
                             f"{'KIT_LEVEL_FEATURES' if kit else 'LEVEL_FEATURES'}), got {level_weights!r}")
    if onsets.size < MIN_ONSETS or np.ptp(onsets) < 1.0:
        return Pulse(float("nan"), 0.0, float("nan"))
    acf = _autocorrelation(onset_envelope(onsets, weights=weights))
    grid = _GRID_BPM[(_GRID_BPM >= low) & (_GRID_BPM <= high)] if tempo_range_bpm != TEMPO_RANGE_BPM else _GRID_BPM
    sal = _salience(acf, grid)
    ranked, features = _level_candidates(onsets, weights, grid, sal, prior_centre_bpm, prior_width_octaves,
                                         pitches if kit and has_accents(weights) else None)
    if ranked.size == 0:
        return Pulse(float("nan"), 0.0, float("nan"))
    if has_accents(weights):
        scores = features @ np.asarray(level_weights, dtype=float)
    else:
        scores = features[:, :len(PLAIN_LEVEL_WEIGHTS)] @ np.asarray(PLAIN_LEVEL_WEIGHTS, dtype=float)
    scores = scores - ODD_DIVISION_PENALTY * odd_division(onsets, weights, 60.0 / grid[ranked])
    order = np.argsort(scores)[::-1]
    best = int(ranked[order[0]])
    period_s, phase_s = _refine_period_s(onsets, weights, 60.0 / float(grid[best]))
    alternative_bpm, confidence = float("nan"), 1.0
    if order.size > 1:
        runner_up = int(ranked[order[1]])
        alternative_bpm = 60.0 / _refine_period_s(onsets, weights, 60.0 / float(grid[runner_up]))[0]
        confidence = float(1.0 / (1.0 + np.exp(-(scores[order[0]] - scores[order[1]]))))
    return Pulse(60.0 / period_s, float(np.clip(sal[best], 0.0, 1.0)), phase_s, alternative_bpm, confidence)


def local_tempo_bpm(onset_times_s: np.ndarray, *, tempo_bpm: float, start_s: float, end_s: float,
                    velocities: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(window centre times s, tempo BPM per window): each ``LOCAL_WINDOW_S`` window's autocorrelation
    peak within +-``LOCAL_SEARCH`` of ``tempo_bpm``; NaN where the window holds fewer than 4 onsets."""
    onsets = np.asarray(onset_times_s, dtype=float)
    weights = np.ones(onsets.size) if velocities is None else np.asarray(velocities, dtype=float) / 127.0
    starts = np.arange(start_s, max(end_s - LOCAL_WINDOW_S, start_s) + 1e-9, LOCAL_HOP_S)
    out = np.full(starts.size, np.nan)
    if not np.isfinite(tempo_bpm) or onsets.size < 4:
        return starts + LOCAL_WINDOW_S / 2, out
    counts = np.searchsorted(onsets, starts + LOCAL_WINDOW_S) - np.searchsorted(onsets, starts)
    env = onset_envelope(onsets, weights=weights, duration_s=end_s + LOCAL_WINDOW_S)
    win = int(LOCAL_WINDOW_S * FRAME_RATE_HZ)
    first = np.round(starts * FRAME_RATE_HZ).astype(int)
    frames = np.lib.stride_tricks.sliding_window_view(env, win)[first]
    acf = _autocorrelation(frames)
    grid = tempo_bpm * np.exp(np.linspace(np.log(1 - LOCAL_SEARCH), np.log(1 + LOCAL_SEARCH), 121))
    lags = 60.0 * FRAME_RATE_HZ / grid
    lo = np.floor(lags).astype(int)
    frac = lags - lo
    at = lambda k: acf[:, k] * (1 - frac) + acf[:, np.minimum(k + 1, win - 1)] * frac  # noqa: E731
    curve = at(np.minimum(lo, win - 1)) + 0.5 * at(np.minimum(2 * lo, win - 1))
    best = grid[np.argmax(curve, axis=1)]
    ok = (counts >= 4) & (curve.max(axis=1) > 0)
    out[ok] = best[ok]
    return starts + LOCAL_WINDOW_S / 2, out
