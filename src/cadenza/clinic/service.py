"""The clinical-record service: every read and write of client data goes through here.

Rules (see docs/clinic.md):

* **Ownership.** A therapist sees and changes only their own clients. Another therapist's client is
  reported as not found, so its existence does not leak. Admins manage accounts; an admin account
  can own clients like any therapist but reads no one else's clinical data, except read-only under
  an emergency grant (:mod:`cadenza.clinic.emergency`: a written reason, at most 12 h, every read
  audited as ``read_emergency`` and shown to the owning therapist).
* **Audit.** Every read and write of client data adds an ``audit_event`` row in the same transaction.
* **Transactions.** Services flush but never commit: the caller's unit of work
  (:func:`cadenza.clinic.db.session_scope`, or one web request) commits once. :func:`record_session`
  is atomic on its own: the session and all its measurements are stored whole or not at all.
* **Errors** are :mod:`cadenza.errors` domain errors whose messages name the field and the value.

The primitives below this module live in their own: :mod:`~cadenza.clinic.audit` (:func:`audit`),
:mod:`~cadenza.clinic.access` (:func:`get_client_for_actor`, :func:`child_of`),
:mod:`~cadenza.clinic.accounts` (creating and listing accounts) and :mod:`~cadenza.clinic.auth`
(:func:`set_therapist_active`); their names stay importable from here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, event, func, inspect, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from cadenza.clinic.access import MAX_ROW_ID as MAX_ROW_ID
from cadenza.clinic.access import child_of as child_of
from cadenza.clinic.access import get_client_for_actor, is_row_id, owned_row
from cadenza.clinic.accounts import check_actor
from cadenza.clinic.accounts import create_therapist as create_therapist
from cadenza.clinic.accounts import get_therapist_by_username as get_therapist_by_username
from cadenza.clinic.accounts import list_therapists as list_therapists
from cadenza.clinic.accounts import set_qualification as set_qualification
from cadenza.clinic.audit import SYSTEM_ACTOR as SYSTEM_ACTOR
from cadenza.clinic.audit import audit
from cadenza.clinic.auth import set_therapist_active as set_therapist_active
from cadenza.clinic.instruments import Score, check_age, get_instrument, score_instrument
from cadenza.clinic.models import (
    ASSESSMENT_DOMAINS,
    CLIENT_STATUSES,
    DIRECTIONS,
    Assessment,
    AuditEvent,
    Addendum,
    Client,
    Goal,
    Measurement,
    SessionAddendum,
    SessionIntervention,
    Therapist,
    TherapySession,
    measurement_order,
    utcnow,
)
from cadenza.errors import ConflictError, NotFoundError, ParameterError
from cadenza.evidence.query import get_intervention
from cadenza.safety.flags import parse_flags

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_SESSION_MINUTES = 600
EARLIEST_BIRTH_YEAR = 1900


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class MeasurementInput:
    """One outcome entry to record: ``value`` for single-value instruments, ``items`` for questionnaires."""

    instrument_code: str
    value: float | None = None
    items: Mapping[str, Any] | Sequence[Any] | None = None
    unit: str | None = None
    goal_id: int | None = None
    measured_at: dt.datetime | None = None  # only when known more precisely than the session's date
    timed_distance_m: float | None = None  # timed walks: the distance timed (default: the instrument's)


# --- clients ------------------------------------------------------------------------------------


def _check_code(code: Any) -> str:
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise ParameterError(
            f"code must be a pseudonymous code of 1-64 letters, digits, '.', '_' or '-' (no names or spaces), got {code!r}"
        )
    return code


# Clinical review W15: the code is the record's only identifier, and only a regex guarded it
# ("JohnSmith1950" was accepted). These patterns do not refuse anything; they warn.
_CAMEL_SPLIT = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NAME_LIKE = re.compile(r"^(?:[A-Z][a-z]{2,}|[a-z]{3,}|[A-Z]{4,})$")
_DATE_FORMATS = {8: ("%Y%m%d", "%d%m%Y", "%m%d%Y"), 6: ("%y%m%d", "%d%m%y", "%m%d%y")}  # by digit count


def client_code_warnings(code: str) -> list[str]:
    """Why a client code might identify the person (a name, initials spelled out, a year or date of
    birth); empty when it looks like a plain pseudonym. A warning, not a refusal: the caller shows it and
    the therapist decides.

    >>> client_code_warnings("C001")
    []
    >>> client_code_warnings("JohnSmith1950")[0]
    "code 'JohnSmith1950' may contain a name ('John', 'Smith') and a year of birth ('1950'): use a code that identifies no one outside this record, e.g. C001"
    """
    if not isinstance(code, str):
        return []
    words = [w for part in re.split(r"[^A-Za-z]+", code) for w in _CAMEL_SPLIT.split(part) if w]
    names = [w for w in words if _NAME_LIKE.match(w)]
    this_year = dt.datetime.now(dt.UTC).year
    years, dates = [], []
    for digits in re.findall(r"\d+", code):
        if len(digits) == 4 and 1900 <= int(digits) <= this_year:
            years.append(digits)
        elif any(_is_date(digits, f) for f in _DATE_FORMATS.get(len(digits), ())):
            dates.append(digits)
    found = []
    if names:
        found.append(f"a name ({', '.join(repr(n) for n in names)})")
    if years:
        found.append(f"a year of birth ({', '.join(repr(y) for y in years)})")
    if dates:
        found.append(f"a date of birth ({', '.join(repr(d) for d in dates)})")
    if not found:
        return []
    return [f"code {code!r} may contain {' and '.join(found)}: use a code that identifies no one outside this "
            "record, e.g. C001"]


def _is_date(digits: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(digits, fmt)
    except ValueError:
        return False
    return True


def _check_birth_year(birth_year: Any) -> int | None:
    if birth_year is None:
        return None
    this_year = dt.datetime.now(dt.UTC).year
    if isinstance(birth_year, bool) or not isinstance(birth_year, int) or not EARLIEST_BIRTH_YEAR <= birth_year <= this_year:
        raise ParameterError(f"birth_year must be a year {EARLIEST_BIRTH_YEAR}..{this_year}, got {birth_year!r}")
    return birth_year


def _check_conditions(conditions: Any) -> list[str]:
    if isinstance(conditions, str) or not isinstance(conditions, Iterable):
        raise ParameterError(f"conditions must be a list of strings, got {conditions!r}")
    cleaned = []
    for condition in conditions:
        if not isinstance(condition, str) or not condition.strip() or len(condition) > 200:
            raise ParameterError(f"each condition must be a non-empty string up to 200 characters, got {condition!r}")
        text = condition.strip().lower()
        if text not in cleaned:
            cleaned.append(text)
    return cleaned


def _check_flags(safety_flags: Any) -> list[str]:
    if isinstance(safety_flags, str) or not isinstance(safety_flags, Iterable):
        raise ParameterError(f"safety_flags must be a list of flag codes, got {safety_flags!r}")
    return sorted(flag.value for flag in parse_flags(safety_flags))


def create_client(
    db: Session,
    *,
    actor: Therapist,
    code: str,
    birth_year: int | None = None,
    conditions: Iterable[str] = (),
    safety_flags: Iterable[str] = (),
) -> Client:
    check_actor(actor)
    code = _check_code(code)
    birth_year = _check_birth_year(birth_year)
    conditions = _check_conditions(conditions)
    flags = _check_flags(safety_flags)
    exists = db.scalar(select(Client.id).where(Client.therapist_id == actor.id, Client.code == code))
    if exists is not None:
        raise ConflictError(f"you already have a client with code {code!r}")
    client = Client(therapist_id=actor.id, code=code, birth_year=birth_year, conditions=conditions, safety_flags=flags)
    try:
        with db.begin_nested():
            db.add(client)
            db.flush()
    except IntegrityError:
        raise ConflictError(f"you already have a client with code {code!r}") from None
    audit(db, actor, "create", "client", entity_id=client.id, client_id=client.id)
    return client


def get_client(db: Session, *, actor: Therapist, client_id: int) -> Client:
    return get_client_for_actor(db, actor=actor, client_id=client_id)


def get_client_by_code(db: Session, *, actor: Therapist, code: str) -> Client:
    check_actor(actor)
    client_id = db.scalar(select(Client.id).where(Client.therapist_id == actor.id, Client.code == code))
    if client_id is None:
        raise NotFoundError(f"client with code {code!r} not found")
    return get_client_for_actor(db, actor=actor, client_id=client_id)


def list_clients(db: Session, *, actor: Therapist) -> list[Client]:
    check_actor(actor)
    clients = list(db.scalars(select(Client).where(Client.therapist_id == actor.id).order_by(Client.code)))
    audit(db, actor, "list", "client")
    return clients


def update_client(
    db: Session,
    *,
    actor: Therapist,
    client_id: int,
    birth_year: int | None = UNSET,
    conditions: Iterable[str] = UNSET,
    safety_flags: Iterable[str] = UNSET,
) -> Client:
    """Change the given fields; fields left out keep their value."""
    birth_year = birth_year if birth_year is UNSET else _check_birth_year(birth_year)
    conditions = conditions if conditions is UNSET else _check_conditions(conditions)
    flags = safety_flags if safety_flags is UNSET else _check_flags(safety_flags)
    client = get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    if birth_year is not UNSET:
        client.birth_year = birth_year
    if conditions is not UNSET:
        client.conditions = conditions
    if flags is not UNSET:
        client.safety_flags = flags
    client.updated_at = utcnow()
    db.flush()
    return client


def set_client_status(db: Session, *, actor: Therapist, client: Client | None = None, client_id: int | None = None,
                      status: str) -> Client:
    """Set where the client is in the course of care: ``active``, ``on_hold`` or ``discharged``
    (:data:`~cadenza.clinic.models.CLIENT_STATUSES`). Pass the already authorised ``client`` (checked
    again for writing) or its ``client_id``. The change is audited as an update of ``client_status``."""
    if status not in CLIENT_STATUSES:
        raise ParameterError(f"status must be one of {', '.join(CLIENT_STATUSES)}, got {status!r}")
    if client is None:
        client = get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    else:
        client = get_client_for_actor(db, actor=actor, client_id=client.id, action="update")
    if client.status != status:
        client.status = status
        client.updated_at = utcnow()
        db.flush()
        audit(db, actor, "update", "client_status", entity_id=client.id, client_id=client.id)
    return client


# --- assessments --------------------------------------------------------------------------------


def create_assessment(
    db: Session,
    *,
    actor: Therapist,
    client_id: int,
    domain: str,
    assessed_date: dt.date,
    notes: str = "",
    scores: Mapping[str, Any] | None = None,
) -> Assessment:
    if domain not in ASSESSMENT_DOMAINS:
        raise ParameterError(f"domain must be one of {', '.join(ASSESSMENT_DOMAINS)}, got {domain!r}")
    _check_date("assessed_date", assessed_date)
    if not isinstance(notes, str):
        raise ParameterError(f"notes must be text, got {notes!r}")
    scores = _check_scores(scores)
    client = get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    assessment = Assessment(client_id=client.id, domain=domain, assessed_date=assessed_date, notes=notes, scores=scores)
    db.add(assessment)
    db.flush()
    audit(db, actor, "create", "assessment", entity_id=assessment.id, client_id=client.id)
    return assessment


def _check_scores(scores: Mapping[str, Any] | None) -> dict[str, Any]:
    if scores is None:
        return {}
    if not isinstance(scores, Mapping):
        raise ParameterError(f"scores must be a mapping of name to number or text, got {scores!r}")
    for key, value in scores.items():
        if not isinstance(key, str) or not key:
            raise ParameterError(f"score names must be non-empty strings, got {key!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(f"score {key!r} must be finite, got {value!r}")
        if not isinstance(value, (int, float, str, bool)) and value is not None:
            raise ParameterError(f"score {key!r} must be a number or text, got {value!r}")
    return dict(scores)


def list_assessments(db: Session, *, actor: Therapist, client_id: int) -> list[Assessment]:
    client = get_client_for_actor(db, actor=actor, client_id=client_id)
    return list(db.scalars(select(Assessment).where(Assessment.client_id == client.id)
                           .order_by(Assessment.assessed_date, Assessment.id)))


def update_assessment(
    db: Session,
    *,
    actor: Therapist,
    assessment_id: int,
    notes: str = UNSET,
    scores: Mapping[str, Any] | None = UNSET,
) -> Assessment:
    """Amend an assessment's notes or structured scores."""
    if notes is not UNSET and not isinstance(notes, str):
        raise ParameterError(f"notes must be text, got {notes!r}")
    scores = scores if scores is UNSET else _check_scores(scores)
    row, client = owned_row(db, actor, Assessment, assessment_id, "assessment")
    if notes is not UNSET:
        row.notes = notes
    if scores is not UNSET:
        row.scores = scores
    audit(db, actor, "update", "assessment", entity_id=row.id, client_id=client.id)
    db.flush()
    return row


