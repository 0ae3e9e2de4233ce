import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadenza.errors import DataQualityError, ParameterError
from cadenza.io.imu import load_imu_csv, save_imu_csv

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _signal(n: int, rng) -> np.ndarray:
    acc = rng.normal(0, 0.5, (3, n))
    acc[2] += 9.81
    return acc


@given(rate_hz=st.sampled_from([30.0, 50.0, 100.0, 204.8]), n=st.integers(20, 400))
@SETTINGS
def test_round_trip(tmp_path, rng, rate_hz, n):
    acc, gyr = _signal(n, rng), rng.normal(0, 50, (3, n))
    path = save_imu_csv(tmp_path / "r.csv", acc, sampling_rate_hz=rate_hz, gyr_deg_s=gyr)
    rec = load_imu_csv(path)
    assert rec.sampling_rate_hz == pytest.approx(rate_hz, rel=1e-6)
    np.testing.assert_allclose(rec.acc_m_s2, acc, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rec.gyr_deg_s, gyr, rtol=1e-6, atol=1e-5)
    assert rec.notes == ()


def _write(path, header, rows):
    path.write_text(header + "\n" + "\n".join(",".join(f"{v:.9g}" for v in row) for row in rows) + "\n")
    return path


def test_g_units_detected_and_converted(tmp_path, rng):
    acc_g = _signal(200, rng) / 9.81
    path = _write(tmp_path / "g.csv", "ax,ay,az", acc_g.T)
    rec = load_imu_csv(path, sampling_rate_hz=50)
    assert any("detected as g" in note for note in rec.notes)
    np.testing.assert_allclose(rec.acc_m_s2, acc_g * 9.80665, rtol=1e-6)


def test_declared_units_must_match_data(tmp_path, rng):
    path = _write(tmp_path / "d.csv", "acc_x_m_s2,acc_y_m_s2,acc_z_m_s2", (_signal(100, rng) / 9.81).T)
    with pytest.raises(ParameterError, match="looks like g"):
        load_imu_csv(path, sampling_rate_hz=50)


def test_ambiguous_units_raise(tmp_path, rng):
    path = _write(tmp_path / "mg.csv", "acc_x,acc_y,acc_z", (_signal(100, rng) * 100).T)  # milli-g-ish
    with pytest.raises(DataQualityError, match="acc_unit"):
        load_imu_csv(path, sampling_rate_hz=50)


def test_rad_s_converted(tmp_path, rng):
    n = 100
    rows = np.column_stack([np.arange(n) / 100, _signal(n, rng).T, np.full((n, 3), np.pi)])
    path = _write(tmp_path / "r.csv", "time_s,acc_x,acc_y,acc_z,gyr_x_rad_s,gyr_y_rad_s,gyr_z_rad_s", rows)
    rec = load_imu_csv(path)
    np.testing.assert_allclose(rec.gyr_deg_s, 180.0)


def test_gap_becomes_nan_and_is_reported(tmp_path, rng):
    t = np.delete(np.arange(500) / 100, np.arange(200, 260))
    rows = np.column_stack([t * 1000, _signal(t.size, rng).T])
    path = _write(tmp_path / "gap.csv", "time_ms,acc_x,acc_y,acc_z", rows)
    rec = load_imu_csv(path)
    assert rec.sampling_rate_hz == pytest.approx(100)
    assert rec.acc_m_s2.shape == (3, 500)
    nan = np.isnan(rec.acc_m_s2[0])
    assert nan.sum() == 60 and nan[200:260].all()  # exactly the missing samples, never interpolated
    assert any("gap" in note for note in rec.notes)


def test_a_gap_that_would_dwarf_the_rows_is_refused_before_regridding(tmp_path, rng):
    # 200 rows at 100 Hz, then one row 10^7 s later (a time unit slip): 10^9 samples, mostly NaN.
    t = np.append(np.arange(200) / 100, 1e7)
    rows = np.column_stack([t, _signal(t.size, rng).T])
    with pytest.raises(DataQualityError, match="mostly empty"):
        load_imu_csv(_write(tmp_path / "slip.csv", "time_s,acc_x,acc_y,acc_z", rows))
    # A long but plausible gap (a 30-s pause between two walks) is still filled.
    t = np.concatenate([np.arange(1000) / 100, 40 + np.arange(1000) / 100])
    rows = np.column_stack([t, _signal(t.size, rng).T])
    rec = load_imu_csv(_write(tmp_path / "pause.csv", "time_s,acc_x,acc_y,acc_z", rows))
    assert rec.acc_m_s2.shape[1] == 5000 and np.isnan(rec.acc_m_s2[0]).sum() == 3000


def test_jittery_timestamps_are_regridded(tmp_path, rng):
    t = np.arange(300) / 50 + rng.uniform(-0.002, 0.002, 300)
    t[0] = 0.0
    rows = np.column_stack([t, _signal(300, rng).T])
    rec = load_imu_csv(_write(tmp_path / "j.csv", "t,x,y,z", rows))
    assert rec.sampling_rate_hz == pytest.approx(50, rel=0.01)
    assert any("jitter" in note for note in rec.notes)


def test_rate_must_agree_with_timestamps(tmp_path, rng):
    rows = np.column_stack([np.arange(100) / 100, _signal(100, rng).T])
    path = _write(tmp_path / "t.csv", "time,acc_x,acc_y,acc_z", rows)
    with pytest.raises(ParameterError, match="disagrees"):
        load_imu_csv(path, sampling_rate_hz=50)


@pytest.mark.parametrize(
    "text, match, exc",
    [
        ("foo,bar,baz\n1,2,3\n4,5,6\n", "no acceleration", DataQualityError),
        ("acc_x,acc_y,acc_z\n1,2,3\n", "too short", DataQualityError),
        ("acc_x,acc_y,acc_z\n0,0,9.8\n0,oops,9.8\n", "oops", DataQualityError),
        ("time,acc_x,acc_y,acc_z\n0,0,0,9.8\n0.02,0,0,9.8\n0.01,0,0,9.8\n", "do not increase", DataQualityError),
        ("acc_x,acc_y,acc_z\n0,0,9.8\n0,0,9.8\n", "sampling_rate_hz", ParameterError),
        ("", "no rows", DataQualityError),
    ],
)
def test_bad_files(tmp_path, text, match, exc):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(exc, match=match):
        load_imu_csv(path)


def test_missing_file_and_bad_options(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_imu_csv(tmp_path / "none.csv")
    with pytest.raises(ParameterError, match="acc_unit"):
        load_imu_csv(tmp_path / "none.csv", acc_unit="mg")


def test_semicolon_and_empty_cells(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("Acc X (g);Acc Y (g);Acc Z (g)\n0;0;1\n0;;1\n0;0;1\n")
    rec = load_imu_csv(path, sampling_rate_hz=10)
    assert np.isnan(rec.acc_m_s2[1, 1]) and rec.acc_m_s2[2, 0] == pytest.approx(9.80665)
