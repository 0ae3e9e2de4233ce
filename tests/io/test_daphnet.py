import csv

import numpy as np
import pytest

from cadenza.errors import DataQualityError, ParameterError
from cadenza.io.daphnet import find_daphnet_files, load_daphnet, looks_like_daphnet, parse_daphnet


def _rows(n, *, label=1, start_ms=15, dead_thigh=False):
    out = []
    for i in range(n):
        t = start_ms + int(round(i * 1000 / 64))
        thigh = "0 0 0" if dead_thigh else "10 -1000 5"
        out.append(f"{t} 40 -960 29 {thigh} 3 -1010 2 {label}")
    return out


def test_parse_units_axes_and_placements():
    rec = parse_daphnet("\n".join(_rows(128)), source="S02R01.txt")
    assert rec.sampling_rate_hz == 64.0 and rec.n_samples == 128
    assert set(rec.acc_m_s2) == {"shank", "thigh", "lower-back"}
    assert rec.acc_m_s2["shank"].shape == (3, 128)
    assert rec.acc_m_s2["shank"][1, 0] == pytest.approx(-0.960 * 9.80665)  # vertical, mg -> m/s^2
    assert (rec.subject_id, rec.run_id) == ("S02", "R01")
    assert rec.freeze_episodes_s.shape == (0, 2) and rec.notes == ()


def test_gaps_and_dead_sensors_become_nan_with_a_note():
    rows = _rows(200, dead_thigh=False)
    del rows[50:60]  # ten samples lost
    rows[100] = rows[100].replace("10 -1000 5", "0 0 0")
    rec = parse_daphnet("\n".join(rows))
    assert rec.n_samples == 200
    assert np.all(np.isnan(rec.acc_m_s2["shank"][:, 50:60])) and np.all(rec.annotation[50:60] == -1)
    assert np.isnan(rec.acc_m_s2["thigh"][0, 110]) and np.isfinite(rec.acc_m_s2["shank"][0, 110])
    assert any("missing" in n for n in rec.notes) and any("thigh" in n for n in rec.notes)


def test_freeze_episodes_are_label_2_runs():
    rows = _rows(64 * 10)
    for i in range(128, 256):
        rows[i] = rows[i][:-1] + "2"
    rec = parse_daphnet("\n".join(rows))
    assert rec.freeze_episodes_s.tolist() == [[2.0, 4.0]]
    assert rec.in_protocol.all()


def test_bad_files_say_what_is_wrong(tmp_path):
    with pytest.raises(DataQualityError, match="11"):
        parse_daphnet("1 2 3\n4 5 6")
    with pytest.raises(DataQualityError, match="annotation"):
        parse_daphnet("\n".join(_rows(10, label=3)))
    with pytest.raises(DataQualityError, match="no rows"):
        parse_daphnet("  \n")
    rows = _rows(10)
    rows[5] = rows[4]
    with pytest.raises(DataQualityError, match="does not increase"):
        parse_daphnet("\n".join(rows))
    with pytest.raises(ParameterError, match="does not exist"):
        load_daphnet(tmp_path / "nope.txt")
    with pytest.raises(ParameterError, match="folder"):
        find_daphnet_files(tmp_path / "nope")


def test_looks_like_daphnet(tmp_path):
    path = tmp_path / "S02R01.txt"
    path.write_text("\n".join(_rows(5)) + "\n")
    assert looks_like_daphnet(path) and find_daphnet_files(tmp_path) == [path]
    csv_path = tmp_path / "walk.csv"
    csv_path.write_text("time_s,acc_x,acc_y,acc_z\n0,0,9.8,0\n")
    assert not looks_like_daphnet(csv_path)
    assert load_daphnet(path).n_samples == 5


def test_real_files_match_the_episode_table(shared_data):
    folder = shared_data("gait", "daphnet")
    table = list(csv.DictReader((folder / "freeze_episodes.csv").open()))
    for path in find_daphnet_files(folder):
        rec = load_daphnet(path)
        first_ms = float(path.read_text().split(maxsplit=1)[0])
        rows = [r for r in table if r["file"] == path.name]
        assert rec.freeze_episodes_s.shape[0] == len(rows)
        for (start, end), row in zip(rec.freeze_episodes_s, rows, strict=True):
            assert start == pytest.approx((float(row["onset_ms"]) - first_ms) / 1000, abs=1 / 64)
            assert end - start == pytest.approx(float(row["duration_s"]), abs=1 / 64)
        assert 900 < np.nanmedian(np.linalg.norm(rec.acc_m_s2["shank"], axis=0)) * 1000 / 9.80665 < 1200
    dead = load_daphnet(folder / "S03R03.txt")
    assert np.isnan(dead.acc_m_s2["thigh"][:, dead.in_protocol]).all()
    assert any("inside the protocol" in n for n in dead.notes)
