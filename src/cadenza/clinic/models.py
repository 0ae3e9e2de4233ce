"""SQLAlchemy models of the clinical record.

Tables are singular snake_case; constraint names come from the naming convention on ``Base.metadata``
so migrations written by hand and by different engineers agree. Every ``*_at`` column is UTC-aware on
every backend (SQLite stores no offset, so :class:`UTCDateTime` restores it on read).

Other domains add their own tables in ``cadenza/clinic/<domain>_records.py`` by subclassing
:class:`Base` and referring to these tables by foreign key (e.g. ``ForeignKey("client.id")``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    relationship,
    with_loader_criteria,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("therapist", "admin")
ASSESSMENT_DOMAINS = ("motor", "communication", "cognition", "emotional", "social")
DIRECTIONS = ("increase", "decrease")
# Where the client is in the course of care (AMTA standards: referral to termination); the clients list
# filters on it. Discharge (cadenza.tools.care) sets "discharged"; "on_hold" pauses services.
CLIENT_STATUSES = ("active", "on_hold", "discharged")
# Who made a session's record (migration 0042_session_source): "therapist", a session a therapist held and
# documents (a home *visit* included, setting "home"), which they sign; "client_recorded", what the person
# (or their caregiver) recorded on their own device for a home task, filed under the therapist who set the
# task. A client-recorded session counts in goals and charts like any other, is never a note to sign, and
# is patient-reported in the FHIR export.
SESSION_SOURCES = ("therapist", "client_recorded")
SESSION_SOURCE_LABELS = {"therapist": "held by a therapist", "client_recorded": "client-recorded"}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}; Cadenza stores UTC-aware datetimes only")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Removable:
    """A row a therapist can remove with a reason and restore (``clinic.corrections``): it is kept, and
    hidden from every ORM query unless the statement carries ``execution_options(include_removed=True)``.
    """

    removed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("therapist.id"), nullable=True)
    removed_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None


INCLUDE_REMOVED = "include_removed"


# The option is made once: building it (and analysing its lambda) on every statement cost about a third of
# the ORM's CPU for a one-row SELECT (issue 23); the option holds no state of a statement or a session.
_NOT_REMOVED = with_loader_criteria(Removable, lambda cls: cls.removed_at.is_(None), include_aliases=True)


@event.listens_for(Session, "do_orm_execute")
def _hide_removed_rows(state: ORMExecuteState) -> None:
    # Every SELECT through the ORM (lists, charts, exports, relationship loads) leaves removed rows out;
    # refreshing a loaded row's columns does not, so a row just removed can still be read.
    if state.is_select and not state.is_column_load and not state.execution_options.get(INCLUDE_REMOVED, False):
        state.statement = state.statement.options(_NOT_REMOVED)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Therapist(Base):
    __tablename__ = "therapist"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="therapist")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The professional credential, e.g. "MT-BC"; exported as the Practitioner's qualification (review M3).
    qualification: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # Set by an admin's password reset (or an initial password chosen by an admin): every page but the
    # password page is closed until the account's owner picks their own (clinic.auth.reset_password).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Raised in the same transaction as any change to the therapist's clients' records (clinic.caseload_version):
    # the dashboard's cached lists are kept under it, so every worker sees a change at once (issue 23).
    caseload_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Raised with the caseload version by the changes that can move the dashboard's client list, bookings or
    # the tools' alerts (every change but a session's notes, interventions, measurements and goals): the kept
    # rows of those lists follow it (clinic.caseload_version, issue 23).
    roster_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    clients: Mapped[list[Client]] = relationship(back_populates="therapist")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"Therapist(id={self.id!r}, username={self.username!r}, role={self.role!r})"


class Client(Base):
    """A person receiving music therapy, known only by a pseudonymous code unique per therapist."""

    __tablename__ = "client"
    __table_args__ = (UniqueConstraint("therapist_id", "code"),
                      CheckConstraint(_in("status", CLIENT_STATUSES), name="status_known"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    safety_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # active / on_hold / discharged (:data:`CLIENT_STATUSES`); changed by service.set_client_status.
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    therapist: Mapped[Therapist] = relationship(back_populates="clients")

    def __repr__(self) -> str:
        return f"Client(id={self.id!r}, code={self.code!r})"


class Assessment(Base):
    __tablename__ = "assessment"
    __table_args__ = (CheckConstraint(_in("domain", ASSESSMENT_DOMAINS), name="domain"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(32))
    assessed_date: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Goal(Removable, Base):
    """A measurable goal: an instrument, a baseline, a target and which way is better."""

    __tablename__ = "goal"
    __table_args__ = (CheckConstraint(_in("direction", DIRECTIONS), name="direction"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    instrument_code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    baseline: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(16))
    target_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TherapySession(Removable, Base):
    """One documented therapy session (table ``therapy_session``; "session" is the DB session's name)."""

    __tablename__ = "therapy_session"
    __table_args__ = (CheckConstraint("minutes > 0", name="minutes_positive"),
                      CheckConstraint(_in("source", SESSION_SOURCES), name="source_known"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    session_date: Mapped[dt.date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    intervention_code: Mapped[str] = mapped_column(String(64))
    setting: Mapped[str] = mapped_column(String(64), default="")
    soap_subjective: Mapped[str] = mapped_column(Text, default="")
    soap_objective: Mapped[str] = mapped_column(Text, default="")
    soap_assessment: Mapped[str] = mapped_column(Text, default="")
    soap_plan: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Optimistic lock: every UPDATE carries "WHERE version = <the version read>" and bumps it, so an edit
    # based on an older read matches no row and is refused instead of overwriting (targets T31).
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    updated_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    # A signed note is frozen: corrections go in as SessionAddendum rows (targets T16).
    signed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("therapist.id"), nullable=True)
    content_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # SESSION_SOURCES: who made this record. ``therapist_id`` of a client-recorded session is the therapist
    # responsible for it (who set the task), not someone who held it.
    source: Mapped[str] = mapped_column(String(16), default="therapist", server_default="therapist")

    measurements: Mapped[list[Measurement]] = relationship(
        back_populates="therapy_session", order_by="Measurement.id"
    )
    signed_by: Mapped[Therapist | None] = relationship(foreign_keys=[signed_by_id])
    therapist: Mapped[Therapist] = relationship(foreign_keys=[therapist_id])  # who held the session
    addenda: Mapped[list[SessionAddendum]] = relationship(
        back_populates="therapy_session", order_by="SessionAddendum.id", lazy="selectin"
    )
    # Every intervention of the session with its minutes (migration 0023_clinic_day); the first is also
    # ``intervention_code``, which every older reader keeps using.
    interventions: Mapped[list[SessionIntervention]] = relationship(
        back_populates="therapy_session", order_by="SessionIntervention.position", lazy="selectin",
        cascade="all, delete-orphan", passive_deletes=True,
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def is_client_recorded(self) -> bool:
        """Recorded by the person on their own device (a home task), not held by a therapist: nothing to sign."""
        return self.source == "client_recorded"

    @property
    def source_label(self) -> str:
        return SESSION_SOURCE_LABELS.get(self.source, self.source)

    @property
    def intervention_minutes(self) -> list[tuple[str, int]]:
        """``[(intervention_code, minutes), ...]`` in the order recorded; a session stored before sessions
        held several interventions (no rows) reads as its one intervention for the whole session."""
        if self.interventions:
            return [(i.intervention_code, i.minutes) for i in self.interventions]
        return [(self.intervention_code, self.minutes)]


class SessionIntervention(Base):
    """One intervention delivered in a session and its minutes (a session may hold several)."""

    __tablename__ = "session_intervention"
    __table_args__ = (UniqueConstraint("session_id", "position"),
                      CheckConstraint("minutes > 0", name="minutes_positive"),
                      CheckConstraint("position >= 0", name="position_not_negative"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    intervention_code: Mapped[str] = mapped_column(String(64))
    minutes: Mapped[int] = mapped_column(Integer)

    therapy_session: Mapped[TherapySession] = relationship(back_populates="interventions")


class Measurement(Removable, Base):
    """One outcome value: an instrument's score in a session, optionally towards a goal."""

    __tablename__ = "measurement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goal.id", ondelete="SET NULL"), index=True)
    instrument_code: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    item_responses: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    severity_band: Mapped[str | None] = mapped_column(String(32))
    safety_followup: Mapped[bool] = mapped_column(Boolean, default=False)
    # Timed walks (gait_speed): the distance the time was taken over, stored with the speed because the
    # speed means nothing without it (the 10-metre walk test times the middle 6 m; clinical review H2).
    timed_distance_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    # When it was measured, if known more precisely than the session's date; NULL means "in the session"
    # and every reader dates it by the session (clinical review W1). Never the time it was typed.
    measured_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    therapy_session: Mapped[TherapySession] = relationship(back_populates="measurements")

    @property
    def effective_at(self) -> dt.datetime | dt.date:
        """When it was measured: ``measured_at`` if recorded, else the session's date (FHIR
        ``effectiveDateTime`` takes either a date or a date-time)."""
        return self.measured_at if self.measured_at is not None else self.therapy_session.session_date


def measurement_order() -> tuple[Any, ...]:
    """Measurements in the order they were taken: session date, then time (untimed ones first, the same
    on SQLite and PostgreSQL), then id. Join ``therapy_session`` before using it."""
    return (TherapySession.session_date, Measurement.measured_at.asc().nulls_first(), Measurement.id)


class AuditEvent(Base):
    """Append-only log of who read or changed which record, and when.

    No foreign keys on purpose: the trail must outlive the rows it mentions.
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    client_id: Mapped[int | None] = mapped_column(Integer, index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class Addendum:
    """A correction or late entry to a signed record; the record itself stays as signed. One shape for every
    signed record: a session note (:class:`SessionAddendum`) and a care document (the care tool's
    ``CareAddendum``). Each table adds the link to its record (named by ``PARENT_KEY``) and the ``HASH_FORMAT``
    its hashes are made under (:func:`cadenza.clinic.service.addendum_sha256`, ``append_addendum``,
    ``broken_addenda``).

    ``previous_sha256`` is the hash of the signed record (first addendum) or of the addendum before, so the
    record and its addenda form a chain in which an edited, removed or reordered entry is detected.
    """

    PARENT_KEY: ClassVar[str]
    HASH_FORMAT: ClassVar[str]

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # RESTRICT: a signed record and its addenda never disappear with a cascading delete.
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    previous_sha256: Mapped[str] = mapped_column(String(64))
    content_sha256: Mapped[str] = mapped_column(String(64))

    @declared_attr
    def author(cls) -> Mapped[Therapist]:
        return relationship(Therapist, foreign_keys=lambda: [cls.author_id], lazy="joined")


class SessionAddendum(Addendum, Base):
    """A correction or late entry to a signed session note (:class:`Addendum`)."""

    __tablename__ = "session_addendum"
    PARENT_KEY = "session_id"
    HASH_FORMAT = "cadenza-session-addendum/1"

    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id", ondelete="RESTRICT"), index=True)

    therapy_session: Mapped[TherapySession] = relationship(back_populates="addenda")
