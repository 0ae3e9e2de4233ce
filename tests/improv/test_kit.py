"""A drum kit's roles in the level choice: the backbeat and the foot's pulse (known answers, invariants),
and the tempo of grooves that the velocities alone read at the wrong level."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.improv import analyze_take, estimate_pulse, make_take
from cadenza.improv.kit import backbeat_alignment, foot_pulse, meter_consistency
from cadenza.improv.pulse import KIT_LEVEL_FEATURES, estimate_bar_s


def _groove(tempo_bpm: float, *, n_bars: int = 12, hats_per_beat: int = 2, pedal: bool = False,
            start_s: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times s, velocities, pitches) of 4/4: kick on 1 and 3, snare on 2 and 4, closed hi-hats
    ``hats_per_beat`` to a beat (louder on it), the pedal on every beat if ``pedal``; 5 ms of jitter."""
    rng = np.random.default_rng(seed)
    beat_s, rows = 60.0 / tempo_bpm, []
    for beat in range(4 * n_bars):
        t0 = start_s + beat * beat_s
        rows.append((t0, 36 if beat % 2 == 0 else 38, 110 if beat % 2 == 0 else 100))
        rows += [(t0 + k * beat_s / hats_per_beat, 42, 75 if k == 0 else 50) for k in range(hats_per_beat)]
        if pedal:
            rows.append((t0, 44, 60))
    t = np.array([r[0] for r in rows]) + rng.normal(0.0, 0.005, len(rows))
    order = np.argsort(t, kind="stable")
    return (np.clip(t[order], 0.0, None), np.array([r[2] for r in rows], dtype=float)[order],
            np.array([r[1] for r in rows], dtype=float)[order])


@settings(max_examples=25, deadline=None)
@given(tempo_bpm=st.floats(50.0, 240.0), start_s=st.floats(0.0, 500.0), seed=st.integers(0, 2**16))
def test_the_backbeat_marks_the_beat_not_half_or_double_time_wherever_the_groove_starts(tempo_bpm, start_s, seed):
    t, v, p = _groove(tempo_bpm, start_s=start_s, seed=seed)
    beat_s = 60.0 / tempo_bpm
    values = backbeat_alignment(t, v, p, [beat_s, 2 * beat_s, beat_s / 2])
    assert np.all((values >= 0) & (values <= 1))
    assert values[0] > 0.8 and values[1] < 0.2 and values[2] < 0.2
    shifted = backbeat_alignment(t + 3.7, v, p, [beat_s, 2 * beat_s, beat_s / 2])
    np.testing.assert_allclose(shifted, values, atol=1e-6)  # a time shift moves both roles alike


@settings(max_examples=25, deadline=None)
@given(tempo_bpm=st.floats(50.0, 240.0), start_s=st.floats(0.0, 500.0), seed=st.integers(0, 2**16))
def test_the_pedal_on_every_beat_marks_the_beat(tempo_bpm, start_s, seed):
    t, _, p = _groove(tempo_bpm, pedal=True, start_s=start_s, seed=seed)
    beat_s = 60.0 / tempo_bpm
    values = foot_pulse(t, p, [beat_s, 2 * beat_s, beat_s / 2])
    assert np.all((values >= 0) & (values <= 1))
    assert values[0] > 0.85 and values[1] < 0.2 and 0.3 < values[2] < 0.6


def test_without_the_roles_the_features_say_nothing():
    t, v, p = _groove(100.0)
    no_kick = p != 36
    assert backbeat_alignment(t[no_kick], v[no_kick], p[no_kick], [0.6, 1.2]).tolist() == [0.0, 0.0]
    assert foot_pulse(t, p, [0.6, 1.2]).tolist() == [0.0, 0.0]  # no pedal in this groove
    assert backbeat_alignment(t, v, np.full(t.size, -1.0), 0.6).tolist() == [0.0]  # a melody's notes: no role


@settings(max_examples=12, deadline=None)
@given(tempo_bpm=st.floats(70.0, 215.0), seed=st.integers(0, 2**16))
def test_an_eighth_note_hat_groove_is_read_at_its_beat_with_the_kit_roles(tempo_bpm, seed):
    # The velocities alone read it at double time below about 85 BPM and at half time above about 195.
    t, v, p = _groove(tempo_bpm, hats_per_beat=2, seed=seed)
    assert estimate_pulse(t, velocities=v, drum_pitches=p).tempo_bpm == pytest.approx(tempo_bpm, rel=0.02)


