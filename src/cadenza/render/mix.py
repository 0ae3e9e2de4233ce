"""Mixing a cue overlay onto music: length and channel matching, relative level, no clipping."""

from __future__ import annotations

import numpy as np

from cadenza.errors import ParameterError


def mix_overlay(music: np.ndarray, overlay: np.ndarray, *, overlay_gain_db: float = -6.0) -> np.ndarray:
    """Add a mono ``overlay`` (e.g. a click track) to ``music`` (``(n,)`` or ``(channels, n)``).

    The overlay is cut or zero-padded to the music's length and added to every channel at
    ``overlay_gain_db`` relative to its own scale. If the sum would clip, the whole mix is scaled
    down (never hard-clipped), so beat placement and timbre are untouched.

    >>> mix_overlay(np.zeros(4), np.array([1.0, 0, 0]), overlay_gain_db=0.0).tolist()
    [1.0, 0.0, 0.0, 0.0]
    """
    music = np.asarray(music, dtype=np.float32)
    overlay = np.asarray(overlay, dtype=np.float32)
    if music.ndim not in (1, 2):
        raise ParameterError(f"music must be (n,) or (channels, n), got shape {music.shape!r}")
    if overlay.ndim != 1:
        raise ParameterError(f"overlay must be mono (n,), got shape {overlay.shape!r}")
    if not np.isfinite(overlay_gain_db) or overlay_gain_db > 20:
        raise ParameterError(f"overlay_gain_db must be a finite level <= 20 dB, got {overlay_gain_db!r}")
    n = music.shape[-1]
    fitted = np.zeros(n, dtype=np.float32)
    fitted[: min(n, overlay.size)] = overlay[:n]
    out = music + np.float32(10 ** (overlay_gain_db / 20)) * fitted
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 1.0:
        out /= np.float32(peak)
    return out.astype(np.float32)
