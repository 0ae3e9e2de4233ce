"""Pitch of a sung voice over time: probabilistic YIN, tuned for the singing voice.

The tracker is pYIN (Mauch & Dixon 2014, ICASSP: YIN's difference function, several period candidates
per frame and a hidden Markov model over pitch and voicing), as librosa implements it (computed by
:mod:`cadenza.singing.pyin` with a banded Viterbi: the same states, a fraction of the time), with these
changes from librosa's defaults, each measured on the development part of ``../shared/data/singing/``
(bench/singing.py; docs/timing.md):

* **Range for the voice**: 65-1100 Hz (C2 to about C#6, bass to soprano and children's voices) instead
  of C2-C7; a narrower range is fewer candidates and fewer octave confusions.
* **Shorter frames**: 32 ms (two periods of the lowest pitch) instead of 93 ms at 22.05 kHz (2048
  samples), so note changes are not smeared and fewer breaths and consonants are called voiced
  (voicing false alarms 16 % -> 7 % on the development part), every 5.8 ms.
* **0.2-semitone candidate grid** (librosa's default 0.1 costs 4x the time), then each voiced frame's
  period refined to a fraction of a sample by a parabola through YIN's difference function at the
  lags around the chosen one (de Cheveigné & Kawahara 2002, JASA 111:1917, step 5),
  so the reported pitch is not quantised to the grid.
* **Octave errors corrected by continuity**: a frame about an octave (1200 +- 300 cents) away from the
  median of its voiced neighbourhood (150 ms) is moved by that octave; a voice does not jump an octave
  and back within a few frames.

Input at any sampling rate is resampled to 22.05 kHz first (the voice's fundamental needs far less).

>>> sr = 22_050
>>> t = np.arange(sr) / sr
>>> track = track_pitch(0.5 * np.sin(2 * np.pi * 220.0 * t) + 0.2 * np.sin(2 * np.pi * 440.0 * t),
...                     sampling_rate_hz=sr)
>>> bool(abs(np.nanmedian(track.f0_hz) - 220.0) < 0.5)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError

ANALYSIS_RATE_HZ = 22_050
FMIN_HZ = 65.0
FMAX_HZ = 1100.0
FRAME_S = 0.032
HOP_S = 0.0058
RESOLUTION_SEMITONES = 0.2
OCTAVE_WINDOW_S = 0.15
OCTAVE_TOLERANCE_CENTS = 300.0
MIN_SAMPLING_RATE_HZ = 8000.0
MAX_DURATION_S = 30 * 60.0  # one exercise or song; longer recordings are split by the caller


@dataclass(frozen=True)
class PitchTrack:
    """Fundamental frequency per frame: ``f0_hz`` is NaN where unvoiced; ``voiced_probability`` is pYIN's."""

    times_s: np.ndarray
    f0_hz: np.ndarray
    voiced_probability: np.ndarray

    @property
    def voiced(self) -> np.ndarray:
        return np.isfinite(self.f0_hz)

    @property
    def hop_s(self) -> float:
        return float(self.times_s[1] - self.times_s[0]) if self.times_s.size > 1 else HOP_S


