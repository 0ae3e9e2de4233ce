import json

import pytest
from typer.testing import CliRunner

from cadenza.cli.main import app

runner = CliRunner()


def test_analyze_json_has_the_contour_and_the_notes(sung_wav):
    result = runner.invoke(app, ["sing", "analyze", str(sung_wav([60, 64, 67.3])), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert len(payload["times_s"]) == len(payload["f0_hz"]) > 100
    assert payload["f0_hz"][0] is None  # the silence before the first note
    assert [round(n["pitch_midi"], 1) for n in payload["notes"]] == [60.0, 64.0, 67.3]
    assert payload["score"] is None and payload["voice"]["max_phonation_s"] == pytest.approx(0.5, abs=0.05)


def test_targets_by_name_are_scored(sung_wav):
    result = runner.invoke(app, ["sing", "analyze", str(sung_wav([60, 64, 67.3])), "--target", "C4,E4,G4", "--json"])
    score = json.loads(result.output)["score"]
    assert score["target_midi"] == [60.0, 64.0, 67.0]
    assert score["cents_error"] == pytest.approx([0, 0, 30], abs=3)
    assert score["within_50_cents_pct"] == 100.0


def test_the_table(sung_wav):
    result = runner.invoke(app, ["sing", "analyze", str(sung_wav([57, 59])), "--target", "57 60"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "A3" in result.output and "-100" in result.output and "within +-50 cents: 50.0 %" in result.output


@pytest.mark.parametrize(("extra", "message"), [(["--target", "H4"], "note 'H4'"), (["--fmin-hz", "5"], "fmin_hz")])
def test_bad_options_are_clear_errors(sung_wav, extra, message):
    result = runner.invoke(app, ["sing", "analyze", str(sung_wav([60])), *extra])
    assert result.exit_code == 2 and message in result.output


def test_store_on_a_session(tmp_path, monkeypatch, sung_wav):
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    assert runner.invoke(app, ["admin", "create", "ana", "--password-stdin"],
                         input="a perfectly long passphrase\n").exit_code == 0
    env = {"CADENZA_USER": "ana", "COLUMNS": "200"}
    assert runner.invoke(app, ["client", "add", "C1"], env=env).exit_code == 0
    assert runner.invoke(app, ["client", "session", "C1", "--minutes", "30", "--intervention", "singing"],
                         env=env).exit_code == 0
    stored = runner.invoke(app, ["sing", "analyze", str(sung_wav([55, 62])), "--target", "G3 D4",
                                 "--session", "1"], env=env)
    assert stored.exit_code == 0, stored.output
    assert "sing_within_50_cents_pct=100" in stored.output and "sing_range_semitones=7" in stored.output
    assert "sing_max_phonation_s" in runner.invoke(app, ["client", "show", "C1"], env=env).output
