"""Public names of cadenza.music, by submodule: read by type checkers and, at run time, by
cadenza._lazy.attach_stub (the face in __init__.py)."""

from .analysis import ANALYSIS_VERSION, TrackAnalysis, analyze_track
from .beats import BeatTrack, BeatTracker, track_beats, track_beats_from_envelope
from .features import KeyEstimate, estimate_key, measure_loudness
from .level import chroma_frames
from .onset import OnsetEnvelope, Spectrogram, compute_onset_envelope, compute_spectrogram
from .playlist_formats import render_m3u8, render_xspf
from .playlists import GOALS, SHAPES, CurrentState, PhaseSpec, Playlist, PlaylistEntry, TrackFeatures, build_playlist, default_phases
from .reminiscence import SongResponse, build_reminiscence_playlist, reminiscence_weight
from .tempo import TempoEstimate, estimate_tempo
