"""Account administration pages (admins only), emergency ("break-glass") access, and the therapist's
own API tokens page."""

from __future__ import annotations

from typing import Annotated

import datetime as dt

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import object_session

from urllib.parse import urlencode

from cadenza.clinic import audit_log, auth, emergency, reassignment, service
from cadenza.errors import ConflictError, NotFoundError, ParameterError
from cadenza.web import deps, forms
from cadenza.web.deps import (
    AdminApiUser,
    AdminPageUser,
    CsrfAdminUser,
    CsrfPasswordUser,
    CsrfPageUser,
    Db,
    PasswordPageUser,
    PageUser,
    SubmittedForm,
)
from cadenza.web.templating import render, templates

router = APIRouter(include_in_schema=False)

Username = Annotated[str, Path(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]
GrantId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _therapists_page(request: Request, db, user, state: forms.FormState, *, status: int = 200,
                     reset: tuple[str, str] | None = None, moved: reassignment.Reassignment | None = None,
                     move_state: forms.FormState | None = None) -> Response:
    therapists = service.list_therapists(db, actor=user)
    return render(
        request,
        "admin_therapists.html",
        {"therapists": therapists, "state": state, "min_password": auth.MIN_PASSWORD_CHARS,
         "caseloads": reassignment.caseload_sizes(db, actor=user), "reset": reset, "moved": moved,
         "move_state": move_state or forms.FormState(values={}),
         "active_usernames": [t.username for t in therapists if t.active]},
        status_code=status,
    )


@router.get("/admin/therapists")
def therapists_page(request: Request, db: Db, user: AdminPageUser) -> Response:
    return _therapists_page(request, db, user, forms.FormState(values={"role": "therapist", "must_change": "on"}))


@router.post("/admin/therapists")
def create_therapist_page(request: Request, form: SubmittedForm, db: Db, user: CsrfAdminUser) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    password = state.values.pop("password", "")  # never echoed back into the page
    try:
        service.create_therapist(
            db, actor=user, username=state.values.get("username", "").strip(), password=password,
            role=state.values.get("role", "therapist"), must_change_password=bool(state.values.get("must_change")),
        )
        return RedirectResponse("/admin/therapists", status_code=303)
    except (ParameterError, ConflictError) as exc:
        db.rollback()
        forms.attribute_error(state, str(exc), ("password", "username", "role"))
    return _therapists_page(request, db, user, state, status=422)


@router.post("/admin/therapists/{username}/active")
def set_active_page(request: Request, form: SubmittedForm, db: Db, user: CsrfAdminUser, username: Username) -> Response:
    auth.set_therapist_active(db, actor=user, username=username, active=form.get("active") == "true")
    return RedirectResponse("/admin/therapists", status_code=303)


@router.post("/admin/therapists/{username}/password-reset")
def reset_password_page(request: Request, db: Db, user: CsrfAdminUser, username: Username) -> Response:
    """A temporary password for a therapist who forgot theirs, shown on this response only; they must
    choose their own at the next login."""
    try:
        password = auth.reset_password(db, actor=user, username=username)
    except ParameterError as exc:
        db.rollback()
        state = forms.FormState(values={"role": "therapist", "must_change": "on"})
        state.error("_form", str(exc))
        return _therapists_page(request, db, user, state, status=422)
    return _therapists_page(request, db, user, forms.FormState(values={"role": "therapist", "must_change": "on"}),
                            reset=(username, password))


def _codes(raw: str) -> list[str] | None:
    codes = [c for c in raw.replace(",", " ").split() if c]
    return codes or None


@router.post("/admin/caseload")
def reassign_caseload_page(request: Request, form: SubmittedForm, db: Db, user: CsrfAdminUser) -> Response:
    """Move a therapist's clients (all, or the codes typed) to another therapist."""
    move_state = forms.FormState(values=forms.form_values(form))
    fresh = forms.FormState(values={"role": "therapist", "must_change": "on"})
    source = move_state.values.get("from_username", "").strip()
    target = move_state.values.get("to_username", "").strip()
    if not source:
        move_state.error("from_username", "from_username is required: whose clients move?")
    if not target:
        move_state.error("to_username", "to_username is required: who takes them over?")
    if move_state.ok:
        try:
            moved = reassignment.reassign_caseload(db, actor=user, from_username=source, to_username=target,
                                               codes=_codes(move_state.values.get("codes", "")))
            return _therapists_page(request, db, user, fresh, moved=moved)
        except (ParameterError, ConflictError, NotFoundError) as exc:
            db.rollback()
            forms.attribute_error(move_state, str(exc), ("to_username", "from_username", "codes"), fallback="codes")
    return _therapists_page(request, db, user, fresh, move_state=move_state, status=422)


# ---- the audit trail, for administrators (clinic.audit_log) -----------------------------------------

AUDIT_PAGE_ROWS = 50


def _chain_status(db) -> str:
    from cadenza.clinic.audit_chain import verify_chain

    try:
        return verify_chain(db).summary()
    except ParameterError as exc:  # e.g. the key file is missing
        return f"audit chain cannot be verified here: {exc}"


@router.get("/admin/audit")
def audit_log_page(request: Request, db: Db, user: AdminPageUser) -> Response:
    """The audit trail filtered by user, client, action and dates, newest first, with the chain's state."""
    state = forms.FormState(values=forms.form_values(request.query_params))
    client_id = forms.parse_id(state, "client_id", required=False)
    since = forms.parse_date(state, "since", required=False)
    until = forms.parse_date(state, "until", required=False)
    before = forms.parse_id(state, "before", required=False)
    page = None
    if state.ok:
        try:
            page = audit_log.audit_page(db, actor=user, before_id=before, limit=AUDIT_PAGE_ROWS,
                                        filters=audit_log.AuditFilter(
                                            username=state.values.get("username", "").strip() or None,
                                            client_id=client_id, action=state.values.get("action", "").strip() or None,
                                            since_date=since, until_date=until))
        except ParameterError as exc:
            forms.attribute_error(state, str(exc), ("since", "until", "username", "action", "client_id"))
    next_query = None
    if page is not None and page.next_before_id is not None:
        kept = {k: v for k, v in state.values.items() if k != "before" and v}
        next_query = urlencode({**kept, "before": page.next_before_id})
    return render(request, "admin_audit.html",
                  # The chain is re-computed on the first page only: it walks every row (0.9 s for 20,000 rows
                  # on the 2-core test machine under load), so paging through older rows does not repeat it.
                  {"state": state, "page": page, "next_query": next_query,
                   "chain": _chain_status(db) if before is None else "",
                   "actions": audit_log.known_actions(db, actor=user),
                   "usernames": [t.username for t in service.list_therapists(db, actor=user)]},
                  status_code=200 if state.ok else 422)


@router.get("/account/password")
def password_page(request: Request, user: PasswordPageUser) -> Response:
    return render(request, "password.html", {"state": forms.FormState(values={}), "forced": user.must_change_password,
                                             "min_password": auth.MIN_PASSWORD_CHARS})


@router.post("/account/password")
def change_password_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPasswordUser) -> Response:
    forced = user.must_change_password
    state = forms.FormState(values={})  # passwords are never echoed back
    new_password = str(form.get("new_password", ""))
    if new_password != str(form.get("confirm_password", "")):
        state.error("confirm_password", "the two new passwords differ")
    else:
        try:
            auth.change_password(
                db, actor=user, current_password=str(form.get("current_password", "")), new_password=new_password,
                keep_session_token=request.cookies.get(deps.session_cookie_name(request)),
                ip_address=deps.client_ip(request),
            )
            if forced:  # the temporary password is gone: on to the page they came for (or enrolment)
                return RedirectResponse("/", status_code=303)
            return render(request, "password.html", {"state": state, "changed": True,
                                                     "min_password": auth.MIN_PASSWORD_CHARS})
        except ParameterError as exc:
            db.rollback()
            message = str(exc).replace("password must", "new_password must", 1)
            forms.attribute_error(state, message, ("current_password", "new_password"))
    return render(request, "password.html", {"state": state, "min_password": auth.MIN_PASSWORD_CHARS,
                                             "forced": forced}, status_code=422)


