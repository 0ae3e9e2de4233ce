"""RAS session plans: a cue-tempo schedule from the baseline cadence, and the dose, each with its source.

The published description of RAS (Thaut et al. 1996, Mov Disord 11:193, doi:10.1002/mds.870110213)
starts the cue at the person's preferred cadence and, once they have entrained, raises it to about
5-10 % above it over the course of training; cadence rose about 10 % after that 1996 home programme in
Parkinson's disease. Splitting one session into equal stages at 0 / +5 / +10 % is a **project convention**
(clinical review U1), not the published protocol. The dose, 20-45 minute sessions 3-5 times a week, is
the range with the larger effects in the stroke dose-response meta-analysis of Ghai & Ghai 2019 (Sci Rep
9:2183, doi:10.1038/s41598-019-38723-3); 3-5 a week is a soft default: up to 7 may be planned, since
Thaut 1996 used daily 30-minute home sessions (review W11).

Hard limit: the cue never leaves +-12 % of the preferred cadence without an explicit override
(entrainment studies test -12..+12 %; ``../shared/research/ras_gait.md`` section 4). After stroke,
cueing at +10..+20 % raised speed but worsened step symmetry (Cha et al. 2014), so stroke plans stop at
+5 % unless step symmetry has been checked (``symmetry_checked``; the record's ``step_time_asymmetry``
measure), and carry that warning above it (review W12).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from cadenza.errors import ParameterError

CONDITIONS = ("parkinsons", "stroke", "other")
MAX_DEVIATION_PERCENT = 12.0
SESSION_MINUTES_RANGE = (20, 45)
SESSIONS_PER_WEEK_RANGE = (1, 7)  # what may be planned
USUAL_SESSIONS_PER_WEEK = (3, 5)  # the soft default: the dose range of Ghai & Ghai 2019
DEFAULT_MAX_INCREASE_PERCENT = 10.0
STROKE_UNCHECKED_MAX_PERCENT = 5.0  # stroke, before step symmetry has been checked (review W12)
THAUT_1996 = "thaut1996_parkinson_ras"
MAGEE_2017 = "magee2017_brain_injury"
GHAI_2019 = "ghai2019_stroke_ras"
STAIRCASE_CONVENTION = (
    "Project convention: the session is split into equal stages at preferred cadence, then each step up to "
    "the maximum. The published description raises the cue about 5-10 % above the person's cadence once they "
    "entrain, over the course of training, not in fixed stages within one session."
)
DAILY_DOSE_NOTE = (
    "More than the usual 3-5 sessions a week: Ghai & Ghai 2019 found the larger effects at 3-5; Thaut 1996 "
    "used daily 30-min home sessions in Parkinson's disease, so a daily home programme has a precedent. "
    "Watch for fatigue."
)
LOW_DOSE_NOTE = "Fewer than the 3-5 sessions a week that went with the larger effects (Ghai & Ghai 2019)."
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
    evidence_ids: tuple[str, ...] = field(default=(THAUT_1996, MAGEE_2017, GHAI_2019))
    symmetry_checked: bool = False

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
    max_increase_percent: float | None = None,
    allow_beyond_limit: bool = False,
    symmetry_checked: bool = False,
) -> RasPlan:
    """A session plan starting at ``baseline_cadence_spm`` and rising by ``step_percent`` steps.

    The session is split into equal stages (a project convention, see the module docstring): preferred
    cadence, then each step up to ``max_increase_percent``. That defaults to +10 %, and to +5 % for
    stroke; a stroke plan above +5 % needs ``symmetry_checked=True`` (step-time asymmetry measured and
    not worse). ``sessions_per_week`` may be 1-7; outside 3-5 the plan carries a note.

    >>> plan_ras_sessions(96, condition="stroke").max_increase_percent
    5.0

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
        raise ParameterError(f"sessions_per_week must be an integer {lo}..{hi} (3-5 is usual), got {sessions_per_week!r}")
    if max_increase_percent is None:
        max_increase_percent = STROKE_UNCHECKED_MAX_PERCENT if condition == "stroke" else DEFAULT_MAX_INCREASE_PERCENT
    if not np.isfinite(max_increase_percent) or max_increase_percent < 0:
        raise ParameterError(f"max_increase_percent must be >= 0, got {max_increase_percent!r}")
    if condition == "stroke" and max_increase_percent > STROKE_UNCHECKED_MAX_PERCENT and not symmetry_checked:
        raise ParameterError(
            f"max_increase_percent={max_increase_percent!r} for stroke needs step symmetry checked first: cues "
            f"above +{STROKE_UNCHECKED_MAX_PERCENT:g} % worsened step symmetry after stroke (Cha et al. 2014). "
            "Record step_time_asymmetry (gait analysis) and pass symmetry_checked=True, or keep +5 %"
        )
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
    if condition == "stroke" and max_increase_percent > STROKE_UNCHECKED_MAX_PERCENT:
        warnings.append(STROKE_SYMMETRY_WARNING)
    usual_lo, usual_hi = USUAL_SESSIONS_PER_WEEK
    if sessions_per_week > usual_hi:
        warnings.append(DAILY_DOSE_NOTE)
    elif sessions_per_week < usual_lo:
        warnings.append(LOW_DOSE_NOTE)
    if condition == "parkinsons":
        warnings.append(PARKINSONS_NOTE)
    if max_increase_percent > MAX_DEVIATION_PERCENT:
        warnings.append(f"Override: the cue goes beyond +{MAX_DEVIATION_PERCENT:g} % of preferred cadence.")
    figures = (
        PlanFigure("starting cue tempo", f"{baseline_cadence_spm:g} BPM (= preferred cadence)", (THAUT_1996,),
                   "RAS starts at the person's own cadence, then raises the cue tempo."),
        PlanFigure("tempo steps", f"+{step_percent:g} % per stage up to +{max_increase_percent:g} %", (THAUT_1996,),
                   "Cadence rose about 10 % in the 1996 Parkinson's home programme; the cue is raised about "
                   "5-10 % above the person's cadence once they entrain. " + STAIRCASE_CONVENTION
                   + (" Stroke: +5 % until step symmetry is checked." if condition == "stroke" else "")),
        PlanFigure("session length", f"{session_minutes} min", (GHAI_2019,),
                   "20-45 min per session went with the larger effects in the stroke dose-response meta-analysis."),
        PlanFigure("sessions per week", str(sessions_per_week), (GHAI_2019, THAUT_1996),
                   "3-5 sessions a week (Ghai & Ghai 2019) is the usual dose; up to 7 may be planned, as Thaut "
                   "1996 used daily 30-min home sessions."),
        PlanFigure("expected benefit", "gait speed, stride length", (MAGEE_2017, GHAI_2019, THAUT_1996),
                   "Rhythmic cueing may improve walking speed after stroke (low certainty, Cochrane 2017); "
                   "later reviews report smaller effects than the 1996 trial."),
        PlanFigure("tempo limit", f"+-{MAX_DEVIATION_PERCENT:g} % of preferred cadence", (),
                   "Entrainment studies test -12..+12 %; beyond that synchronisation and symmetry suffer."),
    )
    return RasPlan(condition=condition, baseline_cadence_spm=float(baseline_cadence_spm), stages=stages,
                   session_minutes=int(session_minutes), sessions_per_week=int(sessions_per_week),
                   max_increase_percent=float(max_increase_percent), figures=figures, warnings=tuple(warnings),
                   override_used=bool(max_increase_percent > MAX_DEVIATION_PERCENT),
                   symmetry_checked=bool(symmetry_checked))


def plan_evidence(plan: RasPlan) -> list[dict]:
    """The catalog entries a plan cites (citation, DOI, caveat), from :mod:`cadenza.evidence`."""
    from cadenza.evidence.query import get_entry

    out = []
    for entry_id in plan.evidence_ids:
        entry = get_entry(entry_id)
        out.append({"id": entry.id, "citation": entry.citation, "doi": entry.doi, "caveat": entry.caveat,
                    "certainty": entry.certainty})
    return out
