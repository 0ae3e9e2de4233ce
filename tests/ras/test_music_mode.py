"""Music mode on the annotated excerpts: beats land on the target grid after stretching."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.errors import ParameterError
from cadenza.io.audio import load_audio
from cadenza.ras.music_mode import (
    choose_beat_level,
    repair_beats,
    add_beat_markers,
    find_marker_error_s,
    loop_song,
    measure_beat_placement_error_s,
    warp_music_to_tempo,
)

# Steady and drifting (ramp, sine, rubato) excerpts, with and without drums, clean and degraded.
EXCERPTS = ("dev001", "dev004", "dev006", "dev009", "dev026", "dev030", "dev035", "dev040")


def _load(shared_data, excerpt: str):
    root = shared_data("music")
    audio = load_audio(root / "audio" / f"{excerpt}.flac", mono=True)
    beats = np.loadtxt(root / "annotations" / f"{excerpt}.beats", ndmin=2)[:, 0]
    return audio, beats


@pytest.mark.parametrize("change", [-0.10, -0.05, 0.05, 0.10])
def test_stretched_beats_land_on_target_grid(shared_data, change):
    errors = []
    for excerpt in EXCERPTS:
        audio, beats = _load(shared_data, excerpt)
        bpm = 60 / np.median(np.diff(beats))
        marked = add_beat_markers(audio.samples, beats, sampling_rate_hz=audio.sampling_rate_hz)
        warped = warp_music_to_tempo(marked, sampling_rate_hz=audio.sampling_rate_hz, source_beat_times_s=beats,
                                     tempo_bpm=bpm * (1 + change))
        grid = warped.target_beat_times_s
        # The target grid is isochronous at the requested tempo even where the song drifted.
        np.testing.assert_allclose(np.diff(grid), 60 / (bpm * (1 + change)), rtol=1e-9)
        err = find_marker_error_s(warped.samples, grid, sampling_rate_hz=audio.sampling_rate_hz)
        errors.append(err[np.isfinite(err)])
    err_ms = 1e3 * np.abs(np.concatenate(errors))
    assert err_ms.size > 300
    assert np.median(err_ms) <= 10.0
    assert np.max(err_ms) <= 30.0


def test_envelope_measure_reads_a_known_delay(shared_data):
    audio, beats = _load(shared_data, "dev030")  # band arrangement: an onset on most beats
    delay = int(0.012 * audio.sampling_rate_hz)
    shifted = np.concatenate([np.zeros(delay, dtype=np.float32), audio.samples[:-delay]])
    err = measure_beat_placement_error_s(audio.samples, shifted, sampling_rate_hz=audio.sampling_rate_hz,
                                         source_beat_times_s=beats, target_beat_times_s=beats)
    ok = err[np.isfinite(err)]
    assert ok.size > 0.5 * beats.size
    assert np.median(ok) == pytest.approx(0.012, abs=0.002)


def test_drifting_song_is_straightened(shared_data):
    audio, beats = _load(shared_data, "dev004")  # a 5-6 % ramp inside the excerpt
    assert np.ptp(60 / np.diff(beats)) > 4
    warped = warp_music_to_tempo(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, source_beat_times_s=beats,
                                 tempo_bpm=120.0)
    assert warped.rate_max / warped.rate_min > 1.04  # each segment got its own rate


def test_loop_continues_the_beat_across_the_seam(rng):
    rate_hz = 8000
    x = rng.standard_normal(10 * rate_hz).astype(np.float32)
    beats = 0.3 + 0.5 * np.arange(19)
    looped, looped_beats = loop_song(x, beats, sampling_rate_hz=rate_hz, min_duration_s=35)
    assert looped.shape[-1] / rate_hz >= 35
    np.testing.assert_allclose(np.diff(looped_beats), 0.5, atol=1 / rate_hz)


def test_long_session_from_short_song(shared_data):
    audio, beats = _load(shared_data, "dev001")
    warped = warp_music_to_tempo(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, source_beat_times_s=beats,
                                 tempo_bpm=110.0, duration_s=75.0)
    assert warped.samples.shape[-1] == 75 * audio.sampling_rate_hz
    np.testing.assert_allclose(np.diff(warped.target_beat_times_s), 60 / 110, rtol=1e-9)
    assert warped.target_beat_times_s[-1] > 74


def test_bad_input():
    with pytest.raises(ParameterError, match="source_beat_times_s"):
        warp_music_to_tempo(np.zeros(8000), sampling_rate_hz=8000, source_beat_times_s=np.array([0.1, 0.2]),
                            tempo_bpm=100)
    with pytest.raises(ParameterError, match="tempo_bpm"):
        warp_music_to_tempo(np.zeros(80000), sampling_rate_hz=8000, source_beat_times_s=np.arange(0, 9, 0.5))


def test_repair_fills_a_missed_beat_and_drops_an_extra_one():
    beats = np.arange(0, 20, 0.5)
    slipped = np.sort(np.concatenate([np.delete(beats, 10), [7.61]]))  # one missed, one spurious
    np.testing.assert_allclose(repair_beats(slipped), beats, atol=1e-9)


@pytest.mark.parametrize(("song_bpm", "cue_bpm", "level"), [(160, 100, 0.5), (100, 104, 1.0), (55, 100, 2.0)])
def test_beat_level_nearest_the_cue_tempo(song_bpm, cue_bpm, level):
    beats = np.arange(0, 30, 60 / song_bpm)
    chosen, got = choose_beat_level(beats, tempo_bpm=cue_bpm)
    assert got == level
    assert 60 / np.median(np.diff(chosen)) == pytest.approx(song_bpm * level)
