"""Audio rendering: clicks, synthesis, time-stretching, loudness (pure numpy in, numpy out).

``clicks`` places metronome cues exactly on a beat grid (constant, ramped or any tempo curve);
``stretch`` time-stretches along a :class:`TimeMap` (WSOLA or phase vocoder) without drift; ``synth``
renders soft notes; ``loudness`` measures and normalises BS.1770 loudness under the listener's cap;
``levels`` and ``weighting`` give A-weighted sound levels; ``mix`` overlays one signal on another.
The therapy-ready cue tracks (level caps, dose, verification) are in :mod:`cadenza.ras`.

>>> from cadenza.render import constant_beat_times_s, render_click_track
>>> beats_s = constant_beat_times_s(tempo_bpm=120, duration_s=2.0)
>>> track = render_click_track(beats_s, duration_s=2.0, sampling_rate_hz=8000)
>>> track.beat_idx.tolist()
[0, 4000, 8000, 12000]
"""

from cadenza._lazy import attach_stub

# The face: the names listed in __init__.pyi, each imported from its submodule on first use (PEP 562), so
# that importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
