"""The singing workflow: a recording's pitch track, notes, voice measures and (with target notes) its
score; with a session, their storage. Nothing here opens the record unless :func:`record_singing` is
called."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session

from cadenza.clinic.models import Measurement, Therapist
from cadenza.tools.sing import records


@dataclass(frozen=True)
class SingingRun:
    """One analysed recording and what was stored from it."""

    file: str
    duration_s: float
    report: object  # cadenza.singing.SingingReport
    stored: tuple[Measurement, ...] = ()

    def to_dict(self) -> dict:
        return {"file": self.file, "duration_s": round(self.duration_s, 3), **self.report.to_dict()}


def parse_targets(text: str | None) -> list[float] | None:
    """Target notes from ``"C4,E4,G4"`` or ``"60 64 67"`` (names or MIDI numbers), or None."""
    from cadenza.singing.pitch import note_to_midi

    if text is None or not text.strip():
        return None
    return [note_to_midi(token) for token in text.replace(",", " ").split()]


def analyse_singing_file(path: str | Path, *, targets: str | None = None, octave_equivalent: bool = False,
                         fmin_hz: float | None = None, fmax_hz: float | None = None) -> SingingRun:
    """Pitch track, notes, voice measures and score of one audio file; nothing is stored."""
    from cadenza.io.audio import load_audio
    from cadenza.singing.analysis import analyze_singing
    from cadenza.singing.pitch import FMAX_HZ, FMIN_HZ

    target_midi = parse_targets(targets)
    audio = load_audio(path, mono=True)
    report = analyze_singing(audio.samples, sampling_rate_hz=audio.sampling_rate_hz, target_midi=target_midi,
                             octave_equivalent=octave_equivalent, fmin_hz=fmin_hz or FMIN_HZ,
                             fmax_hz=fmax_hz or FMAX_HZ)
    return SingingRun(str(path), audio.duration_s, report)


def record_singing(db: Session, *, actor: Therapist, run: SingingRun, session_id: int) -> SingingRun:
    """Store an analysed recording's figures on the session (see :func:`records.store_singing`)."""
    stored = records.store_singing(db, actor=actor, session_id=session_id, report=run.report)
    return replace(run, stored=tuple(stored))
