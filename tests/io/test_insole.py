"""Loading force-insole recordings: gaitpdb text and per-foot force CSVs."""

import numpy as np
import pytest

from cadenza.errors import DataQualityError, ParameterError
from cadenza.io.insole import load_insole, looks_like_gaitpdb, parse_force_csv, parse_gaitpdb


def _gaitpdb_text(n=50):
    rows = []
    for i in range(n):
        left = [float(i % 7)] * 8
        right = [float(i % 5)] * 8
        rows.append("\t".join(f"{x:g}" for x in [i / 100, *left, *right, sum(left), sum(right)]))
    return "\r\n".join(rows) + "\r\n"


def test_gaitpdb_text_is_recognised_and_read():
    text = _gaitpdb_text()
    assert looks_like_gaitpdb(text)
    rec = parse_gaitpdb(text, source="x.txt")
    assert rec.sampling_rate_hz == pytest.approx(100.0)
    assert rec.left_force_n.size == 50 and rec.sensors_n["right"].shape == (8, 50)
    assert rec.right_force_n[3] == 24.0


def test_gaitpdb_errors_name_the_line():
    lines = _gaitpdb_text().splitlines()
    lines[4] = lines[4].replace("\t", "\tx", 1)
    with pytest.raises(DataQualityError, match="line 5, column 2"):
        parse_gaitpdb("\n".join(lines))
    with pytest.raises(DataQualityError, match="line 2 has 3 columns"):
        parse_gaitpdb(lines[0] + "\n1\t2\t3\n")


def test_force_csv_totals_units_and_sensor_sums(tmp_path):
    rec = parse_force_csv("time_ms,left_force_kg,right_force_kg\n0,10,0\n10,20,1\n20,30,2\n")
    assert rec.sampling_rate_hz == pytest.approx(100.0)
    np.testing.assert_allclose(rec.left_force_n, [98.0665, 196.133, 294.1995])
    summed = parse_force_csv("L_heel,L_toe,R_heel,R_toe\n1,2,3,4\n5,6,7,8\n", sampling_rate_hz=50)
    np.testing.assert_allclose(summed.right_force_n, [7, 15])
    assert any("newtons" in n for n in summed.notes)
    path = tmp_path / "walk.csv"
    path.write_text("time_s,left_force_n,right_force_n\n0,1,2\n0.01,3,4\n")
    assert load_insole(path).file_format == "csv"


def test_force_csv_bad_input_is_named():
    with pytest.raises(DataQualityError, match="no right force column"):
        parse_force_csv("time_s,left_force_n\n0,1\n0.01,2\n")
    with pytest.raises(DataQualityError, match="line 3, column 'left_force_n' is 'abc'"):
        parse_force_csv("time_s,left_force_n,right_force_n\n0,1,2\n0.01,abc,3\n")
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        parse_force_csv("left_force_n,right_force_n\n1,2\n3,4\n")
    with pytest.raises(DataQualityError, match="uneven sampling"):
        parse_force_csv("time_s,left_force_n,right_force_n\n0,1,2\n0.01,1,2\n0.02,1,2\n0.5,1,2\n")
    with pytest.raises(DataQualityError, match="NaN"):
        parse_force_csv("time_s,left_force_n,right_force_n\n0,1,2\n0.01,nan,2\n")
    with pytest.raises(ParameterError, match="does not exist"):
        load_insole("/nonexistent/walk.csv")
