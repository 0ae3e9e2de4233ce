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

from cadenza._lazy import attach

# The face: each public name and the submodule it comes from, imported on first use (PEP 562).
__getattr__, __dir__, __all__ = attach(__name__, {
    "align": ["Alignment", "align_to_cue"],
    "analysis": ["TimingReport", "analyze_timing"],
    "continuation": ["AlternationCheck", "Continuation", "check_alternation", "measure_continuation"],
    "events": ["clean_event_times", "make_cue_times"],
    "metrics": ["BlockMetrics", "Estimate", "measure_block"],
    "onsets": ["detect_onsets", "onset_strength"],
})

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for editors and type checkers
    from cadenza.timing.align import Alignment, align_to_cue
    from cadenza.timing.analysis import TimingReport, analyze_timing
    from cadenza.timing.continuation import AlternationCheck, Continuation, check_alternation, measure_continuation
    from cadenza.timing.events import clean_event_times, make_cue_times
    from cadenza.timing.metrics import BlockMetrics, Estimate, measure_block
    from cadenza.timing.onsets import detect_onsets, onset_strength
