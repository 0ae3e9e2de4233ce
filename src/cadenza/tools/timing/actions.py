"""The timing workflow: a file's hits, the cue they were played to, the block's report; with a session,
its storage.

A file is an audio recording (hits found by :func:`cadenza.timing.detect_onsets`), a MIDI file (its
note-ons) or a times file (one time per line, optionally a side ``L``/``R`` per hit; touch or key events
exported by a device). The cue is a tempo (``cue_bpm`` from ``cue_start_s``, for ``cue_beats`` beats or
to the end of the recording) or a file of cue times. Nothing here opens the record unless
:func:`record_timing` is called.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from cadenza.clinic.models import Measurement, Therapist
from cadenza.errors import ParameterError
from cadenza.tools.timing import records

MIDI_SUFFIXES = (".mid", ".midi")
TIMES_SUFFIXES = (".txt", ".csv", ".tsv")


@dataclass(frozen=True)
class TimingRun:
    """One analysed file: where the hits came from, the hits, the cue and the report."""

    file: str
    source: str  # "audio", "midi" or "times"
    onset_times_s: np.ndarray
    cue_times_s: np.ndarray | None
    cue: dict
    report: object  # cadenza.timing.TimingReport
    duration_s: float | None = None
    stored: tuple[Measurement, ...] = ()

    def to_dict(self) -> dict:
        out = {"file": self.file, "source": self.source,
               "onset_times_s": [round(float(t), 5) for t in self.onset_times_s], "cue_spec": self.cue}
        if self.duration_s is not None:
            out["duration_s"] = round(self.duration_s, 3)
        out.update(self.report.to_dict())
        return out


def load_hits(path: str | Path, *, threshold: float | None = None) -> tuple[str, np.ndarray, list[str] | None, float | None]:
    """(source, hit times s, sides or None, duration s or None) of a file, by its suffix."""
    from cadenza.timing.events import clean_event_times

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        from cadenza.io.event_files import load_midi_onsets

        return "midi", clean_event_times(load_midi_onsets(path)), None, None
    if suffix in TIMES_SUFFIXES:
        from cadenza.io.event_files import load_event_times

        times, sides = load_event_times(path)
        return "times", times, sides, None
    from cadenza.io.audio import load_audio
    from cadenza.timing.onsets import DEFAULT_THRESHOLD, detect_onsets

    audio = load_audio(path, mono=True)
    onsets = detect_onsets(audio.samples, sampling_rate_hz=audio.sampling_rate_hz,
                           threshold=DEFAULT_THRESHOLD if threshold is None else threshold)
    return "audio", onsets, None, audio.duration_s


def make_cue(*, cue_bpm: float | None, cue_times_file: str | Path | None, cue_start_s: float = 0.0,
             cue_beats: int | None = None, end_s: float | None = None,
             latency_ms: float = 0.0) -> tuple[np.ndarray | None, dict]:
    """The heard cue times (s) and a description of the cue, or (None, {}) without a cue.

    ``latency_ms`` (the output latency of the device that played the cue, from a calibration) is added
    to every cue time: the cue is heard that much later than it was scheduled.
    """
    from cadenza.timing.events import make_cue_times

    if cue_bpm is not None and cue_times_file is not None:
        raise ParameterError("give one of cue_bpm and cue_times_file, not both")
    if not -2000.0 <= latency_ms <= 2000.0:
        raise ParameterError(f"latency_ms must be in [-2000, 2000] ms (a Bluetooth output adds up to about 650 ms), "
                             f"got {latency_ms!r}")
    if cue_bpm is not None:
        if cue_beats is None and end_s is None:
            raise ParameterError("a cue given by its tempo needs its number of beats or the recording's length")
        times = make_cue_times(tempo_bpm=cue_bpm, start_s=cue_start_s, n_beats=cue_beats,
                               end_s=None if cue_beats is not None else max(end_s, cue_start_s))
        spec = {"source": "tempo", "tempo_bpm": cue_bpm, "start_s": cue_start_s, "n_beats": int(times.size)}
    elif cue_times_file is not None:
        from cadenza.io.event_files import load_event_times

        times, _ = load_event_times(cue_times_file)
        spec = {"source": "file", "file": str(cue_times_file), "n_beats": int(times.size)}
    else:
        return None, {}
    spec["latency_ms"] = latency_ms
    return times + latency_ms / 1000.0, spec


def analyse_timing_file(path: str | Path, *, cue_bpm: float | None = None, cue_times_file: str | Path | None = None,
                        cue_start_s: float = 0.0, cue_beats: int | None = None, latency_ms: float = 0.0,
                        skip_beats: int = 0, threshold: float | None = None, seed: int = 0) -> TimingRun:
    """Hits of one file against its cue, and the block's report; nothing is stored."""
    from cadenza.timing.analysis import analyze_timing

    source, hits, sides, duration_s = load_hits(path, threshold=threshold)
    end_s = duration_s if duration_s is not None else (float(hits.max()) if hits.size else cue_start_s)
    cue_times, spec = make_cue(cue_bpm=cue_bpm, cue_times_file=cue_times_file, cue_start_s=cue_start_s,
                               cue_beats=cue_beats, end_s=end_s, latency_ms=latency_ms)
    report = analyze_timing(hits, cue_times_s=cue_times, sides=sides, skip_beats=skip_beats, rng=seed)
    return TimingRun(str(path), source, report.hit_times_s, cue_times, spec, report, duration_s)


def record_timing(db: Session, *, actor: Therapist, run: TimingRun, session_id: int) -> TimingRun:
    """Store an analysed block's figures on the session (see :func:`records.store_timing_block`)."""
    if run.report.block is None:
        raise ParameterError("the block has no cue: only a block played to a cue can be stored")
    stored = records.store_timing_block(db, actor=actor, session_id=session_id, block=run.report.block)
    return replace(run, stored=tuple(stored))
