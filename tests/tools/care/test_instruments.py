"""Known answers for the care tool's instruments at every band boundary (clinical review M8, M9), each with
its source; licensed instruments take only their total."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.clinic.instruments import check_age, get_instrument, score_instrument
from cadenza.errors import ParameterError
from cadenza.tools.care.instruments import CSDD_ITEMS, INSTRUMENTS


# FLACC, Merkel et al. 1997 (0 relaxed, 1-3 mild discomfort, 4-6 moderate, 7-10 severe);
# NIPS, Lawrence et al. 1993 (0-2 no pain, 3-4 mild to moderate, 5-7 severe);
# HADS, Zigmond & Snaith 1983 (0-7 normal, 8-10 borderline, 11-21 abnormal).
@pytest.mark.parametrize(("code", "value", "band"), [
    ("flacc", 0, "relaxed and comfortable"), ("flacc", 1, "mild discomfort"), ("flacc", 3, "mild discomfort"),
    ("flacc", 4, "moderate pain"), ("flacc", 6, "moderate pain"), ("flacc", 7, "severe discomfort or pain"),
    ("flacc", 10, "severe discomfort or pain"),
    ("nips", 0, "no pain"), ("nips", 2, "no pain"), ("nips", 3, "mild to moderate pain"),
    ("nips", 4, "mild to moderate pain"), ("nips", 5, "severe pain"), ("nips", 7, "severe pain"),
    ("hads_a", 7, "normal"), ("hads_a", 8, "borderline"), ("hads_a", 10, "borderline"), ("hads_a", 11, "abnormal (case)"),
    ("hads_d", 0, "normal"), ("hads_d", 21, "abnormal (case)"),
])
def test_m9_totals_fall_in_the_published_bands(code, value, band):
    assert score_instrument(code, value=value).severity_band == band


def _gds_answers(depressive: int) -> list[int]:
    """GDS-15 answers (1 = yes) with ``depressive`` depressive answers: 'no' to items 1, 5, 7, 11, 13 and
    'yes' to the others count (Sheikh & Yesavage 1986)."""
    reverse = {1, 5, 7, 11, 13}
    answers = []
    for item in range(1, 16):
        depressed = item <= depressive
        answers.append((0 if depressed else 1) if item in reverse else (1 if depressed else 0))
    return answers


# GDS-15: 0-4 normal, 5-8 mild, 9-11 moderate, 12-15 severe (Sheikh & Yesavage 1986 scoring; common bands).
@pytest.mark.parametrize(("depressive", "band"), [(0, "normal"), (4, "normal"), (5, "mild depression"),
                                                  (8, "mild depression"), (9, "moderate depression"),
                                                  (11, "moderate depression"), (12, "severe depression"),
                                                  (15, "severe depression")])
def test_m8_gds15_scores_the_depressive_answer_of_each_item(depressive, band):
    score = score_instrument("gds15", items=_gds_answers(depressive))
    assert (score.value, score.severity_band) == (depressive, band)


# CSDD: above 10 probable, above 18 definite major depression (Alexopoulos et al. 1988).
@pytest.mark.parametrize(("total", "band"), [(0, "below the probable-depression cut-off"),
                                             (10, "below the probable-depression cut-off"),
                                             (11, "probable major depression"), (18, "probable major depression"),
                                             (19, "definite major depression"), (38, "definite major depression")])
def test_m8_csdd_bands(total, band):
    items = {name: 0 for name in CSDD_ITEMS}
    for name in CSDD_ITEMS[:-1]:  # fill with 2s, then a 1, keeping "mood_congruent_delusions" free
        step = min(2, total - sum(items.values()))
        items[name] = max(step, 0)
    items["mood_congruent_delusions"] = total - sum(items.values())
    score = score_instrument("csdd", items=items)
    assert (score.value, score.severity_band) == (total, band)


def test_m8_csdd_suicide_item_flags_a_safety_follow_up():
    items = {name: 0 for name in CSDD_ITEMS} | {"suicide": 1}
    assert score_instrument("csdd", items=items).safety_followup


def test_m9_licensed_instruments_take_only_a_total_and_carry_their_licence():
    for code in ("hads_a", "hads_d", "wong_baker", "flacc", "nips"):
        instrument = get_instrument(code)
        assert instrument.items is None and instrument.item_texts is None and instrument.licence
    with pytest.raises(ParameterError, match="takes a single value, not items"):
        score_instrument("hads_a", items=[1] * 7)
    assert get_instrument("wong_baker").loinc == "38221-8"
    assert "public domain" in get_instrument("gds15").licence.lower()


def test_m9_vas_pain_is_in_mm_and_hints_at_cm():
    assert score_instrument("vas_pain", value=42).unit == "mm"
    with pytest.raises(ParameterError, match="is it in mm"):
        score_instrument("vas_pain", value=420)


def test_m13_ages_neonatal_and_child_scales_are_refused_for_adults_and_the_reverse():
    with pytest.raises(ParameterError, match="nips"):
        check_age("nips", birth_year=1950, on_date=__import__("datetime").date(2026, 11, 2))
    with pytest.raises(ParameterError, match="gds15"):
        check_age("gds15", birth_year=2020, on_date=__import__("datetime").date(2026, 11, 2))
    check_age("flacc", birth_year=2022, on_date=__import__("datetime").date(2026, 11, 2))


@given(code=st.sampled_from([i.code for i in INSTRUMENTS if i.items is None]),
       value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-1000, 1000)))
@settings(max_examples=80, deadline=None)
def test_m9_any_single_value_is_scored_within_range_or_refused_by_name(code, value):
    instrument = get_instrument(code)
    try:
        score = score_instrument(code, value=value)
    except ParameterError as exc:
        assert code in str(exc)
        return
    assert instrument.minimum <= score.value <= instrument.maximum
    assert not instrument.integer or float(score.value).is_integer()
