"""The tempo corpus builder of bench/tempo_corpus.py (issue 22): tempo maps, MIDI timing and the grouped
cross-validation folds, without FluidSynth or music21."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

BUILDER = Path(__file__).resolve().parents[2] / "bench" / "tempo_corpus.py"


@pytest.fixture(scope="module")
def builder():
    spec = importlib.util.spec_from_file_location("_cadenza_tempo_corpus", BUILDER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@settings(max_examples=10, deadline=None)
@given(bpm=st.floats(40.0, 160.0), curve=st.sampled_from(["steady", "rubato", "ritardando", "sine"]),
       seed=st.integers(0, 2**16))
def test_tempo_maps_are_increasing_and_stay_near_the_nominal_tempo(builder, bpm, curve, seed):
    times = builder.tempo_map(np.random.default_rng(seed), 64, bpm, curve)
    ibi = np.diff(times)
    assert times.size == 65 and times[0] == 0.0 and np.all(ibi > 0)
    assert 60.0 / np.median(ibi) == pytest.approx(bpm, rel=0.2)
    if curve == "steady":
        assert np.allclose(ibi, 60.0 / bpm)


def test_midi_note_times_round_trip_at_half_a_millisecond(builder, tmp_path):
    events = [(0.0, 0.4, 60, 80, 0), (0.5004, 0.9, 64, 60, 46), (1.25, 2.0, 67, 60, 0)]
    path = tmp_path / "x.mid"
    builder.write_midi(path, events)
    data = path.read_bytes()
    assert data[:4] == b"MThd" and data[14:18] == b"MTrk" and data.endswith(b"\xff\x2f\x00")
    # Decode the delta times of the note-ons back to seconds.
    pos, now, ons = 22, 0, []
    while pos < len(data) - 4:
        delta = 0
        while data[pos] & 0x80:
            delta = (delta << 7) | (data[pos] & 0x7F)
            pos += 1
        delta = (delta << 7) | data[pos]
        pos += 1
        now += delta
        status = data[pos]
        size = 2 if status & 0xF0 == 0xC0 else 3
        if status & 0xF0 == 0x90:
            ons.append(now / (2 * builder.TICKS_PER_QUARTER))
        pos += size
    assert np.allclose(ons, [0.0, 0.5004, 1.25], atol=0.0006)


def test_folds_never_split_a_piece(builder):
    rows = [{"source": f"piece{i % 7}#{i}", "fold": ""} for i in range(40)]
    builder.assign_folds(rows)
    by_piece: dict[str, set] = {}
    for r in rows:
        by_piece.setdefault(r["source"].split("#")[0], set()).add(r["fold"])
    assert all(len(f) == 1 for f in by_piece.values())
    assert {r["fold"] for r in rows} == set(range(builder.N_FOLDS))
