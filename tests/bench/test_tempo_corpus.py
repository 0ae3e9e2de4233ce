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
@given(bpm=st.floats(40.0, 160.0), curve=st.sampled_from(["steady", "rubato", "ritardando", "sine", "ramp"]),
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


def _note_ons(data: bytes) -> list[tuple[int, int, int]]:
    """(channel, pitch, program on that channel) of each note-on in a format-0 file of ``write_midi``."""
    pos, programs, ons = 22, {}, []
    while pos < len(data) - 4:
        while data[pos] & 0x80:
            pos += 1
        pos += 1
        status = data[pos]
        if status & 0xF0 == 0xC0:
            programs[status & 0x0F] = data[pos + 1]
            pos += 2
            continue
        if status & 0xF0 == 0x90:
            ons.append((status & 0x0F, data[pos + 1], programs.get(status & 0x0F, -1)))
        pos += 3
    return ons


def test_band_drums_play_on_the_percussion_channel_under_the_beat(builder, tmp_path):
    melody = [(float(q), 1.0, 67 + (q % 3), 0) for q in range(8)]
    band = builder.band(melody, 8.0, 4)
    drums = [n for n in band if n[3] == 10]
    bass = [n for n in band if n[3] == 11]
    assert [o for o, _, p, _ in drums if p == 36] == [0.0, 2.0, 4.0, 6.0]  # kick on 1 and 3 of 4/4
    assert [o for o, _, p, _ in drums if p == 38] == [1.0, 3.0, 5.0, 7.0]  # snare on 2 and 4
    assert [o for o, _, p, _ in drums if p == 42] == [q / 2 for q in range(16)]  # hi-hat eighths
    assert [o for o, _, _, _ in bass] == [float(q) for q in range(8)] and all(36 <= p < 60 for _, _, p, _ in bass)
    path = tmp_path / "band.mid"
    builder.write_midi(path, [(0.0, 0.2, 36, 80, builder.DRUMS), (0.0, 0.5, 67, 78, 25), (0.0, 0.5, 43, 62, 33)])
    ons = _note_ons(path.read_bytes())
    assert (9, 36, -1) in ons  # channel 10, no program change: General MIDI percussion
    assert {(p, prog) for ch, p, prog in ons if ch != 9} == {(67, 25), (43, 33)}


def test_wide_sources_are_written_as_the_shared_corpus_writes_them(builder):
    root = "/x/music21/corpus"
    assert builder._source(f"{root}/mozart/k80/movement3.mxl", "movement3.mxl", True) == "mozart/k80/movement3.mxl"
    assert builder._source(f"{root}/essenFolksong/lot.abc", "lot.abc#3", True) == "essenFolksong/lot.abc#3"
    assert builder._source(f"{root}/mozart/k80/movement3.mxl", "movement3.mxl", False) == "k80/movement3.mxl"


def _corpus(root: Path, ids: list[str], source: str) -> None:
    (root / "audio").mkdir(parents=True)
    (root / "annotations").mkdir()
    for i in ids:
        (root / "audio" / f"{i}.flac").write_bytes(b"x")
        (root / "annotations" / f"{i}.beats").write_text("0.5\n")
    rows = "".join(f"{i},audio/{i}.flac,annotations/{i}.beats,{source}#{k},\n" for k, i in enumerate(ids))
    (root / "manifest.csv").write_text("id,audio,beats,source,fold\n" + rows)


def test_merge_copies_another_build_and_refuses_clashing_ids(builder, tmp_path):
    import csv

    _corpus(tmp_path / "a", ["tw001", "tw002"], "essenFolksong/lot.abc")
    _corpus(tmp_path / "b", ["tx001"], "bach/bwv1.mxl")
    assert builder.merge(tmp_path / "a", tmp_path / "b") == 0
    with open(tmp_path / "a" / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["tw001", "tw002", "tx001"]
    assert (tmp_path / "a" / "audio" / "tx001.flac").is_file() and (tmp_path / "a" / "annotations" / "tx001.beats").is_file()
    assert rows[0]["fold"] == rows[1]["fold"] != rows[2]["fold"]  # one collection, one fold
    assert builder.merge(tmp_path / "a", tmp_path / "b") == 2  # tx001 is there already
