import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.io.gait_datasets import load_gaitmap_healthy, load_mobgap_lab, load_mobgap_lab_participant


def test_mobgap_lab_layout_and_reference(shared_data):
    recordings = load_mobgap_lab(shared_data("gait", "mobgap_lab"))
    ids = {r.recording_id for r in recordings}
    assert "HA/001/Test11/Trial1" in ids and "HA/002/Test5/Trial2" in ids
    rec = next(r for r in recordings if r.recording_id == "HA/001/Test11/Trial1")
    assert rec.sampling_rate_hz == 100.0
    assert rec.acc_m_s2.shape == (3, 13759)  # README: 137.6 s at 100 Hz, time on the last axis
    # Standing/walking: the vertical (first) axis carries gravity, now in m/s^2.
    assert 8.5 < np.median(rec.acc_m_s2[0]) < 10.5
    assert len(rec.reference_bouts) == 6
    # README: 63 reference ICs; mobgap drops one duplicate contact (76.42 / 76.43 s).
    assert rec.reference_ic_times_s.size == 62
    assert all(np.all(np.diff(b.ic_times_s) > 0) for b in rec.reference_bouts)
    assert all(70 < b.cadence_spm < 110 for b in rec.reference_bouts)
    bout = rec.reference_bouts[1]
    assert bout.start_s == pytest.approx(28.65) and bout.cadence_spm == pytest.approx(81.296, abs=1e-3)
    assert bout.ic_sides[:3] == ("right", "left", "right")


def test_recording_without_reference_bouts(shared_data):
    recordings = load_mobgap_lab_participant(shared_data("gait", "mobgap_lab") / "v1.2.0/data/lab/HA/002/data.mat")
    test5 = [r for r in recordings if r.test == "Test5"]
    assert len(test5) == 2 and all(r.reference_bouts == () for r in test5)
    assert test5[0].reference_ic_times_s.size == 0


def test_nan_reference_contacts_are_dropped(shared_data):
    recordings = load_mobgap_lab_participant(shared_data("gait", "mobgap_lab") / "v1.2.0/data/lab/HA/002/data.mat")
    rec = next(r for r in recordings if r.test == "Test11")
    assert np.all(np.isfinite(rec.reference_ic_times_s))
    assert rec.reference_ic_times_s.size == 46  # README: 46 ICs for HA/002


def test_gaitmap_healthy(shared_data):
    rec = load_gaitmap_healthy(shared_data("gait", "gaitmap_healthy"))
    assert rec.sampling_rate_hz == 204.8
    assert rec.acc_m_s2["left"].shape == (3, 7928)
    assert rec.gyr_deg_s["right"].shape == (3, 7928)
    assert 9.0 < np.median(rec.acc_m_s2["left"][2]) < 10.5  # z up in the foot frame
    both = np.unique(np.concatenate(list(rec.reference_ic_times_s.values())))
    assert both.size == 59  # README: 59 initial contacts, left + right
    steps = np.diff(both)
    assert 60 / np.median(steps[steps < 1.0]) == pytest.approx(110.7, abs=0.1)


def test_missing_paths(tmp_path):
    with pytest.raises(ParameterError, match="data_dir"):
        load_mobgap_lab(tmp_path / "nope")
    with pytest.raises(ParameterError, match="imu_sample.csv"):
        load_gaitmap_healthy(tmp_path)
    assert load_mobgap_lab(tmp_path) == []


def test_incomplete_reference_fields_become_nan_not_errors():
    from cadenza.io.gait_datasets import _reference_bout

    bout = _reference_bout({
        "Start": 1.0, "End": 5.0, "Cadence": np.array([]),
        "InitialContact_Event": np.array([1.0, np.nan, 2.0, 2.6]),
        "InitialContact_LeftRight": np.array(["Left", "Right", "Left", "Right"], dtype=object),
    })
    assert np.isnan(bout.cadence_spm) and bout.n_strides == 0
    assert bout.ic_times_s.tolist() == [1.0, 2.0, 2.6]
    assert bout.ic_sides == ("left", "left", "right")  # the NaN contact's label goes with it
