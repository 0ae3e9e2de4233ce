"""Sung notes from a pitch contour, and how close they came to the target notes.

**Notes.** The voiced contour is smoothed with a 50-ms running median (jitter and short dropouts go),
then a note starts where the pitch stays within :data:`NOTE_CHANGE_SEMITONES` of its median for
:data:`MIN_NOTE_S`, and ends where it leaves that band around the note's median for
:data:`DEPART_S` (a vibrato of up to about +-50 cents stays inside). Glides and scoops between steady
stretches belong to no note. A note's pitch is the median of its frames without the first and last
20 % (the glides in and out), as singing-accuracy studies score the stable part of a note (Dalla Bella
et al. 2007, JASA 121:1182; Pfordresher et al. 2010, JASA 128:2182).

**Scoring.** Each target note is paired with a sung note in order, allowing for missed and extra notes
(an edit-distance alignment on pitch distance); its error is in cents (100 per semitone, positive =
sharp). The share of target notes sung within +-50 cents is the usual "accurate" criterion (a
quarter-tone; Pfordresher et al. 2010); 100 cents is also used (Dalla Bella et al. 2007). With
``octave_equivalent``, a note an octave (or two) from the target counts at that octave, for a singer
whose range lies an octave from the model's (a man imitating a woman's or child's voice).

>>> times_s = np.arange(200) * 0.01
>>> f0_hz = np.where(times_s < 1.0, 220.0, 246.94)  # A3 for 1 s, then B3
>>> notes = segment_notes(times_s, f0_hz)
>>> [(round(n.onset_s, 2), round(n.pitch_midi, 2)) for n in notes]
[(0.0, 57.0), (1.0, 59.0)]
>>> score = score_notes(notes, target_midi=[57.0, 59.25, 62.0])
>>> score.cents_error.round(0).tolist(), round(score.within_50_cents_pct, 1)
([0.0, -25.0, nan], 66.7)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.singing.contour import check_contour, voiced_runs

SMOOTH_S = 0.05
NOTE_CHANGE_SEMITONES = 0.6
MIN_NOTE_S = 0.08
DEPART_S = 0.03  # the pitch must stay out of the note's band this long to end it
TRIM_FRACTION = 0.2
MAX_GAP_S = 0.03  # unvoiced dropouts this short do not end a note
ACCURATE_CENTS = 50.0
# Alignment costs: a substitution costs its pitch distance in semitones (capped); skipping a target or a
# sung note costs GAP_COST, so a note more than 2 semitones off is rather called missed plus extra.
GAP_COST = 2.0
MAX_SUBSTITUTION_COST = 4.0


@dataclass(frozen=True)
class SungNote:
    """One note: onset and offset (s), pitch as a MIDI number (fractional) and in Hz."""

    onset_s: float
    offset_s: float
    pitch_midi: float

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s

    @property
    def pitch_hz(self) -> float:
        return float(440.0 * 2 ** ((self.pitch_midi - 69.0) / 12.0))

    def to_dict(self) -> dict:
        return {"onset_s": round(self.onset_s, 4), "offset_s": round(self.offset_s, 4),
                "pitch_midi": round(self.pitch_midi, 3), "pitch_hz": round(self.pitch_hz, 2)}


@dataclass(frozen=True)
class NoteScore:
    """Targets paired with sung notes: ``sung_idx[i]`` is target ``i``'s note (-1: missed)."""

    target_midi: np.ndarray
    sung_idx: np.ndarray
    cents_error: np.ndarray  # per target, NaN if missed
    n_extra: int

    @property
    def within_50_cents_pct(self) -> float:
        """Share of target notes sung within +-50 cents (missed notes count as not within); NaN: no targets."""
        if self.target_midi.size == 0:
            return float("nan")
        return 100.0 * float(np.mean(np.abs(np.nan_to_num(self.cents_error, nan=np.inf)) <= ACCURATE_CENTS))

    @property
    def mean_abs_cents_error(self) -> float:
        errors = self.cents_error[np.isfinite(self.cents_error)]
        return float(np.mean(np.abs(errors))) if errors.size else float("nan")

    def to_dict(self) -> dict:
        def clean(v: float) -> float | None:
            return round(float(v), 2) if np.isfinite(v) else None

        return {"target_midi": self.target_midi.tolist(), "sung_idx": self.sung_idx.tolist(),
                "cents_error": [clean(v) for v in self.cents_error], "n_extra": self.n_extra,
                "within_50_cents_pct": clean(self.within_50_cents_pct),
                "mean_abs_cents_error": clean(self.mean_abs_cents_error)}


def _running_median(values: np.ndarray, width: int) -> np.ndarray:
    if width <= 1 or values.size < 3:
        return values.copy()
    half = width // 2
    padded = np.pad(values, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)


def _note_pitch(midi: np.ndarray) -> float:
    trim = int(np.floor(TRIM_FRACTION * midi.size))
    core = midi[trim:midi.size - trim] if midi.size - 2 * trim >= 1 else midi
    return float(np.median(core))


