"""Mixing an overlay onto music."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.render.mix import mix_overlay


def test_overlay_added_to_every_channel_at_its_gain():
    music = np.zeros((2, 10), dtype=np.float32)
    overlay = np.zeros(12, dtype=np.float32)
    overlay[3] = 0.5
    out = mix_overlay(music, overlay, overlay_gain_db=-6.0206)
    assert out.shape == (2, 10)
    np.testing.assert_allclose(out[:, 3], 0.25, rtol=1e-4)


def test_mix_never_clips():
    out = mix_overlay(np.full(100, 0.9, dtype=np.float32), np.full(100, 0.9, dtype=np.float32), overlay_gain_db=0)
    assert np.max(np.abs(out)) == pytest.approx(1.0)


def test_overlay_must_be_mono():
    with pytest.raises(ParameterError, match="overlay"):
        mix_overlay(np.zeros(4), np.zeros((2, 4)))