# --- goals --------------------------------------------------------------------------------------


def _check_date(name: str, value: Any) -> None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ParameterError(f"{name} must be a date (YYYY-MM-DD), got {value!r}")


def _check_whole(instrument: Any, name: str, number: float) -> None:
    # Clinical review W16: an instrument that only takes whole numbers (NRS 0-10, PHQ-9 and GAD-7 totals)
    # cannot reach a target of 2.5, so such a goal is refused.
    if instrument.integer and not float(number).is_integer():
        raise ParameterError(
            f"{name} must be a whole number for {instrument.code!r}, whose values are whole numbers, got {number!r}")


def create_goal(
    db: Session,
    *,
    actor: Therapist,
    client_id: int,
    instrument_code: str,
    baseline: float,
    target: float,
    direction: str | None = None,
    target_date: dt.date | None = None,
    description: str = "",
) -> Goal:
    """A measurable goal. ``direction`` defaults to the instrument's direction of improvement."""
    try:
        instrument = get_instrument(instrument_code)
    except NotFoundError as exc:
        raise ParameterError(str(exc)) from None
    for name, number in (("baseline", baseline), ("target", target)):
        if isinstance(number, bool) or not isinstance(number, numbers.Real) or not math.isfinite(number):
            raise ParameterError(f"{name} must be a finite number, got {number!r}")
        if not instrument.minimum <= number <= instrument.maximum:
            raise ParameterError(
                f"{name} must be within {instrument.minimum:g}..{instrument.maximum:g} {instrument.unit} "
                f"for {instrument_code!r}, got {number!r}"
            )
        _check_whole(instrument, name, number)
    direction = direction or instrument.better
    if direction not in DIRECTIONS:
        raise ParameterError(f"direction must be 'increase' or 'decrease' for {instrument_code!r}, got {direction!r}")
    if (direction == "decrease" and not target < baseline) or (direction == "increase" and not target > baseline):
        raise ParameterError(
            f"target {target!r} must be {'below' if direction == 'decrease' else 'above'} baseline {baseline!r} "
            f"for a goal to {direction}"
        )
    if target_date is not None:
        _check_date("target_date", target_date)
    if not isinstance(description, str):
        raise ParameterError(f"description must be text, got {description!r}")
    client = get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    check_age(instrument_code, birth_year=client.birth_year, on_date=utcnow().date())  # clinical review M13
    goal = Goal(client_id=client.id, instrument_code=instrument_code, baseline=float(baseline), target=float(target),
                direction=direction, target_date=target_date, description=description)
    db.add(goal)
    db.flush()
    audit(db, actor, "create", "goal", entity_id=goal.id, client_id=client.id)
    return goal


