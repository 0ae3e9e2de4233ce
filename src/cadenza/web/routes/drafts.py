"""Drafts of the forms being typed (walk-through problem 1): saved as the therapist types, shown again.

``web/static/drafts.js`` posts a drafted form (one carrying the hidden ``draft_key`` field, the page it
belongs to) to ``POST /drafts`` a moment after each change. A form page restores the draft with
:func:`restore_draft` and offers to discard it; saving the form for real discards it
(:func:`saved`). A form sent after the login lapsed is kept by ``deps.current_user_page`` instead.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cadenza.clinic import drafts
from cadenza.clinic.models import Therapist
from cadenza.errors import ParameterError
from cadenza.web import forms
from cadenza.web.deps import DRAFT_KEY_FIELD, CsrfPageUser, Db, SubmittedForm

router = APIRouter(include_in_schema=False)


def restore_draft(db: Session, user: Therapist, request: Request, state: forms.FormState) -> drafts.FormDraft | None:
    """Put the user's draft of this page (if any) over ``state``'s values; the draft, for the page's notice."""
    draft = drafts.get_draft(db, actor=user, form_key=request.url.path)
    if draft is not None:
        state.values.update(draft.values())
    return draft


def saved(db: Session, user: Therapist, form_key: str) -> None:
    """The form at ``form_key`` was saved: its draft is no longer needed."""
    drafts.discard_draft(db, actor=user, form_key=form_key)


def _form_key(form) -> str:
    key = form.get(DRAFT_KEY_FIELD)
    return drafts.validate_form_key(key if isinstance(key, str) else "")


@router.post("/drafts")
def save_draft_page(form: SubmittedForm, db: Db, user: CsrfPageUser) -> Response:
    """Keep what the user has typed so far into the form named by ``draft_key`` (JSON: when it was saved)."""
    try:
        draft = drafts.save_draft(db, actor=user, form_key=_form_key(form), fields=form.multi_items())
    except ParameterError as exc:
        db.rollback()
        return JSONResponse({"detail": str(exc)}, status_code=422)
    return JSONResponse({"saved_at": draft.saved_at.isoformat()})


@router.post("/drafts/discard")
def discard_draft_page(form: SubmittedForm, db: Db, user: CsrfPageUser) -> Response:
    """Throw the draft away and open the form as it is without it."""
    form_key = _form_key(form)
    drafts.discard_draft(db, actor=user, form_key=form_key)
    return RedirectResponse(form_key, status_code=303)
