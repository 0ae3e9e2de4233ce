"""NICU lullabies: public-domain tunes as notes, or the parent's own singing, within NICU limits.

Design follows what NICU music studies used (``shared/research/clinical_anchors.md`` section 5):
slow tempo, narrow range, soft timbre, steady dynamics, and no tempo, key or volume changes within a
piece (the PAL music criteria, Standley 2000); a parent's own voice ("songs of kin", Loewy 2013,
Pediatrics 131:902) is preferred where available. Every render ends in
:func:`cadenza.nicu.limits.enforce_nicu_limits`, so what comes out is measured and within limits.

Tunes (melodies only, all public domain):

- ``twinkle``: "Ah ! vous dirai-je, maman" (French, 1761), sung as "Twinkle, Twinkle, Little Star".
- ``brahms``: Brahms, "Wiegenlied", Op. 49 No. 4 (1868), opening strain.
- ``au_clair``: "Au clair de la lune" (French traditional, 18th century).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.nicu.limits import NICU_LIMITS, NicuLimits, NicuRender, enforce_nicu_limits
from cadenza.render.levels import power_db
from cadenza.render.synth import render_notes
from cadenza.safety.calibration import Calibration

# (MIDI pitch or None for a rest, length in beats)
_C4, _D4, _E4, _F4, _G4, _A4, _B4, _C5 = 60, 62, 64, 65, 67, 69, 71, 72
_G3, _A3, _B3 = 55, 57, 59

LULLABIES: dict[str, tuple[tuple[int | None, float], ...]] = {
    "twinkle": tuple(
        (p, 1.0 if i % 7 != 6 else 2.0)
        for phrase in ((_C4, _C4, _G4, _G4, _A4, _A4, _G4), (_F4, _F4, _E4, _E4, _D4, _D4, _C4),
                       (_G4, _G4, _F4, _F4, _E4, _E4, _D4), (_G4, _G4, _F4, _F4, _E4, _E4, _D4),
                       (_C4, _C4, _G4, _G4, _A4, _A4, _G4), (_F4, _F4, _E4, _E4, _D4, _D4, _C4))
        for i, p in enumerate(phrase)
    ),
    "brahms": (
        (_E4, 0.5), (_E4, 0.5), (_G4, 1.5), (_E4, 0.5), (_E4, 1.0), (_G4, 2.0), (_E4, 0.5), (_G4, 0.5),
        (_C5, 1.0), (_B4, 1.5), (_A4, 0.5), (_A4, 1.0), (_G4, 1.0), (_D4, 0.5), (_E4, 0.5),
        (_F4, 1.0), (_D4, 1.0), (_D4, 0.5), (_E4, 0.5), (_F4, 2.0), (_D4, 0.5), (_F4, 0.5),
        (_B4, 0.5), (_A4, 0.5), (_G4, 1.0), (_B4, 1.0), (_C5, 2.0), (_C4, 0.5), (_C4, 0.5),
        (_C5, 2.0), (_A4, 0.5), (_F4, 0.5), (_G4, 2.0), (_E4, 0.5), (_C4, 0.5),
        (_F4, 1.0), (_G4, 1.0), (_A4, 1.0), (_G4, 2.0), (_C4, 0.5), (_C4, 0.5),
        (_C5, 2.0), (_A4, 0.5), (_F4, 0.5), (_G4, 2.0), (_E4, 0.5), (_C4, 0.5),
        (_F4, 1.0), (_E4, 1.0), (_D4, 1.0), (_C4, 3.0),
    ),
    "au_clair": (
        (_C4, 1), (_C4, 1), (_C4, 1), (_D4, 1), (_E4, 2), (_D4, 2), (_C4, 1), (_E4, 1), (_D4, 1), (_D4, 1), (_C4, 4),
        (_C4, 1), (_C4, 1), (_C4, 1), (_D4, 1), (_E4, 2), (_D4, 2), (_C4, 1), (_E4, 1), (_D4, 1), (_D4, 1), (_C4, 4),
        (_D4, 1), (_D4, 1), (_D4, 1), (_D4, 1), (_A3, 2), (_A3, 2), (_D4, 1), (_C4, 1), (_B3, 1), (_A3, 1), (_G3, 4),
        (_C4, 1), (_C4, 1), (_C4, 1), (_D4, 1), (_E4, 2), (_D4, 2), (_C4, 1), (_E4, 1), (_D4, 1), (_D4, 1), (_C4, 4),
    ),
}

DEFAULT_TEMPO_BPM = 60.0  # slow: relaxation studies used 60-80 BPM (Nilsson 2008, recalled)
TEMPO_RANGE_BPM = (40.0, 80.0)
MAX_RANGE_SEMITONES = 12  # narrow range: an octave at most
TRANSPOSE_RANGE_SEMITONES = (-7, 12)  # up to an octave higher: PAL favours a high (female) vocal range
FADE_IN_S = 5.0
FADE_OUT_S = 8.0
GAP_BEATS = 2.0  # rest between repeats of the tune


@dataclass(frozen=True)
class LullabyRender:
    """A rendered lullaby within NICU limits, with what was played."""

    render: NicuRender
    tune: str
    tempo_bpm: float
    transpose_semitones: int
    repeats: int

    def as_dict(self) -> dict:
        return {"tune": self.tune, "tempo_bpm": self.tempo_bpm, "transpose_semitones": self.transpose_semitones,
                "repeats": self.repeats, **self.render.as_dict()}


def tune_notes(tune: str, *, tempo_bpm: float = DEFAULT_TEMPO_BPM, transpose_semitones: int = 0,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Pitches (MIDI), onsets (s), durations (s) and total length (s) of one pass of a tune.

    >>> p, on, dur, length_s = tune_notes("twinkle", tempo_bpm=60)
    >>> p[:3].tolist(), on[:3].tolist(), length_s
    ([60.0, 60.0, 67.0], [0.0, 1.0, 2.0], 48.0)
    """
    if tune not in LULLABIES:
        raise ParameterError(f"tune must be one of {sorted(LULLABIES)}, got {tune!r}")
    low, high = TEMPO_RANGE_BPM
    if not np.isfinite(tempo_bpm) or not low <= tempo_bpm <= high:
        raise ParameterError(f"tempo_bpm must be a slow lullaby tempo in [{low:g}, {high:g}] BPM, got {tempo_bpm!r}")
    t_low, t_high = TRANSPOSE_RANGE_SEMITONES
    if int(transpose_semitones) != transpose_semitones or not t_low <= transpose_semitones <= t_high:
        raise ParameterError(
            f"transpose_semitones must be an integer in [{t_low}, {t_high}], got {transpose_semitones!r}"
        )
    beat_s = 60.0 / tempo_bpm
    pitches, onsets, durs = [], [], []
    t = 0.0
    for pitch, beats in LULLABIES[tune]:
        if pitch is not None:
            pitches.append(pitch + transpose_semitones)
            onsets.append(t)
            durs.append(beats * beat_s * 0.95)  # slightly detached so repeated notes are heard
        t += beats * beat_s
    return np.array(pitches, float), np.array(onsets), np.array(durs), t


