"""Detectors on the real recordings in ../shared/data/gait against their reference annotations.

Thresholds sit just under what the detectors achieve (bench/RESULTS.md has the figures), so a
regression fails; they are not the issue's targets, which are reported honestly in RESULTS.md.
"""

import numpy as np
import pytest
from scipy import signal

from cadenza.gait import (
    FootStepDetector,
    LowerBackStepDetector,
    analyze_gait,
    cadence_spm,
    contacts_in_window,
    detect_walking_bouts,
    match_contacts,
    pool_matches,
    score_bout,
)
from cadenza.io.gait_datasets import load_gaitmap_healthy, load_mobgap_lab


@pytest.fixture(scope="module")
def lab_recordings(shared_data):
    return [r for r in load_mobgap_lab(shared_data("gait", "mobgap_lab")) if r.reference_bouts]


@pytest.fixture(scope="module")
def foot_recording(shared_data):
    return load_gaitmap_healthy(shared_data("gait", "gaitmap_healthy"))


@pytest.mark.parametrize("rate_hz", [100, 50])
def test_lower_back_against_indip(lab_recordings, rate_hz):
    errors, matches, n_det, n_ref = [], [], 0, 0
    for rec in lab_recordings:
        acc = signal.resample_poly(rec.acc_m_s2, rate_hz, 100, axis=-1)
        det = LowerBackStepDetector().detect(acc, sampling_rate_hz=rate_hz).ic_times_s_
        for bout in rec.reference_bouts:
            s = bout.score(det)
            errors.append(s.abs_rel_error)
            n_det, n_ref = n_det + s.n_detected, n_ref + s.n_reference
            near = contacts_in_window(det, bout.start_s - 0.25, bout.end_s + 0.25)
            matches.append(match_contacts(near, bout.ic_times_s))
    errors = np.array(errors)
    assert len(errors) == 11
    assert errors.mean() < 0.065 and np.median(errors) < 0.065
    assert pool_matches(matches).f1 > 0.80
    assert abs(n_det - n_ref) / n_ref < 0.1


def test_indip_bout_cadence_is_a_stride_mean_not_steps_over_time(lab_recordings):
    # Why the lower-back target is out of reach (bench/RESULTS.md): INDIP's bout cadence
    # is the mean of 120 / stride time over its own contacts, a stride across a turn or a pause
    # included, while the scoring rule divides steps by time. Where no contact was dropped the two
    # definitions can be told apart exactly.
    stride_mean = rule = 0
    for rec in lab_recordings:
        for bout in rec.reference_bouts:
            ic = bout.ic_times_s
            if abs(cadence_spm(ic, method="stride-mean") - bout.cadence_spm) < 0.05:
                stride_mean += 1
            if abs(cadence_spm(ic) - bout.cadence_spm) < 0.05:
                rule += 1
    assert stride_mean >= 7 and rule == 0


def test_lower_back_straight_walks_are_accurate(lab_recordings):
    # Test5 is straight walking: cadence within 2 % of the reference.
    for rec in (r for r in lab_recordings if r.test == "Test5"):
        det = LowerBackStepDetector().detect(rec.acc_m_s2, sampling_rate_hz=100).ic_times_s_
        (bout,) = rec.reference_bouts
        s = score_bout(det, start_s=bout.start_s, end_s=bout.end_s, reference_cadence_spm=bout.cadence_spm, n_reference=9)
        assert s.abs_rel_error < 0.02, rec.recording_id


def test_analyze_gait_finds_the_reference_bouts(lab_recordings):
    rec = next(r for r in lab_recordings if r.recording_id == "HA/001/Test11/Trial1")
    result = analyze_gait(rec.acc_m_s2, sampling_rate_hz=100)
    for bout in rec.reference_bouts:
        mid = 0.5 * (bout.start_s + bout.end_s)
        assert any(b.start_s <= mid <= b.end_s for b in result.bouts), bout.start_s


@pytest.mark.parametrize("rate_hz", [204.8, 100.0, 50.0])
def test_foot_against_motion_capture(foot_recording, rate_hz):
    biases, cad_errors = [], []
    for side in ("left", "right"):
        acc, gyr = foot_recording.acc_m_s2[side], foot_recording.gyr_deg_s[side]
        if rate_hz != foot_recording.sampling_rate_hz:
            n = int(acc.shape[-1] * rate_hz / foot_recording.sampling_rate_hz)
            acc, gyr = signal.resample(acc, n, axis=-1), signal.resample(gyr, n, axis=-1)
        det = FootStepDetector().detect(acc, sampling_rate_hz=rate_hz, gyr_deg_s=gyr).ic_times_s_
        ref = foot_recording.reference_ic_times_s[side]
        # Motion capture covers the walk only; the final steps to a halt have no reference.
        m = match_contacts(contacts_in_window(det, ref[0] - 0.25, ref[-1] + 0.25), ref)
        assert m.f1 > 0.95
        biases.append(np.mean(m.timing_errors_s))
        assert np.std(m.timing_errors_s) < 0.015
        for start_s, end_s in detect_walking_bouts(ref, max_step_s=2.0):
            ref_cad = cadence_spm(contacts_in_window(ref, start_s, end_s))
            got = cadence_spm(contacts_in_window(det, start_s - 0.05, end_s + 0.05))
            cad_errors.append(abs(got - ref_cad) / ref_cad)
    assert np.max(np.abs(biases)) < 0.020  # issue target: |bias| <= 20 ms against mocap
    assert np.mean(cad_errors) < 0.005  # issue target: cadence error <= 0.5 %


def test_foot_analysis_one_foot_cadence(foot_recording):
    right = analyze_gait(
        foot_recording.acc_m_s2["right"],
        sampling_rate_hz=foot_recording.sampling_rate_hz,
        placement="foot",
        gyr_deg_s=foot_recording.gyr_deg_s["right"],
    )
    assert len(right.bouts) >= 1
    assert all("one_foot_cadence_from_strides" in b.flags for b in right.bouts)
    main = max(right.bouts, key=lambda b: b.n_steps)
    assert main.cadence_spm == pytest.approx(110, rel=0.03)  # README: ~110 steps/min


def test_two_feet_asymmetry_against_motion_capture(foot_recording):
    from cadenza.gait import combine_feet, step_time_asymmetry

    parts = {
        side: analyze_gait(
            foot_recording.acc_m_s2[side],
            sampling_rate_hz=foot_recording.sampling_rate_hz,
            placement="foot",
            gyr_deg_s=foot_recording.gyr_deg_s[side],
        )
        for side in ("left", "right")
    }
    both = combine_feet(parts["left"], parts["right"])
    main = max(both.bouts, key=lambda b: b.n_steps)
    ref_t = np.concatenate([foot_recording.reference_ic_times_s[s] for s in ("left", "right")])
    ref_sides = np.array(["left"] * 29 + ["right"] * 30)
    order = np.argsort(ref_t)
    ref_asym = step_time_asymmetry(ref_t[order], ref_sides[order])
    assert main.n_steps >= 55
    assert abs(main.asymmetry - ref_asym) < 0.02  # a healthy walker: both near 1 %
    assert set(main.ic_sides) == {"left", "right"}


def test_combine_feet_refuses_other_placements(lab_recordings):
    from cadenza.errors import ParameterError
    from cadenza.gait import combine_feet

    rec = lab_recordings[0]
    back = analyze_gait(rec.acc_m_s2, sampling_rate_hz=100)
    with pytest.raises(ParameterError, match="left"):
        combine_feet(back, back)
