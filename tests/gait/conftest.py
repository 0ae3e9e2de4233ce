"""Synthetic IMU signals with known initial contacts, shared by the gait tests (tests/tools/gait loads
them from here too)."""

from __future__ import annotations

import numpy as np
import pytest

GRAVITY_M_S2 = 9.81
# Shape of the loading pulse after heel strike, from the event-locked mean of vertical trunk
# acceleration around INDIP contacts (lab recordings): a steep rise centred on the contact, the
# peak 40 ms later, a slower fall over the next ~100 ms.
PEAK_DELAY_S = 0.04
RISE_S, FALL_S = 0.035, 0.07


def lower_back_signal(
    ic_times_s: np.ndarray,
    *,
    duration_s: float,
    sampling_rate_hz: float,
    rng: np.random.Generator,
    amplitude_m_s2: float | np.ndarray = 3.0,
    noise_m_s2: float = 0.05,
) -> np.ndarray:
    """(3, n) lower-back acceleration: gravity on axis 0 plus a loading pulse after each contact
    (``amplitude_m_s2`` one value, or one per contact: a weaker side loads the trunk less)."""
    t = np.arange(int(round(duration_s * sampling_rate_hz))) / sampling_rate_hz
    vertical = np.zeros_like(t)
    # The trough spans the step, so slow walking is not drawn as two bumps per step.
    broad_s = 0.35 * float(np.median(np.diff(ic_times_s))) if len(ic_times_s) > 1 else 0.25
    amplitudes = np.broadcast_to(np.asarray(amplitude_m_s2, dtype=float), np.shape(ic_times_s))
    for ic, amplitude in zip(ic_times_s, amplitudes, strict=True):
        centre = t - ic - PEAK_DELAY_S
        width_s = np.where(centre < 0, RISE_S, FALL_S)
        # A sharp loading peak and a broad trough of equal area: the trunk's vertical acceleration
        # averages zero over each step, as it must for a body that neither rises nor sinks.
        vertical += amplitude * (
            np.exp(-0.5 * (centre / width_s) ** 2)
            - 0.5 * (RISE_S + FALL_S) / broad_s * np.exp(-0.5 * (centre / broad_s) ** 2)
        )
    acc = np.zeros((3, t.size))
    acc[0] = GRAVITY_M_S2 + vertical
    acc[1] = 0.3 * np.sin(np.pi * np.interp(t, ic_times_s, np.arange(len(ic_times_s)))) if len(ic_times_s) > 1 else 0
    acc += rng.normal(0, noise_m_s2, acc.shape)
    return acc


def walking_times(
    *, start_s: float, n_steps: int, step_s: float, rng: np.random.Generator, jitter: float = 0.0
) -> np.ndarray:
    steps = step_s * (1 + jitter * rng.standard_normal(n_steps - 1))
    return start_s + np.concatenate([[0.0], np.cumsum(steps)])


@pytest.fixture
def make_lower_back():
    return lower_back_signal


@pytest.fixture
def make_walk():
    return walking_times


INSOLE_RAMP_S = 0.03


def insole_walk(hs_left_s, hs_right_s, *, stance_s, duration_s, rng, load_n=700.0, swing_offset_n=0.0, noise_n=3.0,
                sampling_rate_hz=100.0):
    """Total force per foot: a loaded plateau (with a heel and a toe peak) from each heel strike for ``stance_s``."""
    t = np.arange(int(duration_s * sampling_rate_hz)) / sampling_rate_hz

    def foot(hs, stance):
        f = np.full(t.size, swing_offset_n)
        for h, s in zip(hs, np.broadcast_to(stance, np.shape(hs)), strict=True):
            # 30-ms linear loading and unloading ramps, so crossings fall between samples as in real feet.
            ramp = np.clip((t - h) / INSOLE_RAMP_S, 0, 1) * np.clip((h + s - t) / INSOLE_RAMP_S, 0, 1)
            shape = 0.8 + 0.2 * np.cos(2 * np.pi * (t - h) / s) ** 2
            f = np.maximum(f, swing_offset_n + (load_n - swing_offset_n) * ramp * shape)
        return f + rng.normal(0, noise_n, t.size)

    return foot(np.asarray(hs_left_s), stance_s[0]), foot(np.asarray(hs_right_s), stance_s[1])


@pytest.fixture
def make_insole_walk():
    return insole_walk
