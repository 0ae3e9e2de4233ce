import mido
import numpy as np
import pytest

from cadenza.errors import DataQualityError, ParameterError
from cadenza.io.event_files import load_event_times, load_midi_onsets


def test_plain_times_and_csv_with_header_and_labels(tmp_path):
    plain = tmp_path / "cue.txt"
    plain.write_text("# cue heard at\n0.5\n1.0\n\n1.5\n")
    times, labels = load_event_times(plain)
    assert times.tolist() == [0.5, 1.0, 1.5] and labels is None
    table = tmp_path / "hits.csv"
    table.write_text("time_s,side\n0.48,L\n0.97,R\n")
    times, labels = load_event_times(table)
    assert times.tolist() == [0.48, 0.97] and labels == ["L", "R"]
    spaced = tmp_path / "hits.tsv"
    spaced.write_text("0.1\tL\n0.6\tR\n")
    assert load_event_times(spaced)[1] == ["L", "R"]


def test_bad_times_files_name_the_problem(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        load_event_times(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("0.5\nsoon\n")
    with pytest.raises(DataQualityError, match="line 2"):
        load_event_times(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert load_event_times(empty)[0].size == 0


def test_midi_note_on_times(tmp_path):
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000))  # 120 BPM: a beat is 0.5 s
    for k in range(3):
        track.append(mido.Message("note_on", note=38, velocity=100, time=0 if k == 0 else 240))
        track.append(mido.Message("note_on", note=38, velocity=0, time=240))  # note-off as velocity 0
    path = tmp_path / "pad.mid"
    midi.save(path)
    np.testing.assert_allclose(load_midi_onsets(path), [0.0, 0.5, 1.0])  # 240 ticks = 0.25 s


def test_a_broken_midi_file_is_refused(tmp_path):
    path = tmp_path / "broken.mid"
    path.write_bytes(b"MThd\x00\x00")
    with pytest.raises(DataQualityError, match="MIDI"):
        load_midi_onsets(path)
