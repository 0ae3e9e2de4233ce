"""The render cache: entries by content key, whole or absent (never half-read), pruned oldest first."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.io.render_cache import content_key, file_sha256, load_arrays, store_arrays


def test_an_entry_comes_back_as_stored_and_a_changed_input_is_another_key(tmp_path):
    song = tmp_path / "song.wav"
    song.write_bytes(b"one")
    key = content_key("live-music", 2, file_sha256(song), 3, [0.5, 1.0], 105.0)
    assert key == content_key("live-music", 2, file_sha256(song), 3, [0.5, 1.0], 105.0)
    song.write_bytes(b"two")  # the same path with other content
    assert content_key("live-music", 2, file_sha256(song), 3, [0.5, 1.0], 105.0) != key
    assert load_arrays(tmp_path / "cache", key) is None
    samples = np.arange(12, dtype=np.float32).reshape(2, 6)
    store_arrays(tmp_path / "cache", key, {"samples": samples, "beats": np.array([0.1, 0.6])})
    found = load_arrays(tmp_path / "cache", key)
    assert found["samples"].dtype == np.float32 and np.array_equal(found["samples"], samples)
    assert np.array_equal(found["beats"], [0.1, 0.6])


def test_a_corrupt_entry_is_a_miss_and_is_removed(tmp_path):
    key = content_key("x")
    store_arrays(tmp_path, key, {"a": np.ones(1000)})
    entry = tmp_path / f"{key}.npz"
    entry.write_bytes(entry.read_bytes()[:200])  # cut short (a full disk, a killed process)
    assert load_arrays(tmp_path, key) is None and not entry.exists()


def test_the_folder_keeps_the_most_recently_used_entries(tmp_path):
    keys = [content_key(i) for i in range(5)]
    for i, key in enumerate(keys):
        store_arrays(tmp_path, key, {"a": np.full(3, i)}, max_entries=10)
        os.utime(tmp_path / f"{key}.npz", (1000 + i, 1000 + i))
    assert load_arrays(tmp_path, keys[0]) is not None  # used now: the newest
    store_arrays(tmp_path, content_key("new"), {"a": np.zeros(1)}, max_entries=3)
    left = {p.stem for p in tmp_path.glob("*.npz")}
    assert left == {keys[0], keys[4], content_key("new")}


def test_bad_keys_and_parts_are_refused_by_name(tmp_path):
    with pytest.raises(ParameterError, match="key"):
        load_arrays(tmp_path, "../../etc/passwd")
    with pytest.raises(ParameterError, match="content_key"):
        content_key(float("nan"))
    with pytest.raises(ParameterError, match="cannot read"):
        file_sha256(tmp_path / "missing.wav")
