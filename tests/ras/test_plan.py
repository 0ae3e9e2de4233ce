"""Session plans: schedule, limits, warnings, evidence."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.ras.plan import STROKE_SYMMETRY_WARNING, plan_evidence, plan_ras_sessions


def test_schedule_starts_at_preferred_and_rises_in_five_percent_steps():
    plan = plan_ras_sessions(100, condition="parkinsons", session_minutes=30)
    assert [s.tempo_bpm for s in plan.stages] == [100.0, 105.0, 110.0]
    assert [s.start_min for s in plan.stages] == [0.0, 10.0, 20.0]
    assert sum(s.duration_min for s in plan.stages) == pytest.approx(30)
    times, tempi = plan.tempo_knots()
    assert times[-1] == 1800 and tempi.max() == 110


def test_never_beyond_twelve_percent_without_override():
    with pytest.raises(ParameterError, match="max_increase_percent"):
        plan_ras_sessions(100, condition="other", max_increase_percent=15)
    plan = plan_ras_sessions(100, condition="other", max_increase_percent=15, allow_beyond_limit=True)
    assert plan.override_used and plan.stages[-1].tempo_bpm == 115.0
    assert any("Override" in w for w in plan.warnings)


def test_uneven_steps_end_at_the_maximum():
    plan = plan_ras_sessions(90, condition="other", step_percent=4, max_increase_percent=10, session_minutes=45)
    assert [s.percent_of_preferred for s in plan.stages] == [100.0, 104.0, 108.0, 110.0]


def test_stroke_plans_warn_about_symmetry():
    checked = plan_ras_sessions(100, condition="stroke", max_increase_percent=10, symmetry_checked=True)
    assert STROKE_SYMMETRY_WARNING in checked.warnings and checked.symmetry_checked
    assert STROKE_SYMMETRY_WARNING not in plan_ras_sessions(100, condition="stroke", max_increase_percent=5).warnings
    assert STROKE_SYMMETRY_WARNING not in plan_ras_sessions(100, condition="parkinsons").warnings


def test_every_figure_names_its_evidence_and_the_entries_exist():
    plan = plan_ras_sessions(100, condition="stroke")
    cited = {e for f in plan.figures for e in f.evidence_ids}
    assert cited == set(plan.evidence_ids)
    dois = {e["doi"] for e in plan_evidence(plan)}
    assert dois == {"10.1002/mds.870110213", "10.1002/14651858.CD006787.pub3", "10.1038/s41598-019-38723-3"}
    assert all(e["caveat"] for e in plan_evidence(plan))


@pytest.mark.parametrize(("kwargs", "arg"), [
    ({"baseline_cadence_spm": 1.7}, "baseline_cadence_spm"),
    ({"condition": "flu"}, "condition"),
    ({"session_minutes": 90}, "session_minutes"),
    ({"sessions_per_week": 8}, "sessions_per_week"),
    ({"sessions_per_week": 0}, "sessions_per_week"),
    ({"step_percent": 0}, "step_percent"),
])
def test_bad_input_names_the_argument(kwargs, arg):
    base = {"baseline_cadence_spm": 100.0, "condition": "other"}
    base.update(kwargs)
    cadence = base.pop("baseline_cadence_spm")
    with pytest.raises(ParameterError, match=arg):
        plan_ras_sessions(cadence, **base)


def test_plan_serialises():
    d = plan_ras_sessions(np.float64(98.0), condition="other").to_dict()
    assert d["stages"][0]["tempo_bpm"] == 98.0 and d["figures"][0]["evidence_ids"]


# ---- clinical review W10-W12, U1 ------------------------------------------------------------------

def test_w10_the_dose_cites_ghai_2019_not_magee():
    figures = {f.name: f for f in plan_ras_sessions(96, condition="stroke").figures}
    for name in ("session length", "sessions per week"):
        assert "ghai2019_stroke_ras" in figures[name].evidence_ids
        assert "magee2017_brain_injury" not in figures[name].evidence_ids


def test_w11_six_or_seven_sessions_a_week_can_be_planned_with_the_thaut_note():
    from cadenza.ras.plan import DAILY_DOSE_NOTE, LOW_DOSE_NOTE

    daily = plan_ras_sessions(96, condition="parkinsons", sessions_per_week=7)
    assert daily.sessions_per_week == 7 and DAILY_DOSE_NOTE in daily.warnings and "Thaut 1996" in DAILY_DOSE_NOTE
    assert DAILY_DOSE_NOTE not in plan_ras_sessions(96, condition="parkinsons", sessions_per_week=5).warnings
    assert LOW_DOSE_NOTE in plan_ras_sessions(96, condition="other", sessions_per_week=2).warnings


def test_w12_stroke_defaults_to_five_percent_and_goes_further_only_after_symmetry_is_checked():
    plan = plan_ras_sessions(96, condition="stroke")
    assert plan.max_increase_percent == 5.0 and [s.percent_of_preferred for s in plan.stages] == [100.0, 105.0]
    with pytest.raises(ParameterError, match="max_increase_percent.*step_time_asymmetry"):
        plan_ras_sessions(96, condition="stroke", max_increase_percent=10)
    assert plan_ras_sessions(96, condition="stroke", max_increase_percent=10, symmetry_checked=True).stages[-1].tempo_bpm == 105.6
    assert plan_ras_sessions(96, condition="parkinsons").max_increase_percent == 10.0


def test_u1_the_in_session_staircase_is_labelled_a_project_convention():
    steps = {f.name: f for f in plan_ras_sessions(96, condition="other").figures}["tempo steps"]
    assert "Project convention" in steps.note and "over the course of training" in steps.note
