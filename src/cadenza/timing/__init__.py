"""Timing of tapping, drumming and clapping against a cue (pure numpy/scipy; no files).

``onsets`` (hits from audio, timed to the attack) or ``events`` (hits from MIDI, touch or key times)
-> ``align`` (each hit to its cue beat) -> ``metrics`` (asynchrony, SD, circular R, phase-correction
gain, share within +-15/30/50 ms, bootstrap CIs) and ``continuation`` (drift after the cue stops,
left/right alternation); ``analysis`` runs the chain for one block. See docs/timing.md.

>>> from cadenza.timing import analyze_timing, make_cue_times
>>> cue_times_s = make_cue_times(tempo_bpm=100, start_s=1.0, n_beats=12)
>>> report = analyze_timing(cue_times_s - 0.040, cue_times_s=cue_times_s)
>>> round(report.block.mean_asynchrony_ms.value, 6), round(report.block.circular_r.value, 6)
(-40.0, 1.0)
"""

from cadenza._lazy import attach_stub

# The face: the names listed in __init__.pyi, each imported from its submodule on first use (PEP 562).
__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
