"""Rhythmic Auditory Stimulation: plans, cue tracks, synchronisation, closed-loop tempo.

``plan`` turns a baseline cadence into a session's tempo stages; ``cue`` renders the session's cue
track (a metronome, or the person's own music warped onto the beat grid by ``music_mode``) under the
listener's level cap and verifies its beats; ``sync`` measures how steps lock to the beats; the
``controller`` adapts the cue tempo to the walker step by step, and ``walkers`` simulates walkers to
evaluate it. Composes :mod:`cadenza.gait` and :mod:`cadenza.render`; still pure.

>>> from cadenza.ras import plan_ras_sessions
>>> [stage.tempo_bpm for stage in plan_ras_sessions(100, condition="stroke").stages]
[100.0, 105.0, 110.0]
"""

from cadenza._lazy import attach

# The face: each public name and the submodule it comes from, imported on first use (PEP 562), so that
# importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach(__name__, {
    "controller": ["AdaptiveCueController", "FixedTempoCue"],
    "cue": ["CueTrack", "CueVerification", "cue_tempo_knots", "render_click_cue", "render_music_cue"],
    "music_mode": ["WarpedMusic", "warp_music_to_tempo"],
    "plan": ["CONDITIONS", "RasPlan", "TempoStage", "plan_evidence", "plan_ras_sessions"],
    "sync": ["SyncReport", "analyze_synchronization", "plot_synchronization"],
    "walkers": ["WALKER_PRESETS", "CueEvaluation", "LinearCorrectionWalker", "WalkerParams", "evaluate_cue",
                "run_closed_loop"],
})

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for editors and type checkers
    from cadenza.ras.controller import AdaptiveCueController, FixedTempoCue
    from cadenza.ras.cue import CueTrack, CueVerification, cue_tempo_knots, render_click_cue, render_music_cue
    from cadenza.ras.music_mode import WarpedMusic, warp_music_to_tempo
    from cadenza.ras.plan import CONDITIONS, RasPlan, TempoStage, plan_evidence, plan_ras_sessions
    from cadenza.ras.sync import SyncReport, analyze_synchronization, plot_synchronization
    from cadenza.ras.walkers import (
        WALKER_PRESETS,
        CueEvaluation,
        LinearCorrectionWalker,
        WalkerParams,
        evaluate_cue,
        run_closed_loop,
    )
