import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cadenza.nicu.pal as pal_mod
from cadenza.errors import ParameterError
from cadenza.nicu.pal import (
    PalController,
    detect_sucks,
    playback_gain,
    playback_intervals,
    render_pal_audio,
    simulate_suck_pressure,
)
from cadenza.nicu.limits import NICU_LIMITS, check_limits
from cadenza.nicu.lullaby import render_lullaby
from cadenza.render.levels import measure_levels
from cadenza.safety.calibration import Calibration
from cadenza.safety.flags import audio_policy

SR = 100


def test_doctests():
    assert doctest.testmod(pal_mod).failed == 0


def suck_train(onsets_s, amps_mmhg, duration_s, width_s=0.25, noise=0.0, rng=None):
    t = np.arange(int(duration_s * SR)) / SR
    p = np.zeros(t.size) if rng is None else noise * rng.standard_normal(t.size)
    for t0, a in zip(onsets_s, amps_mmhg):
        m = (t >= t0) & (t < t0 + width_s)
        p[m] += a * np.sin(np.pi * (t[m] - t0) / width_s)
    return p


def test_known_suck_times_with_noise(rng):
    onsets = np.cumsum(rng.uniform(0.4, 0.7, 40)) + 1.0
    amps = rng.uniform(10, 40, onsets.size)
    p = suck_train(onsets, amps, onsets[-1] + 2, noise=1.5, rng=rng)
    sucks = detect_sucks(p, sampling_rate_hz=SR)
    assert len(sucks) == onsets.size
    np.testing.assert_allclose([s.peak_s for s in sucks], onsets + 0.125, atol=0.03)
    np.testing.assert_allclose([s.peak_mmhg for s in sucks], amps, atol=3.0)


def test_criterion_sucks_are_those_reaching_criterion_and_trigger_on_crossing():
    onsets = np.array([1.0, 2.0, 3.0, 4.0])
    amps = np.array([15.0, 25.0, 19.0, 40.0])
    p = suck_train(onsets, amps, 30.0, width_s=0.4)
    pal = PalController(criterion_mmhg=20.0).run(p, sampling_rate_hz=SR)
    # half-sine crosses 20 mmHg at t0 + width/pi * arcsin(20/A)
    expected = [t0 + 0.4 / np.pi * np.arcsin(20.0 / a) for t0, a in zip(onsets, amps) if a >= 20]
    np.testing.assert_allclose(pal.criterion_suck_times_s_, expected, atol=0.02)
    assert pal.summary_.sucks == 4 and pal.summary_.criterion_sucks == 2


def test_each_criterion_suck_gives_about_10_s_and_retrigger_extends():
    p = suck_train([1.0, 6.0, 40.0], [30.0, 30.0, 30.0], 60.0)
    pal = PalController().run(p, sampling_rate_hz=SR)
    (a0, b0), (a1, b1) = pal.playback_intervals_s_
    assert b0 - a0 == pytest.approx(15.0, abs=0.05)  # 1 s + 5 s re-trigger + 10 s
    assert b1 - a1 == pytest.approx(10.0, abs=0.05)
    assert pal.summary_.playback_s == pytest.approx(25.0, abs=0.1)


def test_no_sucking_no_music():
    p, peaks = simulate_suck_pressure(duration_s=300, sampling_rate_hz=SR, sucking=False, seed=4)
    pal = PalController().run(p, sampling_rate_hz=SR)
    assert peaks.size == 0 and pal.summary_.playback_s == 0.0
    heard = render_pal_audio(np.ones(8000), pal, sampling_rate_hz=8000)
    assert not np.any(heard.samples) and heard.duration_s == 300.0


def test_weak_sucking_below_criterion_no_music():
    p, peaks = simulate_suck_pressure(duration_s=120, sampling_rate_hz=SR, start_amplitude_mmhg=12,
                                      end_amplitude_mmhg=12, amplitude_jitter_mmhg=1.0, seed=5)
    pal = PalController(criterion_mmhg=20).run(p, sampling_rate_hz=SR)
    assert pal.summary_.sucks > 50 and pal.summary_.playback_s == 0.0


def test_simulated_session_is_contingent_and_logged():
    p, peaks = simulate_suck_pressure(duration_s=900, sampling_rate_hz=SR, pause_s=(8.0, 25.0), seed=7)
    pal = PalController().run(p, sampling_rate_hz=SR)
    s = pal.summary_
    assert s.duration_s == 900 and len(s.sucks_per_minute) == 15
    assert sum(s.sucks_per_minute) == s.sucks == pytest.approx(peaks.size, abs=2)
    assert 0 < s.playback_s < 900
    # music is on only within 10 s after some criterion suck
    for start, end in pal.playback_intervals_s_:
        assert np.any(np.isclose(pal.criterion_suck_times_s_, start))
        inside = pal.criterion_suck_times_s_[(pal.criterion_suck_times_s_ >= start) &
                                              (pal.criterion_suck_times_s_ <= end)]
        assert end == pytest.approx(min(inside.max() + 10.0, 900.0))


def test_adaptive_criterion_rises_with_strengthening_and_caps():
    p, _ = simulate_suck_pressure(duration_s=900, sampling_rate_hz=SR, start_amplitude_mmhg=25,
                                  end_amplitude_mmhg=55, seed=2)
    pal = PalController(adapt=True).run(p, sampling_rate_hz=SR)
    crit = [c for _, c in pal.criterion_history_]
    assert crit[0] == 20.0 and crit[-1] == 35.0 and np.all(np.diff(crit) > 0)
    fixed = PalController(adapt=False).run(p, sampling_rate_hz=SR)
    assert fixed.summary_.end_criterion_mmhg == 20.0


