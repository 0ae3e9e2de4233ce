import json
import subprocess
import sys

import mido
import numpy as np
import pytest
from typer.testing import CliRunner

from cadenza.cli.main import app

runner = CliRunner()
CUE = 1.0 + 0.6 * np.arange(16)  # 100 BPM from 1.0 s, 16 beats


def _hits():
    hits = CUE - 0.040  # 40 ms ahead of every beat
    hits[::2] += 0.010
    return np.concatenate([hits, hits[-1] + 0.58 * np.arange(1, 7)])  # then 6 taps on their own, a bit fast


def test_analyze_audio_against_a_tempo_cue(drum_wav):
    path = drum_wav(_hits())
    result = runner.invoke(app, ["timing", "analyze", str(path), "--cue-bpm", "100", "--cue-start-s", "1.0",
                                 "--cue-beats", "16", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    np.testing.assert_allclose(payload["onset_times_s"], _hits(), atol=0.0005)
    block = payload["block"]
    assert block["mean_asynchrony_ms"]["value"] == pytest.approx(-35.0, abs=0.5)
    assert block["circular_r"]["value"] > 0.99 and block["within_pct"]["50"]["value"] == 100.0
    assert block["within_pct"]["30"]["value"] == pytest.approx(50.0)
    assert payload["cue"]["n_matched"] == 16 and payload["cue_spec"]["tempo_bpm"] == 100.0
    assert payload["continuation"]["n_taps"] == 7
    assert payload["continuation"]["mean_iti_ms"] == pytest.approx(580.0, abs=0.5)
    assert payload["continuation"]["tempo_kept_pct"] == pytest.approx(96.7, abs=0.2)


def test_the_table_and_a_latency(drum_wav):
    path = drum_wav(_hits())
    result = runner.invoke(app, ["timing", "analyze", str(path), "--cue-bpm", "100", "--cue-start-s", "1.0",
                                 "--cue-beats", "16", "--latency-ms", "-35"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "mean asynchrony" in result.output and "after the cue: 7 taps" in result.output
    assert "circular R" in result.output


def test_cue_times_file_and_a_times_file_with_sides(tmp_path):
    cue = tmp_path / "cue.txt"
    cue.write_text("\n".join(f"{t:.3f}" for t in CUE))
    hits = tmp_path / "hits.csv"
    rows = [f"{t + (-0.03 if k % 2 else -0.05):.4f},{'R' if k % 2 else 'L'}" for k, t in enumerate(CUE)]
    hits.write_text("time_s,side\n" + "\n".join(rows) + "\n")
    payload = json.loads(runner.invoke(app, ["timing", "analyze", str(hits), "--cue-times", str(cue), "--json"]).output)
    assert payload["source"] == "times" and payload["cue_spec"]["source"] == "file"
    assert payload["block"]["mean_asynchrony_ms"]["value"] == pytest.approx(-40.0)
    assert payload["alternation"]["alternating_pct"] == 100.0
    assert payload["side_mean_asynchrony_ms"] == {"L": -50.0, "R": -30.0}


def test_midi_pad_hits(tmp_path):
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=600_000))  # a beat of 0.6 s
    for k in range(8):
        track.append(mido.Message("note_on", note=38, velocity=90, time=0 if k == 0 else 432))
        track.append(mido.Message("note_on", note=38, velocity=0, time=48))  # hits every 0.6 s
    path = tmp_path / "pad.mid"
    midi.save(path)
    payload = json.loads(runner.invoke(app, ["timing", "analyze", str(path), "--cue-bpm", "100", "--json"]).output)
    assert payload["source"] == "midi" and payload["n_hits"] == 8
    assert payload["block"]["mean_asynchrony_ms"]["value"] == pytest.approx(0.0, abs=1e-6)


def test_unpaced_tapping_without_a_cue(drum_wav):
    payload = json.loads(runner.invoke(app, ["timing", "analyze", str(drum_wav(1.0 + 0.5 * np.arange(10))),
                                             "--json"]).output)
    assert payload["block"] is None and payload["continuation"]["mean_iti_ms"] == pytest.approx(500.0, abs=0.5)


def test_the_spectral_instant_comes_before_the_attack(drum_wav):
    path = str(drum_wav(1.0 + 0.5 * np.arange(10)))
    attack = json.loads(runner.invoke(app, ["timing", "analyze", path, "--json"]).output)["onset_times_s"]
    spectral = json.loads(runner.invoke(app, ["timing", "analyze", path, "--instant", "spectral", "--json"]).output)
    lead_ms = 1000 * (np.asarray(attack) - np.asarray(spectral["onset_times_s"]))
    assert len(attack) == 10 and np.all((lead_ms > 3) & (lead_ms < 15))


@pytest.mark.parametrize(("extra", "message"), [
    (["--instant", "peak"], "instant must be one of attack, spectral, frame"),
    (["--cue-bpm", "100", "--cue-times", "x.txt"], "not both"),
    (["--cue-bpm", "2"], "tempo_bpm"),
    (["--latency-ms", "5000", "--cue-bpm", "100"], "latency_ms"),
])
def test_bad_options_are_clear_errors(drum_wav, extra, message):
    result = runner.invoke(app, ["timing", "analyze", str(drum_wav([1.0, 2.0])), *extra])
    assert result.exit_code == 2
    assert message in result.output


def test_a_missing_file_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["timing", "analyze", str(tmp_path / "none.wav")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_help_does_not_import_heavy_modules():
    code = ("import sys; import cadenza.tools.timing.cli, cadenza.tools.sing.cli; "
            "print(any(m in sys.modules for m in ('numpy', 'scipy', 'librosa', 'cadenza.timing', 'cadenza.singing')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_store_on_a_session(tmp_path, monkeypatch, drum_wav):
    monkeypatch.setenv("CADENZA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CADENZA_DATABASE_URL", raising=False)
    assert runner.invoke(app, ["admin", "create", "ana", "--password-stdin"],
                         input="a perfectly long passphrase\n").exit_code == 0
    env = {"CADENZA_USER": "ana", "COLUMNS": "200"}
    assert runner.invoke(app, ["client", "add", "C1"], env=env).exit_code == 0
    made = runner.invoke(app, ["client", "session", "C1", "--minutes", "30", "--intervention", "drumming_improvisation"],
                         env=env)
    assert made.exit_code == 0, made.output
    args = ["timing", "analyze", str(drum_wav(_hits())), "--cue-bpm", "100", "--cue-start-s", "1.0",
            "--cue-beats", "16", "--session", "1", "--json"]
    stored = runner.invoke(app, args, env=env)
    assert stored.exit_code == 0, stored.output
    note = json.loads(stored.output)["notes"][0]
    assert "timing_mean_asynchrony_ms=-3" in note and "timing_circular_r=" in note
    assert "timing_within_50ms_pct=100" in note
    shown = runner.invoke(app, ["client", "show", "C1"], env=env)
    assert "timing_asynchrony_sd_ms" in shown.output
    missing = runner.invoke(app, [*args[:-3], "--session", "99"], env=env)
    assert missing.exit_code == 1


def test_the_loopback_signal_and_a_device_latency(tmp_path):
    import soundfile as sf

    signal_path = tmp_path / "loopback.wav"
    assert runner.invoke(app, ["timing", "loopback-signal", str(signal_path), "--rate", "16000"]).exit_code == 0
    signal, rate = sf.read(signal_path)
    recording = np.concatenate([np.zeros(int(1.4567 * rate)), 0.2 * signal, np.zeros(rate)])
    sf.write(tmp_path / "heard.wav", recording, rate, subtype="FLOAT")
    result = runner.invoke(app, ["timing", "latency", str(tmp_path / "heard.wav"), "--played-at-s", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["latency_ms"] == pytest.approx(956.7, abs=0.1) and payload["residual_ms"] < 0.1
    sf.write(tmp_path / "silent.wav", np.zeros_like(recording), rate)
    refused = runner.invoke(app, ["timing", "latency", str(tmp_path / "silent.wav")])
    assert refused.exit_code == 2 and "SNR" in refused.output
