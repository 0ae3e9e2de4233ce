"""A synthetic sung melody with known notes, written as a WAV file."""

from __future__ import annotations

import numpy as np
import pytest

SAMPLING_RATE_HZ = 22_050


def sung_samples(notes_midi, note_s=0.5, gap_s=0.25):
    """Each note a harmonic tone with a soft onset, separated by silence (a breath)."""
    pieces = [np.zeros(int(0.3 * SAMPLING_RATE_HZ))]
    for midi in notes_midi:
        t = np.arange(int(note_s * SAMPLING_RATE_HZ)) / SAMPLING_RATE_HZ
        f0 = 440.0 * 2 ** ((midi - 69) / 12)
        tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
        ramp = np.minimum(1, np.minimum(t, t[-1] - t) / 0.02)
        pieces += [0.2 * tone * ramp, np.zeros(int(gap_s * SAMPLING_RATE_HZ))]
    return np.concatenate(pieces)


@pytest.fixture
def sung_wav(tmp_path):
    from cadenza.io.audio import save_audio

    def _make(notes_midi, name="sung.wav", **kwargs):
        return save_audio(tmp_path / name, sung_samples(notes_midi, **kwargs), sampling_rate_hz=SAMPLING_RATE_HZ,
                          subtype="FLOAT")

    return _make
