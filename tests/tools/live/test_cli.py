import json

from cadenza.io.imu import save_imu_csv


def test_replay_prints_the_walks_outcomes(cli, tmp_path, rng, make_lower_back, make_walk):
    ic = make_walk(start_s=1.0, n_steps=24, step_s=0.6, rng=rng)
    path = save_imu_csv(tmp_path / "walk.csv", make_lower_back(ic, duration_s=16.0, sampling_rate_hz=50, rng=rng),
                        sampling_rate_hz=50)
    result = cli("live", "replay", path, "--cadence-spm", "100", "--increase-percent", "5", "--batch-ms", "100",
                 "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["n_steps"] >= 22 and 95 <= out["cadence_spm"] <= 105 and out["n_beats"] > 10
    assert out["freeze_count"] == 0 and out["freeze_intervals_s"] == []
    bad = cli("live", "replay", path, "--increase-percent", "25")
    assert bad.exit_code == 1 and "increase_fraction" in bad.output
    missing = cli("live", "replay", tmp_path / "nope.csv")
    assert missing.exit_code == 1 and "does not exist" in missing.output