def hz_to_midi(f0_hz: np.ndarray | float) -> np.ndarray:
    """MIDI note number (69 = A4 = 440 Hz; fractional) of a frequency; NaN stays NaN.

    >>> hz_to_midi(np.array([440.0, 261.6256])).round(3).tolist()
    [69.0, 60.0]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return 69.0 + 12.0 * np.log2(np.asarray(f0_hz, dtype=float) / 440.0)


def midi_to_hz(midi: np.ndarray | float) -> np.ndarray:
    """Frequency (Hz) of a (fractional) MIDI note number.

    >>> float(midi_to_hz(57))
    220.0
    """
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=float) - 69.0) / 12.0)


_NOTE_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_to_midi(note: str | float) -> float:
    """MIDI number of a note name (``"C4"`` = 60, ``"F#3"``, ``"Bb2"``) or of a number given as text.

    >>> note_to_midi("C4"), note_to_midi("bb2"), note_to_midi("61.5")
    (60.0, 46.0, 61.5)
    >>> note_to_midi("H4")
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: note 'H4' is neither a note name (C4, F#3, Bb2; C4 = middle C) nor a MIDI number
    """
    if isinstance(note, int | float) and not isinstance(note, bool):
        return float(note)
    text = str(note).strip()
    try:
        return float(text)
    except ValueError:
        pass
    head, rest = text[:1].upper(), text[1:]
    shift = 0
    while rest[:1] in ("#", "b", "B") and not rest[:1].isdigit():
        if rest[:1] == "#":
            shift += 1
        elif rest[:1] in ("b", "B") and len(rest) > 1:
            shift -= 1
        else:
            break
        rest = rest[1:]
    try:
        octave = int(rest)
    except ValueError:
        octave = None
    if head not in _NOTE_STEPS or octave is None or not -1 <= octave <= 9:
        raise ParameterError(f"note {text!r} is neither a note name (C4, F#3, Bb2; C4 = middle C) nor a MIDI number")
    return float(12 * (octave + 1) + _NOTE_STEPS[head] + shift)


def midi_to_name(midi: float | None) -> str:
    """The nearest note's name of a (fractional) MIDI number; ``"-"`` for NaN or None.

    >>> midi_to_name(60.2), midi_to_name(float("nan"))
    ('C4', '-')
    """
    if midi is None or not np.isfinite(midi):
        return "-"
    nearest = int(np.round(midi))
    return f"{_NAMES[nearest % 12]}{nearest // 12 - 1}"


def _check_samples(samples: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    if isinstance(sampling_rate_hz, bool) or not isinstance(sampling_rate_hz, int | float | np.number) \
            or not np.isfinite(sampling_rate_hz) or sampling_rate_hz < MIN_SAMPLING_RATE_HZ:
        raise ParameterError(f"sampling_rate_hz must be a number >= {MIN_SAMPLING_RATE_HZ:g} (audio samples per "
                             f"second, not kHz), got {sampling_rate_hz!r}")
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.ndim != 1:
        raise ParameterError(f"samples must be (n,) or (channels, n), got shape {np.shape(samples)!r}")
    if not np.all(np.isfinite(x)):
        raise ParameterError("samples contain NaN or infinite values")
    if x.size > MAX_DURATION_S * sampling_rate_hz:
        raise ParameterError(f"samples last {x.size / sampling_rate_hz:.0f} s, more than the {MAX_DURATION_S:.0f} s "
                             "one singing analysis takes; split the recording")
    return x


def _resample(x: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    if round(sampling_rate_hz) == ANALYSIS_RATE_HZ:
        return x
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(ANALYSIS_RATE_HZ, int(round(sampling_rate_hz))).limit_denominator(1000)
    return resample_poly(x, ratio.numerator, ratio.denominator)


def _refine_periods(x: np.ndarray, f0_hz: np.ndarray, hop: int, frame: int) -> np.ndarray:
    """Each voiced frame's pitch from YIN's difference function: its minimum over the lags within the
    candidate grid's spacing of the chosen period, then a parabola through that minimum and its two
    neighbours (see the module docstring); frames where that fails keep their pitch."""
    out = f0_hz.copy()
    voiced = np.flatnonzero(np.isfinite(f0_hz))
    if voiced.size == 0:
        return out
    window = frame  # the whole frame, centred on the frame's time (pYIN's own half-frame window is not)
    lag = ANALYSIS_RATE_HZ / f0_hz[voiced]
    reach = np.ceil(lag * (2 ** (RESOLUTION_SEMITONES / 12) - 1)).astype(np.int64) + 1  # +-1 grid step
    span = int(reach.max()) + 1
    padded = np.pad(x, (frame // 2, 2 * frame + 2 * span + 2))
    centre = np.rint(lag).astype(np.int64)
    starts = voiced * hop  # pYIN's frame k (centred at k * hop) starts at k * hop in ``padded``
    offsets = np.arange(window)
    segment = padded[starts[:, None] + offsets[None, :]]  # (frames, window)
    shifts = np.arange(-span, span + 1)
    diff = np.empty((voiced.size, shifts.size))
    for k, d in enumerate(shifts):
        tau = np.maximum(centre + d, 1)
        diff[:, k] = np.sum((segment - padded[(starts + tau)[:, None] + offsets[None, :]]) ** 2, axis=1)
    diff[np.abs(shifts)[None, :] > reach[:, None]] = np.inf
    best = np.clip(np.argmin(diff[:, 1:-1], axis=1) + 1, 1, shifts.size - 2)
    rows = np.arange(voiced.size)
    left, mid, right = diff[rows, best - 1], diff[rows, best], diff[rows, best + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = left - 2 * mid + right
        vertex = 0.5 * (left - right) / np.where(denom > 0, denom, np.nan)
    refined = ANALYSIS_RATE_HZ / (centre + shifts[best] + np.where(np.isfinite(vertex), vertex, 0.0))
    # The true pitch lies within half a grid step of the chosen candidate; a minimum further away
    # belongs to a glide or a neighbouring period, and the candidate is kept.
    with np.errstate(invalid="ignore", divide="ignore"):
        moved_cents = np.abs(1200.0 * np.log2(refined / f0_hz[voiced]))
    ok = np.isfinite(vertex) & (np.abs(vertex) <= 0.5) & (moved_cents <= 60.0 * RESOLUTION_SEMITONES)
    out[voiced[ok]] = refined[ok]
    return out


def _correct_octaves(f0_hz: np.ndarray, hop_s: float) -> np.ndarray:
    """Move frames about an octave away from their voiced neighbourhood's median back by that octave."""
    cents = 1200.0 * np.log2(f0_hz / 440.0)
    half = max(1, int(round(OCTAVE_WINDOW_S / hop_s / 2)))
    out = cents.copy()
    voiced = np.flatnonzero(np.isfinite(cents))
    for i in voiced:
        neighbourhood = cents[max(0, i - half):i + half + 1]
        reference = np.nanmedian(neighbourhood)
        jump = cents[i] - reference
        octaves = np.round(jump / 1200.0)
        if octaves != 0 and abs(jump - 1200.0 * octaves) <= OCTAVE_TOLERANCE_CENTS:
            out[i] = cents[i] - 1200.0 * octaves
    return 440.0 * 2.0 ** (out / 1200.0)


def track_pitch(samples: np.ndarray, *, sampling_rate_hz: float, fmin_hz: float = FMIN_HZ,
                fmax_hz: float = FMAX_HZ) -> PitchTrack:
    """F0 of a sung voice every 5.8 ms (NaN where unvoiced), from ``(n,)`` or ``(channels, n)`` samples.

    ``fmin_hz``/``fmax_hz`` narrow the search for a known voice (e.g. 80-400 Hz for an adult man).

    >>> track_pitch(np.zeros(2205), sampling_rate_hz=22_050).voiced.any()
    np.False_
    >>> track_pitch(np.zeros(100), sampling_rate_hz=22_050, fmin_hz=10.0)
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: fmin_hz and fmax_hz must satisfy 40 <= fmin_hz < fmax_hz <= 2000 Hz, got 10.0 and 1100.0
    """
    x = _check_samples(samples, sampling_rate_hz)
    if not 40.0 <= fmin_hz < fmax_hz <= 2000.0:
        raise ParameterError(f"fmin_hz and fmax_hz must satisfy 40 <= fmin_hz < fmax_hz <= 2000 Hz, got "
                             f"{fmin_hz!r} and {fmax_hz!r}")
    from cadenza.singing.pyin import track_pyin

    y = _resample(x, float(sampling_rate_hz))
    hop = int(round(HOP_S * ANALYSIS_RATE_HZ))
    frame = max(int(round(FRAME_S * ANALYSIS_RATE_HZ)), int(np.ceil(2.05 * ANALYSIS_RATE_HZ / fmin_hz)))
    if y.size < frame or not np.any(y):
        n = 1 + y.size // hop
        return PitchTrack(np.arange(n) * hop / ANALYSIS_RATE_HZ, np.full(n, np.nan), np.zeros(n))
    pyin = track_pyin(y, fmin_hz=fmin_hz, fmax_hz=fmax_hz, sampling_rate_hz=ANALYSIS_RATE_HZ, frame_length=frame,
                      hop_length=hop, resolution_semitones=RESOLUTION_SEMITONES, center=True)
    probability = pyin.voiced_probability
    f0 = _refine_periods(y, pyin.f0_hz, hop, frame)
    f0 = _correct_octaves(f0, hop / ANALYSIS_RATE_HZ)
    times_s = np.arange(f0.size) * hop / ANALYSIS_RATE_HZ
    return PitchTrack(times_s=times_s, f0_hz=f0, voiced_probability=np.nan_to_num(probability))
