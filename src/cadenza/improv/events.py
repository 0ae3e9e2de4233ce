"""Notes played in an improvisation, per player: the one input every analysis here takes.

A take is a list of notes (onset, duration, pitch, velocity) each labelled with its player. Whoever
captured it (a MIDI file's tracks or channels, the browser's Web MIDI page) decides who is who; this
module only checks the numbers and splits them.

>>> take = make_take([0.0, 0.5, 0.25], pitches=[60, 62, 36], velocities=[80, 90, 100], players=["a", "a", "b"])
>>> take.player_names
('a', 'b')
>>> take.for_player("a").onset_times_s.tolist()
[0.0, 0.5]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError

MAX_DURATION_S = 4 * 3600.0  # a take longer than 4 h is a unit mix-up (ms given as s)
MAX_NOTES = 500_000
MAX_PLAYERS = 16  # one per MIDI channel at most
DEFAULT_DURATION_S = 0.1  # a note without its note-off (a drum hit) sounds this long


@dataclass(frozen=True)
class Notes:
    """One player's notes, sorted by onset: arrays of equal length, times in seconds."""

    onset_times_s: np.ndarray
    durations_s: np.ndarray
    pitches: np.ndarray  # MIDI note numbers 0-127
    velocities: np.ndarray  # MIDI velocities 1-127

    @property
    def n_notes(self) -> int:
        return int(self.onset_times_s.size)


@dataclass(frozen=True)
class Take:
    """All players' notes of one improvisation, sorted by onset, with each note's player index."""

    notes: Notes
    player_idx: np.ndarray  # index into player_names per note
    player_names: tuple[str, ...]
    percussion: tuple[bool, ...] = ()  # per player: unpitched drums (MIDI channel 10), so no tonal figures

    @property
    def duration_s(self) -> float:
        n = self.notes
        return float(np.max(n.onset_times_s + n.durations_s)) if n.n_notes else 0.0

    def for_player(self, name: str) -> Notes:
        if name not in self.player_names:
            raise ParameterError(f"player must be one of {list(self.player_names)!r}, got {name!r}")
        keep = self.player_idx == self.player_names.index(name)
        n = self.notes
        return Notes(n.onset_times_s[keep], n.durations_s[keep], n.pitches[keep], n.velocities[keep])

    def is_percussion(self, name: str) -> bool:
        i = self.player_names.index(name)
        return bool(self.percussion[i]) if i < len(self.percussion) else False


def _array(values, *, name: str, n: int | None = None) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a sequence of numbers, got {values!r:.80}") from exc
    if out.ndim != 1:
        raise ParameterError(f"{name} must be 1-D (one value per note), got shape {out.shape!r}")
    if n is not None and out.size != n:
        raise ParameterError(f"{name} must have one value per note ({n}), got {out.size}")
    if not np.all(np.isfinite(out)):
        raise ParameterError(f"{name} must be finite; got NaN or infinite values")
    return out


def make_take(onset_times_s: Sequence[float] | np.ndarray, *, pitches: Sequence[float] | np.ndarray,
              velocities: Sequence[float] | np.ndarray, players: Sequence[str],
              durations_s: Sequence[float] | np.ndarray | None = None,
              percussion_players: Sequence[str] = ()) -> Take:
    """A checked :class:`Take` from one row per note; players keep the order they first play in.

    Raises :class:`ParameterError` naming the argument for NaN, negative or too-late times (ms given as
    s), pitches outside 0-127, velocities outside 1-127, or lists of different lengths.

    >>> make_take([0.0, 1.0], pitches=[60, 200], velocities=[64, 64], players=["a", "b"])
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: pitches must be MIDI note numbers 0-127, got 200.0
    """
    onsets = _array(onset_times_s, name="onset_times_s")
    n = onsets.size
    if n > MAX_NOTES:
        raise ParameterError(f"onset_times_s holds {n} notes, more than the {MAX_NOTES} allowed")
    if n and (onsets.min() < 0 or onsets.max() > MAX_DURATION_S):
        bad = float(onsets.min() if onsets.min() < 0 else onsets.max())
        hint = " (milliseconds given as seconds?)" if bad > MAX_DURATION_S else ""
        raise ParameterError(f"onset_times_s must be within [0, {MAX_DURATION_S:.0f}] s, got {bad!r}{hint}")
    pitch = _array(pitches, name="pitches", n=n)
    if n and (pitch.min() < 0 or pitch.max() > 127):
        raise ParameterError(f"pitches must be MIDI note numbers 0-127, got {float(pitch[(pitch < 0) | (pitch > 127)][0])!r}")
    vel = _array(velocities, name="velocities", n=n)
    if n and (vel.min() < 1 or vel.max() > 127):
        raise ParameterError(f"velocities must be MIDI velocities 1-127 (0 is a note-off), "
                             f"got {float(vel[(vel < 1) | (vel > 127)][0])!r}")
    dur = np.full(n, DEFAULT_DURATION_S) if durations_s is None else _array(durations_s, name="durations_s", n=n)
    if n and (dur.min() < 0 or dur.max() > MAX_DURATION_S):
        raise ParameterError(f"durations_s must be within [0, {MAX_DURATION_S:.0f}] s, got "
                             f"{float(dur[(dur < 0) | (dur > MAX_DURATION_S)][0])!r}")
    labels = [str(p) for p in players]
    if len(labels) != n:
        raise ParameterError(f"players must name one player per note ({n}), got {len(labels)}")
    names = tuple(dict.fromkeys(labels[i] for i in np.argsort(onsets, kind="stable")))
    if len(names) > MAX_PLAYERS:
        raise ParameterError(f"players must name at most {MAX_PLAYERS} players, got {len(names)}")
    unknown = set(percussion_players) - set(names)
    if unknown:
        raise ParameterError(f"percussion_players must name players of the take {list(names)!r}, got {sorted(unknown)!r}")
    order = np.argsort(onsets, kind="stable")
    index = {name: i for i, name in enumerate(names)}
    idx = np.array([index[labels[i]] for i in order], dtype=int)
    notes = Notes(onsets[order], dur[order], pitch[order], vel[order])
    return Take(notes, idx, names, tuple(name in set(percussion_players) for name in names))
