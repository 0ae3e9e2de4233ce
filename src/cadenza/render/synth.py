"""Soft note synthesis: a few gently decaying harmonics under slow, click-free envelopes.

Meant for material that must never startle (NICU lullabies, relaxation melodies): every note starts
with a raised-cosine attack (no transient), decays a little and releases slowly, and the timbre is
dominated by the fundamental (flute/humming-like). Levels are relative; callers set the absolute
level through a calibration (``cadenza.safety``) and measure the result.

>>> y = render_notes(np.array([60.0, 64.0]), onset_times_s=np.array([0.0, 1.0]),
...                  durations_s=np.array([1.0, 1.0]), sampling_rate_hz=8000)
>>> y.shape, y.dtype.name, bool(np.abs(y).max() <= 1.0)
((20800,), 'float32', True)
"""

from __future__ import annotations

import numpy as np

from cadenza.errors import ParameterError

SOFT_HARMONICS = (1.0, 0.25, 0.08, 0.03)  # relative amplitudes of partials 1..4: humming-like
MIDI_RANGE = (21.0, 108.0)  # piano range A0..C8


def midi_to_hz(pitch_midi: np.ndarray | float) -> np.ndarray:
    """Equal-tempered frequency (A4 = MIDI 69 = 440 Hz).

    >>> midi_to_hz(np.array([69.0, 60.0])).round(2).tolist()
    [440.0, 261.63]
    """
    return 440.0 * 2.0 ** ((np.asarray(pitch_midi, dtype=float) - 69.0) / 12.0)


def render_notes(
    pitches_midi: np.ndarray,
    *,
    onset_times_s: np.ndarray,
    durations_s: np.ndarray,
    sampling_rate_hz: int = 44_100,
    amplitudes: np.ndarray | None = None,
    attack_s: float = 0.12,
    release_s: float = 0.6,
    harmonics: tuple[float, ...] = SOFT_HARMONICS,
    vibrato_cents: float = 0.0,
    tail_s: float | None = None,
) -> np.ndarray:
    """Render notes (MIDI pitch, onset, duration) as a float32 mono signal.

    Each note sounds from its onset for ``duration_s`` plus ``release_s`` (legato overlap); the
    output lasts until the last release ends (plus ``tail_s`` if given). ``amplitudes`` default to
    0.2 so that a few overlapping notes stay well below full scale; the sum is never clipped, so
    an out-of-range result raises instead of distorting.
    """
    pitches = np.atleast_1d(np.asarray(pitches_midi, dtype=float))
    onsets = np.atleast_1d(np.asarray(onset_times_s, dtype=float))
    durs = np.atleast_1d(np.asarray(durations_s, dtype=float))
    amps = np.full(pitches.shape, 0.2) if amplitudes is None else np.atleast_1d(np.asarray(amplitudes, dtype=float))
    if not (pitches.shape == onsets.shape == durs.shape == amps.shape) or pitches.ndim != 1:
        raise ParameterError(
            "pitches_midi, onset_times_s, durations_s and amplitudes must be 1-D arrays of one length, got "
            f"shapes {pitches.shape}, {onsets.shape}, {durs.shape}, {amps.shape}"
        )
    if sampling_rate_hz < 8000:
        raise ParameterError(f"sampling_rate_hz must be >= 8000, got {sampling_rate_hz!r}")
    low, high = MIDI_RANGE
    if not np.all(np.isfinite(pitches)) or np.any((pitches < low) | (pitches > high)):
        raise ParameterError(f"pitches_midi must be MIDI numbers in [{low:g}, {high:g}], got {pitches!r} (not Hz?)")
    if not np.all(np.isfinite(onsets)) or np.any(onsets < 0):
        raise ParameterError(f"onset_times_s must be finite and >= 0, got {onsets!r}")
    if not np.all(np.isfinite(durs)) or np.any(durs <= 0):
        raise ParameterError(f"durations_s must be > 0 seconds, got {durs!r}")
    if not np.all(np.isfinite(amps)) or np.any((amps < 0) | (amps > 1)):
        raise ParameterError(f"amplitudes must be in [0, 1], got {amps!r}")
    if not 0 < attack_s <= 2 or not 0 < release_s <= 5:
        raise ParameterError(f"attack_s must be in (0, 2] and release_s in (0, 5], got {attack_s!r}, {release_s!r}")
    if not harmonics or any((h < 0) or not np.isfinite(h) for h in harmonics):
        raise ParameterError(f"harmonics must be non-negative relative amplitudes, got {harmonics!r}")
    if not 0 <= vibrato_cents <= 50:
        raise ParameterError(f"vibrato_cents must be in [0, 50], got {vibrato_cents!r}")
    if pitches.size == 0:
        return np.zeros(0, dtype=np.float32)

    sr = float(sampling_rate_hz)
    end_s = float(np.max(onsets + durs)) + release_s + (tail_s or 0.0)
    out = np.zeros(int(np.ceil(end_s * sr)), dtype=float)
    norm = 1.0 / sum(harmonics)
    nyquist = sr / 2
    for pitch, onset, dur, amp in zip(pitches, onsets, durs, amps):
        if amp == 0:
            continue
        start = int(round(onset * sr))
        n = int(round((dur + release_s) * sr))
        t = np.arange(n) / sr
        f0 = float(midi_to_hz(pitch))
        phase_mod = 0.0
        if vibrato_cents:
            depth = f0 * (2 ** (vibrato_cents / 1200) - 1)
            phase_mod = (depth / 5.0) * np.sin(2 * np.pi * 5.0 * t)  # 5 Hz vibrato, gentle
        tone = np.zeros(n)
        for k, h in enumerate(harmonics, start=1):
            if h and k * f0 < nyquist * 0.9:
                tone += h * np.sin(2 * np.pi * k * (f0 * t + phase_mod))
        out[start:start + n] += amp * norm * tone * _envelope(n, dur, attack_s, release_s, sr)
    if np.abs(out).max() > 1.0:
        raise ParameterError("overlapping notes exceed full scale; lower amplitudes")
    return out.astype(np.float32)


def _envelope(n: int, dur: float, attack_s: float, release_s: float, sr: float) -> np.ndarray:
    t = np.arange(n) / sr
    attack = min(attack_s, dur)
    env = np.where(t < attack, 0.5 - 0.5 * np.cos(np.pi * t / attack), 1.0)
    env = env * (0.75 + 0.25 * np.exp(-np.maximum(t - attack, 0) / 0.4))  # gentle decay to 75 %
    rel = t >= dur
    env[rel] *= 0.5 + 0.5 * np.cos(np.pi * np.clip((t[rel] - dur) / release_s, 0, 1))
    return env
