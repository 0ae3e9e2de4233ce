"""One player's figures: how much, how loud, how high, how steady, how syncopated, how tonal.

After the Music Therapy Toolbox's MIDI features (Erkkilä, Luck et al. 2004-2011): note density, velocity
level and range, pitch range and register, tempo and pulse clarity, syncopation and tonal clarity.

- ``note_density_per_s``: notes per second of the take (from the take's start to its end).
- ``velocity_mean`` and ``velocity_range`` (5th-95th percentile, so one stray hit does not make the range).
- ``pitch_range_semitones`` (5th-95th percentile) and ``register_midi`` (median pitch; 60 = middle C).
- ``syncopation``: the share of notes (0-1) that land on an off-beat eighth or sixteenth of the player's
  own beat grid while the next beat is silent (Longuet-Higgins & Lee's syncopation, on one beat level).
- ``tonal_clarity``: the best correlation (-1..1) of the duration-weighted pitch-class profile with
  the 24 Krumhansl-Kessler key profiles, and that key. Percussion has neither (NaN, "").

>>> notes = Notes(np.arange(0, 20, 0.5), np.full(40, 0.4), np.tile([60., 64, 67, 72], 10), np.full(40, 80.))
>>> f = measure_player(notes, duration_s=20.0)
>>> f.note_density_per_s, round(f.tempo_bpm), f.key, f.syncopation
(2.0, 120, 'C major', 0.0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cadenza.improv.events import Notes
from cadenza.improv.pulse import estimate_pulse
from cadenza.music.features import KK_MAJOR_PROFILE, KK_MINOR_PROFILE, PITCH_CLASS_NAMES

SNAP_FRACTION = 0.25  # a note is on a grid position within a quarter of a sixteenth of it


@dataclass(frozen=True)
class PlayerFeatures:
    """Per-player figures (see the module); NaN where a figure has no meaning (too few notes, drums)."""

    n_notes: int
    note_density_per_s: float
    velocity_mean: float
    velocity_range: float
    pitch_range_semitones: float
    register_midi: float
    tempo_bpm: float
    pulse_clarity: float
    syncopation: float
    tonal_clarity: float
    key: str

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) and np.isfinite(v) else (None if isinstance(v, float) else v))
                for k, v in asdict(self).items()}


def measure_syncopation(onset_times_s: np.ndarray, *, tempo_bpm: float, beat_phase_s: float) -> float:
    """Share of onsets on an off-beat sixteenth or eighth whose following beat has no onset; NaN without a tempo.

    >>> beat = np.arange(0, 10, 0.5)
    >>> measure_syncopation(beat + 0.25, tempo_bpm=120, beat_phase_s=0.0)  # every note on the 'and', no beat
    1.0
    """
    if not np.isfinite(tempo_bpm) or onset_times_s.size == 0:
        return float("nan")
    beat_s = 60.0 / tempo_bpm
    pos = (onset_times_s - beat_phase_s) / (beat_s / 4)  # in sixteenths from a beat
    sixteenth = np.round(pos)
    on_grid = np.abs(pos - sixteenth) <= SNAP_FRACTION
    off_beat = on_grid & (sixteenth % 4 != 0)
    next_beat = np.ceil(sixteenth / 4) * 4  # in sixteenths
    beats_played = set(np.round(sixteenth[on_grid & (sixteenth % 4 == 0)]).astype(int).tolist())
    silent_next = np.array([int(b) not in beats_played for b in next_beat])
    inside = next_beat <= sixteenth.max()  # the beat after the last note is the end of the take, not a rest
    return float(np.mean((off_beat & silent_next)[inside])) if inside.any() else float("nan")


def measure_tonality(pitches: np.ndarray, durations_s: np.ndarray) -> tuple[float, str]:
    """(best key-profile correlation, key name) of duration-weighted pitch classes; (NaN, "") if too few."""
    if np.unique(pitches).size < 3:
        return float("nan"), ""
    profile = np.bincount(np.round(pitches).astype(int) % 12, weights=np.maximum(durations_s, 0.05), minlength=12)
    if np.ptp(profile) == 0:  # every pitch class equally: no key at all
        return 0.0, ""
    best, key = -2.0, ""
    for mode, kk in (("major", KK_MAJOR_PROFILE), ("minor", KK_MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(profile, np.roll(kk, tonic))[0, 1])
            if r > best:
                best, key = r, f"{PITCH_CLASS_NAMES[tonic]} {mode}"
    return best, key


def measure_player(notes: Notes, *, duration_s: float, percussion: bool = False) -> PlayerFeatures:
    """The figures of one player's notes over a take of ``duration_s`` seconds."""
    n = notes.n_notes
    nan = float("nan")
    if n == 0:
        return PlayerFeatures(0, 0.0, nan, nan, nan, nan, nan, 0.0, nan, nan, "")
    pulse = estimate_pulse(notes.onset_times_s, velocities=notes.velocities,
                           drum_pitches=notes.pitches if percussion else None)
    v5, v95 = np.percentile(notes.velocities, [5, 95])
    p5, p95 = np.percentile(notes.pitches, [5, 95])
    clarity, key = (nan, "") if percussion else measure_tonality(notes.pitches, notes.durations_s)
    return PlayerFeatures(
        n_notes=n, note_density_per_s=n / duration_s if duration_s > 0 else nan,
        velocity_mean=float(np.mean(notes.velocities)), velocity_range=float(v95 - v5),
        pitch_range_semitones=nan if percussion else float(p95 - p5),
        register_midi=nan if percussion else float(np.median(notes.pitches)),
        tempo_bpm=pulse.tempo_bpm, pulse_clarity=pulse.pulse_clarity,
        syncopation=measure_syncopation(notes.onset_times_s, tempo_bpm=pulse.tempo_bpm, beat_phase_s=pulse.beat_phase_s),
        tonal_clarity=clarity, key=key)