def test_distress_stops_session():
    p, _ = simulate_suck_pressure(duration_s=600, sampling_rate_hz=SR, seed=1)
    pal = PalController().run(p, sampling_rate_hz=SR, distress_times_s=np.array([125.0, 300.0]))
    s = pal.summary_
    assert s.stopped_early and "125.0" in s.stop_reason and s.duration_s == 125.0
    assert max(b for _, b in pal.playback_intervals_s_) <= 125.0
    assert len(s.sucks_per_minute) == 3


def test_seizure_flag_refuses_pal_but_other_flags_allow():
    p, _ = simulate_suck_pressure(duration_s=30, sampling_rate_hz=SR)
    with pytest.raises(ParameterError, match="auto-play"):
        PalController().run(p, sampling_rate_hz=SR, policy=audio_policy(["nicu_infant", "seizures"]))
    PalController().run(p, sampling_rate_hz=SR, policy=audio_policy(["nicu_infant"]))


def test_rendered_audio_follows_gate_and_music_unchanged():
    p = suck_train([1.0], [30.0], 20.0)
    pal = PalController().run(p, sampling_rate_hz=SR)
    sr = 16_000
    music = render_lullaby(tune="twinkle", minutes=0.5, sampling_rate_hz=sr, fades=False).render.samples
    heard = render_pal_audio(music, pal, sampling_rate_hz=sr)
    audio = heard.samples.astype(float)
    start = pal.criterion_suck_times_s_[0]
    assert not np.any(audio[: int(start * sr) - 1])
    assert not np.any(audio[int((start + 10.01) * sr):])
    # while the gate is fully open the music is the same music at one fixed gain: no tempo/key/volume change
    mid = slice(int((start + 3) * sr), int((start + 6) * sr))
    loud = np.abs(music[mid]) > 0.2 * np.abs(music[mid]).max()
    ratio = audio[mid][loud] / music[mid][loud]
    assert np.std(ratio) < 1e-3 * abs(np.mean(ratio))


def test_session_as_heard_is_within_nicu_limits():
    p, _ = simulate_suck_pressure(duration_s=180, sampling_rate_hz=SR, pause_s=(8.0, 25.0), seed=7)
    pal = PalController(session_s=180).run(p, sampling_rate_hz=SR)
    sr = 16_000
    cal = Calibration.from_measurement(72.0)
    music = render_lullaby(tune="brahms", minutes=3.0, sampling_rate_hz=sr, calibration=cal, fades=False)
    heard = render_pal_audio(music.render.samples, pal, sampling_rate_hz=sr, calibration=cal)
    r = measure_levels(heard.samples, sampling_rate_hz=sr, level_offset_db=cal.level_offset_db,
                       floor_dba=NICU_LIMITS.floor_dba)
    assert check_limits(r) == ()
    assert 0 < pal.summary_.playback_s < 180


@settings(max_examples=25, deadline=None)
@given(triggers=st.lists(st.floats(0, 200), max_size=30), play_s=st.floats(1, 30))
def test_playback_interval_properties(triggers, play_s):
    iv = playback_intervals(np.array(triggers), play_s=play_s, end_s=200.0)
    for (a, b), nxt in zip(iv, iv[1:] + [None]):
        assert b > a or b == 200.0
        if nxt:
            assert nxt[0] > b  # disjoint, sorted
    total = sum(b - a for a, b in iv)
    assert total <= min(200.0, len(triggers) * play_s) + 1e-9
    g = playback_gain(iv, n_samples=2000, sampling_rate_hz=10)
    assert g.min() >= 0 and g.max() <= 1


@settings(max_examples=10, deadline=None)
@given(shift_s=st.floats(0, 20))
def test_suck_detection_time_shift(shift_s):
    onsets = np.array([1.0, 1.6, 2.1, 5.0])
    a = detect_sucks(suck_train(onsets, [20, 30, 25, 40], 40.0), sampling_rate_hz=SR)
    b = detect_sucks(suck_train(onsets + shift_s, [20, 30, 25, 40], 40.0), sampling_rate_hz=SR)
    np.testing.assert_allclose([s.peak_s + shift_s for s in a], [s.peak_s for s in b], atol=0.015)


def test_bad_input():
    with pytest.raises(ParameterError, match="criterion_mmhg"):
        PalController(criterion_mmhg=200).run(np.zeros(100), sampling_rate_hz=SR)
    with pytest.raises(ParameterError, match="session_s"):
        PalController(session_s=3600).run(np.zeros(100), sampling_rate_hz=SR)
    with pytest.raises(ParameterError, match="Pa or cmH2O"):
        detect_sucks(np.full(100, 2000.0), sampling_rate_hz=SR)
    with pytest.raises(ParameterError, match="NaN"):
        detect_sucks(np.array([1.0, np.nan]), sampling_rate_hz=SR)
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        detect_sucks(np.zeros(10), sampling_rate_hz=5)
    assert detect_sucks(np.empty(0), sampling_rate_hz=SR) == []
    with pytest.raises(ParameterError, match="not been run"):
        render_pal_audio(np.ones(10), PalController(), sampling_rate_hz=100)
