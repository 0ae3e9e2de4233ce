"""A two-player MIDI duet with a known lag, written as a type-1 file (one track per player)."""

from __future__ import annotations

import mido
import numpy as np
import pytest

BEAT_S = 0.5
LAG_S = 0.08


def duet_notes(n_beats: int = 48):
    """(therapist rows, client rows) of (onset s, pitch, velocity): the client echoes 80 ms late, a fifth up."""
    rng = np.random.default_rng(7)
    t = np.arange(n_beats) * BEAT_S + rng.integers(-10, 11, n_beats) / 1000.0
    pitches = 60 + np.array([0, 2, 4, 5, 7, 9, 11, 12])[rng.integers(0, 8, n_beats)]
    therapist = [(float(a), int(p), 90) for a, p in zip(t, pitches)]
    client = [(round(a + LAG_S, 3), p + 7, 60) for a, p, _ in therapist[::2]]
    return therapist, client


def write_duet(path, players=(("therapist", 0), ("client", 1))):
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    tempo = mido.bpm2tempo(120)
    for (name, channel), rows in zip(players, duet_notes()):
        events = sorted([(t, 1, p, v) for t, p, v in rows] + [(t + 0.2, 0, p, 0) for t, p, v in rows])
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name), mido.MetaMessage("set_tempo", tempo=tempo)])
        last = 0
        for t, on, p, v in events:
            tick = int(round(mido.second2tick(t, 480, tempo)))
            track.append(mido.Message("note_on" if on else "note_off", channel=channel, note=p, velocity=v,
                                      time=tick - last))
            last = tick
        midi.tracks.append(track)
    midi.save(path)
    return path


@pytest.fixture
def duet_midi(tmp_path):
    return write_duet(tmp_path / "duet.mid")
