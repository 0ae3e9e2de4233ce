"""An infant's gestational and postmenstrual age, and whether PAL suits that age (clinical review M1).

Gestational age (GA) at birth and postmenstrual age (PMA = GA at birth + the time since birth) are counted
in completed days and shown as weeks+days ("32+4"). The record keeps the GA at birth and the PMA on a given
date, so the PMA on any later date follows without a birth date being stored.

PAL: Standley et al. 2010 (Pediatr Nurs 36:138, n=68) found that the pacifier-activated lullaby shortened
tube (gavage) feeding in infants at 34 weeks PMA but *lengthened* it at 32 weeks. Below
:data:`PAL_MIN_PMA_WEEKS` a PAL session therefore needs a clinician's override with a reason; with no PMA
recorded the session carries a warning. The 34-week line comes from that one trial, not from a guideline.

>>> format_weeks_days(226)
'32+2'
>>> check_pal_age(226).allowed, check_pal_age(238).allowed
(False, True)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from cadenza.errors import ParameterError

DAYS_PER_WEEK = 7
MIN_GESTATIONAL_AGE_DAYS = 22 * DAYS_PER_WEEK  # the limit of viability
MAX_GESTATIONAL_AGE_DAYS = 45 * DAYS_PER_WEEK
MAX_POSTMENSTRUAL_AGE_DAYS = 60 * DAYS_PER_WEEK  # beyond this an infant has left neonatal care
PAL_MIN_PMA_WEEKS = 34
STANDLEY_2010 = ("Standley et al. 2010 (Pediatr Nurs 36:138, n=68): PAL shortened tube feeding at 34 weeks "
                 "postmenstrual age but lengthened it at 32 weeks.")


def format_weeks_days(days: int) -> str:
    """``days`` of gestational or postmenstrual age as completed weeks+days, e.g. 226 -> '32+2'."""
    return f"{days // DAYS_PER_WEEK}+{days % DAYS_PER_WEEK}"


def parse_weeks_days(text: str, *, name: str = "age") -> int:
    """'32+4', '32w4d', '32 4' or '32' (weeks, then days 0-6) -> days; ParameterError naming ``name`` otherwise."""
    if not isinstance(text, str):
        raise ParameterError(f"{name} must be weeks+days text such as '32+4', got {text!r}")
    match = re.fullmatch(r"\s*(\d{1,2})\s*(?:(?:w(?:eeks?)?\s*\+?|\+|\s)\s*([0-6])\s*(?:d(?:ays?)?)?|w(?:eeks?)?)?\s*",
                         text.lower())
    if match is None:
        raise ParameterError(f"{name} must be weeks+days such as '32+4' (days 0-6), got {text[:20]!r}")
    weeks, days = int(match.group(1)), int(match.group(2) or 0)
    return weeks * DAYS_PER_WEEK + days


@dataclass(frozen=True)
class InfantAge:
    """GA at birth and the PMA on ``assessed_on`` (both in days)."""

    gestational_age_at_birth_days: int
    postmenstrual_age_days: int
    assessed_on: dt.date

    def __post_init__(self) -> None:
        for name in ("gestational_age_at_birth_days", "postmenstrual_age_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ParameterError(f"{name} must be a whole number of days, got {value!r}")
        ga, pma = self.gestational_age_at_birth_days, self.postmenstrual_age_days
        if not MIN_GESTATIONAL_AGE_DAYS <= ga <= MAX_GESTATIONAL_AGE_DAYS:
            raise ParameterError(
                f"gestational_age_at_birth_days must be {MIN_GESTATIONAL_AGE_DAYS}..{MAX_GESTATIONAL_AGE_DAYS} "
                f"(22+0 to 45+0 weeks), got {ga!r} (weeks given as days?)")
        if not ga <= pma <= MAX_POSTMENSTRUAL_AGE_DAYS:
            raise ParameterError(
                f"postmenstrual_age_days must be from the gestational age at birth ({ga}) to "
                f"{MAX_POSTMENSTRUAL_AGE_DAYS} days (60 weeks), got {pma!r}")
        if not isinstance(self.assessed_on, dt.date) or isinstance(self.assessed_on, dt.datetime):
            raise ParameterError(f"assessed_on must be a date, got {self.assessed_on!r}")

    def postmenstrual_age_on(self, day: dt.date) -> int:
        """PMA in days on ``day`` (counted on from ``assessed_on``; never below the GA at birth)."""
        if not isinstance(day, dt.date):
            raise ParameterError(f"day must be a date, got {day!r}")
        return max(self.gestational_age_at_birth_days,
                   self.postmenstrual_age_days + (day - self.assessed_on).days)


@dataclass(frozen=True)
class PalAgeCheck:
    """Whether a PAL session suits the infant's PMA: ``allowed`` without an override, and what to tell the user."""

    pma_days: int | None
    allowed: bool
    message: str


def check_pal_age(pma_days: int | None) -> PalAgeCheck:
    """PAL at ``pma_days`` of postmenstrual age (None: not recorded). Below 34 weeks it is not allowed without
    a clinician's override; with no PMA it is allowed with a warning to record one."""
    if pma_days is None:
        return PalAgeCheck(None, True, "Postmenstrual age not recorded: record it before PAL. " + STANDLEY_2010)
    if isinstance(pma_days, bool) or not isinstance(pma_days, int) or pma_days < 0:
        raise ParameterError(f"pma_days must be a whole number of days >= 0, got {pma_days!r}")
    weeks = format_weeks_days(pma_days)
    if pma_days < PAL_MIN_PMA_WEEKS * DAYS_PER_WEEK:
        return PalAgeCheck(pma_days, False,
                           f"Postmenstrual age {weeks} weeks is below {PAL_MIN_PMA_WEEKS} weeks: PAL needs a clinician's "
                           f"override with a reason. " + STANDLEY_2010)
    return PalAgeCheck(pma_days, True, f"Postmenstrual age {weeks} weeks. " + STANDLEY_2010)
