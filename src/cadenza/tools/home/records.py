"""The home programme in the clinical record: tasks and their completions.

The person who follows it (the client or a caregiver, on their own device, invited by the therapist) is an
actor of the record core, :mod:`cadenza.clinic.people`; its names are re-exported here. Every lookup on
the person's side starts from the device's ``client_id``, never from an id in the request.

:class:`HomeTask` is one assigned task (listening, a RAS walk, relaxation) with its schedule and
music; :class:`TaskCompletion` is one time it was done, with the before/after ratings and the seconds
actually played. A completion carries the device's own id for it (``client_uuid``), so a completion
queued offline and sent twice is stored once.

Therapist-side services take ``actor=`` and authorise with :func:`~cadenza.clinic.access.get_client_for_actor`
(which audits); the person's side is audited with the device as the actor (``person:device-<id>``).
Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic.access import child_of, get_client_for_actor
from cadenza.clinic.audit import audit
from cadenza.clinic.id_lists import in_ids
from cadenza.clinic.models import Base, Client, Measurement, Therapist, TherapySession, utcnow
# The person (invitations, devices, PIN and passkey) is an actor of the record core; re-exported here so the
# tool's code and tests can keep saying records.PersonDevice.
from cadenza.clinic.people import (  # noqa: F401
    DEVICE_IDLE_LIFETIME,
    INVALID_INVITE,
    INVITE_LIFETIME,
    MAX_LABEL_CHARS,
    MAX_PIN_FAILURES,
    PIN_DIGITS,
    ROLES,
    UNLOCK_LIFETIME,
    PersonDevice,
    PersonInvite,
    audit_device,
    check_pin,
    check_text,
    client_devices,
    client_of_device,
    create_invite,
    find_invite,
    is_unlocked,
    lock,
    open_invites,
    redeem_invite,
    resolve_device,
    revoke_device,
    revoke_invite,
    touch,
    unlock,
    unlock_with_passkey,
)
from cadenza.clinic.people import aware as _aware
from cadenza.errors import ConflictError, NotFoundError, ParameterError

TASK_KINDS = ("listening", "relaxation", "ras_walk", "mit_practice")  # the home programme's own kinds
# Kinds other tools provide through their manifest (cadenza.plugins.TaskKind) that the database accepts
# (migration 0040_home_task_kinds); a kind is offered only while its tool is installed.
PROVIDED_KINDS = ("tapping", "singing")
STORED_KINDS = TASK_KINDS + PROVIDED_KINDS
RATINGS = {  # code -> (label shown to the person, low, high, what low and high mean)
    "vas_anxiety": ("How worried or tense do you feel?", 0, 100, "not at all", "as much as can be"),
    "nrs_pain": ("How much pain do you have?", 0, 10, "no pain", "worst pain"),
    "mood": ("How is your mood?", 0, 10, "very low", "very good"),
}
MAX_TITLE_CHARS = 120
MAX_INSTRUCTIONS_CHARS = 2000
MAX_NOTE_CHARS = 1000
MAX_PLAYED_S = 4 * 3600.0
MAX_TRACKS_PER_TASK = 40
# The device may send a completion days late (offline); it may not claim to come from the future.
MAX_CLOCK_SKEW = dt.timedelta(minutes=10)
MAX_COMPLETION_AGE = dt.timedelta(days=60)


class HomeTask(Base):
    """One task of a client's home programme: what to do, how often, with which music."""

    __tablename__ = "home_task"
    # What add_task accepts, held by the database too: a known kind, 1-7 days a week, 1-120 minutes.
    __table_args__ = (CheckConstraint("kind IN ('listening', 'relaxation', 'ras_walk', 'mit_practice', 'tapping', "
                                      "'singing') AND days_per_week BETWEEN 1 AND 7 AND minutes BETWEEN 1 AND 120",
                                      name="task_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(MAX_TITLE_CHARS))
    instructions: Mapped[str] = mapped_column(Text, default="")
    days_per_week: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    # listening/relaxation: {"track_ids": [...], "gains": {track_id: linear gain cap}};
    # ras_walk: {"tempo_bpm": float, "level_dba": ...}; mit_practice: {"phrase_id", "text", "level", "level_dba"}
    # (the cue and the intoned model are rendered within the listener's cap)
    music: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ratings: Mapped[list[str]] = mapped_column(JSON, default=list)  # codes of RATINGS asked before and after
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TaskCompletion(Base):
    """One time a home task was done, as the device reported it."""

    __tablename__ = "task_completion"
    __table_args__ = (UniqueConstraint("client_id", "client_uuid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("home_task.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("person_device.id", ondelete="SET NULL"), nullable=True)
    client_uuid: Mapped[str] = mapped_column(String(36))
    completed_at: Mapped[dt.datetime] = mapped_column()  # on the device, when the person pressed "done"
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    played_s: Mapped[float] = mapped_column(default=0.0)
    max_gain: Mapped[float] = mapped_column(default=0.0)  # the loudest gain the player used (<= the cap)
    before: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    # mit_practice: the recorded attempt scored on the server ({"attempt_found", "timing_match_pct",
    # "pitch_pattern_followed", "problem"}); the recording itself is not kept.
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A measured task (tapping, singing): the client-recorded session its figures were filed on (migration
    # 0042_session_source); NULL for a completion without measurements. One completion makes one session.
    session_id: Mapped[int | None] = mapped_column(ForeignKey("therapy_session.id", ondelete="SET NULL"),
                                                   nullable=True, index=True, unique=True)


# --- the therapist's side ---------------------------------------------------------------------------------

def add_task(db: Session, *, actor: Therapist, client: Client, kind: str, title: str, instructions: str = "",
             days_per_week: int, minutes: int, music: dict[str, Any], ratings: list[str],
             start_date: dt.date, end_date: dt.date | None = None) -> HomeTask:
    """Store a task whose ``music`` the caller has already checked (see :mod:`~cadenza.tools.home.actions`)."""
    if kind not in STORED_KINDS:
        raise ParameterError(f"kind must be one of {STORED_KINDS}, got {kind!r}")
    title = check_text("title", title, MAX_TITLE_CHARS, required=True)
    instructions = check_text("instructions", instructions, MAX_INSTRUCTIONS_CHARS)
    for name, value, low, high in (("days_per_week", days_per_week, 1, 7), ("minutes", minutes, 1, 120)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ParameterError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    unknown = [code for code in ratings if code not in RATINGS]
    if unknown:
        raise ParameterError(f"ratings must be among {sorted(RATINGS)}, got {unknown!r}")
    if end_date is not None and end_date < start_date:
        raise ParameterError(f"end_date must not be before start_date ({start_date}), got {end_date}")
    task = HomeTask(client_id=client.id, created_by_id=actor.id, kind=kind, title=title, instructions=instructions,
                    days_per_week=days_per_week, minutes=minutes, music=music, ratings=list(dict.fromkeys(ratings)),
                    start_date=start_date, end_date=end_date)
    db.add(task)
    db.flush()
    audit(db, actor, "create", "home_task", entity_id=task.id, client_id=client.id)
    return task


def end_task(db: Session, *, actor: Therapist, client: Client, task_id: Any) -> HomeTask:
    task = child_of(db, client, HomeTask, task_id, "home task")
    if task.active:
        task.active = False
        audit(db, actor, "update", "home_task", entity_id=task.id, client_id=client.id)
    return task


def client_tasks(db: Session, client_id: int, *, active_only: bool = False) -> list[HomeTask]:
    query = select(HomeTask).where(HomeTask.client_id == client_id)
    if active_only:
        query = query.where(HomeTask.active.is_(True))
    return list(db.scalars(query.order_by(HomeTask.id)))


def client_completions(db: Session, client_id: int, *, since: dt.datetime | None = None) -> list[TaskCompletion]:
    query = select(TaskCompletion).where(TaskCompletion.client_id == client_id)
    if since is not None:
        query = query.where(TaskCompletion.completed_at >= since)
    return list(db.scalars(query.order_by(TaskCompletion.completed_at, TaskCompletion.id)))


# The dashboard's alerts ask these for a page of clients at every view that computes them: built once, the ids
# one bound parameter (cadenza.clinic.id_lists).
_TASKS_OF_CLIENTS = (select(HomeTask).where(in_ids(HomeTask.client_id, "client_ids"))
                     .order_by(HomeTask.client_id, HomeTask.id))
_COMPLETIONS_OF_CLIENTS = (select(TaskCompletion)
                           .where(TaskCompletion.completed_at >= bindparam("since"),
                                  in_ids(TaskCompletion.client_id, "client_ids"))
                           .order_by(TaskCompletion.client_id, TaskCompletion.completed_at, TaskCompletion.id))
_DEVICES_OF_CLIENTS = (select(PersonDevice).where(in_ids(PersonDevice.client_id, "client_ids"))
                       .order_by(PersonDevice.client_id, PersonDevice.id))


def tasks_of_clients(db: Session, client_ids: list[int]) -> dict[int, list[HomeTask]]:
    """Each listed client's tasks in :func:`client_tasks` order, in one query; a client without tasks is absent."""
    return _by_client(db, _TASKS_OF_CLIENTS, client_ids)


def completions_of_clients(db: Session, client_ids: list[int], *,
                           since: dt.datetime) -> dict[int, list[TaskCompletion]]:
    """Each listed client's completions since ``since`` in :func:`client_completions` order, in one query."""
    return _by_client(db, _COMPLETIONS_OF_CLIENTS, client_ids, since=since)


def devices_of_clients(db: Session, client_ids: list[int]) -> dict[int, list[PersonDevice]]:
    """Each listed client's devices (revoked ones too) by id, in one query."""
    return _by_client(db, _DEVICES_OF_CLIENTS, client_ids)


def _by_client(db: Session, query, client_ids: list[int], **parameters: Any) -> dict[int, list]:
    found: dict[int, list] = {}
    if not client_ids:
        return found
    for row in db.scalars(query, {"client_ids": sorted(set(client_ids)), **parameters}):
        found.setdefault(row.client_id, []).append(row)
    return found


def therapist_client(db: Session, *, actor: Therapist, client_id: int) -> Client:
    """The one authorisation (and audited read) of a therapist-side request."""
    return get_client_for_actor(db, actor=actor, client_id=client_id)


# --- the person's side ------------------------------------------------------------------------------------

def device_task(db: Session, device: PersonDevice, task_id: Any) -> HomeTask:
    """One of the device's client's active tasks; any other id is the same 404."""
    client = db.get(Client, device.client_id)
    task = child_of(db, client, HomeTask, task_id, "task")
    if not task.active:
        raise NotFoundError(f"task {task_id!r} not found")
    return task


def check_uuid(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise ParameterError(f"client_uuid must be a UUID, got {str(value)[:60]!r}") from None


def check_ratings(task: HomeTask, name: str, values: Any) -> dict[str, float]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ParameterError(f"{name} must map rating codes to numbers, got {type(values).__name__}")
    out: dict[str, float] = {}
    for code, value in values.items():
        if code not in task.ratings:
            raise ParameterError(f"{name}: this task does not ask for {str(code)[:40]!r} (it asks {task.ratings})")
        _, low, high, _, _ = RATINGS[code]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or not low <= value <= high:
            raise ParameterError(f"{name}.{code} must be a number from {low} to {high}, got {value!r}")
        out[code] = float(value)
    return out


def store_completion(db: Session, device: PersonDevice, task: HomeTask, *, client_uuid: str,
                     completed_at: dt.datetime, played_s: float, max_gain: float, before: dict[str, float],
                     after: dict[str, float], note: str = "", scores: dict[str, Any] | None = None,
                     now: dt.datetime | None = None) -> tuple[TaskCompletion, bool]:
    """Store one completion once: a repeat of ``client_uuid`` returns the stored row and False."""
    now = now or utcnow()
    existing = db.scalar(select(TaskCompletion).where(TaskCompletion.client_id == device.client_id,
                                                      TaskCompletion.client_uuid == client_uuid))
    if existing is not None:
        if existing.task_id != task.id:
            raise ConflictError(f"client_uuid {client_uuid} was already used for another task")
        return existing, False
    completed_at = _aware(completed_at)
    if completed_at > now + MAX_CLOCK_SKEW or completed_at < now - MAX_COMPLETION_AGE:
        raise ParameterError(f"completed_at must be within the last {MAX_COMPLETION_AGE.days} days, got {completed_at.isoformat()}")
    if not (0 <= played_s <= MAX_PLAYED_S):
        raise ParameterError(f"played_s must be between 0 and {MAX_PLAYED_S:g}, got {played_s!r}")
    row = TaskCompletion(task_id=task.id, client_id=device.client_id, device_id=device.id, client_uuid=client_uuid,
                         completed_at=completed_at, received_at=now, played_s=float(played_s), max_gain=float(max_gain),
                         before=before, after=after, note=check_text("note", note, MAX_NOTE_CHARS),
                         scores=scores or {})
    try:
        with db.begin_nested():  # a twin sent at the same moment fails here, not the caller's transaction
            db.add(row)
    except IntegrityError:
        twin = db.scalar(select(TaskCompletion).where(TaskCompletion.client_id == device.client_id,
                                                      TaskCompletion.client_uuid == client_uuid))
        if twin is None:
            raise
        return twin, False
    audit_device(db, device, "create", "task_completion", entity_id=row.id)
    return row, True


def device_completions(db: Session, device: PersonDevice, *, since: dt.datetime) -> list[TaskCompletion]:
    return client_completions(db, device.client_id, since=since)


def log_listening(db: Session, device: PersonDevice, *, level_dba: float, duration_s: float, started_at: dt.datetime,
                  source: str, label: str) -> None:
    """Add what the person actually played to their hearing-dose ledger (the record's own table), audited
    with the device as the actor."""
    from cadenza.clinic.listening import SoundDoseEntry, check_entry

    check_entry(level_dba=level_dba, duration_s=duration_s, source=source, label=label)
    row = SoundDoseEntry(client_id=device.client_id, started_at=_aware(started_at), duration_s=float(duration_s),
                         level_dba=float(level_dba), source=source, label=label)
    db.add(row)
    db.flush()
    audit_device(db, device, "create", "sound_dose_entry", entity_id=row.id)


def block_track(db: Session, device: PersonDevice, task: HomeTask, track_id: Any) -> None:
    """The person never wants to hear this song again: it is red-flagged in their library (the library
    tool's table, written through the record), so no playlist and no player offers it any more."""
    table = Base.metadata.tables.get("library_track")
    if table is None or not isinstance(track_id, int) or track_id not in task.music.get("track_ids", []):
        raise NotFoundError(f"track {track_id!r} not found")
    done = db.execute(table.update().where(table.c.id == track_id, table.c.client_id == device.client_id)
                      .values(red_flag=True, red_flag_reason="blocked by the person in their app", red_flag_at=utcnow()))
    if done.rowcount != 1:
        raise NotFoundError(f"track {track_id!r} not found")
    audit_device(db, device, "update", "library_track", entity_id=track_id)


MAX_HOME_SESSION_MINUTES = 120


def store_home_measurements(db: Session, device: PersonDevice, task: HomeTask, completion: TaskCompletion,
                            values: list[tuple[str, float]], *, intervention_code: str) -> TherapySession | None:
    """The figures a measured task (tapping, singing) produced, as measurements on the client's record.

    A measurement belongs to a session, so the completion becomes a *client-recorded* session of the
    client's record (``source`` "client_recorded", linked from ``completion.session_id``): done at home by
    the person, filed under the therapist who prescribed the task (responsible for it, not someone who held
    it) and dated by the completion. It is never a note for that therapist to sign, and the FHIR export gives
    it as patient-reported. Its measurements carry the completion's time, so goals and charts on those
    instruments count them like any other. Each value is checked by its instrument first (range, unit), and
    nothing is stored when one is refused. Audited with the device as the actor. None when there is nothing
    to store.
    """
    from cadenza.clinic.instruments import score_instrument

    scores = [score_instrument(code, value=value) for code, value in values]
    if not scores:
        return None
    completed_at = _aware(completion.completed_at)
    minutes = max(1, min(MAX_HOME_SESSION_MINUTES, math.ceil(completion.played_s / 60)))
    row = TherapySession(client_id=completion.client_id, therapist_id=task.created_by_id,
                         session_date=completed_at.date(), minutes=minutes, intervention_code=intervention_code,
                         setting="home", source="client_recorded",
                         soap_objective=f"Home task \u201c{task.title}\u201d done on the person's own "
                                        f"device (completion {completion.id}); figures measured there.")
    db.add(row)
    for score in scores:
        db.add(Measurement(therapy_session=row, client_id=completion.client_id, instrument_code=score.instrument_code,
                           value=score.value, unit=score.unit, measured_at=completed_at))
    db.flush()
    completion.session_id = row.id
    audit_device(db, device, "create", "therapy_session", entity_id=row.id)
    for measurement in row.measurements:
        audit_device(db, device, "create", "measurement", entity_id=measurement.id)
    return row