def get_goal(db: Session, *, actor: Therapist, goal_id: int) -> Goal:
    goal, client = owned_row(db, actor, Goal, goal_id, "goal")
    audit(db, actor, "read", "goal", entity_id=goal.id, client_id=client.id)
    return goal


def list_goals(db: Session, *, actor: Therapist, client_id: int) -> list[Goal]:
    client = get_client_for_actor(db, actor=actor, client_id=client_id)
    return list(db.scalars(select(Goal).where(Goal.client_id == client.id).order_by(Goal.id)))


def update_goal(
    db: Session,
    *,
    actor: Therapist,
    goal_id: int,
    target: float = UNSET,
    target_date: dt.date | None = UNSET,
    description: str = UNSET,
) -> Goal:
    """Revise a goal's target, target date or wording; baseline, instrument and direction stay fixed
    (a different measure or direction is a new goal)."""
    goal = get_goal(db, actor=actor, goal_id=goal_id)
    if target is not UNSET:
        instrument = get_instrument(goal.instrument_code)
        if isinstance(target, bool) or not isinstance(target, numbers.Real) or not math.isfinite(target) \
                or not instrument.minimum <= target <= instrument.maximum:
            raise ParameterError(
                f"target must be within {instrument.minimum:g}..{instrument.maximum:g} {instrument.unit}, got {target!r}"
            )
        _check_whole(instrument, "target", target)
        if (goal.direction == "decrease" and not target < goal.baseline) or (
                goal.direction == "increase" and not target > goal.baseline):
            raise ParameterError(
                f"target {target!r} must be {'below' if goal.direction == 'decrease' else 'above'} "
                f"baseline {goal.baseline!r} for a goal to {goal.direction}"
            )
    if target_date is not UNSET and target_date is not None:
        _check_date("target_date", target_date)
    if description is not UNSET and not isinstance(description, str):
        raise ParameterError(f"description must be text, got {description!r}")
    if target is not UNSET:
        goal.target = float(target)
    if target_date is not UNSET:
        goal.target_date = target_date
    if description is not UNSET:
        goal.description = description
    audit(db, actor, "update", "goal", entity_id=goal.id, client_id=goal.client_id)
    db.flush()
    return goal


# --- sessions and measurements ------------------------------------------------------------------


def _score_input(entry: MeasurementInput, index: int) -> Score:
    if not isinstance(entry, MeasurementInput):
        raise ParameterError(f"measurements[{index}] must be a MeasurementInput, got {entry!r}")
    if entry.measured_at is not None and (not isinstance(entry.measured_at, dt.datetime) or entry.measured_at.tzinfo is None):
        raise ParameterError(f"measurements[{index}]: measured_at must be a UTC-aware datetime, got {entry.measured_at!r}")
    if entry.measured_at is not None:
        try:
            entry.measured_at.astimezone(dt.UTC)  # what the database stores; it must exist
        except (OverflowError, ValueError):
            raise ParameterError(f"measurements[{index}]: measured_at must be within years 1-9999 in UTC, got "
                                 f"{entry.measured_at.isoformat()!r}") from None
    try:
        return score_instrument(entry.instrument_code, value=entry.value, items=entry.items, unit=entry.unit,
                                timed_distance_m=entry.timed_distance_m)
    except ParameterError as exc:
        raise ParameterError(f"measurements[{index}]: {exc}") from None


def _check_client_age(client: Client, entry: MeasurementInput, index: int, on_date: dt.date) -> None:
    # Clinical review M13: an instrument is refused for a client certainly outside its age range.
    try:
        check_age(entry.instrument_code, birth_year=client.birth_year, on_date=on_date)
    except ParameterError as exc:
        raise ParameterError(f"measurements[{index}]: {exc}") from None


def _check_goal_link(db: Session, client: Client, entry: MeasurementInput, index: int) -> None:
    if entry.goal_id is None:
        return
    goal = db.get(Goal, entry.goal_id) if is_row_id(entry.goal_id) else None
    if goal is None or goal.client_id != client.id:
        raise ParameterError(f"measurements[{index}]: goal_id {entry.goal_id!r} is not a goal of this client")
    if goal.instrument_code != entry.instrument_code:
        raise ParameterError(
            f"measurements[{index}]: goal {goal.id} is measured with {goal.instrument_code!r}, "
            f"got instrument_code {entry.instrument_code!r}"
        )


def _new_measurement(session_row: TherapySession, entry: MeasurementInput, score: Score) -> Measurement:
    return Measurement(
        therapy_session=session_row,
        client_id=session_row.client_id,
        goal_id=entry.goal_id,
        instrument_code=score.instrument_code,
        value=score.value,
        unit=score.unit,
        item_responses=score.item_responses,
        severity_band=score.severity_band,
        safety_followup=score.safety_followup,
        timed_distance_m=score.timed_distance_m,
        # No time given: the measurement belongs to the session and is dated by it, never by the moment
        # it was typed (clinical review W1).
        measured_at=entry.measured_at,
    )


