"""Descriptors of a recording used for playlists: loudness, loudness range, brightness,
onset density, a 0-1 energy score, and a major/minor estimate.

Loudness follows ITU-R BS.1770-4 (integrated loudness, LUFS) and EBU Tech 3342 (loudness range,
LU), both via ``pyloudnorm``. Key and mode use the Krumhansl-Kessler probe-tone profiles
(Krumhansl & Kessler 1982, Psychol. Rev. 89:334-368) correlated with a chroma vector
(the Krumhansl-Schmuckler key-finding method).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.music.onset import OnsetEnvelope, Spectrogram
from cadenza.render.loudness import measure_loudness_lufs

PITCH_CLASS_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KK_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
CHROMA_RANGE_HZ = (80.0, 2000.0)  # below ~80 Hz the analysis bins are wider than a semitone

#: Energy score anchors. Heuristic scales, not published norms: integrated loudness of commercial
#: masters spans roughly -30 (quiet classical) to -8 LUFS (loud pop); note rates span 0.5-8 onsets/s;
#: spectral centroids of music span about 400-4000 Hz. Each is mapped to 0-1 and averaged.
ENERGY_LOUDNESS_LUFS = (-30.0, -8.0)
ENERGY_ONSET_RATE_HZ = (0.5, 8.0)
ENERGY_BRIGHTNESS_HZ = (400.0, 4000.0)
LRA_MIN_S = 3.0  # EBU Tech 3342 gates 3 s blocks: a shorter input has no loudness range
ONSET_PEAK_THRESHOLD = 1.0  # in units of the envelope's standard deviation


@dataclass(frozen=True)
class KeyEstimate:
    """The estimated key: tonic pitch class, mode, and how clearly the mode fits (0-1)."""

    tonic: str  # pitch-class name, e.g. "A"
    mode: str  # "major" or "minor"
    confidence: float  # 0-1: how much better the chosen mode fits than the other


def measure_loudness(samples: np.ndarray, *, sampling_rate_hz: float) -> tuple[float, float]:
    """Integrated loudness (LUFS) and loudness range (LU) of ``(n,)`` or ``(channels, n)`` audio.

    Silent or shorter-than-one-gating-block input gives NaN (not an error); the integrated loudness is
    :func:`cadenza.render.loudness.measure_loudness_lufs`, the one BS.1770 meter of the project.
    """
    import pyloudnorm

    if not sampling_rate_hz or sampling_rate_hz <= 0:
        raise ParameterError(f"sampling_rate_hz must be > 0, got {sampling_rate_hz!r}")
    x = np.asarray(samples, dtype=np.float64)
    integrated = measure_loudness_lufs(x, sampling_rate_hz=sampling_rate_hz)
    if x.shape[-1] < LRA_MIN_S * sampling_rate_hz or not np.any(x):
        return integrated, float("nan")
    with np.errstate(divide="ignore"):
        lra = float(pyloudnorm.Meter(int(sampling_rate_hz)).loudness_range(x if x.ndim == 1 else x.T))
    return integrated, (lra if np.isfinite(lra) else float("nan"))


def chroma_vector(spec: Spectrogram) -> np.ndarray:
    """Time-averaged pitch-class energy (12 values, C first), summing to 1 (zeros if silent)."""
    freqs = spec.bin_hz
    sel = (freqs >= CHROMA_RANGE_HZ[0]) & (freqs <= CHROMA_RANGE_HZ[1])
    pitch = 69.0 + 12.0 * np.log2(freqs[sel] / 440.0)
    pc = np.mod(np.rint(pitch).astype(int), 12)
    # Log compression keeps a few loud notes from dominating the pitch-class distribution.
    energy = np.log1p(100.0 * spec.magnitude[:, sel] / max(float(spec.magnitude.max(initial=0.0)), 1e-12))
    chroma = np.bincount(pc, weights=energy.sum(axis=0), minlength=12)
    total = chroma.sum()
    return chroma / total if total > 0 else chroma


def estimate_key(chroma: np.ndarray) -> KeyEstimate:
    """Tonic and mode by correlation with the 24 rotated Krumhansl-Kessler profiles.

    >>> c_major_triad = np.zeros(12); c_major_triad[[0, 4, 7]] = 1.0
    >>> estimate_key(c_major_triad).mode
    'major'
    """
    chroma = np.asarray(chroma, dtype=float)
    if chroma.shape != (12,):
        raise ParameterError(f"chroma must have 12 pitch classes, got shape {chroma.shape!r}")
    if not np.any(chroma > 0) or np.ptp(chroma) == 0:
        return KeyEstimate(tonic="", mode="", confidence=0.0)
    scores = {}
    for mode, profile in (("major", KK_MAJOR_PROFILE), ("minor", KK_MINOR_PROFILE)):
        scores[mode] = np.array([np.corrcoef(chroma, np.roll(profile, k))[0, 1] for k in range(12)])
    best_mode = max(scores, key=lambda m: scores[m].max())
    other = "minor" if best_mode == "major" else "major"
    tonic = int(np.argmax(scores[best_mode]))
    margin = float(scores[best_mode].max() - scores[other].max())
    return KeyEstimate(tonic=PITCH_CLASS_NAMES[tonic], mode=best_mode,
                       confidence=float(np.clip(margin / 0.2, 0.0, 1.0)))


def spectral_centroid_hz(spec: Spectrogram) -> float:
    """Energy-weighted mean spectral centroid ("brightness"); NaN for silence."""
    power = spec.magnitude.astype(np.float64) ** 2
    frame_energy = power.sum(axis=1)
    if frame_energy.sum() <= 0:
        return float("nan")
    centroid = (power * spec.bin_hz).sum(axis=1) / np.maximum(frame_energy, 1e-20)
    return float(np.sum(centroid * frame_energy) / frame_energy.sum())


def onset_rate_hz(onsets: OnsetEnvelope) -> float:
    """Onsets per second: local maxima of the envelope above ``ONSET_PEAK_THRESHOLD``."""
    env = onsets.strength
    if env.size < 3:
        return float("nan")
    peaks = (env[1:-1] > env[:-2]) & (env[1:-1] >= env[2:]) & (env[1:-1] > ONSET_PEAK_THRESHOLD)
    return float(peaks.sum() / (env.size / onsets.frame_rate_hz))


def _unit(value: float, lo: float, hi: float, *, log: bool = False) -> float:
    if not np.isfinite(value):
        return float("nan")
    if log:
        value, lo, hi = np.log(max(value, 1e-9)), np.log(lo), np.log(hi)
    return float(np.clip((value - lo) / (hi - lo), 0.0, 1.0))


def energy_score(*, loudness_lufs: float, onset_rate_hz: float, brightness_hz: float) -> float:
    """0-1 arousal-related energy: mean of scaled loudness, note rate and brightness (NaN parts skipped).

    >>> energy_score(loudness_lufs=-8.0, onset_rate_hz=8.0, brightness_hz=4000.0)
    1.0
    """
    parts = [
        _unit(loudness_lufs, *ENERGY_LOUDNESS_LUFS),
        _unit(onset_rate_hz, *ENERGY_ONSET_RATE_HZ, log=True),
        _unit(brightness_hz, *ENERGY_BRIGHTNESS_HZ, log=True),
    ]
    finite = [p for p in parts if np.isfinite(p)]
    return float(np.mean(finite)) if finite else float("nan")