def segment_notes(times_s: Sequence[float] | np.ndarray, f0_hz: Sequence[float] | np.ndarray, *,
                  min_note_s: float = MIN_NOTE_S) -> list[SungNote]:
    """The notes of a contour (``f0_hz`` NaN where unvoiced), in time order.

    >>> segment_notes([0.0, 0.01], [np.nan, np.nan])
    []
    """
    times, f0 = check_contour(times_s, f0_hz)
    if isinstance(min_note_s, bool) or not isinstance(min_note_s, int | float) or not 0.01 <= min_note_s <= 5:
        raise ParameterError(f"min_note_s must be in [0.01, 5] seconds, got {min_note_s!r}")
    if times.size < 2:
        return []
    hop_s = float(np.median(np.diff(times)))
    midi = 69.0 + 12.0 * np.log2(f0 / 440.0)
    voiced = np.isfinite(midi)
    # Bridge short unvoiced dropouts inside a note.
    gap_frames = int(round(MAX_GAP_S / hop_s))
    runs = voiced_runs(voiced)
    bridged = voiced.copy()
    for (a, b), (c, _) in zip(runs[:-1], runs[1:], strict=False):
        if c - b <= gap_frames:
            bridged[b:c] = True
    min_frames = max(1, int(round(min_note_s / hop_s)))
    depart_frames = max(1, int(round(DEPART_S / hop_s)))
    width = max(1, int(round(SMOOTH_S / hop_s)))
    notes: list[SungNote] = []
    for a, b in voiced_runs(bridged):
        segment = midi[a:b]
        filled = _fill_gaps(segment)
        smooth = _running_median(filled, width)
        for s, e in _steady_segments(smooth, min_frames, depart_frames):
            frames = segment[s:e]
            frames = frames[np.isfinite(frames)]
            if e - s >= min_frames and frames.size:
                notes.append(SungNote(float(times[a + s]), float(times[a + e - 1] + hop_s), _note_pitch(frames)))
    return notes


def _fill_gaps(values: np.ndarray) -> np.ndarray:
    finite = np.isfinite(values)
    if finite.all():
        return values
    idx = np.arange(values.size)
    return np.interp(idx, idx[finite], values[finite])


def _steady_segments(smooth: np.ndarray, min_frames: int, depart_frames: int) -> list[tuple[int, int]]:
    """Notes in a smoothed pitch run (MIDI): a note starts where ``min_frames`` frames stay within
    NOTE_CHANGE_SEMITONES of their median, and ends where the pitch leaves that band around the note's
    median for ``depart_frames`` frames. Frames between notes (glides, scoops) belong to none."""
    segments: list[tuple[int, int]] = []
    i, n = 0, smooth.size
    while i + min_frames <= n:
        window = smooth[i:i + min_frames]
        reference = float(np.median(window))
        if not np.all(np.abs(window - reference) <= NOTE_CHANGE_SEMITONES):
            i += 1
            continue
        j, outside = i + min_frames, 0
        while j < n:
            if (j - i) % 10 == 0:
                reference = float(np.median(smooth[i:j - outside]))
            if abs(smooth[j] - reference) <= NOTE_CHANGE_SEMITONES:
                outside = 0
            else:
                outside += 1
                if outside >= depart_frames:
                    break
            j += 1
        end = j - outside if j < n else n - outside
        segments.append((i, end))
        i = max(end, i + 1)
    return segments


def score_notes(notes: Sequence[SungNote], *, target_midi: Sequence[float] | np.ndarray,
                octave_equivalent: bool = False) -> NoteScore:
    """Pair target notes (MIDI numbers, in order) with sung ``notes`` and measure each error in cents.

    >>> score_notes([], target_midi=[60.0]).within_50_cents_pct
    0.0
    """
    try:
        targets = np.asarray(target_midi, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"target_midi must be MIDI note numbers, got {target_midi!r:.80}") from exc
    if targets.ndim != 1 or not np.all(np.isfinite(targets)) or np.any((targets < 0) | (targets > 127)):
        raise ParameterError(f"target_midi must be a 1-D list of MIDI note numbers in [0, 127] (60 = middle C; "
                             f"not Hz), got {target_midi!r:.80}")
    sung = np.array([n.pitch_midi for n in notes], dtype=float)

    def distance(i: int, j: int) -> float:
        diff = sung[j] - targets[i]
        if octave_equivalent:
            diff -= 12.0 * np.round(diff / 12.0)
        return diff

    n, m = targets.size, sung.size
    cost = np.zeros((n + 1, m + 1))
    cost[:, 0] = np.arange(n + 1) * GAP_COST
    cost[0, :] = np.arange(m + 1) * GAP_COST
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + min(abs(distance(i - 1, j - 1)), MAX_SUBSTITUTION_COST),
                             cost[i - 1, j] + GAP_COST, cost[i, j - 1] + GAP_COST)
    sung_idx = np.full(n, -1, dtype=np.int64)
    i, j = n, m
    while i > 0 and j > 0:
        if np.isclose(cost[i, j], cost[i - 1, j - 1] + min(abs(distance(i - 1, j - 1)), MAX_SUBSTITUTION_COST)):
            sung_idx[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif np.isclose(cost[i, j], cost[i - 1, j] + GAP_COST):
            i -= 1
        else:
            j -= 1
    cents = np.array([100.0 * distance(i, int(k)) if k >= 0 else np.nan for i, k in enumerate(sung_idx)])
    return NoteScore(targets, sung_idx, cents, int(m - np.count_nonzero(sung_idx >= 0)))