# A session is documented after it happened. One day of grace: a clinic ahead of UTC (up to UTC+14)
# records "today" while UTC is still on yesterday.
FUTURE_SESSION_GRACE = dt.timedelta(days=1)


def _check_session_date(session_date: Any, *, today: dt.date | None = None) -> None:
    _check_date("session_date", session_date)
    latest = (today or utcnow().date()) + FUTURE_SESSION_GRACE
    if session_date > latest:
        raise ParameterError(f"session_date {session_date.isoformat()} is in the future; a session is recorded "
                             "once it has taken place (book a future session as a planned session)")


MAX_INTERVENTIONS_PER_SESSION = 12


def check_interventions(interventions: Any, *, minutes: int) -> list[tuple[str, int]]:
    """``[(intervention_code, minutes), ...]`` checked: known codes, each once, each 1.. minutes, and
    together no longer than the session (``minutes``).

    >>> check_interventions([("songwriting", 20), ("receptive_listening", 15)], minutes=45)
    [('songwriting', 20), ('receptive_listening', 15)]
    >>> check_interventions([("songwriting", 40), ("receptive_listening", 15)], minutes=45)
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: interventions: their minutes add up to 55, more than the session's 45 minutes
    """
    if isinstance(interventions, (str, bytes, Mapping)) or not isinstance(interventions, Sequence):
        raise ParameterError(f"interventions must be a list of (intervention_code, minutes), got {interventions!r}")
    if not 1 <= len(interventions) <= MAX_INTERVENTIONS_PER_SESSION:
        raise ParameterError(f"interventions must hold 1..{MAX_INTERVENTIONS_PER_SESSION} entries, "
                             f"got {len(interventions)}")
    checked: list[tuple[str, int]] = []
    for index, entry in enumerate(interventions):
        if not isinstance(entry, Sequence) or isinstance(entry, (str, bytes)) or len(entry) != 2:
            raise ParameterError(f"interventions[{index}] must be (intervention_code, minutes), got {entry!r}")
        code, entry_minutes = entry
        try:
            get_intervention(code)
        except NotFoundError as exc:
            raise ParameterError(f"interventions[{index}]: {exc}") from None
        if isinstance(entry_minutes, bool) or not isinstance(entry_minutes, int) or not 0 < entry_minutes <= minutes:
            raise ParameterError(f"interventions[{index}]: minutes of {code!r} must be a whole number 1..{minutes} "
                                 f"(the session's length), got {entry_minutes!r}")
        if any(code == seen for seen, _ in checked):
            raise ParameterError(f"interventions[{index}]: {code!r} is listed twice; give it once with all its minutes")
        checked.append((code, entry_minutes))
    total = sum(m for _, m in checked)
    if total > minutes:
        raise ParameterError(f"interventions: their minutes add up to {total}, more than the session's "
                             f"{minutes} minutes")
    return checked


def _set_interventions(row: TherapySession, interventions: list[tuple[str, int]]) -> None:
    """Replace the session's intervention rows (the first is also ``intervention_code``)."""
    # Rows are changed in place, added or dropped at the end: never a new row at a position still held.
    existing = list(row.interventions)
    for position, (code, m) in enumerate(interventions):
        if position < len(existing):
            if (existing[position].intervention_code, existing[position].minutes) != (code, m):
                existing[position].intervention_code, existing[position].minutes = code, m
        else:
            row.interventions.append(SessionIntervention(position=position, intervention_code=code, minutes=m))
    del row.interventions[len(interventions):]
    row.intervention_code = interventions[0][0]


def record_session(
    db: Session,
    *,
    actor: Therapist,
    client_id: int,
    session_date: dt.date,
    minutes: int,
    intervention_code: str | None = None,
    setting: str = "",
    subjective: str = "",
    objective: str = "",
    assessment: str = "",
    plan: str = "",
    measurements: Sequence[MeasurementInput] = (),
    interventions: Sequence[tuple[str, int]] | None = None,
) -> TherapySession:
    """Document a session with its SOAP note and outcome measurements, all or nothing. A date in the
    future is refused (:data:`FUTURE_SESSION_GRACE`; book it with :mod:`cadenza.clinic.schedule`).

    ``interventions`` lists every intervention with its minutes (:func:`check_interventions`); without
    it the session is one ``intervention_code`` for all its ``minutes``. With both, ``intervention_code``
    must be the first of ``interventions``."""
    _check_session_date(session_date)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 < minutes <= MAX_SESSION_MINUTES:
        raise ParameterError(f"minutes must be a whole number 1..{MAX_SESSION_MINUTES}, got {minutes!r}")
    if interventions is None:
        if intervention_code is None:
            raise ParameterError("intervention_code or interventions is required, got neither")
        try:
            get_intervention(intervention_code)
        except NotFoundError as exc:
            raise ParameterError(str(exc)) from None
        interventions = [(intervention_code, minutes)]
    else:
        interventions = check_interventions(interventions, minutes=minutes)
        if intervention_code is not None and intervention_code != interventions[0][0]:
            raise ParameterError(f"intervention_code {intervention_code!r} must be the first of interventions "
                                 f"({interventions[0][0]!r}) when both are given")
    for name, text in (("setting", setting), ("subjective", subjective), ("objective", objective),
                       ("assessment", assessment), ("plan", plan)):
        if not isinstance(text, str):
            raise ParameterError(f"{name} must be text, got {text!r}")
    if len(setting) > 64:
        raise ParameterError(f"setting must be at most 64 characters, got {setting!r}")
    if isinstance(measurements, (str, bytes, Mapping)) or not isinstance(measurements, Sequence):
        raise ParameterError(f"measurements must be a list of MeasurementInput, got {measurements!r}")
    scores = [_score_input(entry, i) for i, entry in enumerate(measurements)]
    client = get_client_for_actor(db, actor=actor, client_id=client_id, action="update")
    for i, entry in enumerate(measurements):
        _check_client_age(client, entry, i, session_date)
        _check_goal_link(db, client, entry, i)
    # The session, its interventions and its measurements are built apart from the unit of work and added as
    # one (the measurements and interventions by cascade from the session): nothing is added unless all of it
    # was built, and one flush writes it all. A database error in that flush fails the caller's whole unit of
    # work, so nothing of the session is ever stored without the rest (issue 23: a savepoint, its own flush
    # and two statements fewer per session).
    row = TherapySession(
        client_id=client.id, therapist_id=actor.id, session_date=session_date, minutes=minutes,
        setting=setting, soap_subjective=subjective,
        soap_objective=objective, soap_assessment=assessment, soap_plan=plan,
    )
    _set_interventions(row, interventions)
    for entry, score in zip(measurements, scores, strict=True):
        _new_measurement(row, entry, score)  # joins row.measurements
    db.add(row)
    db.flush()
    # Written with the unit of work's next flush (its commit at the latest), in this order.
    audit(db, actor, "create", "therapy_session", entity_id=row.id, client_id=client.id)
    for measurement in row.measurements:
        audit(db, actor, "create", "measurement", entity_id=measurement.id, client_id=client.id)
    if "addenda" not in inspect(row).dict:  # a session written just now has none: no query to find that out
        set_committed_value(row, "addenda", [])
    return row


