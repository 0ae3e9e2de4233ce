"""Level and weekly dose of a playlist (cadenza.safety.playlist): known answers, flags, calibration, bad input."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.safety.calibration import Calibration
from cadenza.safety.dose import dose_fraction
from cadenza.safety.flags import audio_policy
from cadenza.safety.playlist import UNKNOWN_LOUDNESS_LUFS, playlist_dose


def test_one_track_is_its_own_level_and_dose():
    calibration = Calibration.from_measurement(75.0)  # -23 LUFS plays at 72 dB(A) on this set-up
    dose = playlist_dose([-23.0], [3600.0], calibration=calibration)
    assert dose.level_dba == pytest.approx(72.0) and dose.leq_dba == pytest.approx(72.0)
    assert dose.dose_fraction == pytest.approx(dose_fraction(72.0, 3600.0, mode="adult"))
    assert dose.calibrated and dose.mode == "adult" and dose.warnings == ()
    assert dose.weekly_fraction_after is None


def test_flags_choose_the_mode_the_cap_and_the_warnings():
    dose = playlist_dose([-20.0, -30.0], [200.0, 200.0], safety_flags=["hearing_loss"])
    policy = audio_policy(["hearing_loss"])
    assert dose.mode == "sensitive" and dose.max_level_dba == policy.max_level_dba
    assert any("hearing" in w.lower() for w in dose.warnings)
    assert any("exceeds this client's cap" in w for w in dose.warnings)  # uncalibrated default is loud
    assert not dose.calibrated and any("calibration" in w for w in dose.warnings)
    adult = playlist_dose([-20.0, -30.0], [200.0, 200.0])
    assert dose.dose_fraction > adult.dose_fraction > 0  # the same listening is more of a sensitive allowance


def test_unknown_loudness_counts_as_a_loud_master():
    unknown = playlist_dose([math.nan], [180.0])
    assert unknown.level_dba == playlist_dose([UNKNOWN_LOUDNESS_LUFS], [180.0]).level_dba


def test_an_empty_playlist_has_no_level_and_no_dose():
    dose = playlist_dose([], [])
    assert math.isnan(dose.level_dba) and math.isnan(dose.leq_dba) and dose.dose_fraction == 0.0


@given(lufs=st.lists(st.floats(-40.0, -5.0), min_size=1, max_size=8), duration_s=st.floats(10.0, 600.0))
def test_leq_lies_between_the_quietest_and_the_loudest_track(lufs, duration_s):
    dose = playlist_dose(lufs, [duration_s] * len(lufs))
    quietest = playlist_dose([min(lufs)], [duration_s]).level_dba
    assert quietest - 1e-9 <= dose.leq_dba <= dose.level_dba + 1e-9


def test_bad_input_names_the_argument():
    with pytest.raises(ParameterError, match="durations_s"):
        playlist_dose([-20.0, -20.0], [100.0])
    with pytest.raises(ParameterError, match="duration_s"):
        playlist_dose([-20.0], [-5.0])
