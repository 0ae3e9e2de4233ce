"""A running live walk saved as bytes and carried on elsewhere gives the same steps, beats and freezes."""

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.ras.live import LiveCueSession
from cadenza.ras.live_state import restore, snapshot


def test_a_walk_restored_mid_way_carries_on_exactly_as_the_original(rng, make_lower_back, make_walk):
    ic = make_walk(start_s=1.0, n_steps=22, step_s=0.6, rng=rng)
    acc = make_lower_back(ic, duration_s=15.0, sampling_rate_hz=100, rng=rng)
    t = 100.0 + np.arange(acc.shape[-1]) / 100.0
    original = LiveCueSession(preferred_cadence_spm=100, goal_cadence_spm=105)
    half = t.size // 2
    for i in range(0, half, 25):
        original.push(t[i:i + 25], acc[:, i:i + 25])
    data = snapshot(original)
    assert len(data) < 200_000
    copy = restore(data, like=LiveCueSession(preferred_cadence_spm=100, goal_cadence_spm=105))
    assert copy is not original and copy.controller.beat_times_s_ == original.controller.beat_times_s_
    for i in range(half, t.size, 25):
        a, b = original.push(t[i:i + 25], acc[:, i:i + 25]), copy.push(t[i:i + 25], acc[:, i:i + 25])
        assert a == b
    assert copy.summary() == original.summary() and copy.summary()["n_steps"] >= 15


def test_bytes_that_are_not_a_snapshot_are_refused_by_name():
    good = snapshot(LiveCueSession(preferred_cadence_spm=100, goal_cadence_spm=105))
    with pytest.raises(ParameterError, match="does not decode"):
        restore(good[:-7])
    with pytest.raises(ParameterError, match="version"):
        restore(zlib.compress(b'{"version": 99, "live": null}'))
    with pytest.raises(ParameterError, match="unknown class"):
        restore(zlib.compress(b'{"version": 1, "live": {"$o": "Popen", "v": {}}}'))
    with pytest.raises(ParameterError, match="does not hold"):
        restore(zlib.compress(b'{"version": 1, "live": [1, 2]}'))
    with pytest.raises(ParameterError, match="non-empty bytes"):
        restore(b"")
    older = LiveCueSession(preferred_cadence_spm=100, goal_cadence_spm=105)
    del older.controller.delay_compensation  # as a server before that attribute would have saved it
    with pytest.raises(ParameterError, match="another version"):
        restore(snapshot(older), like=LiveCueSession(preferred_cadence_spm=100, goal_cadence_spm=105))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_restore_or_fail_with_a_parameter_error(data):
    try:
        restore(zlib.compress(data) if data[:1] == b"{" else data)
    except ParameterError:
        pass
