"""Correct anything, with history (walk-through problem 2): amend, remove and restore sessions, goals and
measurements, each change kept with its reason.

* **Remove, never erase.** A removed session, goal or measurement keeps its row with ``removed_at``,
  ``removed_by_id`` and ``removed_reason`` (:class:`~cadenza.clinic.models.Removable`); every ORM query
  leaves it out (lists, charts, reports, exports), and :func:`restore_session` / :func:`restore_goal`
  bring it back. Removing a session removes its measurements with it; restoring it restores them.
* **Signed notes stay as signed.** A signed session, and its measurements, can be neither amended nor
  removed (:class:`~cadenza.errors.ConflictError`): corrections go in as addenda
  (:func:`cadenza.clinic.service.add_addendum`).
* **History.** Every amendment, removal and restoration writes one :class:`RecordChange` row (who, when,
  why, and for an amendment each changed field's old and new value) next to the audit row. Like the
  audit trail it has no foreign keys, so it outlives the rows it describes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic import service
from cadenza.clinic.access import get_client_for_actor
from cadenza.clinic.audit import audit
from cadenza.clinic.models import INCLUDE_REMOVED, Base, Client, Goal, Measurement, Therapist, TherapySession, utcnow
from cadenza.errors import ConflictError, NotFoundError, ParameterError

MAX_REASON_CHARS = 500
MIN_REASON_CHARS = 3
CHANGE_ACTIONS = ("amend", "remove", "restore")


class RecordChange(Base):
    """One correction of the record: an amendment (with the changed fields), a removal or a restoration."""

    __tablename__ = "record_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(Integer, index=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    # {"field": [old, new], ...} for an amendment; {} otherwise.
    changes_json: Mapped[str] = mapped_column(Text, default="{}")
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def changes(self) -> dict[str, list[Any]]:
        return json.loads(self.changes_json)


def check_reason(reason: Any, *, required: bool = True) -> str:
    """The reason for a change, stripped; :class:`ParameterError` if missing (when required) or too long.

    >>> check_reason("  entered on the wrong client ")
    'entered on the wrong client'
    """
    if not isinstance(reason, str):
        raise ParameterError(f"reason must be text, got {reason!r}")
    reason = reason.strip()
    if required and len(reason) < MIN_REASON_CHARS:
        raise ParameterError(f"reason must say why (at least {MIN_REASON_CHARS} characters), got {reason!r}")
    if len(reason) > MAX_REASON_CHARS:
        raise ParameterError(f"reason must be at most {MAX_REASON_CHARS} characters, got {len(reason)}")
    return reason


def _log(db: Session, actor: Therapist, *, client_id: int, entity: str, entity_id: int, action: str,
         reason: str = "", changes: dict[str, list[Any]] | None = None) -> RecordChange:
    row = RecordChange(client_id=client_id, entity=entity, entity_id=entity_id, action=action, reason=reason,
                       changes_json=json.dumps(changes or {}, ensure_ascii=False, default=str),
                       actor_id=actor.id, actor_username=actor.username, at=utcnow())
    db.add(row)
    return row


def _any_row(db: Session, model: type, row_id: Any, what: str):
    """The row, removed or not (NotFoundError if there is none)."""
    if isinstance(row_id, bool) or not isinstance(row_id, int):
        raise ParameterError(f"{what}_id must be an integer, got {row_id!r}")
    row = db.scalars(select(model).where(model.id == row_id).execution_options(**{INCLUDE_REMOVED: True})).first()
    if row is None:
        raise NotFoundError(f"{what} {row_id!r} not found")
    return row


def _writable(db: Session, actor: Therapist, model: type, row_id: Any, what: str) -> tuple[Any, Client]:
    """A row of a client the actor may change (a foreign or missing row is NotFoundError, as elsewhere)."""
    row = _any_row(db, model, row_id, what)
    try:
        client = get_client_for_actor(db, actor=actor, client_id=row.client_id, action="update")
    except NotFoundError:
        raise NotFoundError(f"{what} {row_id!r} not found") from None
    return row, client


# --- sessions -----------------------------------------------------------------------------------

AMENDABLE_SESSION_FIELDS = {"session_date": "session_date", "minutes": "minutes",
                            "intervention_code": "intervention_code", "setting": "setting",
                            "subjective": "soap_subjective", "objective": "soap_objective",
                            "assessment": "soap_assessment", "plan": "soap_plan"}


def amend_session(db: Session, *, actor: Therapist, session_id: int, expected_version: int, reason: str = "",
                  **fields: Any) -> TherapySession:
    """Amend an unsigned session (:func:`cadenza.clinic.service.update_session`: date, minutes,
    intervention, setting, SOAP note) and keep the old and new value of each changed field."""
    unknown = set(fields) - {*AMENDABLE_SESSION_FIELDS, "interventions"}
    if unknown:
        raise ParameterError(f"fields must be among {sorted({*AMENDABLE_SESSION_FIELDS, 'interventions'})}, "
                             f"got {sorted(unknown)}")
    reason = check_reason(reason, required=False)
    row = service.get_session(db, actor=actor, session_id=session_id)
    before = {name: getattr(row, column) for name, column in AMENDABLE_SESSION_FIELDS.items()}
    before_interventions = row.intervention_minutes
    row = service.update_session(db, actor=actor, session_id=session_id, expected_version=expected_version, **fields)
    changes = {name: [_plain(before[name]), _plain(getattr(row, column))]
               for name, column in AMENDABLE_SESSION_FIELDS.items() if before[name] != getattr(row, column)}
    after_interventions = row.intervention_minutes
    if after_interventions != before_interventions and max(len(before_interventions), len(after_interventions)) > 1:
        # One intervention for the whole session is already told by intervention_code and minutes.
        changes["interventions"] = [[list(i) for i in before_interventions], [list(i) for i in after_interventions]]
    if changes:
        _log(db, actor, client_id=row.client_id, entity="therapy_session", entity_id=row.id, action="amend",
             reason=reason, changes=changes)
        db.flush()
    return row


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def remove_session(db: Session, *, actor: Therapist, session_id: int, expected_version: int,
                   reason: str) -> TherapySession:
    """Remove an unsigned session and its measurements, kept and restorable; a signed one is refused."""
    reason = check_reason(reason)
    expected_version = service._check_version(expected_version)
    row, client = _writable(db, actor, TherapySession, session_id, "session")
    if row.is_removed:
        raise ConflictError(f"session {row.id} was already removed")
    service._refuse_signed(row, "removing it")
    service._refuse_stale(row, expected_version)
    now = utcnow()
    measurements = list(row.measurements)
    row.removed_at, row.removed_by_id, row.removed_reason = now, actor.id, reason
    row.updated_at = now
    for measurement in measurements:
        measurement.removed_at, measurement.removed_by_id = now, actor.id
        measurement.removed_reason = f"session {row.id} removed"
    service._flush_versioned(db, row)
    audit(db, actor, "delete", "therapy_session", entity_id=row.id, client_id=client.id)
    for measurement in measurements:
        audit(db, actor, "delete", "measurement", entity_id=measurement.id, client_id=client.id)
    _log(db, actor, client_id=client.id, entity="therapy_session", entity_id=row.id, action="remove", reason=reason)
    db.flush()
    return row


def restore_session(db: Session, *, actor: Therapist, session_id: int, reason: str = "") -> TherapySession:
    """Bring a removed session back, with the measurements removed with it."""
    reason = check_reason(reason, required=False)
    row, client = _writable(db, actor, TherapySession, session_id, "session")
    if not row.is_removed:
        raise ConflictError(f"session {row.id} is not removed")
    removed_at = row.removed_at
    measurements = db.scalars(select(Measurement).where(Measurement.session_id == row.id,
                                                        Measurement.removed_at == removed_at)
                              .execution_options(**{INCLUDE_REMOVED: True})).all()
    row.removed_at = row.removed_by_id = row.removed_reason = None
    row.updated_at = utcnow()
    for measurement in measurements:
        measurement.removed_at = measurement.removed_by_id = measurement.removed_reason = None
    service._flush_versioned(db, row)
    audit(db, actor, "restore", "therapy_session", entity_id=row.id, client_id=client.id)
    for measurement in measurements:
        audit(db, actor, "restore", "measurement", entity_id=measurement.id, client_id=client.id)
    _log(db, actor, client_id=client.id, entity="therapy_session", entity_id=row.id, action="restore", reason=reason)
    db.flush()
    db.expire(row, ["measurements"])
    return row


def remove_measurement(db: Session, *, actor: Therapist, measurement_id: int, reason: str) -> Measurement:
    """Remove one measurement of an unsigned session (a wrong value; record the right one anew)."""
    reason = check_reason(reason)
    measurement, client = _writable(db, actor, Measurement, measurement_id, "measurement")
    if measurement.is_removed:
        raise ConflictError(f"measurement {measurement.id} was already removed")
    session_row = db.get(TherapySession, measurement.session_id)
    if session_row is None:
        raise ConflictError(f"measurement {measurement.id} belongs to a removed session: restore the session first")
    session_row = service._locked(db, session_row)
    service._refuse_signed(session_row, "removing a measurement")
    now = utcnow()
    measurement.removed_at, measurement.removed_by_id, measurement.removed_reason = now, actor.id, reason
    session_row.updated_at = now  # the session's version moves with its measurements
    service._flush_versioned(db, session_row)
    audit(db, actor, "delete", "measurement", entity_id=measurement.id, client_id=client.id)
    _log(db, actor, client_id=client.id, entity="measurement", entity_id=measurement.id, action="remove",
         reason=reason, changes={"value": [measurement.value, None], "instrument_code": [measurement.instrument_code, None]})
    db.flush()
    db.expire(session_row, ["measurements"])
    return measurement


# --- goals --------------------------------------------------------------------------------------


def amend_goal(db: Session, *, actor: Therapist, goal_id: int, reason: str = "", **fields: Any) -> Goal:
    """Revise a goal's target, target date or wording (:func:`cadenza.clinic.service.update_goal`), kept
    with the old and new values."""
    reason = check_reason(reason, required=False)
    goal = service.get_goal(db, actor=actor, goal_id=goal_id)
    names = ("target", "target_date", "description")
    before = {name: getattr(goal, name) for name in names}
    goal = service.update_goal(db, actor=actor, goal_id=goal_id, **fields)
    changes = {name: [_plain(before[name]), _plain(getattr(goal, name))] for name in names
               if before[name] != getattr(goal, name)}
    if changes:
        _log(db, actor, client_id=goal.client_id, entity="goal", entity_id=goal.id, action="amend", reason=reason,
             changes=changes)
        db.flush()
    return goal


def remove_goal(db: Session, *, actor: Therapist, goal_id: int, reason: str) -> Goal:
    """Remove a goal (set by mistake, or no longer pursued), kept and restorable. Its measurements stay
    in their sessions."""
    reason = check_reason(reason)
    goal, client = _writable(db, actor, Goal, goal_id, "goal")
    if goal.is_removed:
        raise ConflictError(f"goal {goal.id} was already removed")
    goal.removed_at, goal.removed_by_id, goal.removed_reason = utcnow(), actor.id, reason
    audit(db, actor, "delete", "goal", entity_id=goal.id, client_id=client.id)
    _log(db, actor, client_id=client.id, entity="goal", entity_id=goal.id, action="remove", reason=reason)
    db.flush()
    return goal


def restore_goal(db: Session, *, actor: Therapist, goal_id: int, reason: str = "") -> Goal:
    reason = check_reason(reason, required=False)
    goal, client = _writable(db, actor, Goal, goal_id, "goal")
    if not goal.is_removed:
        raise ConflictError(f"goal {goal.id} is not removed")
    goal.removed_at = goal.removed_by_id = goal.removed_reason = None
    audit(db, actor, "restore", "goal", entity_id=goal.id, client_id=client.id)
    _log(db, actor, client_id=client.id, entity="goal", entity_id=goal.id, action="restore", reason=reason)
    db.flush()
    return goal


# --- what was removed, and the history ------------------------------------------------------------


@dataclass(frozen=True)
class Removed:
    """The removed sessions and goals of a client (newest first), to restore."""

    sessions: list[TherapySession]
    goals: list[Goal]


def removed_records(db: Session, *, client: Client, goals: list[Goal] | None = None) -> Removed:
    """``client``'s removed sessions and goals; the caller has authorised (and audited) the client. ``goals``:
    the removed goals, newest removal first, when the caller already read them (the client page reads them
    with the goals: ``dashboard.ClientOverview.removed_goals``)."""
    options = {INCLUDE_REMOVED: True}
    sessions = db.scalars(select(TherapySession).where(TherapySession.client_id == client.id,
                                                       TherapySession.removed_at.is_not(None))
                          .order_by(TherapySession.removed_at.desc()).execution_options(**options)).all()
    if goals is None:
        goals = db.scalars(select(Goal).where(Goal.client_id == client.id, Goal.removed_at.is_not(None))
                           .order_by(Goal.removed_at.desc()).execution_options(**options)).all()
    return Removed(list(sessions), list(goals))


def history(db: Session, *, client: Client, entity: str | None = None, entity_id: int | None = None) -> list[RecordChange]:
    """The corrections of ``client``'s record (oldest first), optionally of one row; authorised by the caller."""
    query = select(RecordChange).where(RecordChange.client_id == client.id)
    if entity is not None:
        query = query.where(RecordChange.entity == entity)
    if entity_id is not None:
        query = query.where(RecordChange.entity_id == entity_id)
    return list(db.scalars(query.order_by(RecordChange.at, RecordChange.id)))


