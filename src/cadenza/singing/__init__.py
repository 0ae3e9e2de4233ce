"""Singing: the pitch of a sung voice, its notes against target notes, range and phonation (pure).

``pitch`` (pYIN tuned for the voice, octave errors corrected by continuity) -> ``notes`` (notes from
the contour; cents error per target note, share within +-50 cents) and ``voice`` (range, comfortable
range, maximum phonation time); ``analysis`` runs the chain for one recording. See docs/timing.md.

>>> from cadenza.singing import score_notes, segment_notes
>>> notes = segment_notes([0.01 * k for k in range(60)], [220.0] * 60)
>>> round(score_notes(notes, target_midi=[57.2]).cents_error[0])
-20
"""

from cadenza._lazy import attach

# The face: each public name and the submodule it comes from, imported on first use (PEP 562).
__getattr__, __dir__, __all__ = attach(__name__, {
    "analysis": ["SingingReport", "analyze_singing"],
    "notes": ["NoteScore", "SungNote", "score_notes", "segment_notes"],
    "pitch": ["PitchTrack", "hz_to_midi", "midi_to_hz", "midi_to_name", "note_to_midi", "track_pitch"],
    "voice": ["VoiceMeasures", "measure_voice"],
})

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for editors and type checkers
    from cadenza.singing.analysis import SingingReport, analyze_singing
    from cadenza.singing.notes import NoteScore, SungNote, score_notes, segment_notes
    from cadenza.singing.pitch import PitchTrack, hz_to_midi, midi_to_hz, midi_to_name, note_to_midi, track_pitch
    from cadenza.singing.voice import VoiceMeasures, measure_voice
