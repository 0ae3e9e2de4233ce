import json

import pytest
from typer.testing import CliRunner

from cadenza.cli.main import app

runner = CliRunner()


def test_analyze_prints_the_figures_with_tempo_bpm(duet_midi):
    result = runner.invoke(app, ["improv", "analyze", str(duet_midi), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["players"] == ["therapist", "client"] and payload["client_player"] == "client"
    assert payload["tempo_bpm"] == pytest.approx(120.0, rel=0.02) and payload["tempo_marking_bpm"] == 120.0
    client = payload["per_player"]["client"]
    assert client["n_notes"] == 24 and client["velocity_mean"] == 60.0
    duet = payload["duet"]
    assert duet["a"] == "therapist" and duet["b"] == "client"
    assert duet["leader_lag_ms"] == 80.0 and duet["leader"] == "a" and duet["lagged_synchrony_pct"] > 60


def test_the_table_names_the_client_and_the_lag(duet_midi):
    result = runner.invoke(app, ["improv", "analyze", str(duet_midi), "--client-player", "therapist"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "therapist (client)" in result.output and "leader_lag_ms" in result.output and "client (client)" not in result.output


@pytest.mark.parametrize("content, message", [(b"not a midi file at all", "cannot read MIDI file"),
                                              (None, "does not exist")])
def test_bad_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.mid"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["improv", "analyze", str(path), "--json"])
    assert result.exit_code == 2 and message in result.output


def test_unknown_client_player_is_refused(duet_midi):
    result = runner.invoke(app, ["improv", "analyze", str(duet_midi), "--client-player", "nobody"])
    assert result.exit_code == 2 and "client_player" in result.output


def test_real_drum_performance(shared_data):
    path = shared_data("midi", "groove") / "drummer1/session1/101_dance-disco_120_beat_4-4.mid"
    payload = json.loads(runner.invoke(app, ["improv", "analyze", str(path), "--json"]).output)
    assert payload["tempo_bpm"] == pytest.approx(120.0, rel=0.02) and payload["duet"] is None
    (drums,) = payload["per_player"].values()
    assert drums["tonal_clarity"] is None and drums["pitch_range_semitones"] is None  # channel 10: percussion


def test_audio_recordings_one_per_player(tmp_path):
    import numpy as np
    import soundfile as sf

    rate_hz, x = 16_000, {}
    t = np.arange(int(0.15 * rate_hz)) / rate_hz
    hit = np.random.default_rng(5).standard_normal(t.size) * np.exp(-t / 0.04) * np.minimum(1.0, (0.15 - t) / 0.02) * 0.5
    for name, first_s in (("drum", 0.5), ("answer", 0.62)):
        y = np.zeros(6 * rate_hz)
        for k in range(10):
            i = int((first_s + 0.5 * k) * rate_hz)
            y[i:i + hit.size] += hit
        sf.write(tmp_path / f"{name}.wav", y, rate_hz)
        x[name] = tmp_path / f"{name}.wav"
    result = runner.invoke(app, ["improv", "audio", "--drum", f"therapist={x['drum']}", "--drum",
                                 f"client={x['answer']}", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["source"] == "audio_files" and payload["players"] == ["therapist", "client"]
    assert payload["duet"]["leader_lag_ms"] == pytest.approx(120, abs=5)
    bad = runner.invoke(app, ["improv", "audio", "--pitched", "client"])
    assert bad.exit_code == 2 and "PLAYER=FILE" in bad.output