def session_history(db: Session, *, client: Client, session_id: int) -> list[RecordChange]:
    """A session's corrections and those of its measurements (oldest first)."""
    measurement_ids = db.scalars(select(Measurement.id).where(Measurement.session_id == session_id)
                                 .execution_options(**{INCLUDE_REMOVED: True})).all()
    rows = history(db, client=client)
    return [r for r in rows if (r.entity == "therapy_session" and r.entity_id == session_id)
            or (r.entity == "measurement" and r.entity_id in measurement_ids)]


# --- the tools' rows (RAS plans, MIT phrases, sound-dose entries, ...) ------------------------------
# A tool's table that subclasses Removable and has a ``client_id`` is corrected the same way: each tool's
# records module names its entity and calls these, so the audit rows and the history read alike.


def _writable_of(db: Session, actor: Therapist, model: type, row_id: Any, what: str,
                 client_id: int | None) -> tuple[Any, Client]:
    row, client = _writable(db, actor, model, row_id, what)
    if client_id is not None and client.id != client_id:
        raise NotFoundError(f"{what} {row_id!r} not found")  # another client's row, reached through this one's page
    return row, client


def remove_row(db: Session, *, actor: Therapist, model: type, row_id: int, entity: str, what: str,
               reason: str, client_id: int | None = None) -> Any:
    """Remove one row of a client's record with a reason: kept, hidden everywhere, restorable, audited
    (``delete``) and written to the history. A missing row, another therapist's, or (with ``client_id``)
    another client's is NotFoundError."""
    reason = check_reason(reason)
    row, client = _writable_of(db, actor, model, row_id, what, client_id)
    if row.is_removed:
        raise ConflictError(f"{what} {row.id} was already removed")
    row.removed_at, row.removed_by_id, row.removed_reason = utcnow(), actor.id, reason
    audit(db, actor, "delete", entity, entity_id=row.id, client_id=client.id)
    _log(db, actor, client_id=client.id, entity=entity, entity_id=row.id, action="remove", reason=reason)
    db.flush()
    return row


def restore_row(db: Session, *, actor: Therapist, model: type, row_id: int, entity: str, what: str,
                reason: str = "", client_id: int | None = None) -> Any:
    """Bring back a row removed with :func:`remove_row` (audited ``restore``, written to the history)."""
    reason = check_reason(reason, required=False)
    row, client = _writable_of(db, actor, model, row_id, what, client_id)
    if not row.is_removed:
        raise ConflictError(f"{what} {row.id} is not removed")
    row.removed_at = row.removed_by_id = row.removed_reason = None
    audit(db, actor, "restore", entity, entity_id=row.id, client_id=client.id)
    _log(db, actor, client_id=client.id, entity=entity, entity_id=row.id, action="restore", reason=reason)
    db.flush()
    return row


def removed_rows(db: Session, *, client: Client, model: type) -> list[Any]:
    """``client``'s removed rows of one table, newest removal first; the caller has authorised the client."""
    return list(db.scalars(select(model).where(model.client_id == client.id, model.removed_at.is_not(None))
                           .order_by(model.removed_at.desc(), model.id.desc())
                           .execution_options(**{INCLUDE_REMOVED: True})))
