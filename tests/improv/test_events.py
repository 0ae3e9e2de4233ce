"""A take: checked input, players split in order of entry."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.improv import make_take


def test_players_keep_the_order_they_enter_and_notes_are_sorted():
    take = make_take([2.0, 0.5, 1.0], pitches=[60, 62, 64], velocities=[70, 80, 90], players=["t", "c", "t"],
                     percussion_players=["c"])
    assert take.player_names == ("c", "t") and take.is_percussion("c") and not take.is_percussion("t")
    assert take.notes.onset_times_s.tolist() == [0.5, 1.0, 2.0]
    assert take.for_player("t").pitches.tolist() == [64.0, 60.0]


@pytest.mark.parametrize("kwargs, arg", [
    (dict(onset_times_s=[float("nan")]), "onset_times_s"),
    (dict(onset_times_s=[20_000_000.0]), "milliseconds given as seconds"),
    (dict(pitches=[128]), "pitches"),
    (dict(velocities=[0]), "velocities"),
    (dict(durations_s=[-1.0]), "durations_s"),
    (dict(players=["a", "b"]), "players"),
    (dict(percussion_players=["nobody"]), "percussion_players"),
])
def test_bad_notes_are_refused_naming_the_argument(kwargs, arg):
    args = dict(onset_times_s=[0.0], pitches=[60], velocities=[64], players=["a"]) | kwargs
    onsets = args.pop("onset_times_s")
    with pytest.raises(ParameterError, match=arg):
        make_take(onsets, **args)


def test_unknown_player_is_refused():
    take = make_take([0.0], pitches=[60], velocities=[64], players=["a"])
    with pytest.raises(ParameterError, match="player must be one of"):
        take.for_player("<script>")


@settings(max_examples=40)
@given(st.lists(st.tuples(st.floats(0, 3600), st.integers(0, 127), st.integers(1, 127), st.sampled_from("abc")),
                max_size=50))
def test_any_valid_notes_make_a_take_that_splits_back_into_them(rows):
    take = make_take([r[0] for r in rows], pitches=[r[1] for r in rows], velocities=[r[2] for r in rows],
                     players=[r[3] for r in rows])
    assert sum(take.for_player(p).n_notes for p in take.player_names) == len(rows)
    assert list(take.notes.onset_times_s) == sorted(r[0] for r in rows)
