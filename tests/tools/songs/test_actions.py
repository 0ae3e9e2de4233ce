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


def test_the_instrumental_follows_the_metre():
    """6/8 at 60: a chord struck on each dotted-quarter beat (every second), the downbeat louder; 3/4 strikes
    three times a bar."""
    spec = actions.spec_from_values({"key": "D", "meter": "6/8", "tempo_bpm": "60", "progression": "D | A"})
    song = actions.make_song(["Sing a happy song today"], spec=spec)
    assert song.spec.quarter_bpm == 90 and song.duration_s == pytest.approx(2.0 * song.n_bars)
    rate = actions.SAMPLING_RATE_HZ
    chords = actions.render_audio(song, melody=False)

    def onset_energy(t_s):  # energy just after t_s over energy just before
        i = int(t_s * rate)
        return float(np.sum(chords[i:i + rate // 20] ** 2)) / (float(np.sum(chords[i - rate // 20:i] ** 2)) + 1e-12)

    strikes = [onset_energy(t) for t in np.arange(1, 2 * song.n_bars)]  # every beat but the first
    assert min(strikes) > 1.5  # a chord struck on each beat
    assert all(onset_energy(t) < onset_energy(t + 1) for t in range(1, 2 * song.n_bars - 1, 2))  # downbeats louder
    assert max(onset_energy(t) for t in np.arange(0.5, 2 * song.n_bars - 1, 1.0)) < 1.1  # nothing between beats
    waltz = actions.make_song(["Sing a happy song today"], spec=actions.spec_from_values({"meter": "3/4",
                                                                                         "tempo_bpm": "60"}))
    assert waltz.duration_s == pytest.approx(3.0 * waltz.n_bars)


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed (scripts/setup installs it)")
def test_the_mit_voice_sings_each_note_on_its_pitch():
    song = actions.make_song(["Sing a happy song today"], spec=actions.spec_from_values({"key": "D"}))
    y, rate = actions.render_sung(song, voice="male")
    times_s, f0_hz = track_pitch(y.astype(float), sampling_rate_hz=rate)
    beat_s = song.beat_s
    for note in song.notes:
        onset_s = note.onset_beats * beat_s
        near = (times_s > onset_s + 0.05) & (times_s < onset_s + 0.05 + min(0.5 * note.duration_beats * beat_s, 0.25))
        sung_midi = 69 + 12 * np.log2(np.nanmedian(f0_hz[near]) / 440.0)
        assert sung_midi == pytest.approx(note.pitch_midi - 12, abs=0.5), note.lyric  # male: an octave below
    with pytest.raises(ParameterError, match="voice"):
        actions.render_sung(song, voice="robot")
