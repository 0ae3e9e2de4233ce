"""Improvisation from recordings: notes of a drum (unpitched) and a voice (pitched), checked against the
human annotations of the real tabla and vocadito recordings in ../shared/data, and on synthetic tones."""

import mir_eval
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.errors import ParameterError
from cadenza.improv import analyze_take, notes_from_audio, take_from_audio

RATE_HZ = 16_000


@pytest.fixture(scope="module")
def tabla(shared_data):
    from cadenza.io.annotated_datasets import load_four_way_tabla

    clip = {c.clip_id: c for c in load_four_way_tabla(shared_data("timing", "four_way_tabla"))}["SK_teentaal"]
    keep = int(20 * clip.sampling_rate_hz)
    return clip.samples[..., :keep], clip.sampling_rate_hz, clip.onset_times_s[clip.onset_times_s < 20 - 0.05]


@pytest.fixture(scope="module")
def singing(shared_data):
    from cadenza.io.annotated_datasets import load_vocadito

    (track,) = load_vocadito(shared_data("singing", "vocadito"))
    notes = np.loadtxt(shared_data("singing", "vocadito") / "Annotations" / "Notes" / "vocadito_1_notesA1.csv",
                       delimiter=",", ndmin=2)
    end_s = 8.0
    notes = notes[notes[:, 0] + notes[:, 2] < end_s]
    return track.samples[..., : int(end_s * track.sampling_rate_hz)], track.sampling_rate_hz, notes


def test_tabla_strokes_are_the_drummers_notes(tabla):
    samples, rate, reference_s = tabla
    notes = notes_from_audio(samples, sampling_rate_hz=rate, pitched=False)
    f_measure, _, _ = mir_eval.onset.f_measure(reference_s, notes.onset_times_s, window=0.05)
    assert f_measure >= 0.95
    assert np.all(notes.durations_s > 0) and np.all(notes.durations_s <= 0.5)
    assert notes.velocities.max() == 127 and notes.velocities.min() >= 1 and np.ptp(notes.velocities) > 10


def test_sung_notes_match_the_annotated_notes(singing):
    samples, rate, reference = singing
    notes = notes_from_audio(samples, sampling_rate_hz=rate, pitched=True)
    ref_intervals = np.column_stack([reference[:, 0], reference[:, 0] + reference[:, 2]])
    est_intervals = np.column_stack([notes.onset_times_s, notes.onset_times_s + notes.durations_s])
    est_hz = 440.0 * 2 ** ((notes.pitches - 69) / 12)
    precision, recall, f_measure, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_intervals, reference[:, 1], est_intervals, est_hz, onset_tolerance=0.1, offset_ratio=None)
    assert f_measure >= 0.6, (precision, recall)


def test_a_drum_and_voice_duet_is_analysed(tabla, singing):
    (drum, drum_hz, _), (voice, voice_hz, _) = tabla, singing
    take = take_from_audio([("therapist", drum, drum_hz, False), ("client", voice, voice_hz, True)])
    assert take.player_names == ("therapist", "client") and take.is_percussion("therapist")
    report = analyze_take(take, players=("therapist", "client"))
    by_name = report.per_player
    assert np.isnan(by_name["therapist"].tonal_clarity) and np.isfinite(by_name["client"].register_midi)
    assert 45 <= by_name["client"].register_midi <= 60  # vocadito 1 is sung around 140-200 Hz


def _tone_train(onsets_s, pitches_midi, note_s=0.35, total_s=None):
    total_s = total_s or (max(onsets_s) + note_s + 0.5)
    x = np.zeros(int(total_s * RATE_HZ))
    t = np.arange(int(note_s * RATE_HZ)) / RATE_HZ
    envelope = np.minimum(1.0, t / 0.005) * np.exp(-t / 0.25) * np.minimum(1.0, (note_s - t) / 0.02)  # no end click
    for onset_s, midi in zip(onsets_s, pitches_midi, strict=True):
        f_hz = 440.0 * 2 ** ((midi - 69) / 12)
        tone = sum(np.sin(2 * np.pi * k * f_hz * t) / k for k in (1, 2, 3)) * envelope * 0.3
        i = int(onset_s * RATE_HZ)
        x[i:i + tone.size] += tone
    return x


@settings(max_examples=25, deadline=None)
@given(gaps_s=st.lists(st.floats(0.12, 0.9), min_size=2, max_size=8), pitches=st.lists(st.integers(36, 84), min_size=9, max_size=9))
def test_synthetic_hits_are_found_where_they_start(gaps_s, pitches):
    onsets_s = np.cumsum([0.3, *gaps_s])
    hits = notes_from_audio(_tone_train(onsets_s, pitches[: onsets_s.size], note_s=0.1), sampling_rate_hz=RATE_HZ,
                            pitched=False)
    assert hits.n_notes == onsets_s.size and np.max(np.abs(hits.onset_times_s - onsets_s)) < 0.01
    assert np.all(hits.durations_s <= np.append(np.diff(hits.onset_times_s), 0.5) + 1e-9)  # until the next hit


def test_synthetic_tones_give_their_pitches_and_repeated_notes_are_split():
    onsets_s = np.array([0.3, 0.9, 1.5, 1.85, 2.6])
    midi = [57, 60, 64, 64, 52]  # the two E4s touch: one steady pitch, split at the second attack
    tuned = notes_from_audio(_tone_train(onsets_s, midi, note_s=0.35), sampling_rate_hz=RATE_HZ, pitched=True)
    matched = [int(np.argmin(np.abs(tuned.onset_times_s - o))) for o in onsets_s]
    assert len(set(matched)) == onsets_s.size
    assert np.max(np.abs(tuned.onset_times_s[matched] - onsets_s)) < 0.06
    assert np.max(np.abs(tuned.pitches[matched] - np.array(midi))) < 0.5


def test_bad_input_is_named():
    with pytest.raises(ParameterError, match="samples contain NaN"):
        notes_from_audio(np.full(8_000, np.nan), sampling_rate_hz=RATE_HZ, pitched=False)
    with pytest.raises(ParameterError, match="sampling_rate_hz"):
        notes_from_audio(np.zeros(100), sampling_rate_hz=16, pitched=True)
    with pytest.raises(ParameterError, match="distinct non-empty names"):
        take_from_audio([("a", np.zeros(8_000), RATE_HZ, False), ("a", np.zeros(8_000), RATE_HZ, True)])
    with pytest.raises(ParameterError, match="at least one"):
        take_from_audio([])
    silent = take_from_audio([("a", np.zeros(8_000), RATE_HZ, False), ("b", np.zeros(8_000), RATE_HZ, True)])
    assert silent.notes.n_notes == 0
