"""The care-document workflows both faces call (the page and ``cadenza care``), one audit trail.

Each action takes the client the caller authorised once (:func:`cadenza.tools.care.records.care_client`)
and does the rest: a discharge summary also sets the client's status to ``discharged``; a group session
writes, for every client who attended, an ordinary session in their own record holding their note.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from cadenza.clinic import service
from cadenza.clinic.access import get_client_for_actor
from cadenza.clinic.audit import audit
from cadenza.clinic.models import CLIENT_STATUSES, Client, Therapist, TherapySession
from cadenza.errors import NotFoundError, ParameterError
from cadenza.tools.care import records
from cadenza.tools.care.records import CareDocument, GroupMember, GroupSession

if TYPE_CHECKING:
    from cadenza.clinic.dashboard_lists import ClientLine

MAX_GROUP_MEMBERS = 30
MAX_SETTING_CHARS = 64


def write_document(db: Session, *, actor: Therapist, client: Client, kind: str, document_date: dt.date,
                   content: Mapping[str, Any]) -> CareDocument:
    """Store a referral, consent, assessment, plan or discharge summary (unsigned). A discharge summary
    sets the client's status to ``discharged``."""
    doc = records.add_document(db, actor=actor, client=client, kind=kind, document_date=document_date, content=content)
    if kind == "discharge":
        service.set_client_status(db, actor=actor, client=client, status="discharged")
    return doc


def correct_document(db: Session, *, actor: Therapist, client: Client, document_id: Any,
                     content: Mapping[str, Any], document_date: dt.date | None = None) -> CareDocument:
    return records.update_document(db, actor=actor, client=client, document_id=document_id, content=content,
                                   document_date=document_date)


def sign_document(db: Session, *, actor: Therapist, client: Client, document_id: Any) -> CareDocument:
    return records.sign_document(db, actor=actor, client=client, document_id=document_id)


def add_addendum(db: Session, *, actor: Therapist, client: Client, document_id: Any, text: Any):
    return records.add_addendum(db, actor=actor, client=client, document_id=document_id, text=text)


def withdraw_consent(db: Session, *, actor: Therapist, client: Client, document_id: Any,
                     withdrawn_date: dt.date, reason: Any = "") -> CareDocument:
    return records.withdraw_consent(db, actor=actor, client=client, document_id=document_id,
                                    withdrawn_date=withdrawn_date, reason=reason)


def audit_export(db: Session, *, actor: Therapist, client: Client, document_id: int) -> None:
    """A printed or downloaded document leaves the record: audited as an export."""
    audit(db, actor, "export", "care_document", entity_id=document_id, client_id=client.id)


def set_status(db: Session, *, actor: Therapist, client: Client, status: str) -> Client:
    """Put services on hold, resume them, or (without a discharge summary) mark the client discharged."""
    return service.set_client_status(db, actor=actor, client=client, status=status)


@dataclass(frozen=True)
class CareSummary:
    """What the care page and the client page's card show about one client."""

    status: str
    documents: list[CareDocument]
    consent: CareDocument | None  # the consent in force, if any
    intact: dict[int, bool]  # document id -> its signature and addenda still match their hashes

    def latest(self, kind: str) -> CareDocument | None:
        return records.latest(self.documents, kind)


def summary(db: Session, client: Client) -> CareSummary:
    return _summary(client, records.client_documents(db, client))


def _summary(client: Client, documents: list[CareDocument]) -> CareSummary:
    return CareSummary(status=client.status, documents=documents, consent=records.consent_in_force(documents),
                       intact={d.id: records.verify_document(d) for d in documents})


def overview_lines(db: Session, client: Client) -> list[str]:
    """The client page's and the progress report's lines about the course of care (manifest ``overview``)."""
    return overview_lines_of_clients(db, [client])[client.id]


def overview_lines_of_clients(db: Session, clients: Sequence[Client | ClientLine]) -> dict[int, list[str]]:
    """:func:`overview_lines` of many clients (already authorised; their ids and statuses are read) in one
    query: the dashboard's alerts (manifest ``overview_many``)."""
    documents = records.documents_of_clients(db, [client.id for client in clients])
    return {client.id: _lines(_summary(client, documents[client.id])) if client.id in documents
            else list(_lines_without_documents(client.status)) for client in clients}


@lru_cache(maxsize=len(CLIENT_STATUSES))
def _lines_without_documents(status: str) -> tuple[str, ...]:
    # Most clients of a page have no care document yet: their lines depend on the status alone.
    return tuple(_lines(CareSummary(status=status, documents=[], consent=None, intact={})))


