"""MIDI files as improvisation takes: players by track or channel, durations, the tempo map, bad files."""

from __future__ import annotations

import mido
import pytest

from cadenza.errors import DataQualityError, ParameterError
from cadenza.io import load_midi_take


def _save(path, tracks, *, file_type=1):
    midi = mido.MidiFile(type=file_type, ticks_per_beat=480)
    for messages in tracks:
        midi.tracks.append(mido.MidiTrack(messages))
    midi.save(path)
    return path


def test_one_player_per_track_named_after_the_tracks(tmp_path):
    tempo = [mido.MetaMessage("set_tempo", tempo=500_000)]  # 120 BPM: a beat is 0.5 s
    keys = [mido.MetaMessage("track_name", name="therapist"), mido.Message("note_on", note=60, velocity=80, time=0),
            mido.Message("note_off", note=60, velocity=0, time=240)]
    pads = [mido.MetaMessage("track_name", name="client"),
            mido.Message("note_on", channel=9, note=38, velocity=100, time=480),
            mido.Message("note_on", channel=9, note=38, velocity=0, time=48)]
    take, info = load_midi_take(_save(tmp_path / "duet.mid", [tempo, keys, pads]))
    assert take.player_names == ("therapist", "client") and info == {"tempo_marking_bpm": 120.0, "players_from": "tracks"}
    assert take.for_player("therapist").durations_s.tolist() == [0.25]
    client = take.for_player("client")
    assert client.onset_times_s.tolist() == [0.5] and client.durations_s.tolist() == pytest.approx([0.05])
    assert take.is_percussion("client") and not take.is_percussion("therapist")


def test_one_track_two_channels_and_a_tempo_change(tmp_path):
    messages = [mido.MetaMessage("set_tempo", tempo=500_000),
                mido.Message("note_on", channel=0, note=60, velocity=80, time=0),
                mido.Message("note_on", channel=1, note=48, velocity=70, time=480),  # 0.5 s
                mido.MetaMessage("set_tempo", tempo=1_000_000, time=0),            # 60 BPM from here
                mido.Message("note_on", channel=0, note=62, velocity=80, time=480)]  # + 1.0 s; ends the first 60
    take, info = load_midi_take(_save(tmp_path / "one.mid", [messages], file_type=0))
    assert info["players_from"] == "channels" and take.player_names == ("channel 1", "channel 2")
    assert take.notes.onset_times_s.tolist() == [0.0, 0.5, 1.5]
    assert take.for_player("channel 1").durations_s.tolist()[0] == pytest.approx(0.1)  # never ended: the default


def test_tracks_without_distinct_names_are_numbered(tmp_path):
    track = [mido.MetaMessage("track_name", name="Piano"), mido.Message("note_on", note=60, velocity=80, time=0)]
    take, _ = load_midi_take(_save(tmp_path / "same.mid", [track, list(track)]))
    assert take.player_names == ("track 1", "track 2")


def test_missing_and_corrupt_files_are_clear_errors(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_midi_take(tmp_path / "absent.mid")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\xff\xff\xff\xff")
    with pytest.raises(DataQualityError, match="cannot read MIDI file"):
        load_midi_take(bad)