MAX_TOKEN_LABEL_CHARS = 64


def _tokens_page(request: Request, db, user, *, state: forms.FormState | None = None, new_token: str | None = None,
                 status: int = 200) -> Response:
    return render(request, "tokens.html", {"tokens": auth.list_api_tokens(db, therapist_id=user.id),
                                           "new_token": new_token, "state": state or forms.FormState(values={}),
                                           "max_label": MAX_TOKEN_LABEL_CHARS}, status_code=status)


@router.get("/account/tokens")
def tokens_page(request: Request, db: Db, user: PageUser) -> Response:
    return _tokens_page(request, db, user)


@router.post("/account/tokens")
def create_token_page(request: Request, form: SubmittedForm, db: Db, user: CsrfPageUser) -> Response:
    label = str(form.get("label", "")).replace("\x00", "").strip()
    state = forms.FormState(values={"label": label[:MAX_TOKEN_LABEL_CHARS]})  # the password is never echoed
    if len(label) > MAX_TOKEN_LABEL_CHARS:
        state.error("label", f"label must have at most {MAX_TOKEN_LABEL_CHARS} characters, got {len(label)}")
        return _tokens_page(request, db, user, state=state, status=422)
    # A bearer token outlives the session by months: minting one needs the password again (L2).
    try:
        auth.verify_current_password(db, actor=user, password=str(form.get("password", ""))[:1024],
                                     ip_address=deps.client_ip(request))
    except ParameterError as exc:
        db.rollback()
        forms.attribute_error(state, str(exc), ("password",))
        return _tokens_page(request, db, user, state=state, status=422)
    token, _ = auth.create_api_token(db, therapist_id=user.id, label=label)
    # Shown once, on this response only; the database keeps just its digest.
    return _tokens_page(request, db, user, new_token=token)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token_page(db: Db, user: CsrfPageUser, token_id: TokenId) -> Response:
    auth.revoke_api_token(db, therapist_id=user.id, token_id=token_id)
    return RedirectResponse("/account/tokens", status_code=303)


