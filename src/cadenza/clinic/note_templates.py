"""Note templates: headings and prompts a therapist picks to start a session note.

The note is stored in four boxes (subjective, objective, assessment, plan). The built-in templates map
the common progress-note formats onto them: SOAP as is, DAP (Data, Assessment, Plan) and BIRP (Behaviour,
Intervention, Response, Plan) with their sections in the matching boxes, and one for a music-therapy
session's flow. A therapist may also save their own (:class:`NoteTemplate`, private to the account).

A template only *prefills*: :func:`apply_template` fills the boxes that are still empty and never
changes text already typed, whatever the template holds. A template is a working aid, not part of the
record: it is not audited, exported or signed; the note it started is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic.accounts import check_actor
from cadenza.clinic.access import is_row_id
from cadenza.clinic.models import Base, Therapist, utcnow
from cadenza.errors import ConflictError, NotFoundError, ParameterError

NOTE_FIELDS = ("subjective", "objective", "assessment", "plan")
MAX_NAME_CHARS = 80
MAX_FIELD_CHARS = 4000
MAX_TEMPLATES_PER_THERAPIST = 50
_NAME = re.compile(r"\S.{0,79}", re.DOTALL)


@dataclass(frozen=True)
class TemplateText:
    """A template's text for each of the four note boxes; ``key`` is ``builtin:<code>`` or ``mine:<id>``."""

    key: str
    name: str
    description: str
    subjective: str = ""
    objective: str = ""
    assessment: str = ""
    plan: str = ""

    def fields(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in NOTE_FIELDS}


BUILTIN_TEMPLATES: tuple[TemplateText, ...] = (
    TemplateText(
        "builtin:soap", "SOAP", "Subjective, Objective, Assessment, Plan: the record's own four boxes.",
        subjective="Client/caregiver report: \nMood and concerns on arrival: ",
        objective="Music interventions and materials: \nObserved responses (engagement, motor, vocal, social): \n"
                  "Measures taken: ",
        assessment="Progress toward goals: \nClinical impression: ",
        plan="Next session: \nHome practice: ",
    ),
    TemplateText(
        "builtin:dap", "DAP", "Data, Assessment, Plan: the data go in the first two boxes.",
        subjective="Data (reported): ",
        objective="Data (observed, including music interventions and responses): ",
        assessment="Assessment (meaning of the data, progress toward goals): ",
        plan="Plan (next steps, next session, home practice): ",
    ),
    TemplateText(
        "builtin:birp", "BIRP", "Behaviour, Intervention, Response, Plan.",
        subjective="Behaviour (presentation and what the client reported): ",
        objective="Intervention (music experiences used and why): ",
        assessment="Response (how the client responded; progress toward goals): ",
        plan="Plan (next session, adjustments, home practice): ",
    ),
    TemplateText(
        "builtin:mt_session", "Music-therapy session flow", "Hello song, main experiences, closing.",
        subjective="Check-in (mood, energy, pain, what the client brought): ",
        objective="Opening/hello: \nMain experience(s) (active or receptive; tempo, instruments, songs): \n"
                  "Closing/goodbye: ",
        assessment="Engagement and response to the music; change since last session: ",
        plan="Carry forward: \nAdjust: ",
    ),
)


class NoteTemplate(Base):
    """A therapist's own note template (private to the account)."""

    __tablename__ = "note_template"
    __table_args__ = (UniqueConstraint("therapist_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_CHARS))
    subjective: Mapped[str] = mapped_column(Text)
    objective: Mapped[str] = mapped_column(Text)
    assessment: Mapped[str] = mapped_column(Text)
    plan: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def text(self) -> TemplateText:
        return TemplateText(f"mine:{self.id}", self.name, "Your template.", self.subjective, self.objective,
                            self.assessment, self.plan)


def apply_template(values: Mapping[str, str], template: TemplateText) -> tuple[dict[str, str], list[str]]:
    """``values`` with each empty note box filled from ``template``, and the boxes left as typed because
    they already held text (only whitespace counts as empty). Nothing typed is ever replaced.

    >>> t = BUILTIN_TEMPLATES[1]
    >>> filled, kept = apply_template({"subjective": "Slept badly.", "plan": "  "}, t)
    >>> filled["subjective"], filled["plan"].startswith("Plan"), kept
    ('Slept badly.', True, ['subjective'])
    """
    filled = dict(values)
    kept = []
    for name in NOTE_FIELDS:
        current = filled.get(name) or ""
        if current.strip():
            kept.append(name)
        else:
            filled[name] = getattr(template, name)
    return filled, kept


def _check_text(name: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_FIELD_CHARS:
        raise ParameterError(f"{name} must be text of at most {MAX_FIELD_CHARS} characters, got "
                             f"{value!r:.80}")
    return value.replace("\r\n", "\n")


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name.strip()):
        raise ParameterError(f"name must be 1-{MAX_NAME_CHARS} characters, got {name!r:.120}")
    return name.strip()


def my_templates(db: Session, *, actor: Therapist) -> list[NoteTemplate]:
    check_actor(actor)
    return list(db.scalars(select(NoteTemplate).where(NoteTemplate.therapist_id == actor.id)
                           .order_by(NoteTemplate.name, NoteTemplate.id)))


def available_templates(db: Session, *, actor: Therapist) -> list[TemplateText]:
    """The built-in templates, then the actor's own."""
    return [*BUILTIN_TEMPLATES, *(t.text() for t in my_templates(db, actor=actor))]


def find_template(db: Session, *, actor: Therapist, key: Any) -> TemplateText:
    """A built-in template (``builtin:soap``) or one of the actor's own (``mine:<id>``); another
    therapist's template is not found, like a missing one."""
    check_actor(actor)
    if isinstance(key, str):
        for template in BUILTIN_TEMPLATES:
            if template.key == key:
                return template
        kind, _, raw_id = key.partition(":")
        if kind == "mine" and raw_id.isdigit() and is_row_id(int(raw_id)):
            row = db.get(NoteTemplate, int(raw_id))
            if row is not None and row.therapist_id == actor.id:
                return row.text()
    raise NotFoundError(f"note template {key!r:.80} not found")


def save_template(db: Session, *, actor: Therapist, name: str, fields: Mapping[str, str]) -> NoteTemplate:
    """Save the actor's own template; its name is unique among the actor's templates."""
    check_actor(actor)
    name = _check_name(name)
    texts = {field: _check_text(field, fields.get(field, "")) for field in NOTE_FIELDS}
    if not any(text.strip() for text in texts.values()):
        raise ParameterError("fields: a template needs text in at least one of subjective, objective, "
                             "assessment or plan, got none")
    mine = my_templates(db, actor=actor)
    if any(t.name.lower() == name.lower() for t in mine):
        raise ConflictError(f"name: you already have a template called {name!r}")
    if len(mine) >= MAX_TEMPLATES_PER_THERAPIST:
        raise ConflictError(f"you have {len(mine)} templates, the most kept per account; delete one first")
    row = NoteTemplate(therapist_id=actor.id, name=name, **texts)
    db.add(row)
    db.flush()
    return row


def delete_template(db: Session, *, actor: Therapist, template_id: Any) -> None:
    """Delete one of the actor's own templates (notes it started are not touched)."""
    check_actor(actor)
    row = db.get(NoteTemplate, template_id) if is_row_id(template_id) else None
    if row is None or row.therapist_id != actor.id:
        raise NotFoundError(f"note template {template_id!r} not found")
    db.delete(row)
    db.flush()
