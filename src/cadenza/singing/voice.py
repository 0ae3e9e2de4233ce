"""Voice measures from a pitch track: the range sung, the comfortable range, maximum phonation time.

* **Range**: the lowest and highest notes held at least ``min_note_s`` (0.25 s by default, so a scoop
  or a cracked note does not count; ParkinSong-style home measures ask for a held pitch of 0.5 s or
  more, which a range exercise can pass as ``min_note_s=0.5``). Its span in semitones.
* **Comfortable range**: the 10th to 90th percentile of the voiced frames' pitch, where the person
  actually sings most (a speaking or singing "habitual" range; the percentile convention is this
  project's).
* **Maximum phonation time** (MPT): the longest stretch of continuous voicing (s), unvoiced dropouts of
  up to 0.1 s bridged. Measured on a sustained vowel ("aah" as long as possible, best of three), it is
  the standard clinical measure of phonatory and respiratory support (norms: about 15-25 s in healthy
  adults, under 10 s is reduced; Speyer et al. 2010, J Voice 24:294).

>>> times_s = np.arange(500) * 0.01
>>> f0_hz = np.where(times_s < 2.0, 196.0, np.where(times_s < 2.05, np.nan, 293.66))
>>> voice = measure_voice(times_s, f0_hz)
>>> round(voice.lowest_midi, 2), round(voice.highest_midi, 2), round(voice.max_phonation_s, 2)
(55.0, 62.0, 5.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.singing.contour import check_contour, voiced_runs
from cadenza.singing.notes import segment_notes

RANGE_MIN_NOTE_S = 0.25
COMFORT_PERCENTILES = (10.0, 90.0)
PHONATION_MAX_GAP_S = 0.1


@dataclass(frozen=True)
class VoiceMeasures:
    """Range (MIDI numbers; NaN without a held note), comfortable range and maximum phonation time."""

    lowest_midi: float
    highest_midi: float
    comfortable_low_midi: float
    comfortable_high_midi: float
    max_phonation_s: float
    voiced_s: float

    @property
    def range_semitones(self) -> float:
        return self.highest_midi - self.lowest_midi

    def to_dict(self) -> dict:
        def clean(v: float, digits: int = 2) -> float | None:
            return round(float(v), digits) if np.isfinite(v) else None

        def hz(midi: float) -> float | None:
            return clean(440.0 * 2 ** ((midi - 69.0) / 12.0)) if np.isfinite(midi) else None

        return {"lowest_midi": clean(self.lowest_midi), "lowest_hz": hz(self.lowest_midi),
                "highest_midi": clean(self.highest_midi), "highest_hz": hz(self.highest_midi),
                "range_semitones": clean(self.range_semitones),
                "comfortable_low_midi": clean(self.comfortable_low_midi),
                "comfortable_high_midi": clean(self.comfortable_high_midi),
                "max_phonation_s": clean(self.max_phonation_s, 3), "voiced_s": clean(self.voiced_s, 3)}


def measure_voice(times_s: Sequence[float] | np.ndarray, f0_hz: Sequence[float] | np.ndarray, *,
                  min_note_s: float = RANGE_MIN_NOTE_S) -> VoiceMeasures:
    """Range, comfortable range and maximum phonation time of a contour (``f0_hz`` NaN where unvoiced).

    >>> measure_voice([], []).max_phonation_s
    0.0
    """
    times, f0 = check_contour(times_s, f0_hz)
    nan = float("nan")
    if times.size < 2:
        return VoiceMeasures(nan, nan, nan, nan, 0.0, 0.0)
    hop_s = float(np.median(np.diff(times)))
    voiced = np.isfinite(f0)
    midi = 69.0 + 12.0 * np.log2(f0[voiced] / 440.0)
    held = [n.pitch_midi for n in segment_notes(times, f0, min_note_s=min_note_s)]
    comfortable = np.percentile(midi, COMFORT_PERCENTILES) if midi.size else (nan, nan)
    bridged = voiced.copy()
    runs = voiced_runs(voiced)
    max_gap = int(round(PHONATION_MAX_GAP_S / hop_s))
    for (_, end), (start, _) in zip(runs[:-1], runs[1:], strict=False):
        if start - end <= max_gap:
            bridged[end:start] = True
    longest = max((b - a for a, b in voiced_runs(bridged)), default=0) * hop_s
    return VoiceMeasures(
        lowest_midi=float(min(held)) if held else nan,
        highest_midi=float(max(held)) if held else nan,
        comfortable_low_midi=float(comfortable[0]),
        comfortable_high_midi=float(comfortable[1]),
        max_phonation_s=float(longest),
        voiced_s=float(np.count_nonzero(voiced) * hop_s),
    )

