"""Drafts of forms being typed: nothing typed is lost when a login times out (walk-through problem 1).

A draft is what one therapist has typed into one form so far, kept server-side: one row per
``(therapist, form)``, the form named by its page path (``/clients/7/sessions/new``). The page's script
(``web/static/drafts.js``) saves it a moment after each change; a form sent after the login lapsed is
kept the same way by the web layer before it asks for the login again, and the form page shows the
draft once the same therapist is back. Saving the form for real discards its draft.

A draft is not part of the record: it is not audited, signed or exported, and it is dropped after
:data:`DRAFT_TTL`. It is text the therapist typed, readable only by that therapist (never by an
administrator or under an emergency grant). Its size is capped (:data:`MAX_DRAFT_CHARS`) and each
therapist keeps at most :data:`MAX_DRAFTS_PER_THERAPIST` (the oldest go first).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cadenza.clinic.models import Base, Therapist, utcnow
from cadenza.errors import ParameterError

DRAFT_TTL = dt.timedelta(days=30)
MAX_DRAFT_CHARS = 200_000
MAX_DRAFTS_PER_THERAPIST = 20
MAX_FORM_KEY_CHARS = 200
# Fields that are never part of a draft: the login's token, the draft's own name, and the hidden fields
# a page sets afresh each time (a one-time form id, the version of the note being amended).
NOT_DRAFTED = frozenset({"csrf_token", "draft_key", "form_id", "version"})
_FORM_KEY = re.compile(r"/(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+")


class FormDraft(Base):
    """What one therapist has typed so far into one form, as ``[[name, value], ...]`` JSON."""

    __tablename__ = "form_draft"
    __table_args__ = (UniqueConstraint("therapist_id", "form_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("therapist.id", ondelete="CASCADE"))
    form_key: Mapped[str] = mapped_column(String(MAX_FORM_KEY_CHARS))
    fields_json: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    @property
    def fields(self) -> list[tuple[str, str]]:
        return [(name, value) for name, value in json.loads(self.fields_json)]

    def values(self) -> dict[str, str]:
        """The fields as a form's values (for a repeated name, the last one)."""
        return dict(self.fields)


def validate_form_key(form_key: str) -> str:
    """``form_key`` if it is a page path of this app (``/clients/7/sessions/new``), else ParameterError.

    >>> validate_form_key("/clients/7/sessions/new")
    '/clients/7/sessions/new'
    >>> validate_form_key("//evil.example/x")
    Traceback (most recent call last):
    ...
    cadenza.errors.ParameterError: form_key must be a path of this app such as '/clients/7/sessions/new', got '//evil.example/x'
    """
    if not isinstance(form_key, str) or len(form_key) > MAX_FORM_KEY_CHARS or not _FORM_KEY.fullmatch(form_key):
        raise ParameterError(f"form_key must be a path of this app such as '/clients/7/sessions/new', got {form_key!r}")
    return form_key


def _drafted_fields(fields: Iterable[tuple[str, object]]) -> list[tuple[str, str]]:
    kept = [(str(name), value.replace("\x00", "")) for name, value in fields
            if isinstance(value, str) and name not in NOT_DRAFTED]
    size = sum(len(name) + len(value) for name, value in kept)
    if size > MAX_DRAFT_CHARS:
        raise ParameterError(f"draft is {size:,} characters; the limit is {MAX_DRAFT_CHARS:,}")
    return kept


def save_draft(db: Session, *, actor: Therapist, form_key: str, fields: Iterable[tuple[str, object]],
               now: dt.datetime | None = None) -> FormDraft:
    """Keep ``fields`` (name, text) as ``actor``'s draft of the form at ``form_key``, replacing the last.

    Uploads and the hidden fields in :data:`NOT_DRAFTED` are left out. Flushes; the caller commits.
    """
    validate_form_key(form_key)
    kept = _drafted_fields(fields)
    now = now or utcnow()
    db.execute(delete(FormDraft).where(FormDraft.saved_at < now - DRAFT_TTL))
    draft = db.scalar(select(FormDraft).where(FormDraft.therapist_id == actor.id, FormDraft.form_key == form_key))
    if draft is None:
        draft = FormDraft(therapist_id=actor.id, form_key=form_key)
        db.add(draft)
    draft.fields_json = json.dumps(kept, ensure_ascii=False)
    draft.saved_at = now
    db.flush()
    stale = db.scalars(select(FormDraft.id).where(FormDraft.therapist_id == actor.id)
                       .order_by(FormDraft.saved_at.desc(), FormDraft.id.desc())
                       .offset(MAX_DRAFTS_PER_THERAPIST)).all()
    if stale:
        db.execute(delete(FormDraft).where(FormDraft.id.in_(stale)))
        db.flush()
    return draft


def get_draft(db: Session, *, actor: Therapist, form_key: str, now: dt.datetime | None = None) -> FormDraft | None:
    """``actor``'s draft of the form at ``form_key``, or None (none kept, or older than :data:`DRAFT_TTL`)."""
    validate_form_key(form_key)
    now = now or utcnow()
    return db.scalar(select(FormDraft).where(FormDraft.therapist_id == actor.id, FormDraft.form_key == form_key,
                                             FormDraft.saved_at >= now - DRAFT_TTL))


def discard_draft(db: Session, *, actor: Therapist, form_key: str) -> None:
    """Drop ``actor``'s draft of the form at ``form_key`` (the form was saved, or the draft thrown away)."""
    validate_form_key(form_key)
    db.execute(delete(FormDraft).where(FormDraft.therapist_id == actor.id, FormDraft.form_key == form_key))
    db.flush()
