"""Synchronisation metrics: hand-computed cases, wrap-around at +-180 degrees, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.ras.sync import (
    analyze_synchronization,
    circular_stats_deg,
    plot_synchronization,
    relative_phase_deg,
    step_asynchrony_ms,
)


def test_hand_computed_case():
    beats = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    steps = np.array([0.45, 1.05, 1.5, 1.95])  # -50, +50, 0, -50 ms
    rep = analyze_synchronization(steps, beats, window_ms=40)
    np.testing.assert_allclose(rep.asynchrony_ms, [-50, 50, 0, -50], atol=1e-9)
    np.testing.assert_allclose(rep.relative_phase_deg, [-36, 36, 0, -36], atol=1e-9)
    assert rep.mean_asynchrony_ms == pytest.approx(-12.5)
    assert rep.percent_within_window == pytest.approx(25.0)
    # R of phases -36, 36, 0, -36: |(3 cos 36 + 1) + i(-sin 36)| / 4
    expected_r = abs(complex(3 * np.cos(np.deg2rad(36)) + 1, -np.sin(np.deg2rad(36)))) / 4
    assert rep.resultant_length == pytest.approx(expected_r)
    np.testing.assert_allclose(rep.cadence_spm, 60 / np.diff(steps))
    np.testing.assert_allclose(rep.cue_tempo_bpm, 120.0)


def test_latency_moves_the_heard_beat():
    beats = np.arange(0, 10, 0.5)
    steps = beats[2:18] + 0.2  # on the beat as heard through 200 ms of output latency
    rep = analyze_synchronization(steps, beats, output_latency_s=0.2)
    np.testing.assert_allclose(rep.asynchrony_ms, 0.0, atol=1e-9)
    assert rep.resultant_length == pytest.approx(1.0)


def test_wrap_around_at_180_degrees():
    # Steps alternate just before and just after the half-beat: linear mean 0 deg, circular mean 180 deg.
    beats = np.arange(0, 20, 1.0)
    steps = np.arange(1, 19) + 0.5 + np.where(np.arange(18) % 2, 0.01, -0.01)
    phase = relative_phase_deg(steps, beats)
    assert np.all(np.abs(phase) > 170)
    mean, r = circular_stats_deg(phase)
    assert abs(mean) == pytest.approx(180.0, abs=1e-6)
    assert r == pytest.approx(np.cos(np.deg2rad(3.6)), abs=1e-9)
    assert abs(np.nanmean(phase)) < 1  # the linear mean would say 0 deg: on the beat, which is wrong


def test_anti_phase_uniform_steps_have_low_r():
    beats = np.arange(0, 60, 0.5)
    steps = np.sort(np.random.default_rng(3).uniform(1, 59, 100))
    rep = analyze_synchronization(steps, beats)
    assert rep.resultant_length < 0.25
    assert not rep.locked.any()


def test_locked_segments_found():
    beats = np.arange(0, 60, 0.5)
    rng = np.random.default_rng(0)
    steps = np.concatenate([beats[4:40] - 0.03 + rng.normal(0, 0.005, 36),  # locked
                            np.sort(rng.uniform(20.2, 39.8, 30)),  # wandering
                            beats[80:110] - 0.03])  # locked again
    rep = analyze_synchronization(steps, beats)
    segs = rep.locked_segments_s
    assert segs.shape[0] == 2
    assert segs[0, 0] < 4 and segs[0, 1] > 16
    assert segs[1, 0] > 39 and segs[1, 1] > 52
    assert rep.summary()["percent_steps_locked"] < 100


def test_steps_outside_the_cue_are_nan():
    a = step_asynchrony_ms(np.array([0.1, 5.0, 9.0]), np.array([4.0, 5.0, 6.0]))
    assert np.isnan(a[0]) and a[1] == 0 and np.isnan(a[2])


@settings(max_examples=50, deadline=None)
@given(period_s=st.floats(0.35, 1.2), offset_ms=st.floats(-150, 150), shift_s=st.floats(-100, 1000),
       n=st.integers(10, 60))
def test_constant_offset_and_time_shift(period_s, offset_ms, shift_s, n):
    if abs(offset_ms) >= 500 * period_s * 0.9:
        return
    beats = shift_s + period_s * np.arange(n + 4)
    steps = beats[2:n + 2] + offset_ms / 1e3
    rep = analyze_synchronization(steps, beats)
    np.testing.assert_allclose(rep.asynchrony_ms, offset_ms, atol=1e-6)
    assert rep.resultant_length == pytest.approx(1.0)
    assert rep.circular_mean_phase_deg == pytest.approx(360 * offset_ms / 1e3 / period_s, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-179, 179), min_size=1, max_size=40), st.floats(-720, 720))
def test_rotation_moves_mean_and_keeps_r(phases, rotation):
    phases = np.asarray(phases)
    m1, r1 = circular_stats_deg(phases)
    m2, r2 = circular_stats_deg(phases + rotation)
    assert r2 == pytest.approx(r1, abs=1e-9)
    if r1 > 1e-6:
        d = (m2 - m1 - rotation + 180) % 360 - 180
        assert abs(d) < 1e-6 or abs(abs(d) - 360) < 1e-6
    assert 0 <= r1 <= 1 + 1e-12


def test_empty_and_bad_input():
    rep = analyze_synchronization(np.empty(0), np.arange(0, 5, 0.5))
    assert np.isnan(rep.resultant_length) and rep.step_times_s.size == 0
    with pytest.raises(ParameterError, match="step_times_s"):
        analyze_synchronization(np.array([2.0, 1.0]), np.arange(5.0))
    with pytest.raises(ParameterError, match="output_latency_s"):
        analyze_synchronization(np.arange(5.0), np.arange(5.0), output_latency_s=150)


def test_plot_has_both_panels():
    beats = np.arange(0, 30, 0.55)
    rep = analyze_synchronization(beats[3:50] - 0.02, beats)
    fig = plot_synchronization(rep)
    assert len(fig.axes) == 2 and "R = 1.00" in fig.axes[0].get_title()