# ---- emergency ("break-glass") access --------------------------------------------------------------
# Administrators open one client's record for a few hours with a written reason (docs/web.md,
# cadenza.clinic.emergency); the owning therapist sees each opening on the client page and dashboard.


def _emergency_page(request: Request, db, user, state: forms.FormState, *, status: int = 200) -> Response:
    return render(
        request,
        "admin_emergency.html",
        {"grants": emergency.list_grants(db, actor=user), "state": state,
         "therapists": [t for t in service.list_therapists(db, actor=user) if t.active],
         "min_reason": emergency.MIN_REASON_CHARS, "max_reason": emergency.MAX_REASON_CHARS,
         "default_h": emergency.DEFAULT_DURATION_H, "max_h": emergency.MAX_DURATION_H},
        status_code=status,
    )


@router.get("/admin/emergency")
def emergency_page(request: Request, db: Db, user: AdminPageUser) -> Response:
    return _emergency_page(request, db, user, forms.FormState(values={"duration_h": f"{emergency.DEFAULT_DURATION_H:g}"}))


@router.post("/admin/emergency")
def grant_emergency_page(request: Request, form: SubmittedForm, db: Db, user: CsrfAdminUser) -> Response:
    state = forms.FormState(values=forms.form_values(form))
    duration_h = forms.parse_float(state, "duration_h")
    username = state.values.get("therapist", "").strip()
    code = state.values.get("client_code", "").strip()
    client_id = None
    if not username:
        state.error("therapist", "therapist is required: whose client is it?")
    if not code:
        state.error("client_code", "client_code is required")
    if state.ok:
        client_id = emergency.find_client_id(db, actor=user, therapist_username=username, code=code)
        if client_id is None:
            state.error("client_code", f"{username!r} has no client with code {code!r}")
    if state.ok:
        try:
            emergency.grant_emergency_access(db, actor=user, client_id=client_id,
                                             reason=state.values.get("reason", ""), duration_h=duration_h)
            return RedirectResponse(f"/clients/{client_id}", status_code=303)
        except (ParameterError, ConflictError, NotFoundError) as exc:
            db.rollback()
            forms.attribute_error(state, str(exc), ("reason", "duration_h", "client_id"))
    return _emergency_page(request, db, user, state, status=422)


@router.post("/admin/emergency/{grant_id}/revoke")
def revoke_emergency_page(request: Request, db: Db, user: CsrfAdminUser, grant_id: GrantId) -> Response:
    try:
        emergency.revoke_emergency_access(db, actor=user, grant_id=grant_id)
    except ConflictError:
        db.rollback()  # already ended: the list shows it so
    return RedirectResponse("/admin/emergency", status_code=303)


# The same for scripts and on-call tooling, with a bearer token (no CSRF; admins only, two-factor).


class EmergencyGrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field(max_length=emergency.MAX_REASON_CHARS)
    duration_h: float = emergency.DEFAULT_DURATION_H


# The API answers with the record's own view of a grant (FastAPI serialises the dataclass).
EmergencyGrantOut = emergency.GrantView


def _grant_out(db, grant_id: int, user) -> EmergencyGrantOut:
    return emergency.get_grant(db, actor=user, grant_id=grant_id)


@router.get("/api/v1/emergency-access", response_model=list[EmergencyGrantOut])
def list_emergency_api(db: Db, user: AdminApiUser) -> list[EmergencyGrantOut]:
    return list(emergency.list_grants(db, actor=user))


@router.post("/api/v1/emergency-access", response_model=EmergencyGrantOut, status_code=201)
def grant_emergency_api(body: EmergencyGrantIn, db: Db, user: AdminApiUser) -> EmergencyGrantOut:
    grant = emergency.grant_emergency_access(db, actor=user, client_id=body.client_id, reason=body.reason,
                                             duration_h=body.duration_h)
    return _grant_out(db, grant.id, user)


@router.post("/api/v1/emergency-access/{grant_id}/revoke", response_model=EmergencyGrantOut)
def revoke_emergency_api(db: Db, user: AdminApiUser, grant_id: GrantId) -> EmergencyGrantOut:
    emergency.revoke_emergency_access(db, actor=user, grant_id=grant_id)
    return _grant_out(db, grant_id, user)


def _client_notices(client) -> list[emergency.GrantView]:
    """For client.html: the record it shows was loaded through the ownership check in this request."""
    db = object_session(client)
    return emergency.notices_for_client(db, client=client) if db is not None else []


def _dashboard_notices(clients, user) -> list[emergency.GrantView]:
    """For dashboard.html: openings of the user's records; the session comes from the rows given (the page's
    logged-in therapist)."""
    db = next((object_session(c) for c in clients if object_session(c) is not None), None)
    return emergency.notices_for_therapist(db, therapist_id=user.id) if db is not None and user else []


templates.env.globals["emergency_notices_for_client"] = _client_notices
templates.env.globals["emergency_notices_for_dashboard"] = _dashboard_notices