def test_a_percussion_player_hands_its_note_numbers_to_the_take_tempo():
    t, v, p = _groove(72.0, n_bars=10)
    drums = make_take(t, pitches=p, velocities=v, players=["client"] * t.size, percussion_players=["client"])
    keys = make_take(t, pitches=p, velocities=v, players=["client"] * t.size)
    assert analyze_take(drums).tempo_bpm == pytest.approx(72.0, rel=0.02)
    assert analyze_take(drums).per_player["client"].tempo_bpm == pytest.approx(72.0, rel=0.02)
    assert analyze_take(keys).tempo_bpm == pytest.approx(144.0, rel=0.02)  # without roles: double time, as before


@pytest.mark.parametrize("bad", ["short", "nan"])
def test_bad_drum_pitches_are_refused(bad):
    t, v, p = _groove(100.0, n_bars=8)
    pitches = p[:3] if bad == "short" else np.where(p == 38, np.nan, p)
    with pytest.raises(ParameterError, match="drum_pitches"):
        estimate_pulse(t, velocities=v, drum_pitches=pitches)


def test_a_kit_played_at_one_velocity_is_scored_on_the_grid_alone_whatever_kit_weights_are_given():
    t, _, p = _groove(100.0, n_bars=8, hats_per_beat=4)
    flat = np.full(t.size, 90.0)  # no accents: the plain grid weights, as without a kit
    expected = estimate_pulse(t, velocities=flat).tempo_bpm
    assert estimate_pulse(t, velocities=flat, drum_pitches=p).tempo_bpm == expected
    assert estimate_pulse(t, velocities=flat, drum_pitches=p,
                          level_weights=(0.5,) * len(KIT_LEVEL_FEATURES)).tempo_bpm == expected


def test_kit_level_weights_of_the_wrong_length_are_refused():
    t, v, p = _groove(100.0, n_bars=8)
    with pytest.raises(ParameterError, match="KIT_LEVEL_FEATURES"):
        estimate_pulse(t, velocities=v, drum_pitches=p, level_weights=(1.0,) * 7)


