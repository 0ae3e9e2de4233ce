"""`cadenza nicu` end to end: flags change behaviour, renders stay within limits."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from sqlalchemy import select

from cadenza.clinic.db import make_engine, make_session_factory, session_scope
from cadenza.clinic.models import Measurement
from cadenza.io.audio import load_audio, save_audio
from cadenza.nicu.limits import NICU_LIMITS, check_limits
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import DEFAULT_CALIBRATION, Calibration
from cadenza.settings import Settings
from cadenza.tools.nicu import records


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


def test_trauma_flag_caution_in_outputs(run, tmp_path):
    out = as_json(run("nicu", "womb", "--minutes", "0.2", "-o", tmp_path / "w.wav", "--flag", "trauma_history",
                      "--json"))
    assert out["policy"]["caution_emotional_material"] is True


def test_a_client_without_the_nicu_flag_gets_nicu_limits_and_a_note(clinic, tmp_path):
    out = clinic("nicu", "womb", "--minutes", "0.2", "-o", tmp_path / "w.wav", "--client", "A001")
    assert out.exit_code == 0, out.output
    assert "A001 has no nicu_infant flag; NICU limits applied anyway" in out.output
    assert check_limits(measured(tmp_path / "w.wav", DEFAULT_CALIBRATION)) == ()


def test_lullaby_log_dose_and_pal_save(clinic, tmp_path):
    out = as_json(clinic("nicu", "lullaby", "--minutes", "0.2", "-o", tmp_path / "l.wav", "--client", "N001",
                         "--log-dose", "--json"))
    dose = as_json(clinic("safety", "dose", "--client", "N001", "--json"))
    assert dose["entries_counted"] == 1 and dose["mode"] == "sensitive" and dose["dose_percent"] < 0.01
    vitals = tmp_path / "v.csv"
    vitals.write_text("time_s,heart_rate_bpm,spo2_pct,respiratory_rate_bpm,cue\n"
                      + "".join(f"{t},150,{96 if t < 40 else 80},45,\n" for t in range(90)))
    pal = as_json(clinic("nicu", "pal", "--simulate", "--minutes", "2", "--vitals", vitals, "--client", "N001",
                         "--save", "--json"))
    assert pal["stopped_early"] and pal["duration_s"] == pytest.approx(45.0)
    assert [e["action"] for e in pal["stop_events"]][:2] == ["start", "pause"]
    assert out["client"] == "N001"
    assert clinic("nicu", "lullaby", "--minutes", "0.2", "-o", tmp_path / "l.wav", "--log-dose").exit_code == 2


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
    r = run("nicu", "pal")
    assert r.exit_code == 2 and "--simulate" in r.output
    r = run("nicu", "womb", "-o", tmp_path / "x.wav", "--flag", "epilepsy")
    assert r.exit_code == 2 and "unknown safety flag" in r.output


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
    shown = as_json(clinic("nicu", "thresholds", "--client", "N001", "--json"))
    assert shown["hr_min_bpm"] == 110.0 and shown["hr_max_bpm"] == 180.0 and shown["notes"] == []


def test_runs_are_stored_on_a_session_of_the_infant(clinic, tmp_path):
    """``--session ID`` links a saved stop-rule run or PAL session to a therapy session; the PAL rate then
    becomes a measurement there."""
    session = clinic("client", "session", "N001", "--date", "2026-11-25", "--minutes", "15", "--intervention",
                     "nicu_pal")
    assert session.exit_code == 0, session.output
    session_id = int(re.search(r"Recorded session (\d+)", session.output).group(1))
    vitals = tmp_path / "v.csv"
    vitals.write_text("time_s,heart_rate_bpm,spo2_pct,respiratory_rate_bpm,cue\n"
                      + "".join(f"{t},150,96,45,\n" for t in range(30)))
    assert clinic("nicu", "monitor", vitals, "--client", "N001", "--save", "--session", session_id).exit_code == 0
    pal = clinic("nicu", "pal", "--simulate", "--minutes", "1", "--client", "N001", "--save", "--session", session_id)
    assert pal.exit_code == 0, pal.output
    unsaved = clinic("nicu", "monitor", vitals, "--client", "N001", "--session", session_id)
    assert unsaved.exit_code == 2 and "--save" in unsaved.output
    elsewhere = clinic("nicu", "monitor", vitals, "--client", "N002", "--save", "--session", session_id)
    assert elsewhere.exit_code == 1 and "session" in elsewhere.output
    engine = make_engine(Settings.from_env().database_url)
    try:
        with session_scope(make_session_factory(engine)) as db:
            logged = db.scalars(select(records.NicuStopLog.session_id)).all()
            kept = db.scalars(select(records.PalSessionSummary.session_id)).all()
            rates = db.scalars(select(Measurement.instrument_code).where(Measurement.session_id == session_id)).all()
    finally:
        engine.dispose()
    assert set(logged) == {session_id} and kept == [session_id] and rates == ["pal_sucks_per_min"]


def test_m1_u8_cli_records_age_gates_pal_and_prints_the_recorded_sound_caveat(clinic, tmp_path):
    defaults = clinic("nicu", "thresholds", "--client", "N002")  # nothing stored: the defaults and their sources (U6)
    assert "rr_max_bpm: project convention" in " ".join(defaults.output.split())
    womb = clinic("nicu", "womb", "--minutes", "0.1", "-o", tmp_path / "w.wav")
    assert womb.exit_code == 0 and "Recorded, not live" in " ".join(womb.output.split())
    age = as_json(clinic("nicu", "age", "--client", "N001", "--ga", "30+0", "--pma", "32+3", "--json"))
    assert age["gestational_age_at_birth"] == "30+0" and not age["pal_allowed_without_override"]
    refused = clinic("nicu", "pal", "--simulate", "--minutes", "0.2", "--client", "N001", "--save")
    assert refused.exit_code != 0 and "override_reason" in refused.output
    kept = as_json(clinic("nicu", "pal", "--simulate", "--minutes", "0.2", "--client", "N001", "--save",
                          "--override-reason", "trial ordered by the neonatologist", "--json"))
    assert "Standley" in kept["pal_age_note"]
