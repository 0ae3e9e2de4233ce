"""One take analysed: every player's figures, the take's tempo and, with two or more players, the duet
figures of the first two (in the order they first play).

>>> take = make_take([0.0, 0.5, 1.0, 1.5], pitches=[60, 62, 64, 65], velocities=[80] * 4, players=["t", "c"] * 2)
>>> report = analyze_take(take)
>>> report.players, report.duet is not None
(('t', 'c'), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.improv.duet import DuetFeatures, measure_duet
from cadenza.improv.events import Take, make_take  # noqa: F401  (make_take: the doctest)
from cadenza.improv.player import PlayerFeatures, measure_player
from cadenza.improv.pulse import estimate_pulse


@dataclass(frozen=True)
class ImprovReport:
    """The take's figures: ``tempo_bpm``/``pulse_clarity`` of all notes together, per player, and the duet.
    ``tempo_alternative_bpm`` is the runner-up metrical level and ``tempo_level_confidence`` (0-1) how
    clearly ``tempo_bpm`` won; ``tempo_level_ambiguous`` when both are worth showing."""

    duration_s: float
    n_notes: int
    tempo_bpm: float
    pulse_clarity: float
    players: tuple[str, ...]
    per_player: dict[str, PlayerFeatures]
    duet: DuetFeatures | None  # players[0] as "a", players[1] as "b"
    tempo_alternative_bpm: float = float("nan")
    tempo_level_confidence: float = float("nan")
    tempo_level_ambiguous: bool = False

    def to_dict(self) -> dict:
        fin = lambda v: round(v, 4) if np.isfinite(v) else None  # noqa: E731
        return {"duration_s": round(self.duration_s, 3), "n_notes": self.n_notes, "tempo_bpm": fin(self.tempo_bpm),
                "pulse_clarity": fin(self.pulse_clarity), "tempo_alternative_bpm": fin(self.tempo_alternative_bpm),
                "tempo_level_confidence": fin(self.tempo_level_confidence),
                "tempo_level_ambiguous": self.tempo_level_ambiguous, "players": list(self.players),
                "per_player": {name: f.to_dict() for name, f in self.per_player.items()},
                "duet": None if self.duet is None else {"a": self.players[0], "b": self.players[1],
                                                        **self.duet.to_dict()}}


def _drum_pitches(take: Take) -> np.ndarray | None:
    """The notes' pitches where a percussion player played them, -1 (no kit role) elsewhere; None
    without a percussion player."""
    drums = [i for i, name in enumerate(take.player_names) if take.is_percussion(name)]
    if not drums:
        return None
    return np.where(np.isin(take.player_idx, drums), take.notes.pitches, -1.0)


def analyze_take(take: Take, *, players: tuple[str, str] | None = None) -> ImprovReport:
    """Analyse ``take``; ``players`` picks the two players of the duet figures (default: the first two)."""
    if players is not None:
        missing = [p for p in players if p not in take.player_names]
        if len(players) != 2 or missing or players[0] == players[1]:
            raise ParameterError(f"players must name two different players of {list(take.player_names)!r}, got {players!r}")
    duration_s = take.duration_s
    per_player = {name: measure_player(take.for_player(name), duration_s=duration_s, percussion=take.is_percussion(name))
                  for name in take.player_names}
    pulse = estimate_pulse(take.notes.onset_times_s, velocities=take.notes.velocities, drum_pitches=_drum_pitches(take))
    order = tuple(players) if players else take.player_names
    duet = measure_duet(take.for_player(order[0]), take.for_player(order[1]), duration_s=duration_s,
                        tempo_a_bpm=per_player[order[0]].tempo_bpm, tempo_b_bpm=per_player[order[1]].tempo_bpm) \
        if len(order) >= 2 else None
    names = order + tuple(p for p in take.player_names if p not in order)
    return ImprovReport(duration_s, take.notes.n_notes, pulse.tempo_bpm, pulse.pulse_clarity, names,
                        {n: per_player[n] for n in names}, duet, pulse.alternative_tempo_bpm, pulse.level_confidence,
                        pulse.level_ambiguous)
