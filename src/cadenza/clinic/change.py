"""Is a change on an outcome measure worth noticing? The minimal clinically important difference (MCID)
and a reliable-change check, per instrument (clinical review M6).

"Target met" only says the latest value crossed the therapist's own target. A clinician also asks whether
the change from baseline is large enough to matter to the person (the MCID, from anchor-based studies)
and larger than the measure's own noise (reliable change, Jacobson & Truax 1991, J Consult Clin Psychol
59:12: RC = 1.96 x SD x sqrt(2) x sqrt(1 - reliability), :func:`reliable_change_threshold`).

Every threshold names its source. None of these sources is in the evidence catalog yet, so each is
labelled **recalled**: quoted from memory of the named paper, not re-read for this project. Check the
primary source before quoting a figure in a report of your own. Instruments without a published threshold
here (VAS anxiety, STAI-6, cadence, step-time asymmetry, ...) get no verdict, never an invented one.

>>> check_change("phq9", baseline=16, latest=10, direction="decrease").meets_mcid
True
>>> check_change("nrs_pain", baseline=5, latest=3.5, direction="decrease").meets_mcid  # 30 % of 5
True
>>> check_change("cadence", baseline=90, latest=100, direction="increase") is None
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cadenza.errors import ParameterError

RECALLED = "recalled"


@dataclass(frozen=True)
class ChangeThreshold:
    """An instrument's MCID (in its unit, and optionally as a share of baseline: either counts) and its
    reliable-change threshold (in its unit, or None when none is recorded), each with its source."""

    instrument_code: str
    mcid: float
    mcid_source: str
    mcid_percent_of_baseline: float | None = None
    reliable_change: float | None = None
    reliable_change_source: str = ""
    status: str = RECALLED  # "recalled" until the source is in the evidence catalog


THRESHOLDS: dict[str, ChangeThreshold] = {t.instrument_code: t for t in (
    ChangeThreshold(
        "gait_speed", mcid=0.10,
        mcid_source="Perera S et al. 2006, J Am Geriatr Soc 54:743-749: about 0.10 m/s is a substantial meaningful "
                    "change in comfortable gait speed (0.05 m/s a small one)"),
    ChangeThreshold(
        "phq9", mcid=5,
        mcid_source="Löwe B et al. 2004, Med Care 42:1194-1201: a change of 5 points on the PHQ-9 is clinically relevant",
        reliable_change=6,
        reliable_change_source="6 points, the reliable-change criterion used by the English IAPT programme "
                               "(McMillan, Gilbody & Richards 2010, J Affect Disord 127:122)"),
    ChangeThreshold(
        "gad7", mcid=4,
        mcid_source="Toussaint A et al. 2020, J Affect Disord 265:395-401: MCID about 4 points on the GAD-7",
        reliable_change=4,
        reliable_change_source="4 points, the reliable-change criterion used by the English IAPT programme"),
    ChangeThreshold(
        "nrs_pain", mcid=2, mcid_percent_of_baseline=30.0,
        mcid_source="Farrar JT et al. 2001, Pain 94:149-158: a fall of about 2 points or 30 % on the 0-10 scale is "
                    "clinically important"),
)}


@dataclass(frozen=True)
class ChangeCheck:
    """The change from baseline (signed so that positive is better) against an instrument's thresholds."""

    threshold: ChangeThreshold
    improvement: float  # in the instrument's unit, positive = better
    percent_of_baseline: float | None  # improvement as a share of |baseline|, None when baseline is 0
    meets_mcid: bool
    reliable: bool | None  # a reliable improvement; None: no reliable-change threshold recorded

    @property
    def reliably_worse(self) -> bool:
        """Worse by at least the reliable-change threshold."""
        rc = self.threshold.reliable_change
        return rc is not None and self.improvement <= -rc

    @property
    def summary(self) -> str:
        """One line for a page or report, e.g. "improvement +6 against an MCID of 5 (recalled: ...); meets the
        MCID; a reliable improvement (...)"."""
        t = self.threshold
        mcid = f"{t.mcid:g}" + (f" or {t.mcid_percent_of_baseline:g} % of baseline" if t.mcid_percent_of_baseline else "")
        parts = [f"improvement {self.improvement:+g} against an MCID of {mcid} ({t.status}: {t.mcid_source})",
                 "meets the MCID" if self.meets_mcid else "below the MCID"]
        if self.reliable is None:
            parts.append("no reliable-change threshold recorded")
        else:
            word = ("a reliable improvement" if self.reliable else "a reliable worsening" if self.reliably_worse
                    else "not a reliable change")
            parts.append(f"{word} (threshold {t.reliable_change:g}, {t.status}: {t.reliable_change_source})")
        return "; ".join(parts)


def reliable_change_threshold(sd: float, reliability: float, *, z: float = 1.96) -> float:
    """Jacobson & Truax's reliable-change threshold: ``z * sd * sqrt(2 * (1 - reliability))``.

    ``sd`` is the baseline standard deviation of the measure, ``reliability`` its test-retest (or internal
    consistency) coefficient in [0, 1).

    >>> round(reliable_change_threshold(5.0, 0.84), 2)
    5.54
    """
    if not math.isfinite(sd) or sd <= 0:
        raise ParameterError(f"sd must be a finite number > 0, got {sd!r}")
    if not math.isfinite(reliability) or not 0 <= reliability < 1:
        raise ParameterError(f"reliability must be in [0, 1), got {reliability!r}")
    if not math.isfinite(z) or z <= 0:
        raise ParameterError(f"z must be > 0, got {z!r}")
    return z * sd * math.sqrt(2 * (1 - reliability))


def check_change(instrument_code: str, *, baseline: float, latest: float, direction: str) -> ChangeCheck | None:
    """The change from ``baseline`` to ``latest`` against the instrument's MCID and reliable-change threshold;
    None when the instrument has no recorded threshold or ``latest`` is missing (NaN)."""
    if direction not in ("increase", "decrease"):
        raise ParameterError(f"direction must be 'increase' or 'decrease', got {direction!r}")
    if not math.isfinite(baseline):
        raise ParameterError(f"baseline must be finite, got {baseline!r}")
    threshold = THRESHOLDS.get(instrument_code)
    if threshold is None or latest is None or not math.isfinite(latest):
        return None
    improvement = (latest - baseline) if direction == "increase" else (baseline - latest)
    improvement = round(improvement, 9)  # 0.1 + 0.2 style noise must not decide a threshold
    percent = 100 * improvement / abs(baseline) if baseline else None
    meets = improvement >= threshold.mcid or (
        threshold.mcid_percent_of_baseline is not None and percent is not None
        and percent >= threshold.mcid_percent_of_baseline)
    reliable = None if threshold.reliable_change is None else improvement >= threshold.reliable_change
    return ChangeCheck(threshold, improvement, percent, bool(meets and improvement > 0), reliable)
