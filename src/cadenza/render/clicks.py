"""Metronome cues: beat grids from a tempo curve, cue sounds, and sample-exact placement.

A beat grid is computed analytically from a piecewise-linear tempo curve (constant tempo, a ramp, or
the steps of a session plan), so beat ``n`` is the instant at which the integrated beat phase reaches
``n``. Each beat is then rounded once to its nearest sample and the cue sound is written starting at
exactly that sample; nothing accumulates, so a 30-minute cue does not drift by even one sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.units import s_to_idx

CUE_SOUNDS = ("click", "woodblock", "soft_drum")
MIN_TEMPO_BPM = 20.0
MAX_TEMPO_BPM = 300.0
# Accented beats are louder by this much and brighter (pitch x ACCENT_PITCH_RATIO) so they read as "one".
ACCENT_GAIN_DB = 6.0
ACCENT_PITCH_RATIO = 1.5
# A cue sound is cut to this fraction of the shortest beat period so consecutive cues never overlap;
# the silence between cues is what lets the renderer verify every onset sample by itself.
MAX_SOUND_FRACTION_OF_PERIOD = 0.6
MAX_GAIN = 4.0  # unaccented cues peak at -6 dBFS, so loudness normalisation may need up to x2 (and some room)


def _check_rate(sampling_rate_hz: float) -> None:
    if not np.isfinite(sampling_rate_hz) or sampling_rate_hz < 4_000 or sampling_rate_hz > 384_000:
        raise ParameterError(
            f"sampling_rate_hz must be between 4000 and 384000 Hz, got {sampling_rate_hz!r} "
            "(did you pass kHz instead of Hz?)"
        )


def _check_tempo(name: str, tempo_bpm: float) -> None:
    if not np.isfinite(tempo_bpm) or not MIN_TEMPO_BPM <= tempo_bpm <= MAX_TEMPO_BPM:
        raise ParameterError(
            f"{name} must be between {MIN_TEMPO_BPM:g} and {MAX_TEMPO_BPM:g} BPM, got {tempo_bpm!r} "
            "(a tempo in Hz or a period in seconds would be far below that)"
        )


def tempo_curve_beat_times_s(
    knot_times_s: np.ndarray,
    knot_tempi_bpm: np.ndarray,
    *,
    duration_s: float,
    first_beat_s: float = 0.0,
) -> np.ndarray:
    """Beat times of a piecewise-linear tempo curve.

    The tempo is linear between consecutive knots, constant before the first and after the last;
    two knots at the same time make a step change. Beat ``n`` falls where the beat phase, the
    integral of tempo / 60 from ``first_beat_s``, equals ``n``.

    >>> tempo_curve_beat_times_s(np.array([0.0]), np.array([120.0]), duration_s=2.0).tolist()
    [0.0, 0.5, 1.0, 1.5]
    >>> np.round(tempo_curve_beat_times_s(np.array([0.0, 4.0]), np.array([60.0, 120.0]), duration_s=4.0), 4).tolist()
    [0.0, 0.899, 1.6569, 2.3246, 2.9282, 3.4833]
    """
    knot_times_s = np.atleast_1d(np.asarray(knot_times_s, dtype=float))
    knot_tempi_bpm = np.atleast_1d(np.asarray(knot_tempi_bpm, dtype=float))
    if knot_times_s.ndim != 1 or knot_times_s.shape != knot_tempi_bpm.shape or knot_times_s.size == 0:
        raise ParameterError(
            f"knot_times_s and knot_tempi_bpm must be non-empty 1-D arrays of equal length, got shapes "
            f"{knot_times_s.shape!r} and {knot_tempi_bpm.shape!r}"
        )
    if not np.all(np.isfinite(knot_times_s)) or np.any(np.diff(knot_times_s) < 0):
        raise ParameterError(f"knot_times_s must be finite and non-decreasing, got {knot_times_s!r}")
    for tempo in knot_tempi_bpm:
        _check_tempo("knot_tempi_bpm", float(tempo))
    if not np.isfinite(duration_s) or duration_s < 0:
        raise ParameterError(f"duration_s must be a finite number >= 0, got {duration_s!r}")
    if not np.isfinite(first_beat_s) or not 0 <= first_beat_s:
        raise ParameterError(f"first_beat_s must be >= 0, got {first_beat_s!r}")
    if duration_s <= first_beat_s:
        return np.empty(0)

    # Segments of linear tempo in beats per second: [t0, t1) with f(t) = f0 + slope * (t - t0).
    edges = np.concatenate([[first_beat_s], np.clip(knot_times_s, first_beat_s, duration_s), [duration_s]])
    beats: list[np.ndarray] = []
    phase0 = 0.0
    for i in range(len(edges) - 1):
        t0, t1 = edges[i], edges[i + 1]
        if t1 <= t0:
            continue
        f0 = _tempo_hz_at(t0, knot_times_s, knot_tempi_bpm, side="right")
        f1 = _tempo_hz_at(t1, knot_times_s, knot_tempi_bpm, side="left")
        span = t1 - t0
        slope = (f1 - f0) / span
        phase1 = phase0 + f0 * span + 0.5 * slope * span**2
        n = np.arange(np.ceil(phase0 - 1e-9), phase1 - 1e-9)  # beats in [t0, t1)
        d = n - phase0
        if abs(slope) < 1e-12:
            dt = d / f0
        else:  # positive root of 0.5*slope*dt^2 + f0*dt - d = 0, in the cancellation-free form
            dt = 2.0 * d / (f0 + np.sqrt(f0 * f0 + 2.0 * slope * d))
        beats.append(t0 + dt)
        phase0 = phase1
    times = np.concatenate(beats) if beats else np.empty(0)
    return times[times < duration_s]


def _tempo_hz_at(t_s: float, knot_times_s: np.ndarray, knot_tempi_bpm: np.ndarray, *, side: str) -> float:
    """Tempo (beats/s) just after (``side="right"``) or just before (``"left"``) ``t_s``."""
    if side == "right":
        i = np.searchsorted(knot_times_s, t_s, side="right")
    else:
        i = np.searchsorted(knot_times_s, t_s, side="left")
    if i == 0:
        return knot_tempi_bpm[0] / 60.0
    if i >= knot_times_s.size:
        return knot_tempi_bpm[-1] / 60.0
    ta, tb = knot_times_s[i - 1], knot_times_s[i]
    fa, fb = knot_tempi_bpm[i - 1], knot_tempi_bpm[i]
    if tb == ta:
        return (fb if side == "right" else fa) / 60.0
    return (fa + (fb - fa) * (t_s - ta) / (tb - ta)) / 60.0


def constant_beat_times_s(*, tempo_bpm: float, duration_s: float, first_beat_s: float = 0.0) -> np.ndarray:
    """Beats of a constant tempo in ``[first_beat_s, duration_s)``.

    >>> np.round(constant_beat_times_s(tempo_bpm=100, duration_s=2.0), 9).tolist()
    [0.0, 0.6, 1.2, 1.8]
    """
    _check_tempo("tempo_bpm", tempo_bpm)
    return tempo_curve_beat_times_s(np.array([0.0]), np.array([float(tempo_bpm)]),
                                    duration_s=duration_s, first_beat_s=first_beat_s)


def ramp_beat_times_s(
    *, start_tempo_bpm: float, end_tempo_bpm: float, duration_s: float, ramp_duration_s: float | None = None
) -> np.ndarray:
    """Beats of a linear tempo ramp over ``ramp_duration_s`` (default: the whole cue), then constant.

    >>> b = ramp_beat_times_s(start_tempo_bpm=96, end_tempo_bpm=104, duration_s=60)
    >>> round(float(60 / (b[1] - b[0])), 1), round(float(60 / (b[-1] - b[-2])), 1)
    (96.0, 103.9)
    """
    _check_tempo("start_tempo_bpm", start_tempo_bpm)
    _check_tempo("end_tempo_bpm", end_tempo_bpm)
    ramp_s = duration_s if ramp_duration_s is None else ramp_duration_s
    if not np.isfinite(ramp_s) or ramp_s <= 0:
        raise ParameterError(f"ramp_duration_s must be > 0 seconds, got {ramp_duration_s!r}")
    return tempo_curve_beat_times_s(np.array([0.0, ramp_s]), np.array([start_tempo_bpm, end_tempo_bpm], dtype=float),
                                    duration_s=duration_s)


def synthesize_cue_sound(
    sound: str = "click", *, sampling_rate_hz: int, accent: bool = False, max_duration_s: float = 0.25
) -> np.ndarray:
    """One cue sound as float32 samples in [-1, 1], starting at full attack on its first sample.

    ``click``: a bright 2 kHz tick (about 15 ms); ``woodblock``: two inharmonic partials with a fast
    decay (about 60 ms); ``soft_drum``: a low membrane thump with a falling pitch (about 180 ms).
    The first sample is non-zero on purpose: the onset sample is the beat sample.
    """
    if sound not in CUE_SOUNDS:
        raise ParameterError(f"sound must be one of {CUE_SOUNDS}, got {sound!r}")
    _check_rate(sampling_rate_hz)
    if not np.isfinite(max_duration_s) or max_duration_s <= 0:
        raise ParameterError(f"max_duration_s must be > 0, got {max_duration_s!r}")
    pitch = ACCENT_PITCH_RATIO if accent else 1.0
    if sound == "click":
        length_s, partials, decays_s = 0.015, [(2000.0, 1.0), (5200.0, 0.35)], [0.003, 0.0015]
    elif sound == "woodblock":
        length_s, partials, decays_s = 0.06, [(880.0, 1.0), (2410.0, 0.5)], [0.012, 0.006]
    else:
        length_s, partials, decays_s = 0.18, [(110.0, 1.0), (190.0, 0.4)], [0.05, 0.03]
    length_s = min(length_s, max_duration_s)
    n = max(int(round(length_s * sampling_rate_hz)), 1)
    t = np.arange(n) / sampling_rate_hz
    y = np.zeros(n)
    for (freq_hz, amp), decay_s in zip(partials, decays_s, strict=True):
        freq_hz = min(freq_hz * pitch, 0.45 * sampling_rate_hz)
        if sound == "soft_drum":  # membrane pitch falls by about a third over the first 40 ms
            inst = freq_hz * (1.0 + 0.5 * np.exp(-t / 0.04))
            phase = 2 * np.pi * np.cumsum(inst) / sampling_rate_hz
        else:
            phase = 2 * np.pi * freq_hz * t
        y += amp * np.cos(phase) * np.exp(-t / decay_s)
    # A short raised-cosine tail so the sound ends at exactly zero without a click.
    tail = min(n, max(int(0.003 * sampling_rate_hz), 1))
    y[n - tail:] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, tail)))
    y[-1] = 0.0
    y /= np.max(np.abs(y))
    gain = 1.0 if accent else 10 ** (-ACCENT_GAIN_DB / 20)
    return (gain * y).astype(np.float32)


@dataclass(frozen=True)
class ClickTrack:
    """A rendered metronome: ``samples`` (float32, mono) and where each beat was placed."""

    samples: np.ndarray
    sampling_rate_hz: int
    beat_times_s: np.ndarray  # the planned grid
    beat_idx: np.ndarray  # the sample each cue starts on
    accented: np.ndarray  # bool per beat


def place_sounds(
    beat_idx: np.ndarray, sounds: list[np.ndarray], sound_of_beat: np.ndarray, *, n_samples: int
) -> np.ndarray:
    """Add ``sounds[sound_of_beat[i]]`` into a silent float32 track starting at ``beat_idx[i]``.

    Sounds running past the end are cut. The loop is over beats, not samples (a 30-minute cue at
    100 BPM is 3,000 slice additions).
    """
    beat_idx = np.asarray(beat_idx, dtype=np.int64)
    if n_samples < 0:
        raise ParameterError(f"n_samples must be >= 0, got {n_samples!r}")
    if beat_idx.size and (beat_idx.min() < 0 or beat_idx.max() >= max(n_samples, 1)):
        raise ParameterError(f"beat_idx must lie in [0, {n_samples}), got range {beat_idx.min()}..{beat_idx.max()}")
    out = np.zeros(n_samples, dtype=np.float32)
    for start, which in zip(beat_idx.tolist(), np.asarray(sound_of_beat).tolist(), strict=True):
        snd = sounds[which]
        stop = min(start + snd.size, n_samples)
        out[start:stop] += snd[: stop - start]
    return out


def render_click_track(
    beat_times_s: np.ndarray,
    *,
    duration_s: float,
    sampling_rate_hz: int,
    sound: str = "click",
    accent_every: int = 0,
    gain: float = 1.0,
) -> ClickTrack:
    """Render cues on the given beats, each starting on the sample nearest its planned time.

    ``accent_every=4`` accents beats 0, 4, 8, ...; 0 means no accents.

    >>> tr = render_click_track(np.array([0.0, 0.5]), duration_s=1.0, sampling_rate_hz=8000)
    >>> tr.beat_idx.tolist(), bool(tr.samples[4000] != 0), bool(tr.samples[3999] == 0)
    ([0, 4000], True, True)
    """
    _check_rate(sampling_rate_hz)
    beat_times_s = np.asarray(beat_times_s, dtype=float)
    if beat_times_s.ndim != 1 or not np.all(np.isfinite(beat_times_s)):
        raise ParameterError(f"beat_times_s must be a finite 1-D array, got shape {beat_times_s.shape!r}")
    if np.any(np.diff(beat_times_s) <= 0):
        raise ParameterError("beat_times_s must be strictly increasing")
    if not np.isfinite(duration_s) or duration_s < 0:
        raise ParameterError(f"duration_s must be >= 0 seconds, got {duration_s!r}")
    if beat_times_s.size and (beat_times_s[0] < 0 or beat_times_s[-1] >= duration_s):
        raise ParameterError(
            f"beat_times_s must lie in [0, duration_s={duration_s!r}), got {beat_times_s[0]!r}..{beat_times_s[-1]!r}"
        )
    if not isinstance(accent_every, (int, np.integer)) or accent_every < 0:
        raise ParameterError(f"accent_every must be an integer >= 0, got {accent_every!r}")
    if not np.isfinite(gain) or not 0 <= gain <= MAX_GAIN:
        raise ParameterError(f"gain must be in [0, {MAX_GAIN:g}] (a linear factor, not dB), got {gain!r}")
    n_samples = int(round(duration_s * sampling_rate_hz))
    beat_idx = s_to_idx(beat_times_s, sampling_rate_hz=sampling_rate_hz)
    min_period_s = float(np.min(np.diff(beat_times_s))) if beat_times_s.size > 1 else 1.0
    max_len_s = MAX_SOUND_FRACTION_OF_PERIOD * min_period_s
    plain = synthesize_cue_sound(sound, sampling_rate_hz=sampling_rate_hz, max_duration_s=max_len_s)
    loud = synthesize_cue_sound(sound, sampling_rate_hz=sampling_rate_hz, accent=True, max_duration_s=max_len_s)
    accented = np.zeros(beat_idx.size, dtype=bool)
    if accent_every:
        accented[::accent_every] = True
    samples = place_sounds(beat_idx, [gain * plain, gain * loud], accented.astype(np.int64), n_samples=n_samples)
    return ClickTrack(samples=samples, sampling_rate_hz=int(sampling_rate_hz), beat_times_s=beat_times_s,
                      beat_idx=beat_idx, accented=accented)


def find_cue_onsets_idx(samples: np.ndarray, *, sampling_rate_hz: int, min_gap_s: float = 0.005) -> np.ndarray:
    """Onset samples of cues in a click-only track: the first non-zero sample after silence.

    Silence means at least one all-zero block of ``min_gap_s / 2`` aligned to the block grid, which
    any gap of ``min_gap_s`` or more contains. This re-reads the rendered audio (it does not trust the
    renderer's own bookkeeping), which is how click-mode cues verify every beat's sample. The block
    scan keeps a 30-minute, 48 kHz track to one vectorised pass.

    >>> y = np.zeros(100, dtype=np.float32); y[[10, 11, 60]] = 1
    >>> find_cue_onsets_idx(y, sampling_rate_hz=1000, min_gap_s=0.01).tolist()
    [10, 60]
    """
    if not np.isfinite(sampling_rate_hz) or sampling_rate_hz <= 0:
        raise ParameterError(f"sampling_rate_hz must be > 0, got {sampling_rate_hz!r}")
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ParameterError(f"samples must be mono 1-D, got shape {samples.shape!r}")
    block = max(int(min_gap_s * sampling_rate_hz) // 2, 1)
    n_full = samples.size // block
    # Whole blocks are scanned through a reshaped view (no copy); the short tail on its own.
    active = np.any(samples[: n_full * block].reshape(n_full, block), axis=1)
    if samples.size > n_full * block:
        active = np.append(active, np.any(samples[n_full * block:]))
    run_starts = np.flatnonzero(active & ~np.concatenate([[False], active[:-1]]))
    if run_starts.size == 0:
        return np.empty(0, dtype=np.int64)
    idx = np.minimum(run_starts[:, None] * block + np.arange(block)[None, :], samples.size - 1)
    return (run_starts * block + np.argmax(samples[idx] != 0, axis=1)).astype(np.int64)
