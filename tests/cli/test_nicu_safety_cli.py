"""`cadenza nicu` and `cadenza safety` end to end: flags change behaviour, renders stay within limits."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from cadenza.io.audio import load_audio, save_audio
from cadenza.nicu.limits import NICU_LIMITS, check_limits
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import Calibration, DEFAULT_CALIBRATION

PASSWORD = "a perfectly long passphrase"


@pytest.fixture
def run(cli):
    return functools.partial(cli, user="ana")


@pytest.fixture
def clinic(run):
    assert run("admin", "create", "ana", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    for code, flags in (("N001", ["nicu_infant"]), ("N002", ["nicu_infant", "seizures"]),
                        ("A001", []), ("H001", ["hearing_loss"]), ("T001", ["trauma_history"])):
        args = ["client", "add", code] + [x for f in flags for x in ("--flag", f)]
        result = run(*args)
        assert result.exit_code == 0, result.output
    return run


def as_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def measured(path, calibration, limits=NICU_LIMITS):
    audio = load_audio(path)
    return measure_levels(audio.samples, sampling_rate_hz=audio.sampling_rate_hz,
                          level_offset_db=calibration.level_offset_db, floor_dba=limits.floor_dba)


def test_nicu_lullaby_file_measured_within_caps(run, tmp_path):
    out = as_json(run("nicu", "lullaby", "--minutes", "0.5", "-o", tmp_path / "l.wav", "--tune", "brahms", "--json"))
    assert out["levels"]["leq_dba"] <= 45.0 and out["autoplay_allowed"] is True
    # the file on disk (16-bit) is measured again, independently
    assert check_limits(measured(tmp_path / "l.wav", DEFAULT_CALIBRATION)) == ()


def test_nicu_womb_with_calibration_and_stricter_cap(run, tmp_path):
    out = as_json(run("nicu", "womb", "--minutes", "0.3", "-o", tmp_path / "w.wav", "--calibration-dba", "66",
                      "--leq-dba", "40", "--json"))
    assert out["levels"]["leq_dba"] <= 40.0 and out["calibration"]["is_default"] is False
    strict = NICU_LIMITS.with_target(leq_dba=40.0)
    assert check_limits(measured(tmp_path / "w.wav", Calibration.from_measurement(66.0)), strict) == ()
    bad = run("nicu", "womb", "-o", tmp_path / "w.wav", "--leq-dba", "55")
    assert bad.exit_code == 2 and "only lower" in bad.output


def test_parent_recording_cleaned_within_limits(run, tmp_path, rng):
    sr = 16_000
    t = np.arange(6 * sr) / sr
    singing = 0.6 * np.sin(2 * np.pi * 300 * t) * (np.sin(np.pi * t) ** 2) + 0.02 * rng.standard_normal(t.size)
    save_audio(tmp_path / "mum.wav", singing, sampling_rate_hz=sr)
    out = as_json(run("nicu", "lullaby", "--parent-recording", tmp_path / "mum.wav", "-o", tmp_path / "p.wav",
                      "--json"))
    assert out["source"] == "parent_recording"
    assert check_limits(measured(tmp_path / "p.wav", DEFAULT_CALIBRATION)) == ()


def test_seizure_flag_no_autoplay_trigger_warning_and_pal_refused(clinic, tmp_path):
    out = as_json(clinic("nicu", "lullaby", "--minutes", "0.2", "-o", tmp_path / "l.wav", "--client", "N002",
                         "--json"))
    assert out["autoplay_allowed"] is False and out["policy"]["autoplay_allowed"] is False
    assert any("trigger" in w for w in out["policy"]["warnings"])
    text = clinic("nicu", "lullaby", "--minutes", "0.2", "-o", tmp_path / "l.wav", "--client", "N002")
    assert "Do not auto-play" in text.output and "triggers" in text.output
    pal = clinic("nicu", "pal", "--simulate", "--minutes", "1", "--client", "N002")
    assert pal.exit_code == 2 and "auto-play" in pal.output
    assert clinic("nicu", "pal", "--simulate", "--minutes", "1", "--client", "N001").exit_code == 0


def test_trauma_flag_caution_in_outputs(clinic, tmp_path):
    text = clinic("safety", "policy", "--client", "T001")
    assert "Trauma history" in text.output and "emotional" in text.output
    out = as_json(clinic("nicu", "womb", "--minutes", "0.2", "-o", tmp_path / "w.wav", "--flag", "trauma_history",
                         "--json"))
    assert out["policy"]["caution_emotional_material"] is True


@pytest.fixture
def loud_track(tmp_path, rng):
    sr = 16_000
    x = 0.4 * rng.standard_normal(4 * sr)  # about 92 dB(A) at the default calibration
    save_audio(tmp_path / "loud.wav", x, sampling_rate_hz=sr)
    return tmp_path / "loud.wav"


def test_hearing_loss_lowers_cap_end_to_end(clinic, loud_track, tmp_path):
    plain = as_json(clinic("safety", "level", loud_track, "--client", "A001", "--json"))
    hl = as_json(clinic("safety", "level", loud_track, "--client", "H001", "--json"))
    assert plain["max_level_dba"] == 85.0 and hl["max_level_dba"] == 75.0 and hl["mode"] == "sensitive"
    assert hl["gain_db_to_cap"] == pytest.approx(plain["gain_db_to_cap"] - 10.0, abs=0.01)
    out = as_json(clinic("safety", "apply", loud_track, "-o", tmp_path / "hl.wav", "--client", "H001", "--json"))
    assert out["levels"]["leq_dba"] <= 75.05
    assert measured(tmp_path / "hl.wav", DEFAULT_CALIBRATION).leq_dba == pytest.approx(75.0, abs=0.1)


def test_nicu_flag_makes_any_track_obey_nicu_limits(clinic, loud_track, tmp_path):
    check = as_json(clinic("safety", "level", loud_track, "--client", "N001", "--json"))
    assert check["within_policy"] is False and check["nicu_problems"]
    out = as_json(clinic("safety", "apply", loud_track, "-o", tmp_path / "n.wav", "--client", "N001", "--json"))
    assert out["nicu_limits"]["leq_dba"] == 45.0
    assert check_limits(measured(tmp_path / "n.wav", DEFAULT_CALIBRATION)) == ()


def test_calibration_changes_estimated_level(clinic, tmp_path):
    assert as_json(clinic("safety", "tone", "-o", tmp_path / "tone.wav", "--seconds", "3", "--json"))["rms_dbfs"] == -20
    before = as_json(clinic("safety", "level", tmp_path / "tone.wav", "--client", "A001", "--json"))
    assert before["level_dba"] == pytest.approx(80.0, abs=0.2) and before["calibrated"] is False
    stored = clinic("safety", "calibrate", "--listener", "A001", "--measured-dba", "68", "--device", "tablet")
    assert stored.exit_code == 0, stored.output
    after = as_json(clinic("safety", "level", tmp_path / "tone.wav", "--client", "A001", "--json"))
    assert after["level_dba"] == pytest.approx(68.0, abs=0.2) and after["calibrated"] is True


def test_dose_ledger_known_answer_and_warning(clinic):
    first = as_json(clinic("safety", "dose", "--listener", "A001", "--add-level-dba", "80", "--add-minutes", "1200",
                           "--json"))
    assert first["dose_percent"] == pytest.approx(50.0, abs=0.01) and first["warning"] is None
    plan = as_json(clinic("safety", "dose", "--listener", "A001", "--plan-level-dba", "80", "--plan-minutes", "1200",
                          "--json"))
    assert plan["planned"]["total_percent_after"] == pytest.approx(100.0, abs=0.01)
    assert "100 %" in plan["planned"]["warning"]
    full = clinic("safety", "dose", "--listener", "A001", "--add-level-dba", "80", "--add-minutes", "1200")
    assert "Warning" in full.output and "100 %" in full.output
    # the same listening counts ~3.2x for the hearing-loss (sensitive) listener
    hl = as_json(clinic("safety", "dose", "--listener", "H001", "--add-level-dba", "75", "--add-minutes", "1200",
                        "--json"))
    assert hl["mode"] == "sensitive" and hl["dose_percent"] == pytest.approx(50.0, abs=0.01)


def test_lullaby_log_dose_and_pal_save(clinic, tmp_path):
    out = as_json(clinic("nicu", "lullaby", "--minutes", "0.2", "-o", tmp_path / "l.wav", "--client", "N001",
                         "--log-dose", "--json"))
    dose = as_json(clinic("safety", "dose", "--listener", "N001", "--json"))
    assert dose["entries_counted"] == 1 and dose["mode"] == "sensitive" and dose["dose_percent"] < 0.01
    vitals = tmp_path / "v.csv"
    vitals.write_text("time_s,heart_rate_bpm,spo2_pct,respiratory_rate_bpm,cue\n"
                      + "".join(f"{t},150,{96 if t < 40 else 80},45,\n" for t in range(90)))
    pal = as_json(clinic("nicu", "pal", "--simulate", "--minutes", "2", "--vitals", vitals, "--client", "N001",
                         "--save", "--json"))
    assert pal["stopped_early"] and pal["duration_s"] == pytest.approx(45.0)
    assert [e["action"] for e in pal["stop_events"]][:2] == ["start", "pause"]
    assert out["client"] == "N001"


def test_pal_contingency_from_cli(run, tmp_path):
    none = as_json(run("nicu", "pal", "--simulate", "--no-sucking", "--minutes", "2", "-o", tmp_path / "pal.wav",
                       "--json"))
    assert none["playback_s"] == 0.0 and none["sucks"] == 0
    assert not np.any(load_audio(tmp_path / "pal.wav").samples)
    some = as_json(run("nicu", "pal", "--simulate", "--minutes", "1", "-o", tmp_path / "pal2.wav", "--json"))
    assert some["playback_s"] > 0 and some["criterion_sucks"] > 0
    assert check_limits(measured(tmp_path / "pal2.wav", DEFAULT_CALIBRATION)) == ()


def test_monitor_from_csv(run, tmp_path):
    vitals = tmp_path / "v.csv"
    vitals.write_text("time_s,heart_rate_bpm,spo2_pct,respiratory_rate_bpm,cue\n"
                      + "".join(f"{t},{150 if t < 30 else 85},96,45,\n" for t in range(60)))
    out = as_json(run("nicu", "monitor", vitals, "--json"))
    assert out["final_state"] == "stopped" and "bradycardia" in out["events"][-1]["reasons"][0]
    relaxed = as_json(run("nicu", "monitor", vitals, "--hr-min-bpm", "80", "--json"))
    assert relaxed["final_state"] == "playing"
    assert run("nicu", "monitor", vitals, "--save").exit_code == 2  # --save needs --client


def test_bad_input_clear_errors(run, tmp_path):
    r = run("nicu", "lullaby", "-o", tmp_path / "x.wav", "--tune", "nope")
    assert r.exit_code == 2 and "tune" in r.output
    r = run("safety", "policy", "--flag", "epilepsy")
    assert r.exit_code == 2 and "unknown safety flag" in r.output
    r = run("nicu", "pal")
    assert r.exit_code == 2 and "--simulate" in r.output
    r = run("safety", "level", tmp_path / "missing.wav")
    assert r.exit_code == 2 and "does not exist" in r.output


def test_per_infant_thresholds_stored_and_used(clinic, tmp_path):
    vitals = tmp_path / "v.csv"
    vitals.write_text("time_s,heart_rate_bpm,spo2_pct,respiratory_rate_bpm,cue\n"
                      + "".join(f"{t},{150 if t < 30 else 105},96,45,\n" for t in range(60)))
    default = as_json(clinic("nicu", "monitor", vitals, "--client", "N001", "--json"))
    assert default["final_state"] == "playing" and "default stop-rule thresholds" in default["notes"][0]
    set_ = as_json(clinic("nicu", "thresholds", "--client", "N001", "--hr-min-bpm", "110", "--json"))
    assert set_["hr_min_bpm"] == 110.0
    stored = as_json(clinic("nicu", "monitor", vitals, "--client", "N001", "--save", "--json"))
    assert stored["final_state"] == "stopped" and stored["notes"] == []
    assert "bradycardia: heart rate 105 < 110" in stored["events"][-1]["reasons"][0]
    refused = clinic("nicu", "thresholds", "--client", "A001", "--hr-min-bpm", "110")
    assert refused.exit_code == 2 and "nicu_infant" in refused.output
    bad = clinic("nicu", "thresholds", "--client", "N001", "--spo2-min-pct", "0.9")
    assert bad.exit_code == 2 and "spo2_min_pct" in bad.output
