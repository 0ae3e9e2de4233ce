"""Between-player figures: lag and synchrony recovered from duets built from real performances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadenza.improv import Notes, count_imitations, estimate_lag_ms, measure_duet, measure_synchrony, measure_turn_taking


def _window(notes: Notes, start_s: float, length_s: float, *, shift_s: float = 0.0, every: int = 1) -> Notes:
    keep = (notes.onset_times_s >= start_s) & (notes.onset_times_s < start_s + length_s)
    keep &= np.cumsum(keep) % every == 0
    t = np.round((notes.onset_times_s[keep] - start_s) * 1000.0) / 1000.0 + 1.0 + shift_s  # whole milliseconds
    return Notes(t, notes.durations_s[keep], notes.pitches[keep], notes.velocities[keep])


def _merge(*parts: Notes) -> Notes:
    t = np.concatenate([p.onset_times_s for p in parts])
    order = np.argsort(t, kind="stable")
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts])[order]  # noqa: E731
    return Notes(t[order], cat("durations_s"), cat("pitches"), cat("velocities"))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shift_ms=st.integers(min_value=0, max_value=300), start_s=st.floats(min_value=0.0, max_value=20.0))
def test_a_follower_echoing_a_real_performance_is_found_to_the_millisecond(duet_performances, shift_ms, start_s):
    leader = _window(duet_performances[0], start_s, 20.0)
    follower = _window(duet_performances[0], start_s, 20.0, shift_s=shift_ms / 1000.0)
    duet = measure_duet(leader, follower, duration_s=22.0)
    assert duet.leader_lag_ms == shift_ms
    assert duet.leader == ("a" if shift_ms else "")
    assert duet.lagged_synchrony_pct == 100.0
    if shift_ms <= 50:
        assert duet.synchrony_pct == 100.0


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shift_ms=st.integers(min_value=0, max_value=300), start_s=st.floats(min_value=0.0, max_value=20.0))
def test_lag_is_exact_when_the_follower_also_plays_a_second_real_performance(duet_performances, shift_ms, start_s):
    """Player b echoes every other note of player a, late by the shift, over another drummer's groove."""
    a = _window(duet_performances[0], start_s, 20.0)
    echo = _window(duet_performances[0], start_s, 20.0, shift_s=shift_ms / 1000.0, every=2)
    other = _window(duet_performances[1], 0.0, 20.0)
    b = _merge(echo, other)
    assert estimate_lag_ms(a.onset_times_s, b.onset_times_s) == shift_ms
    assert estimate_lag_ms(b.onset_times_s, a.onset_times_s) == -shift_ms or shift_ms == 0
    # every echoed note has its original within the window once the lag is allowed for
    # once the lag is allowed for, every echoed note meets its original to the millisecond
    sync_pct, asynchrony_ms = measure_synchrony(echo.onset_times_s - shift_ms / 1000.0, a.onset_times_s, window_ms=0.5)
    assert sync_pct >= 100.0 * 2 * echo.n_notes / (a.n_notes + echo.n_notes) - 1e-9
    assert asynchrony_ms == pytest.approx(0.0, abs=1e-6)


def test_synchrony_of_two_unrelated_players_is_low_and_of_a_copy_is_full():
    rng = np.random.default_rng(3)
    a = np.sort(rng.uniform(0, 60, 100))
    b = np.sort(rng.uniform(0, 60, 100))
    assert measure_synchrony(a, a)[0] == 100.0
    assert measure_synchrony(a, b)[0] < 40.0
    pct, asyn = measure_synchrony(a, a + 0.02)
    assert pct == 100.0 and asyn == pytest.approx(20.0)


def test_turn_taking_of_alternating_phrases():
    def phrase(start_s):
        t = start_s + np.arange(0, 9.9, 0.25)
        return t

    a_t = np.concatenate([phrase(0.0), phrase(20.0)])
    b_t = phrase(10.0)
    mk = lambda t: Notes(t, np.full(t.size, 0.2), np.full(t.size, 60.0), np.full(t.size, 80.0))  # noqa: E731
    act = measure_turn_taking(mk(a_t), mk(b_t), duration_s=30.0)
    assert act.n_turns == 2
    assert act.only_a_pct == pytest.approx(66.7, abs=1.0) and act.only_b_pct == pytest.approx(33.3, abs=1.0)
    assert act.both_pct == 0.0 and len(act.segments_a) == 2 and act.segments_b[0][0] == pytest.approx(10.0)


def test_imitation_counts_transposed_echoes_only_after_the_leader():
    t = np.array([0.0, 0.3, 0.6, 1.2, 1.5])
    lead = Notes(t, np.full(5, 0.1), np.array([60.0, 64, 67, 72, 67]), np.full(5, 90.0))
    echo = Notes(t + 3.0, lead.durations_s, lead.pitches - 12, lead.velocities)
    assert count_imitations(lead, echo) == 2
    assert count_imitations(echo, lead) == 0
    late = Notes(t + 30.0, lead.durations_s, lead.pitches, lead.velocities)
    assert count_imitations(lead, late) == 0


def test_too_few_notes_give_nan_not_an_error():
    one = Notes(np.array([1.0]), np.array([0.1]), np.array([60.0]), np.array([80.0]))
    duet = measure_duet(one, one, duration_s=2.0)
    assert np.isnan(duet.leader_lag_ms) and duet.leader == "" and np.isnan(duet.tempo_coupling_r)


@pytest.mark.parametrize("offset_ms", [0.0, 0.4999999, 0.5, 0.5000001, 123.456])
def test_a_strictly_periodic_echo_gets_the_shortest_lag_whatever_the_sub_ms_clock_offset(offset_ms):
    """b echoes every other note of a 60 ms late; -190 ms (before a's next note) fits as many notes."""
    a = offset_ms / 1000.0 + 3.0 + 0.25 * np.arange(48)
    assert estimate_lag_ms(a, a[::2] + 0.06) == 60.0
    assert estimate_lag_ms(a, a[::2] + 0.0605) in (60.0, 61.0)  # a true half-millisecond lag rounds either way
