"""Optional Rubber Band backend (external GPL executable): clear error when absent, beats on the grid when present."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.cli import rubberband
from cadenza.errors import ParameterError
from cadenza.io.audio import load_audio
from cadenza.ras.music_mode import add_beat_markers, find_marker_error_s, warp_music_to_tempo


def test_missing_executable_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(rubberband.shutil, "which", lambda name: None)
    with pytest.raises(ParameterError, match="rubberband executable"):
        rubberband.RubberBandStretcher()


@pytest.mark.skipif(not rubberband.rubberband_available(), reason="rubberband executable not installed (optional)")
@pytest.mark.parametrize("excerpt", ["dev004", "dev030"])
def test_timemap_puts_beats_on_the_grid(shared_data, excerpt):
    root = shared_data("music")
    audio = load_audio(root / "audio" / f"{excerpt}.flac", mono=True)
    beats = np.loadtxt(root / "annotations" / f"{excerpt}.beats", ndmin=2)[:, 0]
    marked = add_beat_markers(audio.samples, beats, sampling_rate_hz=audio.sampling_rate_hz)
    bpm = 60 / np.median(np.diff(beats))
    warped = warp_music_to_tempo(marked, sampling_rate_hz=audio.sampling_rate_hz, source_beat_times_s=beats,
                                 tempo_bpm=bpm * 1.1, stretcher=rubberband.RubberBandStretcher())
    natural_s = warped.time_map.out_time_s(np.array([audio.samples.size / audio.sampling_rate_hz]))[0]
    assert warped.samples.shape[-1] == round(natural_s * audio.sampling_rate_hz)
    err_ms = 1e3 * np.abs(find_marker_error_s(warped.samples, warped.target_beat_times_s,
                                              sampling_rate_hz=audio.sampling_rate_hz))
    err_ms = err_ms[np.isfinite(err_ms)]
    assert np.median(err_ms) <= 10 and err_ms.max() <= 30
