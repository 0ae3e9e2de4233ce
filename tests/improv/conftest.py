"""Real drum performances (Groove MIDI) shared by the improvisation tests."""

from __future__ import annotations

import csv

import pytest

#: Two performances by two drummers at 120 BPM, and a short list of beat files with their metronome BPM.
DUET_FILES = ("drummer1/session1/101_dance-disco_120_beat_4-4.mid", "drummer3/session1/16_jazz_120_beat_4-4.mid")


@pytest.fixture(scope="session")
def groove(shared_data):
    return shared_data("midi", "groove")


@pytest.fixture(scope="session")
def groove_beats(groove):
    """(path, metronome BPM) of the beat files under a minute of the shared Groove MIDI selection (22 of 42,
    drummers 1-5; the benchmark scores all of them)."""
    with open(groove / "index.csv", newline="") as f:
        return [(groove / r["file"], float(r["bpm"])) for r in csv.DictReader(f)
                if r["beat_or_fill"] == "beat" and float(r["last_note_s"]) < 60.0]


@pytest.fixture(scope="session")
def duet_performances(groove):
    """The notes of two real performances , as improv ``Notes``."""
    from cadenza.io import load_midi_take

    out = []
    for name in DUET_FILES:
        take, _ = load_midi_take(groove / name)
        out.append(take.notes)
    return out
