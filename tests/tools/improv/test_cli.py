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
