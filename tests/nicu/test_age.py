"""Clinical review M1: gestational and postmenstrual age, and PAL's 34-week line (Standley 2010)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.nicu.age import InfantAge, check_pal_age, format_weeks_days, parse_weeks_days


@pytest.mark.parametrize(("text", "days"), [("32+4", 228), ("32w4d", 228), ("32 4", 228), ("34", 238), ("22+0", 154)])
def test_weeks_days_known_answers(text, days):
    assert parse_weeks_days(text) == days


@given(st.integers(0, 60 * 7))
def test_format_then_parse_round_trips(days):
    assert parse_weeks_days(format_weeks_days(days)) == days


@pytest.mark.parametrize("bad", ["32+7", "thirty", "32.5", "", "-1+2"])
def test_bad_weeks_days_name_the_field(bad):
    with pytest.raises(ParameterError, match="postmenstrual_age"):
        parse_weeks_days(bad, name="postmenstrual_age")


def test_m1_pal_needs_an_override_below_34_weeks_pma_and_names_standley():
    below, at = check_pal_age(34 * 7 - 1), check_pal_age(34 * 7)  # 33+6 and 34+0
    assert not below.allowed and at.allowed
    assert "override" in below.message and "33+6" in below.message
    for check in (below, at, check_pal_age(None)):
        assert "Standley" in check.message and "lengthened it at 32 weeks" in check.message
    assert check_pal_age(None).allowed and "not recorded" in check_pal_age(None).message


def test_pma_counts_on_from_the_day_it_was_assessed():
    age = InfantAge(gestational_age_at_birth_days=29 * 7 + 3, postmenstrual_age_days=32 * 7, assessed_on=dt.date(2026, 11, 1))
    assert age.postmenstrual_age_on(dt.date(2026, 11, 15)) == 34 * 7
    assert age.postmenstrual_age_on(dt.date(2026, 10, 1)) == 29 * 7 + 3  # never below the GA at birth


@pytest.mark.parametrize(("ga", "pma", "name"), [(21 * 7, 30 * 7, "gestational_age_at_birth_days"),
                                                  (30 * 7, 29 * 7, "postmenstrual_age_days"),
                                                  (30 * 7, 61 * 7, "postmenstrual_age_days"),
                                                  (30.5, 32 * 7, "gestational_age_at_birth_days")])
def test_implausible_ages_are_refused(ga, pma, name):
    with pytest.raises(ParameterError, match=name):
        InfantAge(ga, pma, dt.date(2026, 11, 1))
