import doctest
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cadenza.safety.dose as dose_mod
from cadenza.errors import ParameterError
from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration, render_calibration_tone
from cadenza.safety.dose import (
    DoseLedger,
    allowed_duration_s,
    assess_track,
    dose_fraction,
    estimate_listening_level_dba,
    sound_dose_pa2h,
    weekly_allowance_pa2h,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HOUR_S = 3600.0


def test_doctests():
    assert doctest.testmod(dose_mod).failed == 0


# Known answers from WHO/ITU-T H.870: mode 1 = 1.6 Pa^2 h = 80 dB(A) x 40 h; mode 2 = 75 dB(A) x 40 h.
def test_h870_adult_allowance():
    assert weekly_allowance_pa2h(mode="adult") == pytest.approx(1.6)
    assert sound_dose_pa2h(80.0, 40 * HOUR_S) == pytest.approx(1.6)
    assert dose_fraction(80.0, 40 * HOUR_S, mode="adult") == pytest.approx(1.0)


def test_h870_sensitive_allowance():
    assert weekly_allowance_pa2h(mode="sensitive") == pytest.approx(0.51, abs=0.005)
    assert dose_fraction(75.0, 40 * HOUR_S, mode="sensitive") == pytest.approx(1.0)
    # the same listening is ~3.2x more of a child's allowance
    assert dose_fraction(80.0, 10 * HOUR_S, mode="sensitive") == pytest.approx(0.25 * 10**0.5)


@pytest.mark.parametrize("level_dba,hours", [(83, 20), (86, 10), (89, 5), (92, 2.5), (95, 1.25), (100, 0.4)])
def test_equal_energy_exchange_3db(level_dba, hours):
    assert dose_fraction(level_dba, hours * HOUR_S) == pytest.approx(10 ** ((level_dba - 80) / 10) * hours / 40)
    assert allowed_duration_s(level_dba) / HOUR_S == pytest.approx(40 / 10 ** ((level_dba - 80) / 10))


@settings(max_examples=30, deadline=None)
@given(level=st.floats(40, 110), seconds=st.floats(0, 200_000), split=st.floats(0, 1))
def test_dose_is_additive_in_time(level, seconds, split):
    whole = dose_fraction(level, seconds)
    parts = dose_fraction(level, seconds * split) + dose_fraction(level, seconds * (1 - split))
    assert whole == pytest.approx(parts, rel=1e-9, abs=1e-15)


def test_allowed_duration_after_use():
    assert allowed_duration_s(80.0, used_fraction=0.75) == pytest.approx(10 * HOUR_S)
    assert allowed_duration_s(80.0, used_fraction=1.5) == 0.0


def test_estimate_from_lufs_uses_calibration():
    cal = Calibration.from_measurement(70.0)  # -20 dBFS tone measured at 70 dB(A)
    assert estimate_listening_level_dba(-20.0, cal) == pytest.approx(70.0)
    assert estimate_listening_level_dba(-30.0, cal) == pytest.approx(60.0)
    assert estimate_listening_level_dba(-20.0) == pytest.approx(DEFAULT_CALIBRATION.tone_level_dba)


def test_estimate_from_samples_of_calibration_tone_reads_back_measurement():
    tone = render_calibration_tone(duration_s=5.0, sampling_rate_hz=22_050)
    cal = Calibration.from_measurement(68.5, device="tablet")
    assert estimate_listening_level_dba(tone, cal, sampling_rate_hz=22_050) == pytest.approx(68.5, abs=0.1)


def test_assess_track_gain_brings_level_to_cap():
    tone = render_calibration_tone(duration_s=4.0, sampling_rate_hz=22_050)
    track = assess_track(tone, sampling_rate_hz=22_050, max_level_dba=75.0)  # default calibration: 80 dB(A)
    assert track.level_dba == pytest.approx(80.0, abs=0.1)
    assert track.gain_db_to_cap == pytest.approx(-5.0, abs=0.1)
    assert not track.calibrated
    quieter = assess_track(tone * 10 ** (track.gain_db_to_cap / 20), sampling_rate_hz=22_050, max_level_dba=75.0)
    assert quieter.level_dba == pytest.approx(75.0, abs=0.05)
    assert quieter.gain_db_to_cap == pytest.approx(0.0, abs=0.05)


def test_assess_silence_is_nan_level_zero_dose():
    t = assess_track(np.zeros(1000), sampling_rate_hz=22_050)
    assert t.dose_fraction == 0.0 and t.level_dba == float("-inf")
    assert t.as_dict()["level_dba"] is None


def test_ledger_rolling_week_and_warning():
    ledger = DoseLedger("C-007")
    ledger.add(level_dba=80.0, duration_s=30 * HOUR_S, started_at=NOW - timedelta(days=3))
    ledger.add(level_dba=90.0, duration_s=HOUR_S, started_at=NOW - timedelta(days=10))  # outside the window
    week = ledger.weekly(now=NOW)
    assert week.fraction == pytest.approx(0.75)
    assert week.entries_counted == 1
    assert week.warning is None
    ledger.add(level_dba=80.0, duration_s=10 * HOUR_S, started_at=NOW - timedelta(hours=11))
    week = ledger.weekly(now=NOW)
    assert week.fraction == pytest.approx(1.0)
    assert "100 %" in week.warning and "lower the volume" in week.warning
    assert week.as_dict()["dose_percent"] == pytest.approx(100.0)


def test_ledger_prorates_entry_straddling_window_start():
    ledger = DoseLedger("C-1")
    ledger.add(level_dba=80.0, duration_s=4 * HOUR_S, started_at=NOW - timedelta(days=7, hours=2))
    assert ledger.weekly(now=NOW).fraction == pytest.approx(2 / 40)


def test_ledger_preview_adds_planned_session_and_warns():
    ledger = DoseLedger("C-2", mode="sensitive")
    ledger.add(level_dba=75.0, duration_s=36 * HOUR_S, started_at=NOW - timedelta(days=1, hours=12))
    preview = ledger.preview(level_dba=75.0, duration_s=4 * HOUR_S, now=NOW)
    assert preview.added_fraction == pytest.approx(0.1)
    assert preview.fraction_after == pytest.approx(1.0)
    assert preview.warning is not None
    assert ledger.weekly(now=NOW).fraction == pytest.approx(0.9)  # preview does not record
    # the same preview from the week alone (what a page holding only the client's weekly dose can ask)
    assert ledger.weekly(now=NOW).preview(level_dba=75.0, duration_s=4 * HOUR_S) == preview


def test_bad_input_names_argument():
    with pytest.raises(ParameterError, match="mode"):
        dose_fraction(80, 10, mode="child")
    with pytest.raises(ParameterError, match="level_dba"):
        dose_fraction(-23.0 - 200, 10)
    with pytest.raises(ParameterError, match="duration_s"):
        dose_fraction(80, -1)
    with pytest.raises(ParameterError, match="started_at"):
        DoseLedger("x").add(level_dba=80, duration_s=1, started_at=datetime(2026, 1, 1))
    with pytest.raises(ParameterError, match="listener"):
        DoseLedger("  ")
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        estimate_listening_level_dba(np.zeros(10))
    with pytest.raises(ParameterError, match="LUFS"):
        estimate_listening_level_dba(5.0)
