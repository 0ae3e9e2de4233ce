import doctest

import pytest

import cadenza.safety.flags as flags_mod
from cadenza.errors import ParameterError
from cadenza.safety.flags import (
    DEFAULT_MAX_LEVEL_DBA,
    HEARING_LOSS_MAX_LEVEL_DBA,
    NICU_MAX_LEVEL_DBA,
    SafetyFlag,
    audio_policy,
    parse_flags,
)


def test_doctests():
    assert doctest.testmod(flags_mod).failed == 0


def test_no_flags_default_policy():
    p = audio_policy([])
    assert p.max_level_dba == DEFAULT_MAX_LEVEL_DBA
    assert p.autoplay_allowed and not p.nicu_limits and not p.caution_emotional_material
    assert p.warnings == () and p.dose_mode == "adult"


def test_seizures_forbid_autoplay_and_list_triggers():
    p = audio_policy(["seizures"])
    assert not p.autoplay_allowed
    assert any("trigger" in w and "prodrome" in w for w in p.warnings)
    assert p.max_level_dba == DEFAULT_MAX_LEVEL_DBA


def test_trauma_sets_caution():
    p = audio_policy(["trauma_history"])
    assert p.caution_emotional_material and p.autoplay_allowed
    assert any("emotional" in w for w in p.warnings)


def test_hearing_loss_lowers_cap_and_uses_sensitive_dose():
    p = audio_policy(["hearing_loss"])
    assert p.max_level_dba == HEARING_LOSS_MAX_LEVEL_DBA < DEFAULT_MAX_LEVEL_DBA
    assert p.dose_mode == "sensitive"


def test_nicu_wins_lowest_cap_even_with_other_flags():
    p = audio_policy(["hearing_loss", "nicu_infant", "seizures"])
    assert p.nicu_limits and p.max_level_dba == NICU_MAX_LEVEL_DBA == 45.0
    assert not p.autoplay_allowed
    assert len(p.warnings) == 3


def test_order_and_duplicates_do_not_matter():
    assert audio_policy(["seizures", "trauma_history", "seizures"]) == audio_policy(["trauma_history", "seizures"])


def test_unknown_flag_and_bare_string_rejected():
    with pytest.raises(ParameterError, match="'epilepsy'.*seizures"):
        parse_flags(["epilepsy"])
    with pytest.raises(ParameterError, match="flags"):
        audio_policy("seizures")
    assert parse_flags([f.value for f in SafetyFlag]) == frozenset(SafetyFlag)


def test_w7_children_get_the_sensitive_dose_mode_from_their_birth_year():
    """Clinical review W7: H.870's children's (sensitive) mode follows the birth year, not only the flags; in
    the year a listener turns 18 they may still be 17, so they count as a child until the year is over."""
    import datetime as dt

    today = dt.date(2026, 11, 25)
    for birth_year, mode in ((2026, "sensitive"), (2018, "sensitive"), (2009, "sensitive"), (2008, "sensitive"),
                             (2007, "adult"), (1950, "adult"), (None, "adult")):
        assert audio_policy([], birth_year=birth_year, today=today).dose_mode == mode, birth_year
    child = audio_policy(["seizures"], birth_year=2018, today=today)
    assert child.dose_mode == "sensitive" and not child.autoplay_allowed
    # the age changes the dose mode only: cap, auto-play and warnings still follow the flags
    assert child.max_level_dba == audio_policy(["seizures"]).max_level_dba
    assert child.warnings == audio_policy(["seizures"]).warnings
    assert audio_policy(["hearing_loss"], birth_year=1950, today=today).dose_mode == "sensitive"
    with pytest.raises(ParameterError, match="birth_year"):
        audio_policy([], birth_year="2018")


def test_u7_the_hearing_loss_track_cap_is_labelled_a_project_choice():
    policy = audio_policy(["hearing_loss"])
    assert policy.max_level_dba == 75.0
    assert any("project choice" in w and "weekly reference, not a per-track cap" in w for w in policy.warnings)
