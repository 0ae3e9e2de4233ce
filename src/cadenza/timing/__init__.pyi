"""Public names of cadenza.timing, by submodule: read by type checkers and, at run time, by
cadenza._lazy.attach_stub (the face in __init__.py)."""

from .align import Alignment, align_to_cue
from .analysis import TimingReport, analyze_timing
from .continuation import AlternationCheck, Continuation, check_alternation, measure_continuation
from .events import clean_event_times, make_cue_times
from .latency import LoopbackResult, TapOffset, make_loopback_signal, measure_loopback, measure_tap_offset
from .metrics import BlockMetrics, Estimate, measure_block
from .onsets import detect_onsets, onset_strength