def _lines(found: CareSummary) -> list[str]:
    lines = [f"Status: {found.status.replace('_', ' ')}"]
    referral = found.latest("referral")
    if referral is not None:
        lines.append(f"Referred {referral.document_date.isoformat()} by {referral.content['referred_by']} "
                     f"({referral.content['decision']})")
    if found.consent is not None:
        who = "the client" if found.consent.content["consented_by"] == "client" else (
            f"legal representative ({found.consent.content['representative_role']})")
        lines.append(f"Consent given {found.consent.document_date.isoformat()} by {who}")
    elif any(d.kind == "consent" for d in found.documents):
        lines.append("Alert: the consent was withdrawn or refused; no consent is in force")
    elif found.status != "discharged":
        lines.append("Alert: no informed consent recorded")
    for kind in ("assessment", "plan", "discharge"):
        doc = found.latest(kind)
        if doc is not None:
            lines.append(f"{doc.title}: {doc.document_date.isoformat()}" + ("" if doc.is_signed else " (not signed)"))
    broken = [d.id for d in found.documents if not found.intact[d.id]]
    if broken:
        lines.append(f"Alert: signed document(s) {broken} no longer match their signature")
    return lines


# --- group sessions ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberInput:
    """One client of a group session: attended or not, and their own note."""

    client_id: int
    attended: bool = True
    note: str = ""


def _check_group(title: Any, session_date: Any, minutes: Any, intervention_code: Any, setting: Any,
                 group_note: Any, members: Any) -> tuple[str, str, str, list[MemberInput]]:
    from cadenza.evidence.query import get_intervention

    title = records.check_text("title", title, records.MAX_SHORT_CHARS, required=True)
    records.check_date("session_date", session_date)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 < minutes <= records.MAX_SESSION_MINUTES:
        raise ParameterError(f"minutes must be a whole number 1..{records.MAX_SESSION_MINUTES}, got {minutes!r}")
    try:
        get_intervention(intervention_code)
    except NotFoundError as exc:
        raise ParameterError(str(exc)) from None
    setting = records.check_text("setting", setting, MAX_SETTING_CHARS)
    group_note = records.check_text("group_note", group_note, records.MAX_TEXT_CHARS)
    if isinstance(members, (str, bytes, Mapping)) or not isinstance(members, Sequence) or not members:
        raise ParameterError(f"members must list at least one client, got {members!r}")
    if len(members) > MAX_GROUP_MEMBERS:
        raise ParameterError(f"members must be at most {MAX_GROUP_MEMBERS} clients, got {len(members)}")
    checked = []
    for i, member in enumerate(members):
        if not isinstance(member, MemberInput) or not isinstance(member.attended, bool):
            raise ParameterError(f"members[{i}] must be a MemberInput, got {member!r}")
        checked.append(MemberInput(member.client_id, member.attended,
                                   records.check_text(f"members[{i}].note", member.note, records.MAX_TEXT_CHARS)))
    ids = [m.client_id for m in checked]
    if len(set(ids)) != len(ids):
        raise ParameterError(f"members names a client twice: {ids!r}")
    return title, setting, group_note, checked


def record_group_session(db: Session, *, actor: Therapist, title: str, session_date: dt.date, minutes: int,
                         intervention_code: str, members: Sequence[MemberInput], setting: str = "",
                         group_note: str = "", authorised: Sequence[Client] = ()) -> GroupSession:
    """One session with several clients, all or nothing. Every client must be the actor's (another
    therapist's client is reported as not found). Each attending client gets an ordinary session in their
    own record: the group's date, length and intervention, the group note as the objective part and their
    own note as the assessment, so it can be signed, measured and exported like any other. ``authorised``:
    clients the caller already authorised for writing (the page's client), not checked and audited twice."""
    title, setting, group_note, members = _check_group(title, session_date, minutes, intervention_code, setting,
                                                       group_note, members)
    known = {c.id: c for c in authorised}
    clients = [known.get(m.client_id) or get_client_for_actor(db, actor=actor, client_id=m.client_id, action="update")
               for m in members]
    group = GroupSession(therapist_id=actor.id, title=title, session_date=session_date, minutes=minutes,
                         intervention_code=intervention_code, setting=setting, group_note=group_note)
    db.add(group)
    db.flush()
    audit(db, actor, "create", "group_session", entity_id=group.id)
    for member, client in zip(members, clients, strict=True):
        session_id = None
        if member.attended:
            row = TherapySession(client_id=client.id, therapist_id=actor.id, session_date=session_date,
                                 minutes=minutes, intervention_code=intervention_code, setting=setting,
                                 soap_objective=f"Group session '{title}'. {group_note}".strip(),
                                 soap_assessment=member.note)
            db.add(row)
            db.flush()
            audit(db, actor, "create", "therapy_session", entity_id=row.id, client_id=client.id)
            session_id = row.id
        db.add(GroupMember(group_session_id=group.id, client_id=client.id, attended=member.attended,
                           note=member.note, therapy_session_id=session_id))
        audit(db, actor, "create", "group_member", entity_id=group.id, client_id=client.id)
    db.flush()
    db.refresh(group, attribute_names=["members"])
    return group


def group_clients(db: Session, *, actor: Therapist, group: GroupSession) -> dict[int, Client]:
    """The group's clients by id, each read authorised and audited (the group is the actor's own)."""
    return {m.client_id: get_client_for_actor(db, actor=actor, client_id=m.client_id) for m in group.members}


def statuses() -> tuple[str, ...]:
    return CLIENT_STATUSES


def member_of(group: GroupSession, client_id: int) -> GroupMember | None:
    return next((m for m in group.members if m.client_id == client_id), None)
