"""One sung recording analysed end to end: pitch track -> notes -> (targets) -> voice measures.

>>> sr = 22_050
>>> t = np.arange(int(1.5 * sr)) / sr
>>> report = analyze_singing(0.3 * np.sin(2 * np.pi * 261.63 * t), sampling_rate_hz=sr, target_midi=[60])
>>> len(report.notes), round(report.score.cents_error[0]), report.score.within_50_cents_pct
(1, 0, 100.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.singing.notes import MIN_NOTE_S, NoteScore, SungNote, score_notes, segment_notes
from cadenza.singing.pitch import FMAX_HZ, FMIN_HZ, PitchTrack, track_pitch
from cadenza.singing.voice import RANGE_MIN_NOTE_S, VoiceMeasures, measure_voice


@dataclass(frozen=True)
class SingingReport:
    """The pitch track, its notes, the voice measures and, with targets, the score."""

    track: PitchTrack
    notes: list[SungNote]
    voice: VoiceMeasures
    score: NoteScore | None

    def to_dict(self) -> dict:
        """JSON-ready: ``times_s`` and ``f0_hz`` per frame (None where unvoiced), notes, voice, score."""
        return {
            "times_s": [round(float(t), 4) for t in self.track.times_s],
            "f0_hz": [round(float(f), 2) if np.isfinite(f) else None for f in self.track.f0_hz],
            "notes": [n.to_dict() for n in self.notes],
            "voice": self.voice.to_dict(),
            "score": self.score.to_dict() if self.score is not None else None,
        }


def analyze_singing(samples: np.ndarray, *, sampling_rate_hz: float, target_midi: Sequence[float] | None = None,
                    octave_equivalent: bool = False, fmin_hz: float = FMIN_HZ, fmax_hz: float = FMAX_HZ,
                    min_note_s: float = MIN_NOTE_S, range_min_note_s: float = RANGE_MIN_NOTE_S) -> SingingReport:
    """Track the pitch of ``samples``, find the notes and voice measures, and score them against
    ``target_midi`` (MIDI numbers in order) when given."""
    track = track_pitch(samples, sampling_rate_hz=sampling_rate_hz, fmin_hz=fmin_hz, fmax_hz=fmax_hz)
    notes = segment_notes(track.times_s, track.f0_hz, min_note_s=min_note_s)
    voice = measure_voice(track.times_s, track.f0_hz, min_note_s=range_min_note_s)
    score = None if target_midi is None else score_notes(notes, target_midi=target_midi,
                                                         octave_equivalent=octave_equivalent)
    return SingingReport(track, notes, voice, score)
