"""Clinical review M6: change against the MCID and a reliable-change check, each threshold with its source."""

from __future__ import annotations

import datetime as dt
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadenza.clinic.change import THRESHOLDS, check_change, reliable_change_threshold
from cadenza.clinic.models import Goal
from cadenza.clinic.progress import compute_progress
from cadenza.errors import ParameterError


@pytest.mark.parametrize(("code", "baseline", "latest", "direction", "meets"), [
    # gait speed: 0.10 m/s (Perera 2006), at the boundary and just below it
    ("gait_speed", 0.60, 0.70, "increase", True), ("gait_speed", 0.60, 0.69, "increase", False),
    # PHQ-9: 5 points (Löwe 2004)
    ("phq9", 15, 10, "decrease", True), ("phq9", 15, 11, "decrease", False),
    # GAD-7: 4 points (Toussaint 2020)
    ("gad7", 12, 8, "decrease", True), ("gad7", 12, 9, "decrease", False),
    # NRS pain: 2 points or 30 % of baseline (Farrar 2001)
    ("nrs_pain", 8, 6, "decrease", True), ("nrs_pain", 8, 7, "decrease", False),
    ("nrs_pain", 3, 2, "decrease", True),  # 1 point, but 33 % of 3
    ("nrs_pain", 4, 3, "decrease", False),  # 1 point, 25 %
])
def test_m6_mcid_known_answers_at_each_boundary(code, baseline, latest, direction, meets):
    assert check_change(code, baseline=baseline, latest=latest, direction=direction).meets_mcid is meets


@pytest.mark.parametrize(("code", "baseline", "latest", "reliable", "worse"), [
    ("phq9", 18, 12, True, False), ("phq9", 18, 13, False, False), ("phq9", 8, 14, False, True),
    ("gad7", 12, 8, True, False), ("gad7", 12, 9, False, False), ("gad7", 5, 9, False, True),
])
def test_m6_reliable_change_known_answers(code, baseline, latest, reliable, worse):
    check = check_change(code, baseline=baseline, latest=latest, direction="decrease")
    assert check.reliable is reliable and check.reliably_worse is worse


def test_m6_every_threshold_names_its_source_and_is_labelled_recalled():
    for threshold in THRESHOLDS.values():
        assert threshold.status == "recalled" and re.search(r"\d{4}", threshold.mcid_source)
        if threshold.reliable_change is not None:
            assert threshold.reliable_change_source
    summary = check_change("phq9", baseline=15, latest=9, direction="decrease").summary
    assert "recalled" in summary and "Löwe" in summary and "meets the MCID" in summary


def test_m6_no_threshold_no_verdict():
    assert check_change("vas_anxiety", baseline=60, latest=20, direction="decrease") is None
    assert check_change("phq9", baseline=15, latest=math.nan, direction="decrease") is None
    with pytest.raises(ParameterError, match="direction"):
        check_change("phq9", baseline=15, latest=9, direction="down")


@given(baseline=st.integers(0, 27), latest=st.integers(0, 27))
def test_m6_a_worsening_never_meets_the_mcid(baseline, latest):
    check = check_change("phq9", baseline=baseline, latest=latest, direction="decrease")
    assert check.improvement == baseline - latest
    if latest >= baseline:
        assert not check.meets_mcid and not check.reliable


def test_m6_reliable_change_threshold_formula_and_bad_input():
    assert reliable_change_threshold(5.0, 0.84) == pytest.approx(1.96 * 5.0 * math.sqrt(2 * 0.16))
    with pytest.raises(ParameterError, match="reliability"):
        reliable_change_threshold(5.0, 1.0)
    with pytest.raises(ParameterError, match="sd"):
        reliable_change_threshold(-1.0, 0.8)


def test_m6_progress_carries_the_mcid_check():
    goal = Goal(id=3, instrument_code="gait_speed", baseline=0.80, target=1.0, direction="increase", description="")
    progress = compute_progress(goal, [(dt.date(2026, 11, 2), 0.85), (dt.date(2026, 11, 16), 0.91)])
    assert not progress.target_met and progress.change_check.meets_mcid  # +0.11 m/s: important, target not met
    assert "Perera" in progress.change_check.summary
    assert compute_progress(goal, []).change_check is None



