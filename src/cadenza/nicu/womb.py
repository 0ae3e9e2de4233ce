"""Womb-like sound: a maternal heartbeat over a soft "ocean" swell at a breathing rate.

Loosely after two NICU instruments of Loewy et al. 2013 (Pediatrics 131:902): the gato box (a two-tone,
heartbeat-like rhythm) and the ocean disc (womb-like whooshing). That trial's sounds were played **live**
by music therapists and **entrained to each infant's vital signs**, and its abstract warns that recorded
music risks overstimulation in NICUs; this fixed, recorded sound (72 bpm, 12 breaths per minute) is a
**project convention**, not the tested intervention (clinical review U8, :data:`RECORDED_SOUND_CAVEAT`).

The heartbeat is a lub-dub pair per beat at a maternal resting rate; the ocean is low-passed
pink noise whose level swells and ebbs once per breath. Everything is rendered within NICU limits by
:func:`cadenza.nicu.limits.enforce_nicu_limits`.

Caveat: A-weighting discounts low frequencies, and incubators amplify below 125 Hz (Front Psychol 2020
11:1055), so the thumps are voiced at 70-140 Hz rather than in the deep bass, and the unweighted level
(``lzeq_db``) is reported alongside the dB(A) figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.nicu.limits import NICU_LIMITS, NicuLimits, NicuRender, enforce_nicu_limits
from cadenza.safety.calibration import Calibration

RECORDED_SOUND_CAVEAT = (
    "Recorded, not live: Loewy et al. 2013 played the ocean disc, gato box and lullabies live, entrained to each "
    "infant's vital signs, and warned that recorded music risks overstimulation in the NICU. This fixed sound "
    "(a project convention) is not that intervention; keep it short, watch the infant, and prefer live music."
)

MATERNAL_HEART_RATE_BPM = (50.0, 110.0)
BREATHS_PER_MIN = (6.0, 30.0)
LUB_DUB_FRACTION = 0.35  # second sound follows the first after ~a third of the beat period
OCEAN_LOWPASS_HZ = 900.0
FADE_S = 6.0
OCEAN_EBB_DB = 12.0  # swell depth; its steepest rise (pi * depth * breath rate) stays under the NICU rise cap


@dataclass(frozen=True)
class WombRender:
    """A rendered womb sound within NICU limits, with its heart rate, breathing rate and heartbeat times."""

    render: NicuRender
    heart_rate_bpm: float
    breaths_per_min: float
    beat_times_s: np.ndarray

    def as_dict(self) -> dict:
        return {"heart_rate_bpm": self.heart_rate_bpm, "breaths_per_min": self.breaths_per_min,
                "beats": int(self.beat_times_s.size), **self.render.as_dict()}


def _thump(sampling_rate_hz: int, *, freq_hz: float, length_s: float) -> np.ndarray:
    t = np.arange(int(length_s * sampling_rate_hz)) / sampling_rate_hz
    env = np.sin(np.pi * np.clip(t / 0.02, 0, 0.5)) * np.exp(-t / (length_s / 4))  # 10 ms soft onset
    return env * (np.sin(2 * np.pi * freq_hz * t) + 0.4 * np.sin(2 * np.pi * 2 * freq_hz * t))


def render_womb_sound(*, minutes: float = 10.0, heart_rate_bpm: float = 72.0, breaths_per_min: float = 12.0,
                      heartbeat_to_ocean_db: float = 0.0, sampling_rate_hz: int = 44_100,
                      calibration: Calibration | None = None, limits: NicuLimits = NICU_LIMITS,
                      seed: int = 0) -> WombRender:
    """Render ``minutes`` of heartbeat plus breathing-rate ocean swell within NICU limits.

    ``heartbeat_to_ocean_db`` sets the balance (positive: heartbeat louder, by A-weighted level).
    """
    from scipy import signal

    if not np.isfinite(minutes) or not 0 < minutes <= 60:
        raise ParameterError(f"minutes must be in (0, 60], got {minutes!r}")
    low, high = MATERNAL_HEART_RATE_BPM
    if not np.isfinite(heart_rate_bpm) or not low <= heart_rate_bpm <= high:
        raise ParameterError(f"heart_rate_bpm must be a maternal resting rate in [{low:g}, {high:g}], "
                             f"got {heart_rate_bpm!r}")
    low, high = BREATHS_PER_MIN
    if not np.isfinite(breaths_per_min) or not low <= breaths_per_min <= high:
        raise ParameterError(f"breaths_per_min must be in [{low:g}, {high:g}], got {breaths_per_min!r}")
    if not np.isfinite(heartbeat_to_ocean_db) or abs(heartbeat_to_ocean_db) > 30:
        raise ParameterError(f"heartbeat_to_ocean_db must be in [-30, 30], got {heartbeat_to_ocean_db!r}")
    if sampling_rate_hz < 16_000:
        raise ParameterError(f"sampling_rate_hz must be >= 16000, got {sampling_rate_hz!r}")

    sr = int(sampling_rate_hz)
    n = int(round(minutes * 60 * sr))
    t = np.arange(n) / sr
    period_s = 60.0 / heart_rate_bpm
    beat_times_s = np.arange(0.5, n / sr - 0.5, period_s)

    heart = np.zeros(n)
    lub = _thump(sr, freq_hz=70.0, length_s=0.12)
    dub = 0.7 * _thump(sr, freq_hz=95.0, length_s=0.09)
    for beat in beat_times_s:
        for sound, offset in ((lub, 0.0), (dub, LUB_DUB_FRACTION * period_s)):
            i = int(round((beat + offset) * sr))
            m = min(sound.size, n - i)
            if m > 0:
                heart[i:i + m] += sound[:m]

    rng = np.random.default_rng(seed)
    white = rng.standard_normal(n)
    # pink-ish (-3 dB/oct) via a standard three-pole approximation, then low-passed: a soft whoosh
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1, -2.494956002, 2.017265875, -0.522189400]
    ocean = signal.lfilter(b, a, white)
    ocean = signal.sosfilt(signal.butter(2, OCEAN_LOWPASS_HZ, fs=sr, output="sos"), ocean)
    breath_hz = breaths_per_min / 60.0
    swell = 0.5 - 0.5 * np.cos(2 * np.pi * breath_hz * t)
    ocean *= 10 ** ((-OCEAN_EBB_DB * (1 - swell)) / 20)  # ebbs and swells smoothly once per breath

    def a_rms(x: np.ndarray) -> float:
        from cadenza.render.weighting import apply_a_weighting
        return float(np.sqrt(np.mean(apply_a_weighting(x[: min(x.size, 20 * sr)], sampling_rate_hz=sr) ** 2)))

    heart *= a_rms(ocean) / max(a_rms(heart), 1e-12) * 10 ** (heartbeat_to_ocean_db / 20)
    y = heart + ocean
    fade = min(FADE_S, n / sr / 4)
    nf = int(fade * sr)
    ramp = 10 ** (-40 * (1 - np.arange(nf) / nf) / 20)
    y[:nf] *= ramp
    y[n - nf:] *= ramp[::-1]
    y /= np.abs(y).max()
    render = enforce_nicu_limits(y, sampling_rate_hz=sr, calibration=calibration, limits=limits)
    return WombRender(render, float(heart_rate_bpm), float(breaths_per_min), beat_times_s)