def _visible_session(db: Session, actor: Therapist, session_id: int, action: str) -> tuple[TherapySession, Client]:
    row, client = owned_row(db, actor, TherapySession, session_id, "session")
    audit(db, actor, action, "therapy_session", entity_id=row.id, client_id=client.id)
    return row, client


def get_session(db: Session, *, actor: Therapist, session_id: int) -> TherapySession:
    return _visible_session(db, actor, session_id, "read")[0]


def _check_version(expected_version: Any) -> int:
    if isinstance(expected_version, bool) or not isinstance(expected_version, int) or expected_version < 1:
        raise ParameterError(
            f"expected_version must be the session version the change is based on (an integer >= 1), "
            f"got {expected_version!r}"
        )
    return expected_version


def _locked(db: Session, row: TherapySession) -> TherapySession:
    """``row`` re-read under a row lock (PostgreSQL ``FOR UPDATE``; SQLite's write lock is already held)."""
    return db.scalars(select(TherapySession).where(TherapySession.id == row.id).with_for_update()
                      .execution_options(populate_existing=True)).one()


def _refuse_stale(row: TherapySession, expected_version: int) -> None:
    if row.version != expected_version:
        raise ConflictError(
            f"session {row.id} was changed by someone else since you read it: your change is based on "
            f"version {expected_version}, the stored note is version {row.version}; reload it and apply "
            "your change again"
        )


def _refuse_signed(row: TherapySession, what: str) -> None:
    if row.signed_at is not None:
        signer = row.signed_by.username if row.signed_by is not None else f"therapist {row.signed_by_id}"
        raise ConflictError(
            f"session {row.id} was signed by {signer} at {row.signed_at.isoformat(timespec='seconds')}; "
            f"{what} is not possible on a signed note: add an addendum instead"
        )


def refuse_client_recorded(row: TherapySession, what: str) -> None:
    """A client-recorded session (a home task the person did on their own device) is their record, not a
    therapist's note: nobody signs it, amends it or adds to it (a wrong one is removed with a reason)."""
    if row.source == "client_recorded":
        raise ConflictError(
            f"session {row.id} was recorded by the client on their own device (a home task), not held by a "
            f"therapist: {what} is not possible on it; write what you make of it in your own session's note"
        )


def _flush_versioned(db: Session, row: TherapySession) -> None:
    """Flush a change to ``row``; the UPDATE matches no row if another transaction changed the session
    after it was read (PostgreSQL re-checks ``version`` once the other writer commits)."""
    session_id = row.id  # the row cannot be read once the flush has failed
    try:
        db.flush()
    except StaleDataError:
        raise ConflictError(
            f"session {session_id} was changed by someone else while your change was being saved; "
            "reload it and apply your change again"
        ) from None


def update_session(
    db: Session,
    *,
    actor: Therapist,
    session_id: int,
    expected_version: int,
    minutes: int = UNSET,
    setting: str = UNSET,
    subjective: str = UNSET,
    objective: str = UNSET,
    assessment: str = UNSET,
    plan: str = UNSET,
    session_date: dt.date = UNSET,
    intervention_code: str = UNSET,
    interventions: Sequence[tuple[str, int]] = UNSET,
) -> TherapySession:
    """Amend a session's date, length, interventions, setting or SOAP note (a wrong measurement is removed
    with :func:`cadenza.clinic.corrections.remove_measurement` and the right one added).

    ``expected_version`` is the ``version`` of the session the edit was based on: if the stored session
    has changed since, :class:`ConflictError` is raised and nothing is written (no lost updates). A
    signed session cannot be amended (:class:`ConflictError`); corrections go in with :func:`add_addendum`.
    """
    expected_version = _check_version(expected_version)
    if minutes is not UNSET and (isinstance(minutes, bool) or not isinstance(minutes, int)
                                 or not 0 < minutes <= MAX_SESSION_MINUTES):
        raise ParameterError(f"minutes must be a whole number 1..{MAX_SESSION_MINUTES}, got {minutes!r}")
    texts = {"setting": setting, "subjective": subjective, "objective": objective, "assessment": assessment,
             "plan": plan}
    for name, text in texts.items():
        if text is not UNSET and not isinstance(text, str):
            raise ParameterError(f"{name} must be text, got {text!r}")
    if setting is not UNSET and len(setting) > 64:
        raise ParameterError(f"setting must be at most 64 characters, got {setting!r}")
    if session_date is not UNSET:
        _check_session_date(session_date)
    if intervention_code is not UNSET:
        try:
            get_intervention(intervention_code)
        except NotFoundError as exc:
            raise ParameterError(str(exc)) from None
    row, _client = _visible_session(db, actor, session_id, "update")
    refuse_client_recorded(row, "amending it")
    _refuse_signed(row, "amending it")
    _refuse_stale(row, expected_version)
    new_minutes = row.minutes if minutes is UNSET else minutes
    if interventions is not UNSET:
        interventions = check_interventions(interventions, minutes=new_minutes)
        if intervention_code is not UNSET and intervention_code != interventions[0][0]:
            raise ParameterError(f"intervention_code {intervention_code!r} must be the first of interventions "
                                 f"({interventions[0][0]!r}) when both are given")
    elif intervention_code is not UNSET or minutes is not UNSET:
        # One intervention for the whole session: it follows the session's code and length. With
        # several, a changed first code replaces the first; the minutes must still add up.
        current = row.intervention_minutes
        if len(current) == 1:
            interventions = [(row.intervention_code if intervention_code is UNSET else intervention_code, new_minutes)]
        else:
            if intervention_code is not UNSET:
                current[0] = (intervention_code, current[0][1])
            interventions = check_interventions(current, minutes=new_minutes)
    if minutes is not UNSET:
        row.minutes = minutes
    if session_date is not UNSET:
        row.session_date = session_date
    if interventions is not UNSET:
        _set_interventions(row, list(interventions))
    columns = {"setting": "setting", "subjective": "soap_subjective", "objective": "soap_objective",
               "assessment": "soap_assessment", "plan": "soap_plan"}
    for name, text in texts.items():
        if text is not UNSET:
            setattr(row, columns[name], text)
    row.updated_at = utcnow()  # an edit that changes nothing still bumps the version: it was based on this one
    _flush_versioned(db, row)
    return row


