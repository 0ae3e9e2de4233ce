import json
import re
import subprocess
import sys

import numpy as np
from typer.testing import CliRunner

from cadenza.cli.main import app
from cadenza.io.imu import save_imu_csv

runner = CliRunner()


def _walk_csv(tmp_path, rng, make_lower_back, make_walk):
    ic = np.concatenate([make_walk(start_s=2.0, n_steps=20, step_s=0.55, rng=rng),
                         make_walk(start_s=20.0, n_steps=5, step_s=0.6, rng=rng)])
    acc = make_lower_back(ic, duration_s=26.0, sampling_rate_hz=100, rng=rng)
    return save_imu_csv(tmp_path / "walk.csv", acc, sampling_rate_hz=100), ic


def test_analyze_json(tmp_path, rng, make_lower_back, make_walk):
    path, ic = _walk_csv(tmp_path, rng, make_lower_back, make_walk)
    result = runner.invoke(app, ["gait", "analyze", str(path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    bouts = payload["walking_bouts"]
    assert len(bouts) == 2
    assert abs(bouts[0]["cadence_spm"] - 60 / 0.55) < 1.5
    assert bouts[1]["flags"] == ["low_confidence_few_steps"]
    assert len(payload["ic_times_s"]) == ic.size
    assert abs(payload["cadence_spm"] - 60 / 0.55) < 1.5  # the 5-step bout is left out
    assert {"start_s", "end_s", "ic_times_s", "n_steps", "step_time_cv"} <= set(bouts[0])


def test_analyze_table_and_plot(tmp_path, rng, make_lower_back, make_walk):
    path, _ = _walk_csv(tmp_path, rng, make_lower_back, make_walk)
    png = tmp_path / "steps.png"
    result = runner.invoke(app, ["gait", "analyze", str(path), "--plot", str(png)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "cadence" in result.output and "low_confidence" in result.output
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_analyze_bad_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n1,2,3\n")
    result = runner.invoke(app, ["gait", "analyze", str(bad)])
    assert result.exit_code == 2
    assert "no acceleration" in result.output


def test_speed():
    result = runner.invoke(app, ["gait", "speed", "--distance-m", "10", "--time-s", "8", "--json"])
    assert json.loads(result.output)["gait_speed_m_s"] == 1.25
    assert runner.invoke(app, ["gait", "speed", "--time-s", "0"]).exit_code == 2


def test_h2_speed_defaults_to_the_middle_six_metres():
    # The review's case: 7 s over the 10-metre walk test is 0.86 m/s (6 m timed), not 1.43 m/s.
    payload = json.loads(runner.invoke(app, ["gait", "speed", "--time-s", "7", "--json"]).output)
    assert (payload["distance_m"], payload["gait_speed_m_s"]) == (6.0, 0.857)
    text = runner.invoke(app, ["gait", "speed", "--time-s", "7"]).output
    assert "0.86 m/s" in text and "timed over 6 m" in text


def test_help_does_not_import_heavy_modules():
    code = "import sys; import cadenza.tools.gait.cli; print(any(m in sys.modules for m in ('matplotlib.pyplot', 'mobgap', 'scipy.signal', 'cadenza.gait')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_store_on_a_session(tmp_path, monkeypatch, rng, make_lower_back, make_walk):
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    password = "a perfectly long passphrase\n"
    assert runner.invoke(app, ["admin", "create", "ana", "--password-stdin"], input=password).exit_code == 0
    env = {"CADENZA_USER": "ana", "COLUMNS": "200"}
    assert runner.invoke(app, ["client", "add", "C1"], env=env).exit_code == 0
    made = runner.invoke(
        app, ["client", "session", "C1", "--minutes", "30", "--intervention", "ras_gait_training"], env=env
    )
    assert made.exit_code == 0, made.output
    path, _ = _walk_csv(tmp_path, rng, make_lower_back, make_walk)
    stored = runner.invoke(app, ["gait", "analyze", str(path), "--store-session", "1"], env=env)
    assert stored.exit_code == 0, stored.output
    value = float(re.search(r"stored cadence ([0-9.]+)", stored.output).group(1))
    assert abs(value - 60 / 0.55) < 1.0
    speed = runner.invoke(app, ["gait", "speed", "--time-s", "9", "--store-session", "1"], env=env)
    assert "stored gait speed 0.667 m/s (timed over 6 m)" in speed.output  # the 10MWT's middle 6 m (review H2)
    shown = runner.invoke(app, ["client", "show", "C1"], env=env)
    assert "cadence" in shown.output and "gait_speed=0.667 (timed over 6 m)" in shown.output
    missing = runner.invoke(app, ["gait", "speed", "--time-s", "9", "--store-session", "99"], env=env)
    assert missing.exit_code == 1


def _freeze_csv(tmp_path, rng, *, unit="m_s2"):
    """A shank CSV: walking (1 Hz stride, 2 Hz steps), a 10-s tremble in place at 6 Hz, walking again."""
    fs = 64.0
    t = np.arange(int(150 * fs)) / fs
    walking = np.vstack([2 * np.sin(2 * np.pi * t), 3 * np.sin(2 * np.pi * 2 * t), 0.8 * np.sin(2 * np.pi * t)])
    tremble = np.vstack([0.3 * np.sin(2 * np.pi * t), 2 * np.sin(2 * np.pi * 6 * t), 0.5 * np.sin(2 * np.pi * 5 * t)])
    frozen = (t >= 100) & (t < 110)
    acc = np.where(frozen, tremble, walking) + rng.normal(0, 0.05, (3, t.size))
    acc[1] += 9.81
    return save_imu_csv(tmp_path / "shank.csv", acc, sampling_rate_hz=fs)


def test_freeze_json_on_a_csv(tmp_path, rng):
    path = _freeze_csv(tmp_path, rng)
    result = runner.invoke(app, ["gait", "freeze", str(path), "--placement", "shank", "--json", "--scores"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["episode_count"] == 1 and len(payload["freeze_intervals_s"]) == 1
    start, end = payload["freeze_intervals_s"][0]
    assert 100 < start <= 101.5 and 110 < end <= 113.5
    assert payload["time_frozen_s"] == round(end - start, 3)
    assert payload["placements"] == ["shank"] and payload["method"] == "detector"
    assert len(payload["window_times_s"]) == len(payload["window_scores"]) > 0


def test_freeze_baseline_and_the_default_placement_note(tmp_path, rng):
    path = _freeze_csv(tmp_path, rng)
    result = runner.invoke(app, ["gait", "freeze", str(path), "--method", "freeze-index", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["method"] == "freeze-index" and payload["episode_count"] == 1
    assert any("taken as worn on the shank" in n for n in payload["notes"])
    assert "window_scores" not in payload


def test_freeze_on_a_daphnet_file(shared_data):
    path = shared_data("gait", "daphnet") / "S03R02.txt"
    result = runner.invoke(app, ["gait", "freeze", str(path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["placements"] == ["shank", "thigh", "lower-back"] and payload["sampling_rate_hz"] == 64.0
    assert len(payload["annotated_freeze_intervals_s"]) == 6
    detected = payload["freeze_intervals_s"]
    # every annotated freeze of this run is overlapped by a detection that began at most 2 s before it
    for onset, end in payload["annotated_freeze_intervals_s"]:
        assert any(s < end and e > onset and s >= onset - 2 for s, e in detected)
    table = runner.invoke(app, ["gait", "freeze", str(path), "--placement", "lower-back"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "annotated in the file: 6 episode(s)" in table.output


def test_freeze_errors_are_one_line(tmp_path):
    result = runner.invoke(app, ["gait", "freeze", str(tmp_path / "missing.txt")])
    assert result.exit_code == 2 and "does not exist" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,acc_x,acc_y,acc_z\n0,0,1,0\n0.01,0,1,0\n")
    result = runner.invoke(app, ["gait", "freeze", str(bad), "--acc-unit", "m/s^2", "--json"])
    assert result.exit_code == 2 and "g" in result.output


def _insole_csv(tmp_path, rng, make_insole_walk):
    hs_l = np.arange(1.0, 30.0, 1.1)
    left, right = make_insole_walk(hs_l, hs_l + 0.45, stance_s=(0.7, 0.62), duration_s=31, rng=rng)
    path = tmp_path / "insoles.csv"
    rows = "\n".join(f"{i / 100:.2f},{a:.1f},{b:.1f}" for i, (a, b) in enumerate(zip(left, right, strict=True)))
    path.write_text("time_s,left_force_n,right_force_n\n" + rows + "\n")
    return path


def test_analyze_insole_csv_and_gaitpdb_json(tmp_path, rng, make_insole_walk, shared_data):
    result = runner.invoke(app, ["gait", "analyze", str(_insole_csv(tmp_path, rng, make_insole_walk)),
                                 "--placement", "insole", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["file_format"] == "csv" and payload["left"]["n_contacts"] == 27
    assert abs(payload["stride_time_s"] - 1.1) < 0.005
    # Left swing 0.40 s, right 0.48 s: 100 |ln(0.48 / 0.40)| = 18.2 %.
    assert abs(payload["swing_asymmetry_pct"] - 18.2) < 2.5
    assert "Yogev" in payload["published_values"]["swing_asymmetry_pct"]["source"]
    record = shared_data("gait", "gaitpdb") / "SiCo03_01.txt"
    pdb = json.loads(runner.invoke(app, ["gait", "analyze", str(record), "--placement", "insole", "--json"]).output)
    assert pdb["file_format"] == "gaitpdb" and abs(pdb["cadence_spm"] - 115.4) < 2
    table = runner.invoke(app, ["gait", "analyze", str(record), "--placement", "insole"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "swing asymmetry" in table.output
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,left_force_n\n0,1\n0.01,2\n")
    failed = runner.invoke(app, ["gait", "analyze", str(bad), "--placement", "insole"])
    assert failed.exit_code == 2 and "right" in failed.output
