"""Goal playlists from the person's own music, in iso-principle order (pure).

Every rule below names its source; ``RULE_SOURCES`` collects them for display. "anchors" is the
project's research note ``shared/research/clinical_anchors.md``.

- **Personal music first.** The person's own ratings outweigh every audio feature: a rating moves
  a track by more than the largest feature mismatch between similar candidates (anchors §1: most-liked
  music reduced pain more than least-liked, Front Pain Res 2023; §3: Playlist for Life and Music &
  Memory build on the person's own songs; Heiderscheit & Madson ordered a client's *rated* songs).
- **Iso principle.** Start near the person's current state and move step by step toward the goal
  (Altshuler 1948, anchors §2). The start point is the self-rated arousal (0-10) mapped to tempo and
  energy, or the heart rate taken as a tempo; "within +-10 % of the state" is the anchors' synthesis.
- **Session shapes** (MUSIC CARE, Guétin et al., anchors §1): U = descend, hold, re-energise (20 min
  standard); L = descend and hold (sleep); J = hold low, then rise (recovery room). No published
  BPM per phase exists (anchors §1, [UNVERIFIED]), so phase targets are configurable
  (:class:`PhaseSpec`), with defaults stated as project choices.
- **Bounded steps**: consecutive tracks in a phase move tempo, energy and loudness in the phase's
  direction only, by at most ``MAX_STEP_TEMPO_RATIO`` / ``MAX_STEP_ENERGY`` / ``MAX_STEP_LOUDNESS_LU``
  where the library allows (anchors §2: Berklee stepwise practice; §1 takeaway 3).
- **Relaxation targets**: 60-80 BPM, low energy, steady loudness (Nilsson 2008 review as commonly
  quoted, anchors §2, [RECALLED] there; popular sources say ~70, under 90).
- **Walking**: tempo within +-3 % of the cadence as is, or within +-8 % when time-stretched
  (issue 7; RAS cue tempo equals cadence, ``ras_gait.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cadenza.errors import ParameterError

GOALS = ("relax", "sleep", "pre_procedure", "focus", "energise", "walk")
SHAPES = ("U", "L", "J", "iso")

RELAX_TEMPO_BPM = (60.0, 80.0)
#: Goal end-points (tempo, energy 0-1). Relaxation ends inside 60-80 BPM; focus and energise are
#: project choices (moderate and brisk) and editable per call.
GOAL_TARGETS: dict[str, tuple[float, float]] = {
    "relax": (68.0, 0.25),
    "pre_procedure": (66.0, 0.22),
    "sleep": (62.0, 0.15),
    "focus": (95.0, 0.40),
    "energise": (125.0, 0.75),
}
DEFAULT_SHAPE = {"relax": "U", "sleep": "L", "pre_procedure": "L", "focus": "iso", "energise": "iso", "walk": "iso"}

#: Arousal 0-10 mapped to a starting tempo 60-130 BPM and energy 0.1-0.9 (project mapping; the
#: anchors give none). Heart rate is used directly as the starting tempo: also a **project mapping**
#: with no source (clinical review U5), shown with every playlist (``RULE_SOURCES["start_state"]``).
AROUSAL_TEMPO_BPM = (60.0, 130.0)
AROUSAL_ENERGY = (0.1, 0.9)

MAX_STEP_TEMPO_RATIO = 0.12
MAX_STEP_ENERGY = 0.2
MAX_STEP_LOUDNESS_LU = 6.0
WALK_MATCH_TOLERANCE = 0.03
WALK_STRETCH_TOLERANCE = 0.08

#: Weights of the selection cost. One rating step (1-5 stars) is worth RATING_WEIGHT; the feature
#: cost of a track one "tolerance" away on tempo (15 %) or energy (0.2) is 1. RATING_WEIGHT > the
#: typical mismatch between similar tracks, so ratings dominate among comparable candidates.
RATING_WEIGHT = 1.5
TEMPO_TOLERANCE_LOG2 = math.log2(1.15)
ENERGY_TOLERANCE = 0.2
LRA_TOLERANCE_LU = 10.0  # loudness range: relaxation prefers steady loudness

RULE_SOURCES: dict[str, str] = {
    "ratings": "Own ratings outweigh features (anchors §1 Front Pain Res 2023; §3 Playlist for Life; §2 Heiderscheit & Madson).",
    "iso": "Iso principle: match the current state, then move toward the goal (Altshuler 1948; anchors §2).",
    "start_state": ("Project mapping, no source: heart rate is used directly as the starting tempo (music matched "
                    "to pulse), and arousal 0-10 maps to 60-130 BPM."),
    "shapes": "U / L / J session shapes of MUSIC CARE (Guétin et al.; anchors §1); per-phase BPM unpublished.",
    "steps": "Stepwise change of tempo, dynamics, density (anchors §2 Berklee script; §1 takeaway 3).",
    "relax": "Relaxation: 60-80 BPM, low energy, steady loudness (Nilsson 2008 as quoted; anchors §2).",
    "walk": "Walking: tempo within +-3 % of cadence, or +-8 % when stretched (issue 7; ras_gait.md).",
    "red_flags": "Red-flag songs are never played again (Playlist for Life safety page; anchors §3).",
    "reminiscence": "Songs from ages 10-30 (reminiscence bump; Playlist for Life, Rao 2021; anchors §3).",
}


@dataclass(frozen=True)
class TrackFeatures:
    """What a playlist needs to know about a track (from the library's analysis)."""

    track_id: str
    duration_s: float
    tempo_bpm: float
    energy: float
    loudness_lufs: float = float("nan")
    loudness_range_lu: float = float("nan")
    title: str = ""
    artist: str = ""
    year: int | None = None
    path: str = ""


@dataclass(frozen=True)
class PhaseSpec:
    """One phase of a session: its share of the time and where tempo/energy should be at its end."""

    name: str
    fraction: float
    end_tempo_bpm: float
    end_energy: float


@dataclass(frozen=True)
class CurrentState:
    """The person's state now: self-rated arousal 0-10, or heart rate, or both (heart rate wins)."""

    arousal_0_10: float | None = None
    heart_rate_bpm: float | None = None


@dataclass(frozen=True)
class PlaylistEntry:
    """One track in a playlist: when it starts, the phase and the tempo/energy targets it was chosen for, and why."""

    track: TrackFeatures
    start_s: float
    phase: str
    target_tempo_bpm: float
    target_energy: float
    rating: int | None
    stretch_ratio: float = 1.0  # walk goal: playback-rate factor that puts the beat on the cadence
    reason: str = ""


@dataclass
class Playlist:
    """An ordered playlist toward ``goal``: its entries, the planned phases it follows, warnings and sources."""

    goal: str
    shape: str
    target_s: float
    entries: list[PlaylistEntry]
    phases: tuple[PhaseSpec, ...]
    start_tempo_bpm: float
    start_energy: float
    warnings: list[str] = field(default_factory=list)
    sources: tuple[str, ...] = ()

    @property
    def total_s(self) -> float:
        return float(sum(e.track.duration_s for e in self.entries))

    def planned_curve(self, *, step_s: float = 10.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times_s, tempo_bpm, energy) of the plan, sampled every ``step_s``."""
        times_s = np.arange(0.0, self.target_s + step_s / 2, step_s)
        tempo, energy = zip(*(_plan_at(t, self.target_s, self.phases, self.start_tempo_bpm, self.start_energy)
                              for t in times_s), strict=True) if times_s.size else ((), ())
        return times_s, np.asarray(tempo, dtype=float), np.asarray(energy, dtype=float)

    def actual_curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start_times_s, tempo_bpm, energy) of the chosen tracks (tempo after any stretch)."""
        starts = np.array([e.start_s for e in self.entries], dtype=float)
        tempo = np.array([e.track.tempo_bpm * e.stretch_ratio for e in self.entries], dtype=float)
        energy = np.array([e.track.energy for e in self.entries], dtype=float)
        return starts, tempo, energy


def state_to_start(state: CurrentState) -> tuple[float, float]:
    """Starting (tempo_bpm, energy) for the iso principle.

    >>> state_to_start(CurrentState(arousal_0_10=10))
    (130.0, 0.9)
    >>> state_to_start(CurrentState(arousal_0_10=5, heart_rate_bpm=88))[0]
    88.0
    """
    if state.arousal_0_10 is None and state.heart_rate_bpm is None:
        raise ParameterError("state needs arousal_0_10 (0-10) or heart_rate_bpm")
    energy = None
    if state.arousal_0_10 is not None:
        a = float(state.arousal_0_10)
        if not 0 <= a <= 10:
            raise ParameterError(f"arousal_0_10 must be within 0-10, got {state.arousal_0_10!r}")
        frac = a / 10.0
        tempo = AROUSAL_TEMPO_BPM[0] + frac * (AROUSAL_TEMPO_BPM[1] - AROUSAL_TEMPO_BPM[0])
        energy = AROUSAL_ENERGY[0] + frac * (AROUSAL_ENERGY[1] - AROUSAL_ENERGY[0])
    if state.heart_rate_bpm is not None:
        hr = float(state.heart_rate_bpm)
        if not 30 <= hr <= 220:
            raise ParameterError(f"heart_rate_bpm must be within 30-220 (beats per minute), got {state.heart_rate_bpm!r}")
        tempo = hr
        if energy is None:
            frac = np.clip((hr - 55.0) / 65.0, 0.0, 1.0)  # 55 BPM rest .. 120 BPM aroused
            energy = AROUSAL_ENERGY[0] + float(frac) * (AROUSAL_ENERGY[1] - AROUSAL_ENERGY[0])
    return round(float(tempo), 6), round(float(energy), 6)


def default_phases(shape: str, *, start_tempo_bpm: float, start_energy: float, goal_tempo_bpm: float,
                   goal_energy: float) -> tuple[PhaseSpec, ...]:
    """Phase plan of a shape. Fractions are project defaults (U: 40/30/30, L: 40/60, J: 60/40);
    the U's re-energising branch returns halfway to the start, the J rises to the start level."""
    mid_tempo = math.sqrt(start_tempo_bpm * goal_tempo_bpm)
    mid_energy = 0.5 * (start_energy + goal_energy)
    if shape == "U":
        return (PhaseSpec("descend", 0.4, goal_tempo_bpm, goal_energy),
                PhaseSpec("hold", 0.3, goal_tempo_bpm, goal_energy),
                PhaseSpec("re-energise", 0.3, mid_tempo, mid_energy))
    if shape == "L":
        return (PhaseSpec("descend", 0.4, goal_tempo_bpm, goal_energy),
                PhaseSpec("hold", 0.6, goal_tempo_bpm, goal_energy))
    if shape == "J":
        return (PhaseSpec("hold", 0.6, start_tempo_bpm, start_energy),
                PhaseSpec("rise", 0.4, goal_tempo_bpm, goal_energy))
    if shape == "iso":
        return (PhaseSpec("iso", 1.0, goal_tempo_bpm, goal_energy),)
    raise ParameterError(f"shape must be one of {SHAPES}, got {shape!r}")


def _plan_at(t_s: float, target_s: float, phases: Sequence[PhaseSpec], start_tempo: float,
             start_energy: float) -> tuple[float, float]:
    """Planned (tempo, energy) at time ``t_s``: log-linear tempo and linear energy within a phase."""
    t0 = 0.0
    tempo0, energy0 = start_tempo, start_energy
    for phase in phases:
        t1 = t0 + phase.fraction * target_s
        if t_s <= t1 or phase is phases[-1]:
            u = float(np.clip((t_s - t0) / max(t1 - t0, 1e-9), 0.0, 1.0))
            tempo = math.exp(math.log(tempo0) + u * (math.log(phase.end_tempo_bpm) - math.log(tempo0)))
            return tempo, energy0 + u * (phase.end_energy - energy0)
        t0, tempo0, energy0 = t1, phase.end_tempo_bpm, phase.end_energy
    return tempo0, energy0


def _validate_tracks(tracks: Sequence[TrackFeatures]) -> list[TrackFeatures]:
    usable = []
    for t in tracks:
        if not isinstance(t, TrackFeatures):
            raise ParameterError(f"tracks must be TrackFeatures, got {type(t).__name__}")
        if np.isfinite(t.tempo_bpm) and t.tempo_bpm > 0 and np.isfinite(t.duration_s) and t.duration_s > 0:
            usable.append(t)
    return usable


def _feature_cost(t: TrackFeatures, tempo_bpm: float, energy: float, *, steady_loudness: bool) -> float:
    cost = abs(math.log2(t.tempo_bpm / tempo_bpm)) / TEMPO_TOLERANCE_LOG2
    if np.isfinite(t.energy):
        cost += abs(t.energy - energy) / ENERGY_TOLERANCE
    if steady_loudness and np.isfinite(t.loudness_range_lu):
        cost += max(t.loudness_range_lu, 0.0) / LRA_TOLERANCE_LU
    return cost


def build_playlist(
    tracks: Sequence[TrackFeatures],
    *,
    goal: str,
    minutes: float,
    state: CurrentState | None = None,
    shape: str | None = None,
    phases: Sequence[PhaseSpec] | None = None,
    ratings: Mapping[str, int] | None = None,
    bonuses: Mapping[str, float] | None = None,
    excluded: frozenset[str] | set[str] = frozenset(),
    cadence_spm: float | None = None,
    goal_target: tuple[float, float] | None = None,
) -> Playlist:
    """Choose and order tracks for ``goal`` over ``minutes``.

    ``ratings`` are the person's own 1-5 stars (3 = neutral; unrated = neutral); ``bonuses`` are
    extra preference points per track (reminiscence, response log; see
    :mod:`cadenza.music.reminiscence`), on the same scale as one rating step. ``excluded`` (red-flag
    songs) are never chosen. Total duration ends within one track of the target.
    """
    if goal not in GOALS:
        raise ParameterError(f"goal must be one of {GOALS}, got {goal!r}")
    if not (isinstance(minutes, int | float) and 1 <= minutes <= 600):
        raise ParameterError(f"minutes must be within 1-600, got {minutes!r}")
    shape = shape or DEFAULT_SHAPE[goal]
    if shape not in SHAPES:
        raise ParameterError(f"shape must be one of {SHAPES}, got {shape!r}")
    ratings = dict(ratings or {})
    for tid, stars in ratings.items():
        if stars is not None and not 1 <= int(stars) <= 5:
            raise ParameterError(f"ratings must be 1-5 stars, got {stars!r} for track {tid!r}")
    bonuses = dict(bonuses or {})
    target_s = 60.0 * float(minutes)
    warnings: list[str] = []

    if goal == "walk":
        if cadence_spm is None or not 40 <= cadence_spm <= 200:
            raise ParameterError(f"cadence_spm (steps per minute, 40-200) is required for goal 'walk', got {cadence_spm!r}")
        goal_tempo, goal_energy = float(cadence_spm), 0.6
        start_tempo, start_energy = goal_tempo, goal_energy
        phases = (PhaseSpec("walk", 1.0, goal_tempo, goal_energy),)
        shape = "iso"
    else:
        goal_tempo, goal_energy = goal_target or GOAL_TARGETS[goal]
        if state is None:
            state = CurrentState(arousal_0_10=5.0)
            warnings.append("no current state given: assumed mid arousal (5/10)")
        start_tempo, start_energy = state_to_start(state)
        if phases is None:
            phases = default_phases(shape, start_tempo_bpm=start_tempo, start_energy=start_energy,
                                    goal_tempo_bpm=goal_tempo, goal_energy=goal_energy)
    phases = tuple(phases)
    total_fraction = sum(p.fraction for p in phases)
    if not phases or abs(total_fraction - 1.0) > 1e-6 or any(p.fraction <= 0 for p in phases):
        raise ParameterError(f"phases must have positive fractions summing to 1, got {[p.fraction for p in phases]!r}")

    pool = [t for t in _validate_tracks(tracks) if t.track_id not in excluded]
    n_excluded = sum(t.track_id in excluded for t in tracks)
    if n_excluded:
        warnings.append(f"{n_excluded} red-flag track(s) excluded")
    stretch: dict[str, float] = {}
    if goal == "walk":
        walkable = []
        for t in pool:
            ratio = goal_tempo / t.tempo_bpm
            if abs(ratio - 1) <= WALK_STRETCH_TOLERANCE:
                walkable.append(t)
                stretch[t.track_id] = 1.0 if abs(ratio - 1) <= WALK_MATCH_TOLERANCE else ratio
        pool = walkable
    if not pool:
        warnings.append("no analysed tracks fit this goal; the playlist is empty")
        return Playlist(goal, shape, target_s, [], phases, start_tempo, start_energy, warnings,
                        tuple(RULE_SOURCES.values()))

    steady = goal in ("relax", "sleep", "pre_procedure")
    used: set[str] = set()
    picked: list[list[TrackFeatures]] = []
    elapsed = 0.0
    prev_tempo, prev_energy = start_tempo, start_energy
    prev_lufs = float("nan")
    phase_ends = np.cumsum([p.fraction * target_s for p in phases])
    phase_ends[-1] = target_s
    for index, phase in enumerate(phases):
        phase_end = float(phase_ends[index])
        chosen: list[TrackFeatures] = []
        while elapsed < phase_end - 1e-9:
            remaining_total = target_s - elapsed
            plan_tempo, plan_energy = _plan_at(min(elapsed + 60.0, target_s), target_s, phases, start_tempo, start_energy)
            best, best_cost = None, math.inf
            for t in pool:
                if t.track_id in used:
                    continue
                cost = _feature_cost(t, plan_tempo, plan_energy, steady_loudness=steady)
                stars = ratings.get(t.track_id)
                cost -= RATING_WEIGHT * ((stars - 3) if stars is not None else 0.0)
                cost -= RATING_WEIGHT * bonuses.get(t.track_id, 0.0)
                # Bounded steps: a jump beyond the per-step limits costs as much as a rating step.
                if abs(math.log(t.tempo_bpm / prev_tempo)) > math.log1p(MAX_STEP_TEMPO_RATIO):
                    cost += RATING_WEIGHT
                if np.isfinite(t.energy) and abs(t.energy - prev_energy) > MAX_STEP_ENERGY:
                    cost += RATING_WEIGHT
                if np.isfinite(t.loudness_lufs) and abs(t.loudness_lufs - prev_lufs) > MAX_STEP_LOUDNESS_LU:
                    cost += RATING_WEIGHT
                # The last track should land the total near the target rather than far past it.
                if t.duration_s > remaining_total:
                    cost += (t.duration_s - remaining_total) / max(remaining_total, 60.0)
                if cost < best_cost:
                    best, best_cost = t, cost
            if best is None:
                break
            used.add(best.track_id)
            chosen.append(best)
            elapsed += best.duration_s
            prev_tempo, prev_energy = best.tempo_bpm, (best.energy if np.isfinite(best.energy) else prev_energy)
            prev_lufs = best.loudness_lufs if np.isfinite(best.loudness_lufs) else prev_lufs
            if target_s - elapsed < 0.5 * best.duration_s and index == len(phases) - 1:
                break
        picked.append(chosen)
    if elapsed < target_s - 1e-9 and len(used) == len(pool):
        warnings.append(f"ran out of tracks: {elapsed / 60:.1f} of {target_s / 60:.1f} min filled")
    entries = _arrange(picked, phases, target_s=target_s, start=(start_tempo, start_energy),
                       ratings=ratings, stretch=stretch)
    _check_goal_range(goal, entries, warnings)
    warnings.extend(step_warnings(entries))
    return Playlist(goal, shape, target_s, entries, phases, start_tempo, start_energy, warnings,
                    tuple(RULE_SOURCES.values()))


def phase_directions(phases: Sequence[PhaseSpec], start_tempo_bpm: float) -> list[int]:
    """Tempo direction of each phase (-1 down, +1 up); a hold phase follows its neighbour."""
    dirs: list[int] = []
    prev = start_tempo_bpm
    for p in phases:
        ratio = p.end_tempo_bpm / prev
        dirs.append(-1 if ratio < 0.995 else (1 if ratio > 1.005 else 0))
        prev = p.end_tempo_bpm
    for i, d in enumerate(dirs):  # holds take the previous direction, else the next, else down
        if d == 0:
            before = next((dirs[j] for j in range(i - 1, -1, -1) if dirs[j] != 0), 0)
            after = next((dirs[j] for j in range(i + 1, len(dirs)) if dirs[j] != 0), 0)
            dirs[i] = before or after or -1
    return dirs


def _arrange(picked, phases, *, target_s, start, ratings, stretch) -> list[PlaylistEntry]:
    """Order the chosen tracks: consecutive phases with one tempo direction form a run, and each
    run is sorted so tempo moves monotonically (iso principle); then times and labels are set."""
    dirs = phase_directions(phases, start[0])
    runs: list[tuple[int, list[TrackFeatures]]] = []
    for d, chosen in zip(dirs, picked, strict=False):
        if runs and runs[-1][0] == d:
            runs[-1][1].extend(chosen)
        else:
            runs.append((d, list(chosen)))
    ordered: list[TrackFeatures] = []
    for d, run in runs:
        ordered.extend(sorted(run, key=lambda t: (d * t.tempo_bpm, d * (t.energy if np.isfinite(t.energy) else 0))))
    bounds = np.cumsum([p.fraction * target_s for p in phases])
    out: list[PlaylistEntry] = []
    t_s = 0.0
    for track in ordered:
        k = min(int(np.searchsorted(bounds, t_s + 0.5 * track.duration_s, side="right")), len(phases) - 1)
        tempo, energy = _plan_at(t_s + 0.5 * track.duration_s, target_s, phases, *start)
        rating = ratings.get(track.track_id)
        reason = f"{phases[k].name}: plan {tempo:.0f} BPM / energy {energy:.2f}; track {track.tempo_bpm:.0f} BPM"
        if rating is not None:
            reason += f", rated {rating}/5"
        out.append(PlaylistEntry(track=track, start_s=t_s, phase=phases[k].name, target_tempo_bpm=tempo,
                                 target_energy=energy, rating=rating,
                                 stretch_ratio=stretch.get(track.track_id, 1.0), reason=reason))
        t_s += track.duration_s
    return out


def _check_goal_range(goal: str, entries: list[PlaylistEntry], warnings: list[str]) -> None:
    if goal in ("relax", "sleep", "pre_procedure") and entries:
        slowest = min(e.track.tempo_bpm for e in entries)
        if slowest > RELAX_TEMPO_BPM[1] * 1.1:
            warnings.append(f"the library has no slow music near {RELAX_TEMPO_BPM[0]:.0f}-{RELAX_TEMPO_BPM[1]:.0f} BPM; "
                            f"the slowest chosen track is {slowest:.0f} BPM")


def step_warnings(entries: Sequence[PlaylistEntry]) -> list[str]:
    """Steps between consecutive tracks that exceed the bounds (the library had no track between)."""
    out = []
    for a, b in zip(entries, entries[1:], strict=False):
        ta, tb = a.track, b.track
        jumps = []
        if abs(math.log(tb.tempo_bpm / ta.tempo_bpm)) > math.log1p(MAX_STEP_TEMPO_RATIO):
            jumps.append(f"tempo {ta.tempo_bpm:.0f}->{tb.tempo_bpm:.0f} BPM")
        if np.isfinite(ta.energy) and np.isfinite(tb.energy) and abs(tb.energy - ta.energy) > MAX_STEP_ENERGY:
            jumps.append(f"energy {ta.energy:.2f}->{tb.energy:.2f}")
        if (np.isfinite(ta.loudness_lufs) and np.isfinite(tb.loudness_lufs)
                and abs(tb.loudness_lufs - ta.loudness_lufs) > MAX_STEP_LOUDNESS_LU):
            jumps.append(f"loudness {ta.loudness_lufs:.0f}->{tb.loudness_lufs:.0f} LUFS")
        if jumps:
            out.append(f"large step at {b.start_s / 60:.1f} min ({', '.join(jumps)}): no smaller step was "
                       "available among the chosen tracks; edit the order or add music in between")
    return out


def is_monotone(values: Sequence[float], *, direction: int) -> bool:
    """True if ``values`` never move against ``direction`` (-1 falling, +1 rising)."""
    diffs = np.diff(np.asarray(values, dtype=float))
    return bool(np.all(diffs <= 1e-9)) if direction < 0 else bool(np.all(diffs >= -1e-9))