def delete_session(db: Session, *, actor: Therapist, session_id: int, expected_version: int) -> None:
    """Delete an unsigned session and its measurements; a signed session is never deleted."""
    expected_version = _check_version(expected_version)
    row, client = _visible_session(db, actor, session_id, "delete")
    _refuse_signed(row, "deleting it")
    _refuse_stale(row, expected_version)
    # A bulk DELETE leaves the measurements to the foreign key's ON DELETE CASCADE, and its WHERE
    # repeats both checks so a signature or edit committed in between still wins.
    deleted = db.execute(
        delete(TherapySession)
        .where(TherapySession.id == row.id, TherapySession.version == expected_version,
               TherapySession.signed_at.is_(None))
        .execution_options(synchronize_session=False)
    ).rowcount
    if deleted != 1:
        raise ConflictError(f"session {row.id} was changed or signed by someone else; reload it first")
    for measurement in list(row.measurements):
        db.expunge(measurement)
    db.expunge(row)


# --- signed notes and addenda -------------------------------------------------------------------

NOTE_HASH_FORMAT = "cadenza-session-note/1"
ADDENDUM_HASH_FORMAT = SessionAddendum.HASH_FORMAT
MAX_ADDENDUM_CHARS = 20_000


def iso_utc(moment: dt.datetime | None) -> str | None:
    """A moment as a signature's content holds it: UTC, ISO 8601 with microseconds (None stays None)."""
    return None if moment is None else moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def content_sha256(content: Mapping[str, Any]) -> str:
    """The SHA-256 a signature keeps of ``content``: canonical JSON (sorted keys, no whitespace, UTF-8; floats
    as Python's shortest round-trip repr; NaN refused)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def note_content(row: TherapySession, *, signed_by_username: str | None) -> dict[str, Any]:
    """The canonical content a signature covers: the SOAP note, the session's facts, every measurement
    and the signer. ``version`` and ``updated_at`` are bookkeeping and left out."""
    return {
        "format": NOTE_HASH_FORMAT,
        "session_id": row.id,
        "client_id": row.client_id,
        "therapist_id": row.therapist_id,
        "session_date": row.session_date.isoformat(),
        "minutes": row.minutes,
        "intervention_code": row.intervention_code,
        "setting": row.setting,
        "soap": {"subjective": row.soap_subjective, "objective": row.soap_objective,
                 "assessment": row.soap_assessment, "plan": row.soap_plan},
        "measurements": [_measurement_content(m) for m in sorted(row.measurements, key=lambda m: m.id)],
        **_interventions_content(row),
        "signed_at": iso_utc(row.signed_at),
        "signed_by_id": row.signed_by_id,
        "signed_by": signed_by_username,
    }


def _interventions_content(row: TherapySession) -> dict[str, Any]:
    # Added with several interventions per session (0023_clinic_day): present only when the session is more
    # than its one intervention for all its minutes, so notes signed before keep their hash.
    listed = row.intervention_minutes
    if listed == [(row.intervention_code, row.minutes)]:
        return {}
    return {"interventions": [{"intervention_code": code, "minutes": m} for code, m in listed]}


def _measurement_content(m: Measurement) -> dict[str, Any]:
    content = {"id": m.id, "goal_id": m.goal_id, "instrument_code": m.instrument_code, "value": m.value,
               "unit": m.unit, "item_responses": m.item_responses, "severity_band": m.severity_band,
               "safety_followup": bool(m.safety_followup), "measured_at": iso_utc(m.measured_at)}
    # Added with the column: present only when set, so notes signed before it existed keep their hash.
    if m.timed_distance_m is not None:
        content["timed_distance_m"] = m.timed_distance_m
    return content


def note_sha256(row: TherapySession) -> str:
    """SHA-256 (hex) of :func:`note_content` as the row stands now."""
    signer = row.signed_by.username if row.signed_by is not None else None
    return content_sha256(note_content(row, signed_by_username=signer))


def addendum_sha256(addendum: Addendum, *, author_username: str) -> str:
    """SHA-256 (hex) of an addendum (a session note's or a care document's) chained to the hash before it
    (the signed record's, or the previous addendum's)."""
    return content_sha256({
        "format": addendum.HASH_FORMAT,
        "addendum_id": addendum.id,
        addendum.PARENT_KEY: getattr(addendum, addendum.PARENT_KEY),
        "client_id": addendum.client_id,
        "author_id": addendum.author_id,
        "author": author_username,
        "text": addendum.text,
        "created_at": iso_utc(addendum.created_at),
        "previous_sha256": addendum.previous_sha256,
    })


def append_addendum(db: Session, kind: type[Addendum], *, actor: Therapist, parent_id: int, client_id: int,
                    signed_sha256: str | None, addenda: Sequence[Addendum], text: str) -> Addendum:
    """Add ``text`` as the next addendum of ``kind`` to a signed record (its hash ``signed_sha256``, its
    ``addenda`` so far, oldest first), chained to the last one, and audit it. The caller has checked the
    text, that the record is signed, and holds whatever lock keeps the chain one chain."""
    previous = addenda[-1].content_sha256 if addenda else signed_sha256
    addendum = kind(**{kind.PARENT_KEY: parent_id}, client_id=client_id, author_id=actor.id, text=text,
                    created_at=utcnow(), previous_sha256=previous, content_sha256="")
    db.add(addendum)
    db.flush()
    addendum.content_sha256 = addendum_sha256(addendum, author_username=actor.username)
    db.flush()
    audit(db, actor, "create", kind.__tablename__, entity_id=addendum.id, client_id=client_id)
    return addendum


def broken_addenda(signed_sha256: str | None, addenda: Sequence[Addendum]) -> tuple[int, ...]:
    """The ids of the addenda (oldest first) that no longer match their hash or do not follow the hash before
    them: an entry edited, removed or reordered behind the application's back."""
    bad = []
    previous = signed_sha256
    for addendum in addenda:
        author = addendum.author.username if addendum.author is not None else ""
        if (addendum.previous_sha256 != previous
                or addendum.content_sha256 != addendum_sha256(addendum, author_username=author)):
            bad.append(addendum.id)
        previous = addendum.content_sha256
    return tuple(bad)


