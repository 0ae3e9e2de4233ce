"""`cadenza mit phrase | analyse | levels`, text and --json."""

from __future__ import annotations

import json
import re

import mido
import pytest
import soundfile as sf
from typer.testing import CliRunner

from cadenza.cli.main import app
from cadenza.io.speech import espeak_available

runner = CliRunner()
needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")


def test_phrase_json_without_audio():
    result = runner.invoke(app, ["mit", "phrase", "I want water", "--level", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["stress_pattern"] == "LHHL" and data["low_note"] == "A2" and data["high_note"] == "C3"
    assert [n["onset_s"] for n in data["notes"]] == [0.5, 1.3, 2.1, 2.9]
    assert data["files"] == {}


def test_phrase_text_display_and_guess_note():
    result = runner.invoke(app, ["mit", "phrase", "Take my Brexit", "--low-note", "C3", "--interval", "4"])
    assert result.exit_code == 0, result.output
    assert "E3" in result.output and "C3" in result.output and "brexit" in result.output


@needs_espeak
def test_phrase_audio_midi_then_analyse_round_trip(tmp_path):
    wav, hum, mid = tmp_path / "phrase.wav", tmp_path / "hum.wav", tmp_path / "phrase.mid"
    result = runner.invoke(app, ["mit", "phrase", "I want water", "--level", "2", "-o", str(wav), "--hum", str(hum),
                                 "--midi", str(mid), "--json", "--flag", "seizures"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["files"]) == {"audio", "hum", "midi"} and data["safety_warnings"]
    assert data["safety"]["policy"]["autoplay_allowed"] is False
    info = sf.info(str(wav))
    assert info.channels == 2 and info.duration == pytest.approx(3.7, abs=0.1)
    assert len(mido.MidiFile(str(mid)).tracks) == 3
    result = runner.invoke(app, ["mit", "analyse", str(wav), "--phrase", "I want water", "--level", "2", "--json"])
    assert result.exit_code == 0, result.output
    analysis = json.loads(result.output)
    assert analysis["timing_match"] == 1.0 and analysis["pitch_pattern_followed"] is True
    assert analysis["median_abs_timing_error_s"] < 0.03 and abs(analysis["transposition_cents"]) < 25


def test_bad_input_messages(tmp_path):
    result = runner.invoke(app, ["mit", "analyse", str(tmp_path / "missing.wav"), "--phrase", "hi"])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["mit", "phrase", "hello", "--low-note", "H9"])
    assert result.exit_code == 2 and "--low-note" in result.output
    result = runner.invoke(app, ["mit", "phrase", "hello", "--level", "5"])
    assert result.exit_code != 0


def test_levels_json():
    result = runner.invoke(app, ["mit", "levels", "--json"])
    data = json.loads(result.output)
    assert [data[k]["max_points"] for k in ("1", "2", "3")] == [4, 5, 8]
    assert "convention" in data["advancement_caveat"]


@needs_espeak
def test_phrase_from_own_recording(tmp_path):
    from cadenza.io.audio import save_audio
    from cadenza.io.speech import synthesize_speech

    y, sr = synthesize_speech("Good morning", rate_wpm=140)
    recording = save_audio(tmp_path / "mine.wav", y, sampling_rate_hz=sr)
    out = tmp_path / "intoned.wav"
    result = runner.invoke(app, ["mit", "phrase", "Good morning", "--recording", str(recording), "-o", str(out)])
    assert result.exit_code == 0, result.output
    info = sf.info(str(out))
    assert info.channels == 2 and info.duration == pytest.approx(3.5, abs=0.05)  # 3 syllables at 1 s + lead-in


@pytest.fixture
def run_db(tmp_path, monkeypatch):
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    monkeypatch.delenv("CADENZA_USER", raising=False)

    def _run(*args, input=None, user=None):
        return runner.invoke(app, list(args), input=input, env={"CADENZA_USER": user} if user else {})

    return _run


def test_phrase_bank_commands(run_db):
    assert run_db("admin", "create", "ana", "--password-stdin", input="a perfectly long passphrase\n").exit_code == 0
    assert run_db("client", "add", "C1", user="ana").exit_code == 0
    added = run_db("mit", "bank", "add", "C1", "Thank you very much", "--probe", "What do you say?", user="ana")
    assert added.exit_code == 0, added.output
    assert "5 syllables, HLHLH" in added.output and "long for level 1" in added.output
    assert run_db("mit", "bank", "add", "C1", "Take my Brexit", user="ana").output.count("guessed") == 1
    listing = json.loads(run_db("mit", "bank", "list", "C1", "--json", user="ana").output)
    assert [(p["text"], p["syllables"]) for p in listing["phrases"]] == [("Take my Brexit", 4),
                                                                         ("Thank you very much", 5)]
    duplicate = run_db("mit", "bank", "add", "C1", "Take my Brexit", user="ana")
    assert duplicate.exit_code == 1 and "already" in duplicate.output
    assert run_db("mit", "bank", "list", "C9", user="ana").exit_code == 1  # no such client: not found
    assert run_db("mit", "bank", "list", "C1").exit_code != 0  # no acting user


@needs_espeak
def test_analyse_stores_on_a_session(run_db, tmp_path):
    assert run_db("admin", "create", "ana", "--password-stdin", input="a perfectly long passphrase\n").exit_code == 0
    assert run_db("client", "add", "C1", user="ana").exit_code == 0
    session = run_db("client", "session", "C1", "--date", "2026-11-25", "--minutes", "30", "--intervention", "mit",
                     user="ana")
    assert session.exit_code == 0, session.output
    session_id = re.search(r"session (\d+)", session.output).group(1)
    wav = tmp_path / "attempt.wav"
    assert run_db("mit", "phrase", "I need help", "-o", str(wav)).exit_code == 0
    result = run_db("mit", "analyse", str(wav), "--phrase", "I need help", "--session", session_id, "--json",
                    user="ana")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["stored_attempt_id"] >= 1


def test_level_run_scoring_from_the_command_line(run_db):
    assert run_db("admin", "create", "ana", "--password-stdin", input="a perfectly long passphrase\n").exit_code == 0
    assert run_db("client", "add", "C1", user="ana").exit_code == 0
    assert run_db("mit", "bank", "add", "C1", "I need help", user="ana").exit_code == 0
    phrase_id = json.loads(run_db("mit", "bank", "list", "C1", "--json", user="ana").output)["phrases"][0]["id"]
    for day in ("2026-11-23", "2026-11-25"):
        session = run_db("client", "session", "C1", "--date", day, "--minutes", "30", "--intervention", "mit",
                         user="ana")
        session_id = re.search(r"session (\d+)", session.output).group(1)
        started = run_db("mit", "run", "start", session_id, "--level", "1", user="ana")
        assert started.exit_code == 0 and "immediate_repetition" in started.output
        run_id = re.search(r"run (\d+)", started.output).group(1)
        for step in ("unison", "unison_fading", "immediate_repetition", "probe"):
            scored = run_db("mit", "run", "score", run_id, "--phrase", str(phrase_id), "--step", step, "--points", "1",
                            user="ana")
            assert scored.exit_code == 0, scored.output
        finished = json.loads(run_db("mit", "run", "finish", run_id, "--json", user="ana").output)
        assert finished["score_pct"] == 100.0
    assert finished["advance"] is True and "convention" in finished["caveat"]
    too_many = run_db("mit", "run", "score", run_id, "--phrase", str(phrase_id), "--step", "unison", "--override", "1",
                      user="ana")
    assert too_many.exit_code == 1 and "finished" in too_many.output
    bad = run_db("mit", "run", "score", run_id, "--phrase", str(phrase_id), "--step", "unison", user="ana")
    assert bad.exit_code == 2


@needs_espeak
def test_audio_is_capped_by_the_listener_policy(tmp_path):
    import numpy as np

    plain, capped = tmp_path / "plain.wav", tmp_path / "capped.wav"
    assert runner.invoke(app, ["mit", "phrase", "I need help", "-o", str(plain)]).exit_code == 0
    result = runner.invoke(app, ["mit", "phrase", "I need help", "-o", str(capped), "--flag", "hearing_loss", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["safety"]["policy"]["max_level_dba"] < 85
    rms = [float(np.sqrt(np.mean(sf.read(str(p))[0] ** 2))) for p in (plain, capped)]
    assert rms[1] < 0.95 * rms[0]  # 76.6 dB(A) at the default calibration, capped to 75 for hearing loss
    refused = runner.invoke(app, ["mit", "phrase", "I need help", "-o", str(capped), "--flag", "nicu_infant"])
    assert refused.exit_code == 2 and "NICU" in refused.output
    unknown = runner.invoke(app, ["mit", "phrase", "I need help", "--flag", "loud"])
    assert unknown.exit_code != 0 and "loud" in unknown.output
