"""The workflow documents a music therapist keeps, in the clinical record (AMTA Standards of Clinical
Practice: referral and acceptance, assessment, treatment planning, implementation, documentation,
termination).

:class:`CareDocument` is one referral, informed consent, music-therapy assessment, treatment plan or
discharge summary of a client: its ``kind``, its date and its ``content`` (a JSON object whose fields
:func:`check_content` validates per kind). A document is written, may be corrected while unsigned, and
is then signed: the signature stores the SHA-256 of its canonical content and from then on the document
never changes; corrections and late entries go in as :class:`CareAddendum` rows chained by hash, as
session notes do. The one change a signed consent still takes is its withdrawal (date and reason, kept
outside the signed content and audited).

:class:`GroupSession` is one session held with several clients; :class:`GroupMember` holds each
client's attendance and note (an attending client also gets an ordinary session in their own record,
see :mod:`cadenza.tools.care.actions`).

Every service here takes the client already authorised by the caller (``get_client_for_actor``, which
audits the read) and audits what it writes. Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, Session, lazyload, mapped_column, relationship, selectinload

from cadenza.clinic.access import child_of, get_client_for_actor
from cadenza.clinic.audit import audit
from cadenza.clinic.id_lists import in_ids
from cadenza.clinic.models import Addendum, Base, Client, Goal, Therapist, utcnow
from cadenza.clinic.people import check_text as people_check_text
from cadenza.clinic.service import append_addendum, broken_addenda, content_sha256, iso_utc
from cadenza.errors import ConflictError, NotFoundError, ParameterError

KINDS = ("referral", "consent", "assessment", "plan", "discharge")
KIND_TITLES = {"referral": "Referral", "consent": "Informed consent", "assessment": "Music therapy assessment",
               "plan": "Treatment plan", "discharge": "Discharge summary"}
MAX_SHORT_CHARS = 200
MAX_TEXT_CHARS = 10_000
MAX_ADDENDUM_CHARS = 20_000
MAX_LIST_ITEMS = 40
DOCUMENT_HASH_FORMAT = "cadenza-care-document/1"
ADDENDUM_HASH_FORMAT = "cadenza-care-addendum/1"

REFERRAL_DECISIONS = ("pending", "accepted", "declined")
CONSENTED_BY = ("client", "legal_representative")
# Our own assessment domains and frequency ratings (written for Cadenza; in the spirit of IMTAP's
# never/rarely/inconsistent/consistent, Baxter et al. 2007, whose items are not reproduced).
ASSESSMENT_DOMAINS = ("gross_motor", "fine_motor", "oral_motor", "sensory", "receptive_communication",
                      "expressive_communication", "cognition", "social", "emotional", "musicality")
DOMAIN_RATINGS = ("not_observed", "rarely", "inconsistent", "consistent")
RATING_HINTS = {"not_observed": "never seen", "rarely": "under half the opportunities",
                "inconsistent": "half to four in five", "consistent": "four in five or more"}
DISCHARGE_REASONS = ("goals_met", "plateau", "client_request", "transfer", "no_longer_eligible", "other")
MAX_SESSION_MINUTES = 240


def check_text(name: str, value: Any, limit: int, *, required: bool = False) -> str:
    """The record's text check (:func:`cadenza.clinic.people.check_text`), with a missing value as empty."""
    return people_check_text(name, "" if value is None else value, limit, required=required)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _whole(name: str, value: Any, low: int, high: int, *, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ParameterError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return value


def _text_list(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
        raise ParameterError(f"{name} must be a list of text items, got {value!r}")
    items = [check_text(f"{name}[{i}]", v, MAX_SHORT_CHARS) for i, v in enumerate(value)]
    items = [v for v in items if v]
    if len(items) > MAX_LIST_ITEMS:
        raise ParameterError(f"{name} must have at most {MAX_LIST_ITEMS} items, got {len(items)}")
    return items


def _keys(kind: str, content: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(set(content) - set(allowed))
    if extra:
        raise ParameterError(f"a {kind} has no field(s) {extra!r}; its fields are {', '.join(allowed)}")


def _check_referral(c: Mapping[str, Any]) -> dict[str, Any]:
    _keys("referral", c, ("referred_by", "reason", "decision", "note"))
    return {"referred_by": check_text("referred_by", c.get("referred_by"), MAX_SHORT_CHARS, required=True),
            "reason": check_text("reason", c.get("reason"), MAX_TEXT_CHARS, required=True),
            "decision": _choice("decision", c.get("decision", "pending"), REFERRAL_DECISIONS),
            "note": check_text("note", c.get("note"), MAX_TEXT_CHARS)}


def _check_consent(c: Mapping[str, Any]) -> dict[str, Any]:
    _keys("consent", c, ("explained", "consented_by", "representative_role", "scope", "agreed"))
    consented_by = _choice("consented_by", c.get("consented_by"), CONSENTED_BY)
    role = check_text("representative_role", c.get("representative_role"), MAX_SHORT_CHARS,
                 required=consented_by == "legal_representative")
    if consented_by == "client" and role:
        raise ParameterError(f"representative_role is only for consent by a legal representative, got {role!r}")
    agreed = c.get("agreed", True)
    if not isinstance(agreed, bool):
        raise ParameterError(f"agreed must be true or false, got {agreed!r}")
    return {"explained": check_text("explained", c.get("explained"), MAX_TEXT_CHARS, required=True),
            "consented_by": consented_by, "representative_role": role,
            "scope": check_text("scope", c.get("scope"), MAX_TEXT_CHARS), "agreed": agreed}


def _check_assessment(c: Mapping[str, Any]) -> dict[str, Any]:
    _keys("assessment", c, ("domains", "music_preferences", "summary", "recommendation"))
    domains_in = c.get("domains") or {}
    if not isinstance(domains_in, Mapping):
        raise ParameterError(f"domains must map a domain to its rating and note, got {domains_in!r}")
    domains: dict[str, dict[str, str]] = {}
    for domain, entry in domains_in.items():
        _choice("domain", domain, ASSESSMENT_DOMAINS)
        if not isinstance(entry, Mapping):
            raise ParameterError(f"domains[{domain!r}] must hold a rating and a note, got {entry!r}")
        _keys(f"assessment domain {domain!r}", entry, ("rating", "note"))
        domains[domain] = {"rating": _choice(f"domains[{domain!r}].rating", entry.get("rating"), DOMAIN_RATINGS),
                           "note": check_text(f"domains[{domain!r}].note", entry.get("note"), MAX_TEXT_CHARS)}
    return {"domains": {d: domains[d] for d in ASSESSMENT_DOMAINS if d in domains},
            "music_preferences": _text_list("music_preferences", c.get("music_preferences")),
            "summary": check_text("summary", c.get("summary"), MAX_TEXT_CHARS, required=True),
            "recommendation": check_text("recommendation", c.get("recommendation"), MAX_TEXT_CHARS)}


def _check_plan(c: Mapping[str, Any]) -> dict[str, Any]:
    from cadenza.evidence.query import get_intervention

    _keys("plan", c, ("goal_ids", "objectives", "sessions_per_week", "minutes_per_session", "interventions",
                      "review_date"))
    goal_ids = c.get("goal_ids") or []
    if not isinstance(goal_ids, (list, tuple)) or not all(
            isinstance(g, int) and not isinstance(g, bool) for g in goal_ids):
        raise ParameterError(f"goal_ids must be a list of goal ids, got {goal_ids!r}")
    codes = c.get("interventions") or []
    if not isinstance(codes, (list, tuple)) or not codes:
        raise ParameterError(f"interventions must name at least one planned intervention code, got {codes!r}")
    for code in codes:
        try:
            get_intervention(code)
        except NotFoundError as exc:
            raise ParameterError(f"interventions: {exc}") from None
    review = c.get("review_date")
    if review is not None:
        try:
            review = dt.date.fromisoformat(review).isoformat()
        except (TypeError, ValueError):
            raise ParameterError(f"review_date must be a date YYYY-MM-DD, got {review!r}") from None
    return {"goal_ids": list(dict.fromkeys(goal_ids)),
            "objectives": _text_list("objectives", c.get("objectives")),
            "sessions_per_week": _whole("sessions_per_week", c.get("sessions_per_week"), 1, 7),
            "minutes_per_session": _whole("minutes_per_session", c.get("minutes_per_session"), 1, MAX_SESSION_MINUTES),
            "interventions": list(dict.fromkeys(codes)), "review_date": review}


def _check_discharge(c: Mapping[str, Any]) -> dict[str, Any]:
    _keys("discharge", c, ("reason", "criteria", "summary", "recommendations"))
    return {"reason": _choice("reason", c.get("reason"), DISCHARGE_REASONS),
            "criteria": check_text("criteria", c.get("criteria"), MAX_TEXT_CHARS, required=True),
            "summary": check_text("summary", c.get("summary"), MAX_TEXT_CHARS, required=True),
            "recommendations": check_text("recommendations", c.get("recommendations"), MAX_TEXT_CHARS)}


_CHECKS = {"referral": _check_referral, "consent": _check_consent, "assessment": _check_assessment,
           "plan": _check_plan, "discharge": _check_discharge}


def check_content(kind: str, content: Any) -> dict[str, Any]:
    """The document's content, validated and normalised for ``kind``; :class:`ParameterError` naming
    the field otherwise.

    >>> check_content("referral", {"referred_by": "ward nurse", "reason": "low mood after stroke"})["decision"]
    'pending'
    >>> check_content("consent", {"explained": "aims", "consented_by": "parent"})
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: consented_by must be one of client, legal_representative, got 'parent'
    """
    _choice("kind", kind, KINDS)
    if not isinstance(content, Mapping):
        raise ParameterError(f"content must be an object of the {kind}'s fields, got {type(content).__name__}")
    return _CHECKS[kind](content)


def check_date(name: str, value: Any, *, today: dt.date | None = None) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ParameterError(f"{name} must be a date, got {value!r}")
    latest = (today or utcnow().date()) + dt.timedelta(days=1)
    if value > latest:
        raise ParameterError(f"{name} {value.isoformat()} is in the future; a document records what took place")
    return value


class CareDocument(Base):
    """One referral, consent, assessment, treatment plan or discharge summary of a client."""

    __tablename__ = "care_document"
    __table_args__ = (CheckConstraint("kind IN ('referral', 'consent', 'assessment', 'plan', 'discharge')",
                                      name="kind_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"))
    kind: Mapped[str] = mapped_column(String(16))
    document_date: Mapped[dt.date] = mapped_column(Date)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    signed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("therapist.id"), nullable=True)
    content_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Consent only: withdrawn on this date (outside the signed content; set once, audited).
    withdrawn_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    author: Mapped[Therapist] = relationship(foreign_keys=[author_id], lazy="joined")
    signed_by: Mapped[Therapist | None] = relationship(foreign_keys=[signed_by_id], lazy="joined")
    addenda: Mapped[list[CareAddendum]] = relationship(back_populates="document", order_by="CareAddendum.id",
                                                       lazy="selectin")

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def title(self) -> str:
        return KIND_TITLES[self.kind]


class CareAddendum(Addendum, Base):
    """A correction or late entry to a signed care document, chained by hash to what came before (the record
    core's :class:`~cadenza.clinic.models.Addendum`, as a session note's)."""

    __tablename__ = "care_addendum"
    PARENT_KEY = "document_id"
    HASH_FORMAT = ADDENDUM_HASH_FORMAT

    document_id: Mapped[int] = mapped_column(ForeignKey("care_document.id", ondelete="RESTRICT"), index=True)

    document: Mapped[CareDocument] = relationship(back_populates="addenda")


class GroupSession(Base):
    """One session held with several clients (each client's attendance and note: :class:`GroupMember`)."""

    __tablename__ = "group_session"
    __table_args__ = (CheckConstraint("minutes > 0", name="minutes_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id"), index=True)
    title: Mapped[str] = mapped_column(String(MAX_SHORT_CHARS))
    session_date: Mapped[dt.date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    intervention_code: Mapped[str] = mapped_column(String(64))
    setting: Mapped[str] = mapped_column(String(64), default="")
    group_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    members: Mapped[list[GroupMember]] = relationship(back_populates="group_session", order_by="GroupMember.id",
                                                      lazy="selectin")


class GroupMember(Base):
    """One client in a group session: attended or not, and their own note."""

    __tablename__ = "group_member"
    __table_args__ = (UniqueConstraint("group_session_id", "client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_session_id: Mapped[int] = mapped_column(ForeignKey("group_session.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    attended: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # The ordinary session written into an attending client's own record (NULL if absent).
    therapy_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("therapy_session.id", ondelete="SET NULL"), nullable=True)

    group_session: Mapped[GroupSession] = relationship(back_populates="members")


# --- hashing ------------------------------------------------------------------------------------------

def document_content(doc: CareDocument, *, signed_by_username: str | None) -> dict[str, Any]:
    """The canonical content a signature covers (the consent's later withdrawal is not part of it)."""
    return {"format": DOCUMENT_HASH_FORMAT, "document_id": doc.id, "client_id": doc.client_id,
            "author_id": doc.author_id, "kind": doc.kind, "document_date": doc.document_date.isoformat(),
            "content": doc.content, "signed_at": iso_utc(doc.signed_at), "signed_by_id": doc.signed_by_id,
            "signed_by": signed_by_username}


def verify_document(doc: CareDocument) -> bool:
    """True when a signed document and its addenda still match their hashes (an unsigned one: True)."""
    if doc.signed_at is None:
        return doc.content_sha256 is None and not doc.addenda
    signer = doc.signed_by.username if doc.signed_by is not None else None
    if content_sha256(document_content(doc, signed_by_username=signer)) != doc.content_sha256:
        return False
    return not broken_addenda(doc.content_sha256, doc.addenda)


# --- services -----------------------------------------------------------------------------------------

def care_client(db: Session, *, actor: Therapist, client_id: int, action: str = "read") -> Client:
    """The one authorisation (and audited access) of a request about a client's care documents."""
    return get_client_for_actor(db, actor=actor, client_id=client_id, action=action)


def client_goals(db: Session, client: Client) -> list[Goal]:
    """The client's goals (not removed), for the plan form; the client is already authorised."""
    return list(db.scalars(select(Goal).where(Goal.client_id == client.id).order_by(Goal.id)))


def check_goal_ids(db: Session, client: Client, goal_ids: list[int]) -> None:
    for goal_id in goal_ids:
        child_of(db, client, Goal, goal_id, "goal")


# Project convention, not a legal rule: a NICU infant, or a child certainly under this age, cannot be the one
# who consents; a legal representative does (older children's assent and local law are the therapist's call).
YOUNGEST_OWN_CONSENT_YEARS = 7


def check_consenter(client: Client, content: Mapping[str, Any], document_date: dt.date) -> None:
    if content.get("consented_by") != "client" or not content.get("agreed", True):
        return
    infant = "nicu_infant" in (client.safety_flags or [])
    oldest = None if client.birth_year is None else document_date.year - client.birth_year
    if infant or (oldest is not None and oldest < YOUNGEST_OWN_CONSENT_YEARS):
        raise ParameterError(
            f"consented_by 'client': a {'NICU infant' if infant else f'child of at most {oldest}'} cannot give "
            "consent; record the legal representative's consent (project convention: own consent from age "
            f"{YOUNGEST_OWN_CONSENT_YEARS})")


def add_document(db: Session, *, actor: Therapist, client: Client, kind: str, document_date: dt.date,
                 content: Mapping[str, Any]) -> CareDocument:
    """Store a new, unsigned document (content validated for its kind; a plan's goals must be the client's;
    a young child's or NICU infant's consent must come from a legal representative)."""
    checked = check_content(kind, content)
    document_date = check_date("document_date", document_date)
    if kind == "consent":
        check_consenter(client, checked, document_date)
    if kind == "plan":
        check_goal_ids(db, client, checked["goal_ids"])
    doc = CareDocument(client_id=client.id, author_id=actor.id, kind=kind, document_date=document_date,
                       content=checked)
    db.add(doc)
    db.flush()
    audit(db, actor, "create", "care_document", entity_id=doc.id, client_id=client.id)
    return doc


def get_document(db: Session, client: Client, document_id: Any) -> CareDocument:
    return child_of(db, client, CareDocument, document_id, "care document")


def update_document(db: Session, *, actor: Therapist, client: Client, document_id: Any,
                    content: Mapping[str, Any], document_date: dt.date | None = None) -> CareDocument:
    """Correct an unsigned document; a signed one is refused (add an addendum)."""
    doc = get_document(db, client, document_id)
    if doc.is_signed:
        raise ConflictError(f"care document {doc.id} is signed; it cannot change: add an addendum instead")
    checked = check_content(doc.kind, content)
    if doc.kind == "plan":
        check_goal_ids(db, client, checked["goal_ids"])
    if document_date is not None:
        document_date = check_date("document_date", document_date)
    if doc.kind == "consent":
        check_consenter(client, checked, document_date or doc.document_date)
    doc.content = checked
    if document_date is not None:
        doc.document_date = document_date
    doc.updated_at = utcnow()
    db.flush()
    audit(db, actor, "update", "care_document", entity_id=doc.id, client_id=client.id)
    return doc


def sign_document(db: Session, *, actor: Therapist, client: Client, document_id: Any) -> CareDocument:
    doc = get_document(db, client, document_id)
    if doc.is_signed:
        raise ConflictError(f"care document {doc.id} is already signed")
    doc.signed_at = utcnow()
    doc.signed_by_id = actor.id
    doc.signed_by = actor
    doc.content_sha256 = content_sha256(document_content(doc, signed_by_username=actor.username))
    doc.updated_at = doc.signed_at
    db.flush()
    audit(db, actor, "sign", "care_document", entity_id=doc.id, client_id=client.id)
    return doc


def add_addendum(db: Session, *, actor: Therapist, client: Client, document_id: Any, text: Any) -> CareAddendum:
    """Append a correction or late entry to a signed document; the document itself never changes."""
    text = check_text("text", text, MAX_ADDENDUM_CHARS, required=True)
    doc = get_document(db, client, document_id)
    if not doc.is_signed:
        raise ConflictError(f"care document {doc.id} is not signed yet: correct it instead; addenda follow a signature")
    db.refresh(doc, attribute_names=["addenda"])
    addendum = append_addendum(db, CareAddendum, actor=actor, parent_id=doc.id, client_id=client.id,
                               signed_sha256=doc.content_sha256, addenda=doc.addenda, text=text)
    db.refresh(doc, attribute_names=["addenda"])
    return addendum


def withdraw_consent(db: Session, *, actor: Therapist, client: Client, document_id: Any, withdrawn_date: dt.date,
                     reason: Any = "") -> CareDocument:
    """Record that a consent was withdrawn (once); the consent as given stays as it was."""
    doc = get_document(db, client, document_id)
    if doc.kind != "consent":
        raise ParameterError(f"document_id {doc.id} is a {doc.kind}, not a consent; only a consent is withdrawn")
    if doc.withdrawn_date is not None:
        raise ConflictError(f"consent {doc.id} was already withdrawn on {doc.withdrawn_date.isoformat()}")
    withdrawn_date = check_date("withdrawn_date", withdrawn_date)
    if withdrawn_date < doc.document_date:
        raise ParameterError(f"withdrawn_date {withdrawn_date.isoformat()} is before the consent was given "
                             f"({doc.document_date.isoformat()})")
    doc.withdrawn_date = withdrawn_date
    doc.withdrawn_reason = check_text("reason", reason, MAX_TEXT_CHARS)
    db.flush()
    audit(db, actor, "withdraw", "care_document", entity_id=doc.id, client_id=client.id)
    return doc


def client_documents(db: Session, client: Client, *, kind: str | None = None) -> list[CareDocument]:
    query = select(CareDocument).where(CareDocument.client_id == client.id)
    if kind is not None:
        query = query.where(CareDocument.kind == _choice("kind", kind, KINDS))
    return list(db.scalars(query.order_by(CareDocument.document_date, CareDocument.id)))


# The overview lines of a page of clients (the dashboard's alerts), built once: the documents alone (their signer,
# which verify_document reads, in a second query only when a document is signed; their author is not read), the
# ids one bound parameter (cadenza.clinic.id_lists).
_DOCUMENTS_OF_CLIENTS = (select(CareDocument)
                         .options(lazyload(CareDocument.author), selectinload(CareDocument.signed_by))
                         .where(in_ids(CareDocument.client_id, "client_ids"))
                         .order_by(CareDocument.client_id, CareDocument.document_date, CareDocument.id))


def documents_of_clients(db: Session, client_ids: list[int]) -> dict[int, list[CareDocument]]:
    """Each listed client's documents, in :func:`client_documents` order, in one query (the caller authorised
    the clients); a client without documents is absent."""
    found: dict[int, list[CareDocument]] = {}
    if not client_ids:
        return found
    for document in db.scalars(_DOCUMENTS_OF_CLIENTS, {"client_ids": sorted(set(client_ids))}):
        found.setdefault(document.client_id, []).append(document)
    return found


def latest(documents: list[CareDocument], kind: str) -> CareDocument | None:
    found = [d for d in documents if d.kind == kind]
    return found[-1] if found else None


def consent_in_force(documents: list[CareDocument]) -> CareDocument | None:
    """The latest consent that was agreed and not withdrawn, or None."""
    consents = [d for d in documents if d.kind == "consent"]
    if not consents:
        return None
    last = consents[-1]
    return last if last.content.get("agreed") and last.withdrawn_date is None else None


# --- group sessions -----------------------------------------------------------------------------------

def get_group(db: Session, *, actor: Therapist, group_id: Any) -> GroupSession:
    """A group session the actor held; any other id is the same 404."""
    from cadenza.clinic.access import is_row_id

    group = db.get(GroupSession, group_id) if is_row_id(group_id) else None
    if group is None or group.therapist_id != actor.id:
        raise NotFoundError(f"group session {group_id!r} not found")
    audit(db, actor, "read", "group_session", entity_id=group.id)
    return group


def list_groups(db: Session, *, actor: Therapist) -> list[GroupSession]:
    audit(db, actor, "list", "group_session")
    return list(db.scalars(select(GroupSession).where(GroupSession.therapist_id == actor.id)
                           .order_by(GroupSession.session_date.desc(), GroupSession.id.desc())))


def client_group_memberships(db: Session, client: Client) -> list[tuple[GroupMember, GroupSession]]:
    rows = db.execute(select(GroupMember, GroupSession).join(GroupSession)
                      .where(GroupMember.client_id == client.id)
                      .order_by(GroupSession.session_date, GroupSession.id)).all()
    return [(member, group) for member, group in rows]


# A signed document and its addenda are frozen at flush time too, whatever code changes them.
_WITHDRAWAL_FIELDS = {"withdrawn_date", "withdrawn_reason"}


@event.listens_for(CareDocument, "before_update")
def _signed_document_is_frozen(_mapper: Any, connection: Any, target: CareDocument) -> None:
    stored = connection.scalar(select(CareDocument.signed_at).where(CareDocument.id == target.id))
    if stored is None:
        return
    from sqlalchemy import inspect

    state = inspect(target)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    if changed - _WITHDRAWAL_FIELDS - {"addenda", "author", "signed_by"}:
        raise ConflictError(f"care document {target.id} is signed; it cannot change: add an addendum instead")


@event.listens_for(CareDocument, "before_delete")
def _signed_document_is_kept(_mapper: Any, connection: Any, target: CareDocument) -> None:
    if connection.scalar(select(CareDocument.signed_at).where(CareDocument.id == target.id)) is not None:
        raise ConflictError(f"care document {target.id} is signed and cannot be deleted")


@event.listens_for(CareAddendum, "before_update")
def _care_addendum_is_frozen(_mapper: Any, connection: Any, target: CareAddendum) -> None:
    if connection.scalar(select(CareAddendum.content_sha256).where(CareAddendum.id == target.id)):
        raise ConflictError(f"addendum {target.id} is part of a signed document and cannot change")


@event.listens_for(CareAddendum, "before_delete")
def _care_addendum_is_kept(_mapper: Any, _connection: Any, target: CareAddendum) -> None:
    raise ConflictError(f"addendum {target.id} is part of a signed document and cannot be deleted")
