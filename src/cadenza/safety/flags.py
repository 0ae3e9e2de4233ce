"""Clinical safety flags on a client record, and the audio policy each one imposes.

Every audio tool (RAS cues, playlists, MIT phrases, NICU sounds) asks :func:`audio_policy` what it may
do for a client instead of reading flags itself, so one flag changes behaviour everywhere at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from cadenza.errors import ParameterError


class SafetyFlag(StrEnum):
    """The clinical safety flags a client record can carry; each changes the audio policy."""

    SEIZURES = "seizures"  # seizures or musicogenic epilepsy
    HEARING_LOSS = "hearing_loss"
    TRAUMA_HISTORY = "trauma_history"
    NICU_INFANT = "nicu_infant"


@dataclass(frozen=True)
class AudioPolicy:
    """What an audio tool may do for one listener.

    ``max_level_dba`` caps the estimated listening level at the ear (or, for NICU, in the infant's
    space); ``autoplay_allowed`` is False when audio must only ever start by an explicit action.
    """

    max_level_dba: float
    autoplay_allowed: bool
    nicu_limits: bool
    caution_emotional_material: bool
    warnings: tuple[str, ...]
    dose_mode: str = "adult"  # cadenza.safety.dose mode: "adult" or "sensitive" (H.870 mode 2: children too)

    def as_dict(self) -> dict:
        return {
            "max_level_dba": self.max_level_dba,
            "autoplay_allowed": self.autoplay_allowed,
            "nicu_limits": self.nicu_limits,
            "caution_emotional_material": self.caution_emotional_material,
            "dose_mode": self.dose_mode,
            "warnings": list(self.warnings),
        }


def parse_flags(flags: Iterable[str]) -> frozenset[SafetyFlag]:
    """Validate flag codes; an unknown code is an error naming it and the known codes."""
    parsed = set()
    for code in flags:
        try:
            parsed.add(SafetyFlag(code))
        except ValueError:
            known = ", ".join(f.value for f in SafetyFlag)
            raise ParameterError(f"unknown safety flag {code!r}; expected one of: {known}") from None
    return frozenset(parsed)


DEFAULT_MAX_LEVEL_DBA = 85.0
"""Cap on a track's Leq at the ear: NIOSH REL, 85 dB(A) as an 8-h time-weighted average (3-dB
exchange); a session never needs more, and the weekly dose (cadenza.safety.dose) still adds up."""

HEARING_LOSS_MAX_LEVEL_DBA = 75.0
"""A **project choice** (clinical review U7): WHO/ITU-T H.870 mode 2 sets 75 dB(A) for 40 h/week as the
*weekly* reference for sensitive users; it defines a dose, not a per-track ceiling. An ear that is
already damaged gets that sensitive weekly allowance, and this project reuses the same level as its
per-track cap."""

NICU_MAX_LEVEL_DBA = 45.0
"""Recommended Standards for Newborn ICU Design, Std 23: hourly Leq <= 45 dB(A) in the infant's
space (with L10 <= 50 and Lmax <= 65 dB(A); see cadenza.nicu.limits). Music studies used up to
60-65 dB, but a render alone must not use up the room's whole hourly budget."""

SEIZURE_TRIGGER_NOTE = (
    "Seizures / musicogenic epilepsy: no auto-play; note any known triggers "
    "(specific pieces, genres, instruments, emotional content) before playing, and stop at any "
    "aura or prodrome (palpitations, breathing changes)."
)
"""Musicogenic seizures are usually triggered by specific, emotionally laden music, sometimes one tune
or genre, and may follow an autonomic prodrome (shared/research/clinical_anchors.md section 6)."""


ADULT_AGE_YEARS = 18
"""From this age a listener counts as an adult for the weekly sound dose. WHO/ITU-T H.870 sets mode 2, the
sensitive allowance (75 dB(A) for 40 h/week, about 0.51 Pa^2 h), for children; mode 1 (80 dB(A)) is for adults
(clinical review W7). The age of 18 is a project convention (the age of majority); H.870 gives no age."""


def may_be_child(birth_year: int | None, *, today: dt.date | None = None) -> bool:
    """True if someone born in ``birth_year`` may be younger than :data:`ADULT_AGE_YEARS` on ``today``
    (default: today, UTC); False without a birth year.

    The record holds the birth year only, so in the year a listener turns 18 they may still be 17: they count
    as a child until the year is over, the safe side of the unknown birthday.

    >>> today = dt.date(2026, 11, 25)
    >>> may_be_child(2018, today=today), may_be_child(2008, today=today), may_be_child(2007, today=today)
    (True, True, False)
    >>> may_be_child(None)
    False
    """
    if birth_year is None:
        return False
    if isinstance(birth_year, bool) or not isinstance(birth_year, int):
        raise ParameterError(f"birth_year must be a year (an integer) or None, got {birth_year!r}")
    year = (today or dt.datetime.now(dt.UTC).date()).year
    return year - birth_year < ADULT_AGE_YEARS + 1


def audio_policy(flags: Iterable[str], *, birth_year: int | None = None,
                 today: dt.date | None = None) -> AudioPolicy:
    """The audio policy for a listener with these safety flags (and, if known, this birth year).

    The weekly dose is counted in the sensitive mode (H.870 mode 2) for hearing loss, for an NICU infant and
    for a child (:func:`may_be_child`); the flags alone decide the level cap, auto-play and warnings.

    >>> p = audio_policy(["seizures", "hearing_loss"])
    >>> p.autoplay_allowed, p.max_level_dba, p.dose_mode
    (False, 75.0, 'sensitive')
    >>> audio_policy(["nicu_infant"]).max_level_dba
    45.0
    >>> audio_policy([], birth_year=2018, today=dt.date(2026, 11, 25)).dose_mode
    'sensitive'
    """
    if isinstance(flags, str):
        raise ParameterError(f"flags must be a list of flag codes, not one string {flags!r}")
    active = parse_flags(flags)
    child = may_be_child(birth_year, today=today)
    warnings: list[str] = []
    max_level_dba = DEFAULT_MAX_LEVEL_DBA
    if SafetyFlag.HEARING_LOSS in active:
        max_level_dba = min(max_level_dba, HEARING_LOSS_MAX_LEVEL_DBA)
        warnings.append(f"Hearing loss: each track capped at {HEARING_LOSS_MAX_LEVEL_DBA:g} dB(A) (a project choice: "
                        "H.870 sets that level as a weekly reference, not a per-track cap); check hearing-aid settings.")
    if SafetyFlag.NICU_INFANT in active:
        max_level_dba = min(max_level_dba, NICU_MAX_LEVEL_DBA)
        warnings.append("NICU infant: NICU sound limits apply; stop at any sign of stress.")
    if SafetyFlag.SEIZURES in active:
        warnings.append(SEIZURE_TRIGGER_NOTE)
    if SafetyFlag.TRAUMA_HISTORY in active:
        warnings.append("Trauma history: caution with intense or highly emotional material.")
    return AudioPolicy(
        max_level_dba=max_level_dba,
        autoplay_allowed=SafetyFlag.SEIZURES not in active,
        nicu_limits=SafetyFlag.NICU_INFANT in active,
        caution_emotional_material=SafetyFlag.TRAUMA_HISTORY in active,
        warnings=tuple(warnings),
        dose_mode="sensitive" if child or active & {SafetyFlag.HEARING_LOSS, SafetyFlag.NICU_INFANT} else "adult",
    )
