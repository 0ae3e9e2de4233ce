"""Gait analysis from IMU signals: steps, bouts, cadence (pure numpy/scipy).

>>> from cadenza.gait import cadence_spm
>>> round(cadence_spm([0.0, 0.55, 1.1]), 1)
109.1
"""

from cadenza.gait.analysis import LOW_CONFIDENCE_MIN_STEPS, GaitAnalysis, GaitBout, analyze_gait, combine_feet
from cadenza.gait.bouts import contacts_in_window, detect_walking_bouts
from cadenza.gait.cadence import (
    StepAsymmetry,
    cadence_spm,
    gait_speed_m_s,
    step_asymmetry_with_confidence,
    step_time_asymmetry,
    step_time_cv,
)
from cadenza.gait.freezing import FreezeDetector, FreezeEvent, FreezeIndexDetector, FreezeStream, freeze_index
from cadenza.gait.scoring import BoutScore, ContactMatch, match_contacts, pool_matches, score_bout
from cadenza.gait.steps import FootStepDetector, LowerBackStepDetector
from cadenza.gait.stream import StepStream

__all__ = [
    "LOW_CONFIDENCE_MIN_STEPS",
    "BoutScore",
    "ContactMatch",
    "FootStepDetector",
    "FreezeDetector",
    "FreezeEvent",
    "FreezeIndexDetector",
    "FreezeStream",
    "GaitAnalysis",
    "GaitBout",
    "LowerBackStepDetector",
    "StepStream",
    "analyze_gait",
    "combine_feet",
    "cadence_spm",
    "contacts_in_window",
    "detect_walking_bouts",
    "freeze_index",
    "gait_speed_m_s",
    "match_contacts",
    "pool_matches",
    "score_bout",
    "StepAsymmetry",
    "step_asymmetry_with_confidence",
    "step_time_asymmetry",
    "step_time_cv",
]
