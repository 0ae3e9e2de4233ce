"""Music analysis and playlists: tempo, beats, features, iso-principle ordering (pure).

``onset`` (spectrogram -> onset envelope) -> ``tempo`` and ``beats`` -> ``analysis`` (one track's tempo,
beats, key, loudness and energy in one pass); ``playlists`` orders analysed tracks by the iso principle
toward a goal, ``reminiscence`` weights them by the listener's life story, ``playlist_formats`` writes
M3U8/XSPF text. Files are read in :mod:`cadenza.io`.

>>> import numpy as np
>>> from cadenza.music import track_beats
>>> rate = 22_050
>>> clicks = np.zeros(12 * rate, dtype=np.float32); clicks[:: rate // 2] = 1.0  # a click every 0.5 s
>>> round(track_beats(clicks, sampling_rate_hz=rate).tempo_bpm)
120
"""

from cadenza._lazy import attach

# The face: each public name and the submodule it comes from, imported on first use (PEP 562), so that
# importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach(__name__, {
    "analysis": ["ANALYSIS_VERSION", "TrackAnalysis", "analyze_track"],
    "beats": ["BeatTrack", "BeatTracker", "track_beats", "track_beats_from_envelope"],
    "features": ["KeyEstimate", "estimate_key", "measure_loudness"],
    "onset": ["OnsetEnvelope", "Spectrogram", "compute_onset_envelope", "compute_spectrogram"],
    "playlist_formats": ["render_m3u8", "render_xspf"],
    "playlists": ["GOALS", "SHAPES", "CurrentState", "PhaseSpec", "Playlist", "PlaylistEntry", "TrackFeatures",
                  "build_playlist", "default_phases"],
    "reminiscence": ["SongResponse", "build_reminiscence_playlist", "reminiscence_weight"],
    "tempo": ["TempoEstimate", "estimate_tempo"],
})

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for editors and type checkers
    from cadenza.music.analysis import ANALYSIS_VERSION, TrackAnalysis, analyze_track
    from cadenza.music.beats import BeatTrack, BeatTracker, track_beats, track_beats_from_envelope
    from cadenza.music.features import KeyEstimate, estimate_key, measure_loudness
    from cadenza.music.onset import OnsetEnvelope, Spectrogram, compute_onset_envelope, compute_spectrogram
    from cadenza.music.playlist_formats import render_m3u8, render_xspf
    from cadenza.music.playlists import (
        GOALS,
        SHAPES,
        CurrentState,
        PhaseSpec,
        Playlist,
        PlaylistEntry,
        TrackFeatures,
        build_playlist,
        default_phases,
    )
    from cadenza.music.reminiscence import SongResponse, build_reminiscence_playlist, reminiscence_weight
    from cadenza.music.tempo import TempoEstimate, estimate_tempo