def _db_fade(n_samples: int, fade_s: float, sampling_rate_hz: int, depth_db: float = 40.0) -> np.ndarray:
    """A fade linear in dB (what the ear hears as even), from -depth_db to 0."""
    n = min(n_samples, int(fade_s * sampling_rate_hz))
    ramp_db = -depth_db * (1 - np.arange(n) / max(n, 1))
    env = 10 ** (ramp_db / 20)
    env[0] = 0.0
    return env


def render_lullaby(*, tune: str = "twinkle", minutes: float = 10.0, tempo_bpm: float = DEFAULT_TEMPO_BPM,
                   transpose_semitones: int = 0, sampling_rate_hz: int = 44_100,
                   calibration: Calibration | None = None, limits: NicuLimits = NICU_LIMITS,
                   fades: bool = True) -> LullabyRender:
    """Render ``minutes`` of a lullaby (the tune repeated, steady tempo, key and level) within NICU limits.

    ``fades=False`` leaves out the fade-in and fade-out, for music that something else gates (PAL).

    ``calibration`` describes the speaker in the infant's space (a calibration tone measured at the
    infant's head position); without one the conservative default applies and the render is quieter.
    """
    if not np.isfinite(minutes) or not 0 < minutes <= 60:
        raise ParameterError(f"minutes must be in (0, 60], got {minutes!r} (a NICU session is short)")
    if sampling_rate_hz < 16_000:
        raise ParameterError(f"sampling_rate_hz must be >= 16000, got {sampling_rate_hz!r}")
    pitches, onsets, durs, length_s = tune_notes(tune, tempo_bpm=tempo_bpm, transpose_semitones=transpose_semitones)
    if np.ptp(pitches) > MAX_RANGE_SEMITONES:
        raise ParameterError(f"tune {tune!r} spans {np.ptp(pitches):g} semitones, more than an octave")
    total_s = minutes * 60.0
    period_s = length_s + GAP_BEATS * 60.0 / tempo_bpm
    repeats = max(1, int(np.ceil(total_s / period_s)))
    all_onsets = np.concatenate([onsets + k * period_s for k in range(repeats)])
    keep = all_onsets < total_s - 1.0
    y = render_notes(np.tile(pitches, repeats)[keep], onset_times_s=all_onsets[keep],
                     durations_s=np.tile(durs, repeats)[keep], sampling_rate_hz=sampling_rate_hz,
                     amplitudes=np.full(int(keep.sum()), 0.25))
    n_total = int(round(total_s * sampling_rate_hz))
    y = np.pad(y, (0, max(0, n_total - y.size)))[:n_total].astype(float)
    if fades:
        fade_out = FADE_OUT_S if total_s > 3 * FADE_OUT_S else total_s / 4
        y[: int(FADE_IN_S * sampling_rate_hz)] *= _db_fade(y.size, FADE_IN_S, sampling_rate_hz)
        n_out = int(fade_out * sampling_rate_hz)
        y[y.size - n_out:] *= _db_fade(n_out, fade_out, sampling_rate_hz)[::-1]
    render = enforce_nicu_limits(y, sampling_rate_hz=sampling_rate_hz, calibration=calibration, limits=limits)
    return LullabyRender(render, tune, float(tempo_bpm), int(transpose_semitones), repeats)


