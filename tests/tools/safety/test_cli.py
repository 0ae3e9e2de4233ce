"""`cadenza safety` end to end: flags change the policy, calibration the estimated level, listening the dose."""

from __future__ import annotations

import json

import pytest

from cadenza.io.audio import load_audio, save_audio
from cadenza.nicu.limits import NICU_LIMITS, check_limits
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import DEFAULT_CALIBRATION


def as_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def measured(path, calibration, limits=NICU_LIMITS):
    audio = load_audio(path)
    return measure_levels(audio.samples, sampling_rate_hz=audio.sampling_rate_hz,
                          level_offset_db=calibration.level_offset_db, floor_dba=limits.floor_dba)


@pytest.fixture
def loud_track(tmp_path, rng):
    sr = 16_000
    x = 0.4 * rng.standard_normal(4 * sr)  # about 92 dB(A) at the default calibration
    save_audio(tmp_path / "loud.wav", x, sampling_rate_hz=sr)
    return tmp_path / "loud.wav"


def test_trauma_flag_caution_in_outputs(clinic):
    text = clinic("safety", "policy", "--client", "T001")
    assert "Trauma history" in text.output and "emotional" in text.output


def test_policy_from_flags_alone_and_as_json(run):
    out = as_json(run("safety", "policy", "--flag", "seizures", "--flag", "hearing_loss", "--json"))
    assert out["client"] is None and out["flags"] == ["hearing_loss", "seizures"]
    assert out["policy"]["autoplay_allowed"] is False and out["policy"]["max_level_dba"] == 75.0
    assert out["calibration"]["is_default"] is True


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
    stored = clinic("safety", "calibrate", "--client", "A001", "--measured-dba", "68", "--device", "tablet")
    assert stored.exit_code == 0, stored.output
    after = as_json(clinic("safety", "level", tmp_path / "tone.wav", "--client", "A001", "--json"))
    assert after["level_dba"] == pytest.approx(68.0, abs=0.2) and after["calibrated"] is True
    other = as_json(clinic("safety", "level", tmp_path / "tone.wav", "--client", "A001", "--device", "speaker",
                           "--json"))
    assert other["calibrated"] is False  # no calibration was stored for that device
    given = as_json(clinic("safety", "level", tmp_path / "tone.wav", "--calibration-dba", "70", "--json"))
    assert given["level_dba"] == pytest.approx(70.0, abs=0.2) and given["calibrated"] is True


def test_dose_ledger_known_answer_and_warning(clinic):
    first = as_json(clinic("safety", "dose", "--client", "A001", "--add-level-dba", "80", "--add-minutes", "1200",
                           "--json"))
    assert first["dose_percent"] == pytest.approx(50.0, abs=0.01) and first["warning"] is None
    plan = as_json(clinic("safety", "dose", "--client", "A001", "--plan-level-dba", "80", "--plan-minutes", "1200",
                          "--json"))
    assert plan["planned"]["total_percent_after"] == pytest.approx(100.0, abs=0.01)
    assert "100 %" in plan["planned"]["warning"]
    full = clinic("safety", "dose", "--client", "A001", "--add-level-dba", "80", "--add-minutes", "1200")
    assert "Warning" in full.output and "100 %" in full.output
    # the same listening counts ~3.2x for the hearing-loss (sensitive) listener
    hl = as_json(clinic("safety", "dose", "--client", "H001", "--add-level-dba", "75", "--add-minutes", "1200",
                        "--json"))
    assert hl["mode"] == "sensitive" and hl["dose_percent"] == pytest.approx(50.0, abs=0.01)
    alone = clinic("safety", "dose", "--client", "A001", "--add-level-dba", "80")
    assert alone.exit_code == 2 and "go together" in alone.output


def test_the_older_listener_spelling_still_works_but_is_not_shown(clinic):
    """``--client CODE`` names the client in every command; ``--listener`` is kept as a hidden alias."""
    clinic("safety", "dose", "--client", "A001", "--add-level-dba", "80", "--add-minutes", "60")
    old = as_json(clinic("safety", "dose", "--listener", "A001", "--json"))
    new = as_json(clinic("safety", "dose", "--client", "A001", "--json"))
    for key in ("window_start", "window_end"):  # the rolling week ends at each command's own "now"
        old.pop(key), new.pop(key)
    assert old == new and old["listener"] == "A001" and old["entries_counted"] == 1
    assert clinic("safety", "calibrate", "--listener", "A001", "--measured-dba", "70").exit_code == 0
    for command in ("dose", "calibrate"):
        help_text = clinic("safety", command, "--help").output
        assert "--client" in help_text and "--listener" not in help_text
    both = clinic("safety", "dose", "--client", "A001", "--listener", "H001")
    assert both.exit_code == 2 and "different clients" in both.output
    neither = clinic("safety", "dose")
    assert neither.exit_code == 2 and "--client" in neither.output


def test_bad_input_clear_errors(run, tmp_path):
    r = run("safety", "policy", "--flag", "epilepsy")
    assert r.exit_code == 2 and "unknown safety flag" in r.output
    r = run("safety", "level", tmp_path / "missing.wav")
    assert r.exit_code == 2 and "does not exist" in r.output
