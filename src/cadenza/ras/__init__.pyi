"""Public names of cadenza.ras, by submodule: read by type checkers and, at run time, by
cadenza._lazy.attach_stub (the face in __init__.py)."""

from .controller import AdaptiveCueController, FixedTempoCue
from .cue import CueTrack, CueVerification, cue_tempo_knots, render_click_cue, render_music_cue
from .live import LiveCueSession, LiveUpdate, goal_cadence_spm
from .music_mode import WarpedMusic, warp_music_to_tempo
from .plan import CONDITIONS, RasPlan, TempoStage, plan_evidence, plan_ras_sessions
from .sync import SyncReport, analyze_synchronization, plot_synchronization
from .walkers import WALKER_PRESETS, CueEvaluation, LinearCorrectionWalker, WalkerParams, evaluate_cue, run_closed_loop