HUM_BAND_HZ = (100.0, 6000.0)  # keeps the voice, drops rumble (incubators boost < 125 Hz) and hiss


def prepare_parent_recording(samples: np.ndarray, *, sampling_rate_hz: int, calibration: Calibration | None = None,
                             limits: NicuLimits = NICU_LIMITS, gate_db: float = 12.0) -> NicuRender:
    """Clean a parent's recorded singing or humming and bring it within NICU limits.

    Removes DC and rumble, band-limits to the voice, softly lowers the pauses between phrases by
    ``gate_db`` (breaths, room noise), fades in and out, then levels and verifies against ``limits``.
    """
    from scipy import signal

    x = np.asarray(samples, dtype=float)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.ndim != 1:
        raise ParameterError(f"samples must be mono (n,) or (channels, n), got shape {np.shape(samples)!r}")
    if sampling_rate_hz < 16_000:
        raise ParameterError(f"sampling_rate_hz must be >= 16000 for voice, got {sampling_rate_hz!r}")
    if x.size < 2 * sampling_rate_hz:
        raise ParameterError(f"recording is {x.size / sampling_rate_hz:.2f} s long; at least 2 s are needed")
    if not np.all(np.isfinite(x)):
        raise ParameterError("samples contain NaN or infinite values")
    if not 0 <= gate_db <= 30:
        raise ParameterError(f"gate_db must be in [0, 30], got {gate_db!r}")
    x = x - x.mean()
    sos = signal.butter(4, HUM_BAND_HZ, btype="bandpass", fs=sampling_rate_hz, output="sos")
    x = signal.sosfiltfilt(sos, x)
    # soft gate: frames well below the recording's typical singing level are lowered, smoothly
    hop = sampling_rate_hz // 50
    frames = x[: x.size // hop * hop].reshape(-1, hop)
    frame_db = power_db(np.mean(frames**2, axis=1))
    voiced_db = np.percentile(frame_db, 80)
    quiet = frame_db < voiced_db - 20.0
    gain_db = np.where(quiet, -gate_db, 0.0)
    kernel = np.hanning(15) / np.hanning(15).sum()  # ~0.3 s smoothing: no pumping
    gain_db = np.convolve(gain_db, kernel, mode="same")
    gain = 10 ** (np.interp(np.arange(x.size), np.arange(gain_db.size) * hop, gain_db) / 20)
    x = x * gain
    fade_s = min(2.0, x.size / sampling_rate_hz / 4)
    x[: int(fade_s * sampling_rate_hz)] *= _db_fade(x.size, fade_s, sampling_rate_hz)
    n_out = int(fade_s * sampling_rate_hz)
    x[x.size - n_out:] *= _db_fade(n_out, fade_s, sampling_rate_hz)[::-1]
    return enforce_nicu_limits(x, sampling_rate_hz=sampling_rate_hz, calibration=calibration, limits=limits)