def sign_session(db: Session, *, actor: Therapist, session_id: int, expected_version: int,
                 cosign: bool = False) -> TherapySession:
    """Sign a session note as ``actor``: stores ``signed_at``, ``signed_by_id`` and the SHA-256 of the
    note's canonical content. From then on the note and its measurements cannot change in place.

    ``expected_version`` is the version the signer read: a note changed since is not signed unseen.

    Who signs (docs/web.md, "Unsigned notes after a reassignment"): the therapist who holds the client.
    That is the note's author, unless the client was moved to another therapist (caseload reassignment)
    before the author signed: then only the new holder can open the record, and signs it as a **co-sign**,
    said in so many words (``cosign=True``; without it a :class:`ConflictError` names the author), audited
    as ``cosign`` instead of ``sign``. The note keeps its author (``therapist_id``) and records the co-signer
    (``signed_by_id``), and the signature's hash covers both.
    """
    expected_version = _check_version(expected_version)
    if not isinstance(cosign, bool):
        raise ParameterError(f"cosign must be true or false, got {cosign!r}")
    row, client = owned_row(db, actor, TherapySession, session_id, "session")
    by_author = row.therapist_id == actor.id
    audit(db, actor, "sign" if by_author else "cosign", "therapy_session", entity_id=row.id, client_id=client.id)
    refuse_client_recorded(row, "signing it")
    _refuse_signed(row, "signing it again")
    if not by_author and not cosign:
        author = row.therapist.username if row.therapist is not None else f"therapist {row.therapist_id}"
        raise ConflictError(f"session {row.id} was written by {author!r}, who no longer holds this client: as its "
                            "holder you may co-sign it (cosign), taking responsibility for the note as written")
    _refuse_stale(row, expected_version)
    with db.no_autoflush:  # one UPDATE: loading the measurements for the hash must not flush half of it
        row.signed_at = utcnow()
        row.signed_by_id = actor.id
        row.signed_by = actor
        row.content_sha256 = content_sha256(note_content(row, signed_by_username=actor.username))
        row.updated_at = row.signed_at
    _flush_versioned(db, row)
    return row


def add_addendum(db: Session, *, actor: Therapist, session_id: int, text: str) -> SessionAddendum:
    """Append a correction or late entry to a signed note; the signed note itself never changes."""
    if not isinstance(text, str) or not text.strip():
        raise ParameterError(f"text must be a non-empty addendum, got {text!r}")
    if len(text) > MAX_ADDENDUM_CHARS:
        raise ParameterError(f"text must be at most {MAX_ADDENDUM_CHARS} characters, got {len(text)}")
    row, client = _visible_session(db, actor, session_id, "update")
    if row.signed_at is None:
        raise ConflictError(f"session {row.id} is not signed yet: amend the note itself, addenda follow a signature")
    # Locked, so two addenda written at once still form one chain.
    row = _locked(db, row)
    db.refresh(row, attribute_names=["addenda"])
    with db.begin_nested():
        addendum = append_addendum(db, SessionAddendum, actor=actor, parent_id=row.id, client_id=client.id,
                                   signed_sha256=row.content_sha256, addenda=row.addenda, text=text)
    db.refresh(row, attribute_names=["addenda"])
    return addendum


@dataclass(frozen=True)
class NoteVerification:
    """Whether a session's stored note and addenda still match their hashes."""

    session_id: int
    signed: bool
    note_ok: bool
    stored_sha256: str | None
    computed_sha256: str | None
    bad_addendum_ids: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.note_ok and not self.bad_addendum_ids


def check_note(row: TherapySession) -> NoteVerification:
    """Recompute the hashes of a loaded session (pure; :func:`verify_session_note` loads and audits).

    An unsigned note has nothing to verify and counts as ok unless it carries stray signature columns.
    """
    if row.signed_at is None:
        stray = row.content_sha256 is not None or row.signed_by_id is not None or bool(row.addenda)
        return NoteVerification(row.id, False, not stray, row.content_sha256, None)
    computed = note_sha256(row)
    bad = broken_addenda(row.content_sha256, row.addenda)
    return NoteVerification(row.id, True, computed == row.content_sha256, row.content_sha256, computed, bad)


def verify_session_note(db: Session, *, actor: Therapist, session_id: int) -> NoteVerification:
    """Re-read a session from the database and check its signature hash and addendum chain, so a note
    edited behind the application's back (e.g. with SQL) is detected."""
    row, _client = _visible_session(db, actor, session_id, "verify")
    fresh = db.scalars(
        select(TherapySession).where(TherapySession.id == row.id)
        .options(selectinload(TherapySession.measurements), selectinload(TherapySession.signed_by),
                 selectinload(TherapySession.addenda).joinedload(SessionAddendum.author))
        .execution_options(populate_existing=True)
    ).one()
    return check_note(fresh)


def _stored_signed_at(connection: Any, session_id: int | None) -> dt.datetime | None:
    if session_id is None:
        return None
    return connection.scalar(select(TherapySession.signed_at).where(TherapySession.id == session_id))


@event.listens_for(TherapySession, "before_update")
def _signed_session_is_frozen(_mapper: Any, connection: Any, target: TherapySession) -> None:
    # A second line behind the service checks: any code that changes a signed session through the ORM
    # is refused at flush time. The stored row decides, not the possibly expired object.
    if _stored_signed_at(connection, target.id) is not None:
        raise ConflictError(f"session {target.id} is signed; its note cannot change: add an addendum instead")


@event.listens_for(TherapySession, "before_delete")
def _signed_session_is_kept(_mapper: Any, connection: Any, target: TherapySession) -> None:
    if _stored_signed_at(connection, target.id) is not None:
        raise ConflictError(f"session {target.id} is signed and cannot be deleted")


def _refuse_measurement_change(connection: Any, session_ids: Iterable[int | None]) -> None:
    for session_id in session_ids:
        if _stored_signed_at(connection, session_id) is not None:
            raise ConflictError(
                f"session {session_id} is signed; its measurements cannot change: add an addendum instead")


def _parent_inserted_unsigned(target: Measurement | SessionIntervention) -> bool:
    """Whether ``target`` goes into a session that this same flush inserted, unsigned: the stored row is then the
    object as it was written, so there is nothing to look up (a new session with its measurements and
    interventions: one ``SELECT`` fewer for each; issue 23)."""
    parent = target.__dict__.get("therapy_session")  # never loads it
    if parent is None or parent.signed_at is not None or target.session_id != parent.id:
        return False
    session = object_session(parent)
    return session is not None and parent in session.new  # pending until the flush that inserts it ends


@event.listens_for(Measurement, "before_insert")
def _no_measurement_added_to_signed(_mapper: Any, connection: Any, target: Measurement) -> None:
    if _parent_inserted_unsigned(target):
        return
    new_id = target.session_id if target.session_id is not None else getattr(target.therapy_session, "id", None)
    _refuse_measurement_change(connection, [new_id])


@event.listens_for(Measurement, "before_update")
@event.listens_for(Measurement, "before_delete")
def _no_measurement_changed_in_signed(_mapper: Any, connection: Any, target: Measurement) -> None:
    # The stored row's session counts, not the object's: deleting a session nulls its children's key first.
    stored_id = connection.scalar(select(Measurement.session_id).where(Measurement.id == target.id))
    _refuse_measurement_change(connection, [stored_id, target.session_id])


