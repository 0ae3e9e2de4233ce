"""Audio rendering: clicks, synthesis, time-stretching, loudness (pure numpy in, numpy out).

``clicks`` places metronome cues exactly on a beat grid (constant, ramped or any tempo curve);
``stretch`` time-stretches along a :class:`TimeMap` (WSOLA or phase vocoder) without drift; ``synth``
renders soft notes; ``loudness`` measures and normalises BS.1770 loudness under the listener's cap;
``levels`` and ``weighting`` give A-weighted sound levels; ``mix`` overlays one signal on another.
The therapy-ready cue tracks (level caps, dose, verification) are in :mod:`cadenza.ras`.

>>> from cadenza.render import constant_beat_times_s, render_click_track
>>> beats_s = constant_beat_times_s(tempo_bpm=120, duration_s=2.0)
>>> track = render_click_track(beats_s, duration_s=2.0, sampling_rate_hz=8000)
>>> track.beat_idx.tolist()
[0, 4000, 8000, 12000]
"""

from cadenza._lazy import attach

# The face: each public name and the submodule it comes from, imported on first use (PEP 562), so that
# importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach(__name__, {
    "clicks": ["CUE_SOUNDS", "ClickTrack", "constant_beat_times_s", "find_cue_onsets_idx", "ramp_beat_times_s",
               "render_click_track", "tempo_curve_beat_times_s"],
    "levels": ["LevelReport", "measure_levels"],
    "loudness": ["LoudnessResult", "measure_loudness_lufs", "normalize_loudness"],
    "mix": ["mix_overlay"],
    "stretch": ["PhaseVocoderStretcher", "TimeMap", "WsolaStretcher", "beat_time_map", "constant_rate_time_map",
                "make_stretcher", "time_stretch"],
    "synth": ["midi_to_hz", "render_notes"],
    "weighting": ["a_weighting_db", "apply_a_weighting"],
})

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for editors and type checkers
    from cadenza.render.clicks import (
        CUE_SOUNDS,
        ClickTrack,
        constant_beat_times_s,
        find_cue_onsets_idx,
        ramp_beat_times_s,
        render_click_track,
        tempo_curve_beat_times_s,
    )
    from cadenza.render.levels import LevelReport, measure_levels
    from cadenza.render.loudness import LoudnessResult, measure_loudness_lufs, normalize_loudness
    from cadenza.render.mix import mix_overlay
    from cadenza.render.stretch import (
        PhaseVocoderStretcher,
        TimeMap,
        WsolaStretcher,
        beat_time_map,
        constant_rate_time_map,
        make_stretcher,
        time_stretch,
    )
    from cadenza.render.synth import midi_to_hz, render_notes
    from cadenza.render.weighting import a_weighting_db, apply_a_weighting
