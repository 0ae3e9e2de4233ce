import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.timing import analyze_timing, make_cue_times


@settings(max_examples=25, deadline=None)
@given(shift_s=st.floats(0, 3000), seed=st.integers(0, 1000))
def test_shifting_the_whole_block_changes_no_figure(shift_s, seed):
    rng = np.random.default_rng(seed)
    cue = make_cue_times(tempo_bpm=100, start_s=2.0, n_beats=30)
    hits = cue + rng.normal(-0.035, 0.025, size=cue.size)
    hits = np.concatenate([hits, cue[-1] + 0.6 * np.arange(1, 8)])  # continuation
    base = analyze_timing(hits, cue_times_s=cue, n_bootstrap=100).to_dict()
    moved = analyze_timing(hits + shift_s, cue_times_s=cue + shift_s, n_bootstrap=100).to_dict()
    assert json.dumps(moved) == json.dumps(base) or _close(moved, base)


def _close(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, abs=0.02)
    return a == b


def test_a_block_with_continuation_and_sides():
    cue = make_cue_times(tempo_bpm=120, start_s=1.0, n_beats=16)
    hits = cue - 0.04
    hits[1::2] += 0.02  # right hand 20 ms later
    hits = np.concatenate([hits, hits[-1] + 0.48 * np.arange(1, 6)])
    sides = ["L", "R"] * 10 + ["R"]
    report = analyze_timing(hits, cue_times_s=cue, sides=sides, skip_beats=2)
    assert report.block.n_beats == 14 and report.block.n_hits == 14
    assert report.block.mean_asynchrony_ms.value == pytest.approx(-30.0)
    assert report.side_mean_asynchrony_ms["L"] == pytest.approx(-40.0)
    assert report.side_mean_asynchrony_ms["R"] == pytest.approx(-20.0)
    assert report.continuation.n_taps == 6 and report.continuation.mean_iti_ms == pytest.approx(480.0)
    assert report.alternation.repeat_idx.tolist() == [20]
    d = report.to_dict()
    json.dumps(d)
    assert d["cue"]["n_matched"] == 16 and d["cue"]["asynchrony_ms"][0] == -40.0


def test_without_a_cue_only_intervals():
    report = analyze_timing([0.0, 0.5, 1.0, 1.5])
    assert report.block is None and report.alignment is None
    assert report.continuation.mean_iti_ms == pytest.approx(500.0)
    assert report.to_dict()["block"] is None


def test_bad_input_is_named():
    with pytest.raises(ParameterError, match="sides"):
        analyze_timing([0.0, 0.5], sides=["L"])
    with pytest.raises(ParameterError, match="skip_beats"):
        analyze_timing([0.0], cue_times_s=[0.0], skip_beats=-1)
