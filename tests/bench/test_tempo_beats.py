"""The loss split of bench/tempo_beats.py (issue 22): where each annotated beat's nearest tracked beat is."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "tempo_beats.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("_cadenza_tempo_beats", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@settings(max_examples=15, deadline=None)
@given(period_s=st.floats(0.35, 1.2), kind=st.sampled_from(["hit", "off_beat", "late", "early"]))
def test_a_whole_track_shifted_one_way_is_sorted_by_the_shift(bench, period_s, kind):
    ref = np.arange(0.0, 30.0, period_s)
    shift_s = {"hit": 0.02, "off_beat": period_s / 2, "late": 0.075 + 0.1 * (period_s / 4 - 0.075),
               "early": -0.075 - 0.1 * (period_s / 4 - 0.075)}[kind]
    if kind in ("late", "early") and period_s / 4 <= 0.08:
        shift_s = np.sign(shift_s) * 0.072  # a quarter period is barely past the tolerance at fast tempi
    out = bench.losses(ref, ref + shift_s)
    assert out[kind] >= out["beats"] - 2  # the first or last annotated beat may lose its neighbour to the 5-s trim
    assert out["beats"] == int(np.sum(ref >= 5.0))


def test_beats_on_through_a_silent_tail_are_counted_after_the_last_annotated_beat(bench):
    ref = np.arange(0.0, 22.0, 0.5)
    est = np.arange(0.0, 30.0, 0.5)
    out = bench.losses(ref, est)
    assert out["hit"] == out["beats"] and out["extra_after"] == 16 and out["extra_within"] == 0
    drifting = bench.losses(ref, ref * 1.02)  # 2 % slow: beats slide off one by one, then back in
    assert drifting["drift"] + drifting["off_beat"] + drifting["late"] > 0 and drifting["hit"] < drifting["beats"]
