"""Force-insole gait timing: contacts, stride measures, swing asymmetry and PCI."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadenza.errors import DataQualityError, ParameterError
from cadenza.gait.insole import (
    FLAG_FEW_STRIDES,
    analyze_insoles,
    detect_foot_contacts,
    phase_coordination,
    steady_mask,
    swing_asymmetry_pct,
)

FS = 100.0


def test_known_walk_gives_its_strides_swings_and_cadence(rng, make_insole_walk):
    hs_l = np.arange(1.0, 40.0, 1.1)
    hs_r = hs_l + 0.55
    left, right = make_insole_walk(hs_l, hs_r, stance_s=(0.66, 0.66), duration_s=42, rng=rng)
    g = analyze_insoles(left, right, sampling_rate_hz=FS)
    assert g.left.heel_strike_times_s.size == hs_l.size
    np.testing.assert_allclose(g.left.heel_strike_times_s, hs_l, atol=0.015)
    np.testing.assert_allclose(g.right.toe_off_times_s[:-1], hs_r[:-1] + 0.66, atol=0.015)
    assert g.stride_time_s == pytest.approx(1.1, abs=0.002)
    assert g.cadence_spm == pytest.approx(120 / 1.1, abs=0.2)
    assert g.stride_time_cv_pct < 1.0
    assert g.swing_asymmetry_pct < 1.0 and g.pci_pct < 2.0
    assert g.left_timing.swing_times_s.mean() == pytest.approx(0.44, abs=0.01)


def test_swing_force_offset_and_flicker_do_not_split_or_hide_steps(rng, make_insole_walk):
    hs_l = np.arange(1.0, 30.0, 1.0)
    left, right = make_insole_walk(hs_l, hs_l + 0.5, stance_s=(0.6, 0.6), duration_s=31, rng=rng, swing_offset_n=45.0)
    left[int(1.3 * FS)] = 0.0  # a one-sample drop mid-stance
    g = analyze_insoles(left, right, sampling_rate_hz=FS)
    assert g.left.heel_strike_times_s.size == hs_l.size == g.right.heel_strike_times_s.size


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    stride_s=st.floats(0.9, 1.6),
    short_fraction=st.floats(0.3, 0.5),
    stance_fraction=st.floats(0.55, 0.7),
    shift_s=st.floats(0.0, 0.5),
)
def test_asymmetric_walks_give_the_phase_and_swing_they_were_made_with(
    make_insole_walk, stride_s, short_fraction, stance_fraction, shift_s
):
    rng = np.random.default_rng(7)
    hs_l = shift_s + np.arange(1.0, 30.0, stride_s)
    hs_r = hs_l + short_fraction * stride_s
    stance_l, stance_r = stance_fraction * stride_s, (stance_fraction - 0.05) * stride_s
    left, right = make_insole_walk(hs_l, hs_r, stance_s=(stance_l, stance_r), duration_s=32 + stride_s, rng=rng)
    g = analyze_insoles(left, right, sampling_rate_hz=FS)
    swing_l, swing_r = stride_s - stance_l, stride_s - stance_r
    # Swing is timed within a few ms (the threshold sits a little above the unloaded force).
    assert g.left_timing.swing_times_s.mean() == pytest.approx(swing_l, abs=0.006)
    assert g.right_timing.swing_times_s.mean() == pytest.approx(swing_r, abs=0.006)
    assert g.swing_asymmetry_pct == pytest.approx(100 * abs(np.log(swing_r / swing_l)), abs=2.0)
    # The right foot swings longer, so it is Plotnik's reference: phi = 360 (1 - short_fraction).
    assert g.phase_abs_deg == pytest.approx(abs(360 * (1 - short_fraction) - 180), abs=4.0)
    assert g.stride_time_s == pytest.approx(stride_s, rel=0.01)


def test_measures_need_steady_strides(rng, make_insole_walk):
    left, right = make_insole_walk([1.0, 2.1, 3.2], [1.55, 2.65], stance_s=(0.6, 0.6), duration_s=5, rng=rng)
    g = analyze_insoles(left, right, sampling_rate_hz=FS)
    assert FLAG_FEW_STRIDES in g.flags and np.isnan(g.stride_time_cv_pct) and np.isnan(g.pci_pct)
    quiet = analyze_insoles(np.zeros(500), np.zeros(500), sampling_rate_hz=FS)
    assert "foot_never_loaded" in quiet.flags and quiet.left.heel_strike_times_s.size == 0


def test_bad_input_is_named():
    with pytest.raises(DataQualityError, match="left_force_n has 1 NaN"):
        analyze_insoles(np.r_[np.zeros(99), np.nan], np.zeros(100), sampling_rate_hz=FS)
    with pytest.raises(ParameterError, match="right_force_n has 90"):
        analyze_insoles(np.zeros(100), np.zeros(90), sampling_rate_hz=FS)
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        analyze_insoles(np.zeros(100), np.zeros(100), sampling_rate_hz=5)
    with pytest.raises(ParameterError, match="threshold_fraction"):
        detect_foot_contacts(np.zeros(100), sampling_rate_hz=FS, threshold_fraction=2)


def test_helpers():
    assert steady_mask(np.array([1.0, 3.0, 1.0])).tolist() == [True, False, True]
    assert np.isnan(swing_asymmetry_pct(np.array([]), np.array([0.4])))
    assert np.isnan(phase_coordination(np.arange(3.0), np.arange(3.0) + 0.5)[0])


def test_gaitpdb_walks_match_the_threshold_reference_and_separate_pd(shared_data):
    from cadenza.io.insole import load_insole

    folder = shared_data("gait", "gaitpdb")
    rec = load_insole(folder / "GaPt07_01.txt")  # the most impaired walker: 67 / 72 contacts by the README's method
    g = analyze_insoles(rec.left_force_n, rec.right_force_n, sampling_rate_hz=rec.sampling_rate_hz)
    assert g.cadence_spm == pytest.approx(83.3, abs=2.0)
    assert g.left.heel_strike_times_s.size >= 67 and g.right.heel_strike_times_s.size >= 72
    control = load_insole(folder / "SiCo03_01.txt")
    c = analyze_insoles(control.left_force_n, control.right_force_n, sampling_rate_hz=control.sampling_rate_hz)
    assert c.stride_time_cv_pct < g.stride_time_cv_pct and c.swing_asymmetry_pct < g.swing_asymmetry_pct
    assert c.pci_pct < g.pci_pct
