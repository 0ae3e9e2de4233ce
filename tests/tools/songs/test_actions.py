"""The song rendered as audio: the instrumental's level, and the MIT voice singing each note on its pitch."""

import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.io.speech import espeak_available
from cadenza.render.voice import track_pitch
from cadenza.tools.songs import actions


def test_instrumental_lasts_the_song_and_stays_below_minus_6_dbfs():
    song = actions.make_song(["Sing a happy song today"], spec=actions.spec_from_values({"key": "D"}))
    y = actions.render_audio(song)
    assert y.dtype == np.float32 and 0.2 < np.max(np.abs(y)) <= actions.PEAK_LIMIT
    assert song.duration_s <= y.size / actions.SAMPLING_RATE_HZ < song.duration_s + 1.0
    with pytest.raises(ParameterError, match="format"):
        actions.export_song(song, "exe")


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (scripts/setup installs it)")
def test_the_mit_voice_sings_each_note_on_its_pitch():
    song = actions.make_song(["Sing a happy song today"], spec=actions.spec_from_values({"key": "D"}))
    y, rate = actions.render_sung(song, voice="male")
    times_s, f0_hz = track_pitch(y.astype(float), sampling_rate_hz=rate)
    beat_s = 60.0 / song.spec.tempo_bpm
    for note in song.notes:
        onset_s = note.onset_beats * beat_s
        near = (times_s > onset_s + 0.05) & (times_s < onset_s + 0.05 + min(0.5 * note.duration_beats * beat_s, 0.25))
        sung_midi = 69 + 12 * np.log2(np.nanmedian(f0_hz[near]) / 440.0)
        assert sung_midi == pytest.approx(note.pitch_midi - 12, abs=0.5), note.lyric  # male: an octave below
    with pytest.raises(ParameterError, match="voice"):
        actions.render_sung(song, voice="robot")
