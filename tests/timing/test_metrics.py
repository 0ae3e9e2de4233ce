import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.timing import measure_block

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(asynchrony_ms=st.floats(-150, 150), interval_s=st.floats(0.3, 2.0), n=st.integers(2, 60))
def test_a_constant_asynchrony_is_recovered_exactly(asynchrony_ms, interval_s, n):
    block = measure_block(np.full(n, asynchrony_ms), cue_interval_s=interval_s, n_bootstrap=200)
    assert block.mean_asynchrony_ms.value == pytest.approx(asynchrony_ms, abs=1e-9)
    assert block.mean_asynchrony_ms.ci_low == pytest.approx(asynchrony_ms, abs=1e-9)
    assert block.mean_asynchrony_ms.ci_high == pytest.approx(asynchrony_ms, abs=1e-9)
    assert block.sd_asynchrony_ms.value == pytest.approx(0, abs=1e-9)
    assert block.circular_r.value == pytest.approx(1.0)
    assert block.mean_phase_deg == pytest.approx(360 * asynchrony_ms / (interval_s * 1000), abs=1e-6)
    for window_ms, share in block.within_pct.items():
        assert share.value == (100.0 if abs(asynchrony_ms) <= window_ms else 0.0)
    assert np.isnan(block.phase_correction_gain.value)  # no variation: nothing to correct


def test_known_answers():
    a = np.array([-40.0, -20.0, -60.0, -40.0])
    block = measure_block(a, cue_interval_s=0.5, windows_ms=(25, 45))
    assert block.mean_asynchrony_ms.value == -40.0
    assert block.sd_asynchrony_ms.value == pytest.approx(np.std(a, ddof=1))
    assert block.within_pct[25.0].value == 25.0 and block.within_pct[45.0].value == 75.0
    phases = 2 * np.pi * a / 500
    assert block.circular_r.value == pytest.approx(abs(np.mean(np.exp(1j * phases))))


@SETTINGS
@given(alpha=st.floats(0.1, 0.9), seed=st.integers(0, 10_000))
def test_phase_correction_gain_recovers_the_simulated_gain(alpha, seed):
    """A(n+1) = (1 - alpha) A(n) - 35 alpha + timekeeper noise: the lag-1 regression finds alpha."""
    rng = np.random.default_rng(seed)
    a = np.empty(2000)
    a[0] = -35.0
    for n in range(a.size - 1):
        a[n + 1] = (1 - alpha) * a[n] + alpha * -35.0 + rng.normal(0, 15)
    block = measure_block(a, cue_interval_s=0.6, n_bootstrap=300, rng=seed)
    # The lag-1 slope (1 - alpha) has a standard error of about sqrt((1 - (1 - alpha)^2) / n); Hypothesis
    # searches seeds, so allow 5 of them (0.06 was about 3, and a 3-sigma seed was found).
    tolerance = 5 * np.sqrt((1 - (1 - alpha) ** 2) / a.size)
    assert block.phase_correction_gain.value == pytest.approx(alpha, abs=tolerance)
    assert block.phase_correction_gain.ci_low < block.phase_correction_gain.value < block.phase_correction_gain.ci_high


@SETTINGS
@given(shift_ms=st.floats(-100, 100), seed=st.integers(0, 10_000))
def test_shifting_every_asynchrony_shifts_only_the_mean(shift_ms, seed):
    a = np.random.default_rng(seed).normal(-30, 20, size=40)
    base = measure_block(a, cue_interval_s=0.6, rng=1)
    moved = measure_block(a + shift_ms, cue_interval_s=0.6, rng=1)
    assert moved.mean_asynchrony_ms.value == pytest.approx(base.mean_asynchrony_ms.value + shift_ms)
    assert moved.mean_asynchrony_ms.ci_low == pytest.approx(base.mean_asynchrony_ms.ci_low + shift_ms)
    assert moved.sd_asynchrony_ms.value == pytest.approx(base.sd_asynchrony_ms.value)
    assert moved.circular_r.value == pytest.approx(base.circular_r.value)
    assert moved.phase_correction_gain.value == pytest.approx(base.phase_correction_gain.value)


def test_missed_beats_break_the_pairs_for_the_gain():
    a = np.array([-30, -50, np.nan, -20, -40, -35, -25, -45, np.nan, -30, -38.0])
    block = measure_block(a, cue_interval_s=0.5)
    assert block.n_hits == 9 and block.n_beats == 11
    assert np.isfinite(block.phase_correction_gain.value)
    few = measure_block([-30, -50, np.nan, -20, -40], cue_interval_s=0.5)
    assert np.isnan(few.phase_correction_gain.value)  # only 2 consecutive pairs


def test_the_bootstrap_is_seeded_and_brackets_the_value():
    a = np.random.default_rng(0).normal(-30, 20, size=30)
    one, two = measure_block(a, cue_interval_s=0.5, rng=7), measure_block(a, cue_interval_s=0.5, rng=7)
    assert one == two
    other = measure_block(a, cue_interval_s=0.5, rng=8)
    assert other.mean_asynchrony_ms.ci_low != one.mean_asynchrony_ms.ci_low
    for est in (one.mean_asynchrony_ms, one.sd_asynchrony_ms, one.circular_r):
        assert est.ci_low <= est.value <= est.ci_high


def test_no_hits_or_one_hit():
    none = measure_block([np.nan] * 4, cue_interval_s=0.5)
    assert none.n_hits == 0 and np.isnan(none.mean_asynchrony_ms.value)
    one = measure_block([12.0], cue_interval_s=0.5)
    assert one.mean_asynchrony_ms.value == 12.0 and np.isnan(one.mean_asynchrony_ms.ci_low)
    assert np.isnan(one.sd_asynchrony_ms.value)
    assert measure_block([], cue_interval_s=0.5).n_beats == 0


def test_to_dict_is_json_ready():
    import json

    d = measure_block([-30.0, -20.0, np.nan], cue_interval_s=0.5).to_dict()
    json.dumps(d)
    assert d["mean_asynchrony_ms"]["value"] == -25.0 and d["phase_correction_gain"]["value"] is None
    assert set(d["within_pct"]) == {"15", "30", "50"}


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"cue_interval_s": 600}, "cue_interval_s"),
    ({"cue_interval_s": 0.5, "windows_ms": ()}, "windows_ms"),
    ({"cue_interval_s": 0.5, "windows_ms": (0.03,) * 0 + (-5,)}, "windows_ms"),
    ({"cue_interval_s": 0.5, "n_bootstrap": -1}, "n_bootstrap"),
])
def test_bad_options_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        measure_block([10.0, 20.0], **kwargs)


def test_bad_asynchronies_are_named():
    with pytest.raises(ParameterError, match="asynchrony_ms"):
        measure_block([np.inf], cue_interval_s=0.5)
    with pytest.raises(ParameterError, match="asynchrony_ms"):
        measure_block([[1.0]], cue_interval_s=0.5)
