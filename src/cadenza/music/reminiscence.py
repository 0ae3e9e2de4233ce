"""Reminiscence playlists for people with dementia (pure).

Sources (``shared/research/clinical_anchors.md`` §3):

- Playlist for Life's "Music Detective" starts from the songs of ages **10-30** (the reminiscence
  or memory bump); Rao et al. 2021 (J Multidiscip Healthc 14:2195) found the median peak of song
  recall at ages **13-19** in a survey of 157 healthy adults, not people with dementia. The weights
  (1.0 at 13-19, 0.75 elsewhere in 10-30, 0.3 at 5-9 and 31-40) and the 5-9 / 31-40 margins are a
  **project convention** (clinical review U3).
- The order, fastest to slowest, is a **wind-down order**, a project convention (review U4). It is not
  the iso principle, which starts from the person's current state; that state is not asked for here.
- Families and the person choose songs ("family picks"), each with a note on why it matters;
  a pick counts as much as one star of the person's own rating.
- **Red-flag songs**: stop on agitation or distress and record the song so it is never played
  again (Playlist for Life safety page) - excluded from every playlist by every caregiver.
- Per-song responses are observed by staff (Music & Memory: watch ~30 s per song, drop songs that do
  not engage); the response log re-ranks future playlists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.errors import ParameterError
from cadenza.music.playlists import (
    RATING_WEIGHT,
    RULE_SOURCES,
    Playlist,
    PlaylistEntry,
    PhaseSpec,
    TrackFeatures,
)

CONVENTIONS = {
    "bump_weights": ("Project convention: bump weights 1.0 (ages 13-19), 0.75 (10-30), 0.3 (5-9 and 31-40). "
                     "Rao 2021 surveyed healthy adults, not people with dementia."),
    "wind_down": ("Project convention: a wind-down order, fastest to slowest. Not the iso principle, which starts "
                  "from the person's current state; that state is not asked for here."),
}

BUMP_CORE_AGES = (13, 19)
BUMP_AGES = (10, 30)
BUMP_MARGIN_AGES = (5, 40)
FAMILY_PICK_BONUS = 1.0
AGITATION_RED_FLAG_LEVEL = 2  # 0 none, 1 mild, 2 clear, 3 severe


@dataclass(frozen=True)
class SongResponse:
    """One observed response to one song in a session."""

    track_id: str
    engagement_0_3: int  # 0 none .. 3 strong (eyes open, moving, attending)
    mood_minus2_plus2: int  # -2 distressed .. +2 joyful
    agitation_0_3: int  # 0 none .. 3 severe
    sang_along: bool = False

    def __post_init__(self) -> None:
        for name, value, lo, hi in (("engagement_0_3", self.engagement_0_3, 0, 3),
                                    ("mood_minus2_plus2", self.mood_minus2_plus2, -2, 2),
                                    ("agitation_0_3", self.agitation_0_3, 0, 3)):
            if not lo <= int(value) <= hi:
                raise ParameterError(f"{name} must be within {lo}..{hi}, got {value!r}")

    @property
    def score(self) -> float:
        """-2 (distress) .. +2 (engaged, joyful, singing); one unit = one rating step."""
        s = self.engagement_0_3 / 3.0 + self.mood_minus2_plus2 / 2.0 + (0.5 if self.sang_along else 0.0)
        return float(np.clip(s - 2.0 * self.agitation_0_3 / 3.0, -2.0, 2.0))


def reminiscence_weight(year: int | None, *, birth_year: int) -> float:
    """How strongly a song's year falls in the person's reminiscence bump (0-1).

    >>> reminiscence_weight(1957, birth_year=1941), reminiscence_weight(1965, birth_year=1941)
    (1.0, 0.75)
    >>> reminiscence_weight(2001, birth_year=1941), reminiscence_weight(None, birth_year=1941)
    (0.0, 0.0)
    """
    if not 1850 <= int(birth_year) <= 2100:
        raise ParameterError(f"birth_year must be a calendar year, got {birth_year!r}")
    if year is None:
        return 0.0
    age = int(year) - int(birth_year)
    if BUMP_CORE_AGES[0] <= age <= BUMP_CORE_AGES[1]:
        return 1.0
    if BUMP_AGES[0] <= age <= BUMP_AGES[1]:
        return 0.75
    if BUMP_MARGIN_AGES[0] <= age <= BUMP_MARGIN_AGES[1]:
        return 0.3
    return 0.0


def response_scores(responses: Iterable[SongResponse]) -> dict[str, float]:
    """Mean response score per track; recent sessions and old ones count alike."""
    sums: dict[str, list[float]] = {}
    for r in responses:
        sums.setdefault(r.track_id, []).append(r.score)
    return {tid: float(np.mean(v)) for tid, v in sums.items()}


def suggested_red_flags(responses: Iterable[SongResponse]) -> set[str]:
    """Tracks with clear agitation in any response: suggest flagging them (a person decides)."""
    return {r.track_id for r in responses if r.agitation_0_3 >= AGITATION_RED_FLAG_LEVEL}


def reminiscence_bonuses(tracks: Sequence[TrackFeatures], *, birth_year: int | None,
                         family_picks: Iterable[str] = (), responses: Iterable[SongResponse] = ()) -> dict[str, float]:
    """Preference points per track (one point = one rating star) from the bump, picks and responses."""
    picks = set(family_picks)
    scores = response_scores(responses)
    out: dict[str, float] = {}
    for t in tracks:
        bonus = reminiscence_weight(t.year, birth_year=birth_year) if birth_year is not None else 0.0
        if t.track_id in picks:
            bonus += FAMILY_PICK_BONUS
        bonus += scores.get(t.track_id, 0.0)
        if bonus:
            out[t.track_id] = bonus
    return out


def build_reminiscence_playlist(
    tracks: Sequence[TrackFeatures],
    *,
    minutes: float,
    birth_year: int | None,
    ratings: Mapping[str, int] | None = None,
    family_picks: Mapping[str, str] | None = None,
    red_flags: Iterable[str] = (),
    responses: Iterable[SongResponse] = (),
) -> Playlist:
    """The most personally meaningful songs that fill ``minutes``, red flags excluded, ordered from
    faster to slower (a wind-down order, a project convention: :data:`CONVENTIONS`). ``family_picks`` maps
    track id -> note."""
    if not (isinstance(minutes, int | float) and 1 <= minutes <= 600):
        raise ParameterError(f"minutes must be within 1-600, got {minutes!r}")
    responses = list(responses)
    ratings = dict(ratings or {})
    notes = dict(family_picks or {})
    excluded = set(red_flags)
    pool = [t for t in tracks if t.track_id not in excluded and np.isfinite(t.duration_s) and t.duration_s > 0]
    bonuses = reminiscence_bonuses(pool, birth_year=birth_year, family_picks=notes, responses=responses)

    def preference(t: TrackFeatures) -> float:
        stars = ratings.get(t.track_id)
        return RATING_WEIGHT * ((stars - 3) if stars is not None else 0.0) + RATING_WEIGHT * bonuses.get(t.track_id, 0.0)

    ranked = sorted(pool, key=lambda t: (-preference(t), t.track_id))
    target_s = 60.0 * float(minutes)
    chosen: list[TrackFeatures] = []
    total = 0.0
    for t in ranked:
        if total >= target_s:
            break
        if total + t.duration_s > target_s + 0.5 * t.duration_s and chosen:
            continue  # would overshoot by more than half itself; a shorter favourite may fit
        chosen.append(t)
        total += t.duration_s
    chosen.sort(key=lambda t: -(t.tempo_bpm if np.isfinite(t.tempo_bpm) else 0.0))
    entries = []
    start_s = 0.0
    for t in chosen:
        why = []
        if birth_year is not None and t.year is not None:
            why.append(f"age {t.year - birth_year} when released")
        if t.track_id in notes:
            why.append(f"family pick: {notes[t.track_id]}")
        if t.track_id in ratings:
            why.append(f"rated {ratings[t.track_id]}/5")
        entries.append(PlaylistEntry(track=t, start_s=start_s, phase="reminiscence",
                                     target_tempo_bpm=float("nan"), target_energy=float("nan"),
                                     rating=ratings.get(t.track_id), reason="; ".join(why)))
        start_s += t.duration_s
    warnings = []
    if excluded:
        warnings.append(f"{len(excluded & {t.track_id for t in tracks})} red-flag song(s) excluded")
    flags = suggested_red_flags(responses) - excluded
    if flags:
        warnings.append(f"{len(flags)} song(s) caused clear agitation before: consider marking them red-flag")
    tempos = [t.tempo_bpm for t in chosen if np.isfinite(t.tempo_bpm)]
    start_tempo = max(tempos) if tempos else float("nan")
    end_tempo = min(tempos) if tempos else float("nan")
    energies = [t.energy for t in chosen if np.isfinite(t.energy)]
    phase = PhaseSpec("reminiscence", 1.0, end_tempo, min(energies) if energies else float("nan"))
    return Playlist("reminiscence", "wind-down", target_s, entries, (phase,), start_tempo,
                    max(energies) if energies else float("nan"), warnings,
                    (RULE_SOURCES["reminiscence"], CONVENTIONS["bump_weights"], RULE_SOURCES["red_flags"],
                     CONVENTIONS["wind_down"]))
