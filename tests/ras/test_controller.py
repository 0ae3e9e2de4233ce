"""Closed-loop cue controller: contract, slew and bounds, and simulated and replayed walking."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.ras.controller import AdaptiveCueController, FixedTempoCue
from cadenza.ras.walkers import (
    WALKER_PRESETS,
    LinearCorrectionWalker,
    evaluate_cue,
    replay_steps,
    replay_steps_live,
    run_closed_loop,
)


# The live setting before the predictive correction: delay compensation and a hold at the goal.
HOLD_SETTING = dict(phase_gain=0.3, period_gain=0.0, error_smoothing=1.0, delay_compensation=True, hold_at_goal=True,
                    tempo_approach=0.3, relock_fraction=0.45, hold_window_steps=16)


def test_no_cue_until_enough_steps_then_in_phase_start():
    c = AdaptiveCueController(preferred_cadence_spm=100, target_asynchrony_s=-0.04, output_latency_s=0.1)
    c.on_step(0.0)
    c.on_step(0.6)
    assert c.beats_until(10.0).size == 0
    c.on_step(1.2)
    first = c.beats_until(1.9)
    # Heard at the predicted next step (1.8 s) plus 40 ms, so sent 100 ms earlier for the latency.
    assert first.tolist() == pytest.approx([1.8 + 0.04 - 0.1])


def test_goal_beyond_twelve_percent_needs_override():
    with pytest.raises(ParameterError, match="goal_cadence_spm"):
        AdaptiveCueController(preferred_cadence_spm=100, goal_cadence_spm=115)
    with pytest.raises(ParameterError, match="max_slew_fraction"):
        AdaptiveCueController(preferred_cadence_spm=100, max_slew_fraction=0.1)
    c = AdaptiveCueController(preferred_cadence_spm=100, goal_cadence_spm=115, bounds_fraction=0.2,
                              allow_beyond_bounds=True)
    assert c.max_period_s > 60 / 100


@settings(max_examples=30, deadline=None)
@given(intervals=st.lists(st.floats(0.35, 0.9), min_size=20, max_size=80), seed=st.integers(0, 1000))
def test_slew_and_bounds_hold_for_any_step_stream(intervals, seed):
    steps = np.cumsum(intervals)
    c = AdaptiveCueController(preferred_cadence_spm=100, goal_cadence_spm=108, max_slew_fraction=0.025)
    beats = replay_steps(c, steps)
    assert np.all(np.diff(beats) > 0)
    ibi = np.diff(beats)
    assert np.all(ibi >= 60 / 112 * (1 - 0.025) - 1e-9) and np.all(ibi <= 60 / 88 * (1 + 0.025) + 1e-9)
    periods = np.asarray(c.period_history_s_)
    assert np.all(np.abs(np.diff(periods)) <= 0.025 * periods[:-1] * 2 + 1e-9)
    assert np.all((periods >= 60 / 112 - 1e-9) & (periods <= 60 / 88 + 1e-9))


def test_beats_are_never_scheduled_in_the_past():
    # A real-time caller: a 25 ms scheduler tick with 100 ms look-ahead, steps reported as they happen.
    c = AdaptiveCueController(preferred_cadence_spm=100)
    rng = np.random.default_rng(5)
    steps = np.cumsum(rng.uniform(0.4, 0.8, 200))
    i = 0
    for now in np.arange(0, steps[-1], 0.025):
        while i < steps.size and steps[i] <= now:
            c.on_step(steps[i])
            i += 1
        new = c.beats_until(now + 0.1)
        assert np.all(new >= now - 1e-9)
    assert len(c.beat_times_s_) > 100


@pytest.mark.parametrize("preset", sorted(WALKER_PRESETS))
def test_adaptive_locks_faster_and_holds_r_in_simulated_walkers(preset):
    params = WALKER_PRESETS[preset]
    goal = params.preferred_cadence_spm * 1.1
    fixed_lock, adaptive_lock, adaptive_r = [], [], []
    for seed in range(3):
        start = float(np.random.default_rng(seed + 100).uniform(0.2, 0.8))
        steps, beats = run_closed_loop(FixedTempoCue(tempo_bpm=goal, start_s=start),
                                       LinearCorrectionWalker(params, seed=seed), duration_s=180)
        fixed_lock.append(evaluate_cue(steps, beats).time_to_lock_s)
        cue = AdaptiveCueController(preferred_cadence_spm=params.preferred_cadence_spm, goal_cadence_spm=goal)
        steps, beats = run_closed_loop(cue, LinearCorrectionWalker(params, seed=seed), duration_s=180)
        ev = evaluate_cue(steps, beats)
        adaptive_lock.append(ev.time_to_lock_s)
        adaptive_r.append(ev.resultant_length)
        assert ev.cadence_end_spm > ev.cadence_start_spm  # nudged upwards, within the bounds
        assert ev.cadence_end_spm <= params.preferred_cadence_spm * 1.12 + 2
    fixed = np.nan_to_num(np.asarray(fixed_lock), nan=180.0)
    assert np.mean(adaptive_lock) < np.mean(fixed)
    assert min(adaptive_r) >= 0.9


def test_replayed_real_steps_are_followed(shared_data):
    from cadenza.io.gait_datasets import load_gaitmap_healthy

    rec = load_gaitmap_healthy(shared_data("gait", "gaitmap_healthy"))
    steps = np.sort(np.concatenate(list(rec.reference_ic_times_s.values())))
    steps = steps[np.concatenate([[True], np.diff(steps) > 0.2])]
    bouts = np.split(steps, np.flatnonzero(np.diff(steps) > 1.5) + 1)  # the walk has a turn
    for bout in (b for b in bouts if b.size >= 16):
        cadence = 60 / np.median(np.diff(bout))
        adaptive = AdaptiveCueController(preferred_cadence_spm=cadence)
        ev_adaptive = evaluate_cue(bout, replay_steps(adaptive, bout))
        fixed = FixedTempoCue(tempo_bpm=cadence, start_s=bout[0] + 0.3 * 60 / cadence)
        ev_fixed = evaluate_cue(bout, replay_steps(fixed, bout))
        assert ev_adaptive.resultant_length >= 0.9
        assert ev_adaptive.resultant_length >= ev_fixed.resultant_length - 0.02
        assert abs(ev_adaptive.mean_asynchrony_ms + 40) < 40  # held near its target asynchrony


def test_learns_the_persons_own_asynchrony_when_asked():
    from dataclasses import replace

    params = replace(WALKER_PRESETS["attentive"], mean_asynchrony_s=-0.07)
    learned = []
    for seed in range(5):
        cue = AdaptiveCueController(preferred_cadence_spm=100, target_asynchrony_s=None, phase_offset_s=-0.01)
        assert cue.learning
        run_closed_loop(cue, LinearCorrectionWalker(params, seed=seed), duration_s=60)
        assert not cue.learning
        assert cue.target_asynchrony_s == pytest.approx(cue.learned_asynchrony_s_ - 0.01)
        learned.append(cue.learned_asynchrony_s_)
    assert np.median(learned) == pytest.approx(-0.07, abs=0.025)
    with pytest.raises(ParameterError, match="phase_offset_s"):
        AdaptiveCueController(preferred_cadence_spm=100, phase_offset_s=40)


def test_delay_compensation_acts_only_on_the_error_not_yet_corrected():
    """A step heard 3 beats late carries an error the controller has already acted on: with compensation
    the second report of the same error moves the cue by nothing more."""
    kw = dict(preferred_cadence_spm=100, target_asynchrony_s=0.0, phase_gain=0.5, period_gain=0.0, tempo_approach=0.0)
    plain, compensated = AdaptiveCueController(**kw), AdaptiveCueController(**kw, delay_compensation=True)
    for c in (plain, compensated):
        for t in (0.0, 0.6, 1.2):
            c.on_step(t)
        c.beats_until(4.0)  # 1.8 ... 3.6 sent: steps arrive long after their beats
        c.on_step(1.8 + 0.01)  # 10 ms late: the next beat moves 5 ms later
        c.on_step(2.4 + 0.01)  # the same 10 ms (it happened before the walker heard the shifted beat)
    # Plain: the second report recomputes the pending shift from the whole error (5 ms again).
    assert plain._next - 3.6 == pytest.approx(0.6 + 0.005, abs=1e-9)
    # Compensated: the second report corrects only the 5 ms not yet acted on, by half, on top of the first.
    assert compensated._next - 3.6 == pytest.approx(0.6 + 0.005 + 0.0025, abs=1e-9)
    assert compensated.beats_until(4.3).tolist() == pytest.approx([4.2075])


def test_holds_the_goal_while_the_phase_is_steady_and_follows_again_when_it_drifts():
    c = AdaptiveCueController(preferred_cadence_spm=100, goal_cadence_spm=105, target_asynchrony_s=0.0,
                              phase_gain=0.5, period_gain=0.0, tempo_approach=0.3, hold_at_goal=True)
    steps = list(np.arange(0, 40, 60 / 105))  # a walker already at the goal
    beats = replay_steps_live(c, np.asarray(steps), step_delay_s=2.0)
    assert c.holding and 60 / c.period_s == pytest.approx(105, rel=0.002)
    held = np.diff(beats[-30:])
    np.testing.assert_allclose(held, held[0], atol=1e-9)  # isochronous while held
    slower = steps[-1] + np.cumsum(np.full(40, 60 / 98))  # the walker slows: its phase drifts off the cue
    c2_beats = replay_steps_live(c, slower, step_delay_s=2.0)
    assert not c.holding and c2_beats.size > 0 and c2_beats[0] > beats[-1]  # the cue went on, after the held beats


def test_after_a_hold_it_aims_at_the_walkers_own_phase_not_a_generic_one():
    """The slow shuffler (corrects its phase little, pulled back to its own 85 steps/min) cued at +7 %: it steps
    steadily ~80 ms after the beat, not 40 ms before. Chasing that as an error at every release moved the beats
    and changed its phase to the cue from one hold to the next; aiming at its own phase keeps one phase."""
    from cadenza.ras.walkers import resultant_length_from, run_live_loop

    params = WALKER_PRESETS["slow_shuffler"]
    goal = params.preferred_cadence_spm * 1.07
    gains, learnt = [], []
    for seed in range(6):
        r = {}
        for learn in (False, True):
            c = AdaptiveCueController(preferred_cadence_spm=params.preferred_cadence_spm, goal_cadence_spm=goal,
                                      **dict(HOLD_SETTING, learn_hold_phase=learn))
            steps, beats = run_live_loop(c, LinearCorrectionWalker(params, seed=seed), duration_s=180)
            r[learn] = resultant_length_from(steps, beats, 20.0)
            if learn:
                learnt.append(c.held_asynchrony_s_)
        gains.append(r[True] - r[False])
    assert min(learnt) > 0.0  # the walker's own phase to the held cue: after the beat
    assert np.mean(gains) > 0.001 and sum(g >= 0 for g in gains) >= 4


def test_bad_delay_settings_are_named():
    with pytest.raises(ParameterError, match="error_smoothing"):
        AdaptiveCueController(preferred_cadence_spm=100, error_smoothing=0.0)
    with pytest.raises(ParameterError, match="relock_fraction"):
        AdaptiveCueController(preferred_cadence_spm=100, relock_fraction=float("nan"))
    with pytest.raises(ParameterError, match="relock_fraction"):
        AdaptiveCueController(preferred_cadence_spm=100, relock_fraction=2)
    with pytest.raises(ParameterError, match="hold_window_steps"):
        AdaptiveCueController(preferred_cadence_spm=100, hold_window_steps=2)


def _live(preferred_cadence_spm=100, goal_cadence_spm=107, **kw):
    from cadenza.ras.live import LIVE_CONTROLLER

    return AdaptiveCueController(preferred_cadence_spm=preferred_cadence_spm, goal_cadence_spm=goal_cadence_spm,
                                 **dict(LIVE_CONTROLLER, **kw))


@settings(max_examples=12, deadline=None)
@given(intervals=st.lists(st.floats(0.3, 1.0), min_size=20, max_size=60), delay_s=st.floats(0.0, 3.0),
       gain=st.sampled_from([0.5, 1.0]), model=st.sampled_from(["best", "correction", "own_tempo"]),
       correction_gain=st.sampled_from(["fixed", "persistent"]), window=st.sampled_from([32, 64]))
def test_predictive_cue_keeps_tempo_in_bounds_and_never_jumps_over_the_slew_limit(intervals, delay_s, gain, model,
                                                                                   correction_gain, window):
    """Whatever the late steps do (a stumble, a stop, a walker far off the goal), the live cue's tempo stays within
    12 % of the preferred cadence, changes at most 2.5 % a beat, and no interval moves more than that from it."""
    c = _live(phase_gain=gain, walker_model=model, correction_gain=correction_gain, predict_window_steps=window)
    replay_steps_live(c, np.cumsum(intervals), step_delay_s=delay_s)
    beats = np.asarray(c.beat_times_s_)  # every beat it committed, played or not
    periods = np.asarray(c.period_history_s_)
    assert np.all((periods >= 60 / 112 - 1e-9) & (periods <= 60 / 88 + 1e-9))
    assert np.all(np.abs(np.diff(periods)) <= 0.025 * periods[:-1] + 1e-9)
    ibi = np.diff(beats)
    assert np.all(ibi > 0)
    # each interval is within the slew limit of the tempo of the beat before it (a tempo change and a phase shift)
    assert np.all(np.abs(ibi - periods[:-1]) <= 0.025 * periods[:-1] + 1e-9)
    assert np.all(ibi >= 60 / 112 * (1 - 0.025) - 1e-9) and np.all(ibi <= 60 / 88 * (1 + 0.025) + 1e-9)
    model_fit = c.walker_correction_()
    assert model_fit is None or 0.0 <= model_fit[0] <= 1.0
    assert c.chosen_model_() in (0, 1)


@settings(max_examples=15, deadline=None)
@given(intervals=st.lists(st.floats(0.35, 0.9), min_size=12, max_size=90), delay_s=st.sampled_from([0.0, 2.0]),
       jitter_s=st.floats(0.0, 0.05), seed=st.integers(0, 1000))
def test_the_persistent_gain_is_a_share_never_moves_a_beat_past_the_slew_and_stays_finite(intervals, delay_s,
                                                                                          jitter_s, seed):
    """The share of the predicted deviation the live cue acts on is in [0, 1] after every step, finite for any
    NaN-free stream, and a beat never moves more than the slew limit from the tempo of the beat before it."""
    rng = np.random.default_rng(seed)
    steps = np.cumsum(np.asarray(intervals) + rng.uniform(-jitter_s, jitter_s, len(intervals)).clip(-0.1, 0.1))
    c = _live(correction_gain="persistent")
    shares = []
    for t in steps:
        c.beats_until(t + delay_s + 1.0)
        c.on_step(float(t))
        shares.append(c.prediction_gain_())
    assert np.all(np.isfinite(shares)) and all(0.0 <= g <= 1.0 for g in shares)
    beats, periods = np.asarray(c.beat_times_s_), np.asarray(c.period_history_s_)
    assert np.all(np.isfinite(beats)) and np.all(np.isfinite(periods))
    assert np.all(np.abs(np.diff(beats) - periods[:-1]) <= 0.025 * periods[:-1] + 1e-9)


def test_the_cue_acts_on_a_persistent_deviation_and_less_on_timing_noise():
    """The slow shuffler's deviation from its phase lasts (it corrects 10 % a step); the noisy walker's is mostly
    fresh timing noise each step. The persistent share is larger for the first, and 0 before anything is measured."""
    from cadenza.ras.walkers import run_live_loop

    assert _live(correction_gain="persistent").prediction_gain_() == 0.0
    shares = {}
    for name in ("slow_shuffler", "noisy"):
        params = WALKER_PRESETS[name]
        c = _live(preferred_cadence_spm=params.preferred_cadence_spm,
                  goal_cadence_spm=params.preferred_cadence_spm * 1.07, correction_gain="persistent")
        run_live_loop(c, LinearCorrectionWalker(params, seed=3), duration_s=100)
        shares[name] = c.prediction_gain_()
    assert 0.0 <= shares["noisy"] < shares["slow_shuffler"] <= 1.0
    assert shares["slow_shuffler"] > 0.5


def test_bad_steps_and_predictive_settings_are_named_and_lose_nothing():
    c = _live()
    for t in np.arange(0, 10, 0.6):
        c.on_step(t)
    before = list(c.step_times_s_)
    with pytest.raises(ParameterError, match="step_time_s"):
        c.on_step(float("nan"))
    assert c.step_times_s_ == before
    with pytest.raises(ParameterError, match="walker_model"):
        _live(walker_model="kuramoto")
    with pytest.raises(ParameterError, match="predict_window_steps"):
        _live(predict_window_steps=4)
    with pytest.raises(ParameterError, match="correction_gain"):
        _live(correction_gain="kalman")


def test_a_recording_that_ignores_the_cue_is_followed():
    """A walk that slows from 112 to 100 steps/min does not hear the cue: the cue follows it closer than a fixed
    cue at the walk's median cadence does (R over the same steps)."""
    from cadenza.ras.walkers import resultant_length_from

    gains = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        steps = np.cumsum(np.linspace(60 / 112, 60 / 100, 240) + rng.normal(0, 0.012, 240))
        cadence = 60 / np.median(np.diff(steps))
        beats = replay_steps_live(_live(preferred_cadence_spm=cadence, goal_cadence_spm=cadence), steps, step_delay_s=2.0)
        fixed = replay_steps_live(FixedTempoCue(tempo_bpm=cadence, start_s=steps[0] + 0.3), steps, step_delay_s=2.0)
        gains.append(resultant_length_from(steps, beats, 30.0) - resultant_length_from(steps, fixed, 30.0))
    assert min(gains) > 0.0 and np.mean(gains) > 0.05