def _odd_meter_groove(tempo_bpm: float, meter: str, *, n_bars: int = 12, start_s: float = 0.0,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times s, velocities, pitches): "3/4" kick on 1, snare on 2 and 3; "5/4" (3+2) kick on 1 and 4,
    snare on 3 and 5; both with eighth hi-hats, louder on the beat. "waltz": a jazz waltz, the ride on
    1, 2, the swung "a" of 2 and 3, the pedal on 2 and 3, a soft kick on 1. 5 ms of jitter."""
    rng = np.random.default_rng(seed)
    beat_s, rows = 60.0 / tempo_bpm, []
    per_bar = 5 if meter == "5/4" else 3
    for beat in range(per_bar * n_bars):
        t0, k = start_s + beat * beat_s, beat % per_bar
        if meter == "waltz":
            rows += [(t0, 51, 80 if k == 0 else 65), (t0, 44, 60) if k else (t0, 36, 70)]
            rows += [(t0 + 2 * beat_s / 3, 51, 50)] if k == 1 else []
            continue
        if meter == "3/4":
            rows.append((t0, 36, 110) if k == 0 else (t0, 38, 100))
        elif k in (0, 3, 2, 4):
            rows.append((t0, 36, 110) if k in (0, 3) else (t0, 38, 100))
        rows += [(t0, 42, 75), (t0 + beat_s / 2, 42, 50)]
    t = np.array([r[0] for r in rows]) + rng.normal(0.0, 0.005, len(rows))
    order = np.argsort(t, kind="stable")
    return (np.clip(t[order], 0.0, None), np.array([r[2] for r in rows], dtype=float)[order],
            np.array([r[1] for r in rows], dtype=float)[order])


def test_meter_consistency_is_one_where_the_beat_divides_the_bar_and_minus_one_at_a_half():
    bar_s = 1.8  # a 3/4 bar at 100 BPM
    np.testing.assert_allclose(meter_consistency(bar_s, [0.6, 0.3, 1.2, 1.8 / 1.5 / 2]), [1.0, 1.0, -1.0, 1.0])
    assert meter_consistency(float("nan"), [0.6, 1.2]).tolist() == [0.0, 0.0]  # no bar: no say


@settings(max_examples=40, deadline=None)
@given(bar_s=st.floats(0.75, 6.0), beats_per_bar=st.floats(0.5, 8.0))
def test_only_a_bar_of_less_than_two_beats_is_held_against_a_level(bar_s, beats_per_bar):
    """5/8 and 7/8 counted in quarter notes hold 2.5 and 3.5 written beats a bar: never scored below 0, while
    half time of a 3/4 bar (1.5 beats) still scores -1."""
    (value,) = meter_consistency(bar_s, bar_s / beats_per_bar)
    assert -1.0 <= value <= 1.0
    if beats_per_bar >= 2.0:
        assert value >= 0.0
    else:
        assert value == pytest.approx(np.cos(2 * np.pi * beats_per_bar), abs=1e-9)
    np.testing.assert_allclose(meter_consistency(1.25, [0.5, 0.25, 1.25 / 3.5, 1.25 / 1.5]), [0.0, 1.0, 0.0, -1.0],
                               atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(tempo_bpm=st.floats(60.0, 240.0), meter=st.sampled_from(["3/4", "5/4", "4/4"]),
       start_s=st.floats(0.0, 100.0), seed=st.integers(0, 2**16))
def test_the_bar_of_the_kick_and_snare_is_a_whole_number_of_beats_wherever_the_groove_starts(tempo_bpm, meter, start_s,
                                                                                            seed):
    """A whole number of beats: the bar, a multiple, or (slow grooves, where the kick and snare play every
    beat of the 0.75-6 s range) one beat; never a beat and a half."""
    if meter == "4/4":
        t, v, p = _groove(tempo_bpm, start_s=start_s, seed=seed)
    else:
        t, v, p = _odd_meter_groove(tempo_bpm, meter, start_s=start_s, seed=seed)
    bar = np.isin(p, (35, 36, 37, 38, 40))
    bar_s = estimate_bar_s(t[bar], v[bar] / 127.0)
    beats = bar_s * tempo_bpm / 60.0
    assert beats == pytest.approx(round(beats), abs=0.05) and round(beats) >= 1
    assert estimate_bar_s(t[bar] + 7.3, v[bar] / 127.0) == pytest.approx(bar_s, abs=0.006)  # a time shift moves nothing


def test_a_bar_needs_notes_and_a_take_that_holds_its_multiples():
    assert np.isnan(estimate_bar_s(np.arange(5) * 0.3, np.ones(5)))  # too few notes
    assert np.isnan(estimate_bar_s(np.linspace(0.0, 2.9, 30), np.ones(30)))  # 4 x the shortest bar (0.75 s) is 3 s
    t = np.arange(0.0, 5.0, 0.25)  # 5 s of a 2-s bar (loud every 8th note, soft between them)
    bar_s = estimate_bar_s(t, np.where(np.arange(t.size) % 8 == 0, 1.0, 0.2))
    assert np.isnan(bar_s) or 4 * bar_s <= 5.0  # never a bar whose multiples the take does not hold
    t = np.arange(0.0, 12.0, 0.2)  # 12 s: seven bars of 1.6 s
    assert estimate_bar_s(t, np.where(np.arange(t.size) % 8 == 0, 1.0, 0.2)) == pytest.approx(1.6)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(tempo_bpm=st.floats(90.0, 215.0), seed=st.integers(0, 2**16))
def test_a_rock_groove_in_3_4_is_read_at_its_beat_not_half_time(tempo_bpm, seed):
    # Without the meter, half time (1.5 beats a bar) wins above about 195 BPM.
    t, v, p = _odd_meter_groove(tempo_bpm, "3/4", seed=seed)
    assert estimate_pulse(t, velocities=v, drum_pitches=p).tempo_bpm == pytest.approx(tempo_bpm, rel=0.02)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(tempo_bpm=st.floats(90.0, 195.0), seed=st.integers(0, 2**16))
def test_a_rock_groove_in_5_4_is_read_at_its_beat(tempo_bpm, seed):
    t, v, p = _odd_meter_groove(tempo_bpm, "5/4", seed=seed)
    assert estimate_pulse(t, velocities=v, drum_pitches=p).tempo_bpm == pytest.approx(tempo_bpm, rel=0.02)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(tempo_bpm=st.floats(70.0, 225.0), seed=st.integers(0, 2**16))
def test_a_jazz_waltz_is_read_at_its_beat(tempo_bpm, seed):
    t, v, p = _odd_meter_groove(tempo_bpm, "waltz", seed=seed)
    assert estimate_pulse(t, velocities=v, drum_pitches=p).tempo_bpm == pytest.approx(tempo_bpm, rel=0.02)


def test_the_meter_keeps_a_fast_3_4_groove_off_half_time():
    from cadenza.improv.pulse import KIT_LEVEL_WEIGHTS

    t, v, p = _odd_meter_groove(212.0, "3/4", seed=1)
    without_meter = KIT_LEVEL_WEIGHTS[:-1] + (0.0,)
    assert estimate_pulse(t, velocities=v, drum_pitches=p, level_weights=without_meter).tempo_bpm == \
        pytest.approx(106.0, rel=0.02)
    assert estimate_pulse(t, velocities=v, drum_pitches=p).tempo_bpm == pytest.approx(212.0, rel=0.02)
