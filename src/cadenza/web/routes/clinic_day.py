"""The clinic day (issue 16): the client list with search and filters, planned sessions, note templates.

The dashboard's "today" view is on ``/`` (``routes/clients.py``); the queries behind these pages are in
:mod:`cadenza.clinic.caseload`, :mod:`cadenza.clinic.schedule` and :mod:`cadenza.clinic.note_templates`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from cadenza.clinic import caseload, listening, note_templates, schedule, service
from cadenza.errors import ConflictError, ParameterError
from cadenza.web import forms
from cadenza.web.deps import CsrfPageUser, Db, PageUser, SubmittedForm
from cadenza.web.routes.clients import FLAG_LABELS
from cadenza.web.templating import render

router = APIRouter(include_in_schema=False)

ClientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
LIST_PAGE_SIZE = 50


# ---- the client list -------------------------------------------------------------------------------

@router.get("/clients")
def clients_list_page(request: Request, db: Db, user: PageUser,
                      q: Annotated[str, Query(max_length=caseload.MAX_QUERY_CHARS)] = "",
                      therapist: Annotated[str, Query(pattern=r"^(|all|[1-9][0-9]{0,9})$")] = "",
                      condition: Annotated[str, Query(max_length=200)] = "",
                      unsigned: Annotated[str, Query(pattern=r"^(|yes)$")] = "",
                      status: Annotated[str, Query(pattern=r"^(|active|on_hold|discharged)$")] = "",
                      after: Annotated[str, Query(max_length=80)] = "",
                      limit: Annotated[int, Query(ge=1, le=caseload.MAX_PAGE_SIZE)] = LIST_PAGE_SIZE) -> Response:
    """Search by code and filter by therapist (administrators), condition, status of care and unsigned notes;
    keyset pages."""
    if therapist == "all":
        therapist_id = None
    elif therapist:
        therapist_id = int(therapist)
    else:
        therapist_id = user.id
    state = forms.FormState(values={"q": q, "therapist": therapist, "condition": condition, "unsigned": unsigned,
                                    "status": status})
    page = None
    try:
        page = caseload.find_clients(db, actor=user, query=q, therapist_id=therapist_id, condition=condition,
                                     unsigned_only=unsigned == "yes", after=after or None, limit=limit,
                                     status=status)
    except ParameterError as exc:
        db.rollback()
        forms.attribute_error(state, str(exc), ("q", "therapist_id", "condition", "status", "after", "query"))
    therapists = service.list_therapists(db, actor=user) if user.is_admin else []
    return render(request, "clients.html",
                  {"page": page, "state": state, "therapists": therapists,
                   "conditions": caseload.list_conditions(db, actor=user),
                   "own_only": therapist_id == user.id},
                  status_code=200 if page is not None else 422)


# ---- planned sessions ------------------------------------------------------------------------------

def _plan_form(request: Request, db, user, client_id: int, state: forms.FormState, *, status: int = 200) -> Response:
    client = service.get_client(db, actor=user, client_id=client_id)
    return render(request, "plan_form.html",
                  {"c": client, "state": state, "planned": schedule.client_planned(db, client=client),
                   "policy": listening.policy_of(client), "flag_labels": FLAG_LABELS},
                  status_code=status)


@router.get("/clients/{client_id}/plan")
def plan_page(request: Request, db: Db, user: PageUser, client_id: ClientId) -> Response:
    today = dt.datetime.now(dt.UTC).date()
    return _plan_form(request, db, user, client_id, forms.FormState(
        values={"planned_date": (today + dt.timedelta(days=7)).isoformat(), "minutes": "45"}))


@router.post("/clients/{client_id}/plan")
def create_plan_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser, client_id: ClientId) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    planned_date = forms.parse_date(state, "planned_date")
    minutes = forms.parse_int(state, "minutes", minimum=1, maximum=schedule.MAX_PLANNED_MINUTES)
    start_time = _parse_time(state, "start_time")
    if state.ok:
        try:
            schedule.plan_session(db, actor=user, client_id=client_id, planned_date=planned_date, minutes=minutes,
                                  start_time=start_time, purpose=state.values.get("purpose", ""))
            return RedirectResponse(f"/clients/{client_id}/plan#planned", status_code=303)
        except ParameterError as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), ("planned_date", "minutes", "start_time", "purpose"))
    return _plan_form(request, db, user, client_id, state, status=422)


def _parse_time(state: forms.FormState, name: str) -> dt.time | None:
    raw = state.values.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.time.fromisoformat(raw)
    except ValueError:
        state.error(name, f"{name} must be a time of day HH:MM, got {forms.shown(raw)}")
        return None


@router.post("/clients/{client_id}/planned/{planned_id}/cancel")
def cancel_plan_page(request: Request, db: Db, user: CsrfPageUser, client_id: ClientId, planned_id: RowId) -> Response:
    try:
        schedule.cancel_planned(db, actor=user, client_id=client_id, planned_id=planned_id)
    except ConflictError as exc:
        db.rollback()
        state = forms.FormState(values={})
        state.error("_form", str(exc))
        return _plan_form(request, db, user, client_id, state, status=409)
    return RedirectResponse(f"/clients/{client_id}/plan#planned", status_code=303)


# ---- note templates --------------------------------------------------------------------------------

def _templates_page(request: Request, db, user, state: forms.FormState, *, status: int = 200) -> Response:
    return render(request, "note_templates.html",
                  {"state": state, "builtin": note_templates.BUILTIN_TEMPLATES,
                   "mine": note_templates.my_templates(db, actor=user)}, status_code=status)


@router.get("/account/note-templates")
def note_templates_page(request: Request, db: Db, user: PageUser) -> Response:
    return _templates_page(request, db, user, forms.FormState(values={}))


@router.post("/account/note-templates")
def create_note_template_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    if state.ok:
        try:
            note_templates.save_template(db, actor=user, name=state.values.get("name", ""),
                                         fields={f: state.values.get(f, "") for f in note_templates.NOTE_FIELDS})
            return RedirectResponse("/account/note-templates#mine", status_code=303)
        except (ParameterError, ConflictError) as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), ("name", *note_templates.NOTE_FIELDS, "fields"))
    return _templates_page(request, db, user, state, status=422)


@router.post("/account/note-templates/{template_id}/delete")
def delete_note_template_page(db: Db, user: CsrfPageUser, template_id: RowId) -> Response:
    note_templates.delete_template(db, actor=user, template_id=template_id)  # another's: 404, like a missing one
    return RedirectResponse("/account/note-templates#mine", status_code=303)