class _Follower:
    """A walker who steps on the beat it hears (its own negative asynchrony plus timing noise), at its own
    cadence until a beat is heard: the walker who follows the cue, for the ramp's property."""

    def __init__(self, cadence_spm: float, jitter_s: float, seed: int) -> None:
        self.period_s = 60 / cadence_spm
        self.jitter_s = jitter_s
        self.rng = np.random.default_rng(seed)

    def next_step(self, last_step_s: float, heard_beat_times_s: np.ndarray) -> float:
        ahead = heard_beat_times_s[heard_beat_times_s > last_step_s + 0.5 * self.period_s]
        target = ahead[0] - 0.04 if ahead.size else last_step_s + self.period_s
        return max(target + self.rng.normal(0, self.jitter_s), last_step_s + 0.2 * self.period_s)


@settings(max_examples=8, deadline=None)
@given(cadence=st.floats(60, 130), goal_fraction=st.floats(-0.1, 0.1), jitter_s=st.floats(0.0, 0.02),
       seed=st.integers(0, 1000))
def test_the_start_ramp_never_overshoots_the_goal_and_moves_only_towards_it(cadence, goal_fraction, jitter_s, seed):
    """The live cue starts at the walker's own cadence and ramps to the goal: while the walker follows the cue,
    every change of the cue's tempo is towards the goal, and the tempo never passes it."""
    from cadenza.ras.walkers import run_live_loop

    goal = cadence * (1 + goal_fraction)
    c = _live(preferred_cadence_spm=cadence, goal_cadence_spm=goal)
    run_live_loop(c, _Follower(cadence, jitter_s, seed), duration_s=30.0)
    periods = np.asarray(c.period_history_s_)
    goal_period = 60 / goal
    towards = np.sign(goal_period - periods[0])
    assert np.all(towards * np.diff(periods) >= -1e-12)  # monotone towards the goal
    assert np.all(towards * (goal_period - periods) >= -1e-12)  # never beyond it
    assert abs(periods[-1] / goal_period - 1) < 0.002  # and there within half a minute