@event.listens_for(SessionIntervention, "before_insert")
@event.listens_for(SessionIntervention, "before_update")
@event.listens_for(SessionIntervention, "before_delete")
def _no_intervention_changed_in_signed(_mapper: Any, connection: Any, target: SessionIntervention) -> None:
    if target.id is None and _parent_inserted_unsigned(target):  # an insert into a session written just now
        return
    session_id = target.session_id if target.session_id is not None else getattr(target.therapy_session, "id", None)
    stored_id = connection.scalar(select(SessionIntervention.session_id).where(SessionIntervention.id == target.id)) \
        if target.id is not None else None
    for candidate in {session_id, stored_id}:
        if _stored_signed_at(connection, candidate) is not None:
            raise ConflictError(f"session {candidate} is signed; its interventions cannot change: add an addendum instead")


@event.listens_for(SessionAddendum, "before_update")
def _addendum_is_frozen(_mapper: Any, connection: Any, target: SessionAddendum) -> None:
    # The only update allowed is the hash written right after the insert that gave the addendum its id.
    stored = connection.scalar(select(SessionAddendum.content_sha256).where(SessionAddendum.id == target.id))
    if stored:
        raise ConflictError(f"addendum {target.id} is part of a signed record and cannot change")


@event.listens_for(SessionAddendum, "before_delete")
def _addendum_is_kept(_mapper: Any, _connection: Any, target: SessionAddendum) -> None:
    raise ConflictError(f"addendum {target.id} is part of a signed record and cannot be deleted")


def list_sessions(db: Session, *, actor: Therapist, client_id: int, held_only: bool = False) -> list[TherapySession]:
    return client_sessions(db, client=get_client_for_actor(db, actor=actor, client_id=client_id), held_only=held_only)


def client_sessions(db: Session, *, client: Client, latest: int | None = None,
                    held_only: bool = False) -> list[TherapySession]:
    """The sessions of ``client``, already authorised by the caller (oldest first); no audit row of its own.
    ``latest``: only the newest that many (still oldest first), read as that many rows, for a page's list.
    ``held_only``: only sessions a therapist held (no client-recorded ones), e.g. where a tool offers to
    store its result on a session, which a client-recorded session never takes."""
    query = select(TherapySession).where(TherapySession.client_id == client.id)
    if held_only:
        query = query.where(TherapySession.source == "therapist")
    if latest is None:
        return list(db.scalars(query.order_by(TherapySession.session_date, TherapySession.id)))
    if isinstance(latest, bool) or not isinstance(latest, int) or not 1 <= latest <= 1000:
        raise ParameterError(f"latest must be a whole number 1..1000, got {latest!r}")
    newest = db.scalars(query.order_by(TherapySession.session_date.desc(), TherapySession.id.desc()).limit(latest))
    return list(reversed(list(newest)))


def add_measurement(db: Session, *, actor: Therapist, session_id: int, measurement: MeasurementInput) -> Measurement:
    """Add one outcome measurement to an existing, unsigned session (e.g. computed later from a gait
    recording); it bumps the session's version. A signed session takes no new measurements."""
    score = _score_input(measurement, 0)
    row, client = _visible_session(db, actor, session_id, "update")
    # Lock and re-read the session: concurrent additions queue here instead of failing on the version,
    # and a signature committed meanwhile is seen.
    row = _locked(db, row)
    refuse_client_recorded(row, "adding a measurement")
    _refuse_signed(row, "adding a measurement")
    _check_client_age(client, measurement, 0, row.session_date)
    _check_goal_link(db, client, measurement, 0)
    with db.begin_nested():
        stored = _new_measurement(row, measurement, score)
        db.add(stored)
        # The session's version moves with its measurements, so a signature or edit based on the
        # session as it was before this measurement is refused as stale.
        row.updated_at = utcnow()
        session_id = row.id
        try:
            db.flush()
        except StaleDataError:
            raise ConflictError(
                f"session {session_id} was changed or signed by someone else while the measurement was being "
                "saved; reload it and add the measurement again"
            ) from None
        audit(db, actor, "create", "measurement", entity_id=stored.id, client_id=client.id)
    return stored


def list_measurements(
    db: Session,
    *,
    actor: Therapist,
    client_id: int,
    instrument_code: str | None = None,
    goal_id: int | None = None,
) -> list[Measurement]:
    """A client's measurements in session order (then measurement time)."""
    client = get_client_for_actor(db, actor=actor, client_id=client_id)
    return list(db.scalars(measurement_query(client.id, instrument_code=instrument_code, goal_id=goal_id)))


def measurement_query(client_id: int, *, instrument_code: str | None = None, goal_id: int | None = None) -> Select:
    """The query behind :func:`list_measurements`, for callers that page it; the caller has already
    checked (and audited) access to the client."""
    query = (select(Measurement).join(TherapySession, Measurement.session_id == TherapySession.id)
             .where(Measurement.client_id == client_id))
    if instrument_code is not None:
        query = query.where(Measurement.instrument_code == instrument_code)
    if goal_id is not None:
        query = query.where(Measurement.goal_id == goal_id)
    return query.order_by(*measurement_order())


def counts_toward(goal: Goal, measurement: Measurement) -> bool:
    """Whether ``measurement`` counts toward ``goal``: the same client and instrument, and either linked to
    this goal or to none (walk-through problem 4: a cadence the gait tool stored without naming a goal
    counts toward every cadence goal). A value linked to another goal on the same instrument (pain at
    rest, pain during physiotherapy) counts toward that goal only."""
    return (measurement.client_id == goal.client_id and measurement.instrument_code == goal.instrument_code
            and measurement.goal_id in (None, goal.id))


def goal_measurement_where(goal: Goal) -> tuple[Any, ...]:
    """The WHERE clauses selecting the measurements that :func:`counts_toward` ``goal``."""
    return (Measurement.client_id == goal.client_id, Measurement.instrument_code == goal.instrument_code,
            or_(Measurement.goal_id.is_(None), Measurement.goal_id == goal.id))


def list_audit_events(db: Session, *, actor: Therapist, client_id: int | None = None) -> list[AuditEvent]:
    """Audit trail: a therapist reads their own clients' events; admins read every event."""
    check_actor(actor)
    query = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
    if actor.role != "admin":
        if client_id is None:
            raise ParameterError("client_id is required for a therapist reading the audit trail, got None")
        get_client_for_actor(db, actor=actor, client_id=client_id)
    audit(db, actor, "read", "audit_event", client_id=client_id)
    db.flush()
    if client_id is not None:
        query = query.where(AuditEvent.client_id == client_id)
    return list(db.scalars(query))


def count_rows(db: Session, model: type) -> int:
    """Row count of a table (used by tests and health checks)."""
    return int(db.scalar(select(func.count()).select_from(model)) or 0)
