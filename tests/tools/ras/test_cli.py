"""`cadenza ras ...`: plan, cue (click and music), sync, with --json."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from typer.testing import CliRunner

from cadenza.cli.main import app
from cadenza.io.audio import load_audio
from cadenza.render.clicks import find_cue_onsets_idx

runner = CliRunner()


def test_plan_json_names_evidence():
    result = runner.invoke(app, ["ras", "plan", "--cadence", "96", "--condition", "stroke", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [s["tempo_bpm"] for s in payload["stages"]] == [96.0, 100.8]  # stroke: +5 % until symmetry is checked
    assert {e["doi"] for e in payload["evidence"]} == {"10.1002/mds.870110213", "10.1002/14651858.CD006787.pub3",
                                                       "10.1038/s41598-019-38723-3"}


def test_w11_w12_plan_allows_a_daily_dose_and_stroke_above_five_percent_only_when_checked():
    daily = runner.invoke(app, ["ras", "plan", "--cadence", "96", "--condition", "parkinsons", "--per-week", "7"])
    assert daily.exit_code == 0, daily.output
    assert "Thaut 1996 used daily 30-min home sessions" in " ".join(daily.output.split())
    assert "Project convention" in daily.output  # U1, in the command's output too
    refused = runner.invoke(app, ["ras", "plan", "--cadence", "96", "--condition", "stroke", "--max", "10"])
    assert refused.exit_code == 2 and "step_time_asymmetry" in refused.output
    checked = runner.invoke(app, ["ras", "plan", "--cadence", "96", "--condition", "stroke", "--max", "10",
                                  "--symmetry-checked", "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["stages"][-1]["tempo_bpm"] == 105.6


def test_plan_refuses_beyond_twelve_percent():
    result = runner.invoke(app, ["ras", "plan", "--cadence", "96", "--max", "20"])
    assert result.exit_code == 2 and "12 %" in result.output


def test_click_cue_written_and_verified(tmp_path):
    out = tmp_path / "cue.wav"
    result = runner.invoke(app, ["ras", "cue", "--ramp", "96:104", "--minutes", "1", "--rate", "48000",
                                 "--accent", "4", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["verification"]["max_error_samples"] == 0
    audio = load_audio(out)
    assert audio.sampling_rate_hz == 48_000 and audio.samples.size == 60 * 48_000
    # Re-read from the decoded 16-bit file: still one onset per beat, and the beats speed up.
    onsets = find_cue_onsets_idx(audio.samples, sampling_rate_hz=48_000)
    assert onsets.size == payload["beats"]
    assert 60 * 48_000 / np.diff(onsets)[0] < 97 and 60 * 48_000 / np.diff(onsets)[-1] > 103


def test_music_cue_ogg(tmp_path, shared_data):
    song = shared_data("music") / "audio" / "dev035.flac"
    out = tmp_path / "cue.ogg"
    result = runner.invoke(app, ["ras", "cue", "--bpm", "150", "--minutes", "0.75", "--music", str(song),
                                 "--overlay", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["mode"] == "music" and payload["verification"]["method"] == "beat tracker"
    assert payload["verification"]["median_error_ms"] < 20
    assert abs(load_audio(out).duration_s - 45) < 0.05


def test_sync_from_files_with_plot(tmp_path):
    beats = np.arange(0, 40, 0.6)
    steps = beats[3:60] - 0.035 + 0.05  # heard through 50 ms of output latency
    (tmp_path / "steps.txt").write_text("\n".join(f"{t:.4f}" for t in steps))
    (tmp_path / "beats.txt").write_text("\n".join(f"{t:.4f}" for t in beats))
    png = tmp_path / "sync.png"
    result = runner.invoke(app, ["ras", "sync", "--steps", str(tmp_path / "steps.txt"), "--beats",
                                 str(tmp_path / "beats.txt"), "--latency-ms", "50", "--plot", str(png), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)["summary"]
    assert abs(summary["mean_asynchrony_ms"] + 35) < 0.01 and summary["resultant_length"] > 0.999
    assert png.read_bytes()[:4] == b"\x89PNG"
    table = runner.invoke(app, ["ras", "sync", "--steps", str(tmp_path / "steps.txt"), "--bpm", "100"])
    assert table.exit_code == 0 and "R = " in table.output


def test_sync_has_the_pages_input_rules(tmp_path):
    """At least 8 steps and a cue of 20-250 BPM, as on the page (tools/ras/actions.py)."""
    (tmp_path / "few.txt").write_text("1.0\n1.6\n2.2\n")
    (tmp_path / "steps.txt").write_text("\n".join(f"{0.3 + 0.6 * k:.2f}" for k in range(20)))
    few = runner.invoke(app, ["ras", "sync", "--steps", str(tmp_path / "few.txt"), "--bpm", "100"])
    assert few.exit_code == 2 and "at least 8" in few.output
    fast = runner.invoke(app, ["ras", "sync", "--steps", str(tmp_path / "steps.txt"), "--bpm", "400"])
    assert fast.exit_code == 2 and "tempo_bpm" in fast.output


def test_cue_tempo_options(tmp_path):
    result = runner.invoke(app, ["ras", "cue", "--minutes", "1", "-o", str(tmp_path / "x.wav")])
    assert result.exit_code == 2 and "--bpm, or --ramp" in result.output
    both = runner.invoke(app, ["ras", "cue", "--bpm", "104", "--ramp", "96:104", "--minutes", "0.5",
                               "-o", str(tmp_path / "r.wav"), "--json"])
    assert both.exit_code == 0, both.output
    payload = json.loads(both.output)
    assert payload["first_tempo_bpm"] < 97 and payload["last_tempo_bpm"] > 103
    clash = runner.invoke(app, ["ras", "cue", "--bpm", "110", "--ramp", "96:104", "--minutes", "0.5",
                                "-o", str(tmp_path / "c.wav")])
    assert clash.exit_code == 2 and "end tempo" in clash.output


def test_importing_the_group_stays_light():
    code = ("import sys; import cadenza.tools.ras.cli; "
            "print(any(m in sys.modules for m in ('librosa', 'matplotlib.pyplot', 'cadenza.ras.sync', 'scipy.signal')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plan_from_the_clients_latest_cadence_is_stored(command_db):
    import datetime as dt

    from cadenza.clinic import service
    from cadenza.clinic.db import session_scope
    from cadenza.clinic.service import MeasurementInput
    from cadenza.tools.ras import records as ras_records

    factory, client_id = command_db.factory, command_db.client_id
    with session_scope(factory) as db:
        me = service.get_therapist_by_username(db, "ana")
        service.record_session(db, actor=me, client_id=client_id, session_date=dt.date(2026, 11, 20), minutes=30,
                               intervention_code="ras_gait_training", measurements=[MeasurementInput("cadence", value=88.0)])
    result = runner.invoke(app, ["ras", "plan", "--store-client", str(client_id), "--as", "ana", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["baseline_cadence_spm"] == 88.0 and payload["stored"].startswith("stored plan")
    with session_scope(factory) as db:
        me = service.get_therapist_by_username(db, "ana")
        [row] = ras_records.list_ras_plans(db, actor=me, client_id=client_id)
        assert row.baseline_cadence_spm == 88.0
