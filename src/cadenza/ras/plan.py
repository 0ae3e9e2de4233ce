"""RAS session plans: a cue-tempo schedule from the baseline cadence, and the dose, each with its source.

The plan follows the published RAS protocol: cue at the person's preferred cadence first, then raise
the cue tempo in steps of about 5 % up to about 10 % above it (Thaut et al. 1996, Mov Disord 11:193,
doi:10.1002/mds.870110213 reported cadence +10 % after such a home programme in Parkinson's
disease), 20-45 minute sessions 3-5 times a week (the effective dose range in the stroke
meta-analysis of Ghai & Ghai 2019; the brain-injury Cochrane review, Magee et al. 2017,
doi:10.1002/14651858.CD006787.pub3, found low-certainty benefit for gait after stroke).

Hard limit: the cue never leaves +-12 % of the preferred cadence without an explicit override
(entrainment studies test -12..+12 %; ``../shared/research/ras_gait.md`` section 4). After stroke,
cueing at +10..+20 % raised speed but worsened step symmetry (Cha et al. 2014), so stroke plans carry
that warning.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from cadenza.errors import ParameterError

CONDITIONS = ("parkinsons", "stroke", "other")
MAX_DEVIATION_PERCENT = 12.0
SESSION_MINUTES_RANGE = (20, 45)
SESSIONS_PER_WEEK_RANGE = (3, 5)
THAUT_1996 = "thaut1996_parkinson_ras"
MAGEE_2017 = "magee2017_brain_injury"
STROKE_SYMMETRY_WARNING = (
    "After stroke, cues at +10 to +20 % of preferred cadence raised speed but worsened step symmetry "
    "(Cha et al. 2014); watch symmetry and hold at +5 % if it worsens."
)
PARKINSONS_NOTE = (
    "In Parkinson's disease, reviews find RAS improves speed and stride length while cadence may not "
    "rise (Ghai et al. 2018); judge progress by speed and stride, not cadence alone."
)
ADJUNCT_NOTE = "RAS is an adjunct to gait rehabilitation with a therapist, not a stand-alone treatment."


@dataclass(frozen=True)
class PlanFigure:
    """One number in a plan and where it comes from."""

    name: str
    value: str
    evidence_ids: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class TempoStage:
    """One stage of a session plan: when it starts, how long it lasts and its cue tempo."""

    start_min: float
    duration_min: float
    tempo_bpm: float
    percent_of_preferred: float


@dataclass(frozen=True)
class RasPlan:
    """A RAS session plan: tempo stages from the baseline cadence, dose, warnings and the evidence behind it."""

    condition: str
    baseline_cadence_spm: float
    stages: tuple[TempoStage, ...]
    session_minutes: int
    sessions_per_week: int
    max_increase_percent: float
    figures: tuple[PlanFigure, ...]
    warnings: tuple[str, ...]
    override_used: bool = False
    evidence_ids: tuple[str, ...] = field(default=(THAUT_1996, MAGEE_2017))

    def tempo_knots(self) -> tuple[np.ndarray, np.ndarray]:
        """(knot_times_s, knot_tempi_bpm) of the stepped schedule, for the cue renderer."""
        times, tempi = [], []
        for stage in self.stages:
            start_s = stage.start_min * 60
            times += [start_s, start_s + stage.duration_min * 60]
            tempi += [stage.tempo_bpm, stage.tempo_bpm]
        return np.asarray(times), np.asarray(tempi)

    def to_dict(self) -> dict:
        return asdict(self)


def plan_ras_sessions(
    baseline_cadence_spm: float,
    *,
    condition: str,
    session_minutes: int = 30,
    sessions_per_week: int = 3,
    step_percent: float = 5.0,
    max_increase_percent: float = 10.0,
    allow_beyond_limit: bool = False,
) -> RasPlan:
    """A session plan starting at ``baseline_cadence_spm`` and rising by ``step_percent`` steps.

    The session is split into equal stages: preferred cadence, then each step up to
    ``max_increase_percent``.

    >>> p = plan_ras_sessions(96, condition="parkinsons")
    >>> [(s.start_min, s.tempo_bpm) for s in p.stages]
    [(0.0, 96.0), (10.0, 100.8), (20.0, 105.6)]
    """
    if not np.isfinite(baseline_cadence_spm) or not 30 <= baseline_cadence_spm <= 200:
        raise ParameterError(
            f"baseline_cadence_spm must be 30..200 steps/min, got {baseline_cadence_spm!r} "
            "(steps per second or strides per minute?)"
        )
    if condition not in CONDITIONS:
        raise ParameterError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    lo, hi = SESSION_MINUTES_RANGE
    if not isinstance(session_minutes, (int, np.integer)) or not lo <= session_minutes <= hi:
        raise ParameterError(f"session_minutes must be an integer {lo}..{hi} (the studied dose), got {session_minutes!r}")
    lo, hi = SESSIONS_PER_WEEK_RANGE
    if not isinstance(sessions_per_week, (int, np.integer)) or not lo <= sessions_per_week <= hi:
        raise ParameterError(f"sessions_per_week must be an integer {lo}..{hi}, got {sessions_per_week!r}")
    if not np.isfinite(max_increase_percent) or max_increase_percent < 0:
        raise ParameterError(f"max_increase_percent must be >= 0, got {max_increase_percent!r}")
    if max_increase_percent > MAX_DEVIATION_PERCENT and not allow_beyond_limit:
        raise ParameterError(
            f"max_increase_percent={max_increase_percent!r} exceeds the +-{MAX_DEVIATION_PERCENT:g} % limit of "
            "preferred cadence; pass allow_beyond_limit=True only with a clinical reason"
        )
    if not np.isfinite(step_percent) or not 0 < step_percent <= MAX_DEVIATION_PERCENT:
        raise ParameterError(f"step_percent must be in (0, {MAX_DEVIATION_PERCENT:g}] %, got {step_percent!r}")
    increases = list(np.arange(0.0, max_increase_percent + 1e-9, step_percent)) if max_increase_percent > 0 else [0.0]
    if increases[-1] < max_increase_percent - 1e-9:
        increases.append(float(max_increase_percent))
    stage_min = session_minutes / len(increases)
    stages = tuple(
        TempoStage(start_min=round(i * stage_min, 3), duration_min=round(stage_min, 3),
                   tempo_bpm=round(float(baseline_cadence_spm * (1 + pct / 100)), 1),
                   percent_of_preferred=round(float(100 + pct), 2))
        for i, pct in enumerate(increases)
    )
    warnings = [ADJUNCT_NOTE]
    if condition == "stroke" and max_increase_percent >= 10:
        warnings.append(STROKE_SYMMETRY_WARNING)
    if condition == "parkinsons":
        warnings.append(PARKINSONS_NOTE)
    if max_increase_percent > MAX_DEVIATION_PERCENT:
        warnings.append(f"Override: the cue goes beyond +{MAX_DEVIATION_PERCENT:g} % of preferred cadence.")
    figures = (
        PlanFigure("starting cue tempo", f"{baseline_cadence_spm:g} BPM (= preferred cadence)", (THAUT_1996,),
                   "RAS starts at the person's own cadence, then raises the cue tempo."),
        PlanFigure("tempo steps", f"+{step_percent:g} % per stage up to +{max_increase_percent:g} %", (THAUT_1996,),
                   "Cadence rose about 10 % in the 1996 Parkinson's home programme; steps of about 5 % are the "
                   "commonly described progression."),
        PlanFigure("session length", f"{session_minutes} min", (MAGEE_2017,),
                   "20-45 min per session was the effective dose in the stroke meta-analysis (Ghai & Ghai 2019)."),
        PlanFigure("sessions per week", str(sessions_per_week), (MAGEE_2017,),
                   "3-5 sessions a week (Ghai & Ghai 2019); Thaut 1996 used daily 30-min home sessions."),
        PlanFigure("tempo limit", f"+-{MAX_DEVIATION_PERCENT:g} % of preferred cadence", (),
                   "Entrainment studies test -12..+12 %; beyond that synchronisation and symmetry suffer."),
    )
    return RasPlan(condition=condition, baseline_cadence_spm=float(baseline_cadence_spm), stages=stages,
                   session_minutes=int(session_minutes), sessions_per_week=int(sessions_per_week),
                   max_increase_percent=float(max_increase_percent), figures=figures, warnings=tuple(warnings),
                   override_used=bool(max_increase_percent > MAX_DEVIATION_PERCENT))


def plan_evidence(plan: RasPlan) -> list[dict]:
    """The catalog entries a plan cites (citation, DOI, caveat), from :mod:`cadenza.evidence`."""
    from cadenza.evidence.query import get_entry

    out = []
    for entry_id in plan.evidence_ids:
        entry = get_entry(entry_id)
        out.append({"id": entry.id, "citation": entry.citation, "doi": entry.doi, "caveat": entry.caveat,
                    "certainty": entry.certainty})
    return out
