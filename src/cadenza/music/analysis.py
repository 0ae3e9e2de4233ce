"""One call that analyses a recording for the library: tempo and beats, loudness, energy, mode."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from cadenza.music.beats import track_beats_from_envelope
from cadenza.music.level import chroma_frames
from cadenza.music.features import (
    chroma_vector,
    energy_score,
    estimate_key,
    measure_loudness,
    onset_rate_hz,
    spectral_centroid_hz,
)
from cadenza.music.onset import compute_spectrogram, onset_envelope_from_spectrogram

ANALYSIS_VERSION = 10  # 2: the competing metrical level and its confidence (issue 22); 3: the level model of music.level; 4: onset statistics in the level model; 5: onsets on the quarter points; 6: beats placed on the log-compressed envelope; 7: no beats after the music ends; 8: the level model refitted on 500 excerpts, chord change weighted by energy; 9: beats moved earlier by the excerpt's attack lag; 10: with the independent periodicity as a candidate level. Bump when results change, so cached analyses are redone


@dataclass(frozen=True)
class TrackAnalysis:
    """Everything ``analyze_track`` measures in one track: tempo and beats, loudness, brightness, energy, key."""

    duration_s: float
    tempo_bpm: float
    tempo_confidence: float
    beat_times_s: np.ndarray
    integrated_loudness_lufs: float
    loudness_range_lu: float
    brightness_hz: float
    onset_rate_hz: float
    energy: float  # 0-1, see cadenza.music.features.energy_score
    key: str
    mode: str
    mode_confidence: float
    tempo_alternative_bpm: float = float("nan")  # the competing metrical level (half or double)
    tempo_level_confidence: float = float("nan")  # 0-1; below AMBIGUOUS_LEVEL_CONFIDENCE offer both
    analysis_version: int = ANALYSIS_VERSION

    def to_dict(self) -> dict:
        """JSON-ready: arrays become lists, NaN becomes None."""
        out = asdict(self)
        out["beat_times_s"] = [round(float(t), 4) for t in self.beat_times_s]
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "TrackAnalysis":
        values = {k: (float("nan") if v is None and k not in ("key", "mode") else v) for k, v in data.items()
                  if k in cls.__dataclass_fields__}
        values["beat_times_s"] = np.asarray(data.get("beat_times_s") or [], dtype=float)
        return cls(**values)


def analyze_track(samples: np.ndarray, *, sampling_rate_hz: float) -> TrackAnalysis:
    """Analyse ``(n,)`` or ``(channels, n)`` audio. Silence and very short input give NaN fields.

    >>> sr = 22050
    >>> t = np.arange(sr * 8) / sr
    >>> tone = (0.3 * np.sin(2 * np.pi * 440 * t) * (np.mod(t, 0.5) < 0.2)).astype(np.float32)
    >>> a = analyze_track(tone, sampling_rate_hz=sr)
    >>> round(a.tempo_bpm), a.key
    (120, 'A')
    """
    spec = compute_spectrogram(samples, sampling_rate_hz=sampling_rate_hz)
    onsets = onset_envelope_from_spectrogram(spec)
    track = track_beats_from_envelope(onsets, chroma=chroma_frames(spec))
    loudness_lufs, lra_lu = measure_loudness(samples, sampling_rate_hz=sampling_rate_hz)
    brightness = spectral_centroid_hz(spec)
    rate = onset_rate_hz(onsets)
    key = estimate_key(chroma_vector(spec))
    n = np.shape(samples)[-1]
    return TrackAnalysis(
        duration_s=n / float(sampling_rate_hz),
        tempo_bpm=track.tempo_bpm,
        tempo_confidence=track.confidence,
        beat_times_s=track.beat_times_s,
        integrated_loudness_lufs=loudness_lufs,
        loudness_range_lu=lra_lu,
        brightness_hz=brightness,
        onset_rate_hz=rate,
        energy=energy_score(loudness_lufs=loudness_lufs, onset_rate_hz=rate, brightness_hz=brightness),
        key=key.tonic,
        mode=key.mode,
        mode_confidence=key.confidence,
        tempo_alternative_bpm=track.alternative_tempo_bpm,
        tempo_level_confidence=track.level_confidence,
    )
