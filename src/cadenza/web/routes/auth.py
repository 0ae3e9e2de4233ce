"""Login and logout pages (server-side sessions), two-factor login (the code step and the
enrolment pages) and the API token endpoint."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import select

from cadenza.clinic import auth, service
from cadenza.clinic.models import AuditEvent, Therapist, utcnow
from cadenza.errors import ConflictError, ParameterError, PermissionDeniedError
from cadenza.web import deps, forms
from cadenza.web.deps import CsrfEnrollingUser, Db, EnrollingPageUser, SubmittedForm
from cadenza.web.templating import render
from cadenza.web.validators import no_nul

router = APIRouter()


def _safe_next(path: str | None) -> str:
    # Only same-site relative paths: "//evil.example" or "https://..." would be an open redirect.
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


ANONYMOUS_ACTOR = "anonymous"


def _audit_failed_login(request: Request, db, username: str) -> None:
    """Record a refused login as ``login_failed``, or ``login_lockout`` once the account or address is
    locked (the attempt that locks it and every attempt refused while it lasts).

    The actor is anonymous: nobody was authenticated. The targeted account is the entity when the
    username exists; the typed text itself is never stored (it is sometimes a password).
    """
    username = username.replace("\x00", "").strip()[:64]
    locked = auth.is_locked_out(db, username=username, ip_address=deps.client_ip(request).replace("\x00", "")[:64])
    target = db.scalar(select(Therapist.id).where(Therapist.username == username))
    db.add(AuditEvent(actor_id=None, actor_username=ANONYMOUS_ACTOR, action="login_lockout" if locked else "login_failed",
                      entity="therapist", entity_id=target, client_id=None, at=utcnow()))


def _login_page(request: Request, *, next_path: str, username: str = "", error: str = "", status: int = 200,
                draft_kept: bool = False) -> Response:
    token = request.cookies.get(deps.LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "next_path": _safe_next(next_path), "username": username, "error": error,
         "draft_kept": draft_kept},
        status_code=status,
    )
    response.set_cookie(
        deps.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str = "/", kept: bool = False) -> Response:
    """The login form; ``kept``: a form sent after the login lapsed was kept as a draft of ``next``."""
    return _login_page(request, next_path=next, draft_kept=kept)


def _login_form_fresh(request: Request, csrf_token: str) -> bool:
    """The login (or code) form was sent from this browser's own page: its token matches the cookie."""
    cookie_token = request.cookies.get(deps.LOGIN_CSRF_COOKIE, "")
    return bool(cookie_token) and auth.csrf_matches(cookie_token, csrf_token)


@router.post("/login", include_in_schema=False)
def login_submit(
    request: Request,
    db: Db,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if not _login_form_fresh(request, csrf_token):
        return _login_page(
            request, next_path=next, username=username,
            error="The login form expired; please try again.", status=403,
        )
    try:
        grant = auth.login(db, username=username, password=password, ip_address=deps.client_ip(request))
    except PermissionDeniedError as exc:
        _audit_failed_login(request, db, username)
        return _login_page(request, next_path=next, username=username, error=str(exc), status=401)
    if isinstance(grant, auth.MfaChallengeGrant):
        # Not a login yet: the session (and its "login" audit row) opens once the code is right.
        response = RedirectResponse(f"/login/mfa?next={quote(_safe_next(next), safe='/')}", status_code=303)
        response.set_cookie(
            deps.mfa_pending_cookie_name(request), grant.token, httponly=True, samesite="strict",
            secure=request.url.scheme == "https", path="/",
            max_age=int(auth.MFA_CHALLENGE_LIFETIME.total_seconds()),
        )
        return response
    return _session_response(request, db, grant, next_path=next)


def _session_response(request: Request, db, grant: auth.SessionGrant, *, next_path: str) -> Response:
    service.audit(db, grant.therapist, "login", "therapist", entity_id=grant.therapist.id)
    response = RedirectResponse(_safe_next(next_path), status_code=303)
    # A fresh token at every login: a cookie planted before login is never promoted (session fixation).
    response.set_cookie(
        deps.session_cookie_name(request),
        grant.token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(deps.LOGIN_CSRF_COOKIE)
    _forget_challenge(request, response)
    return response


def _forget_challenge(request: Request, response: Response) -> None:
    response.delete_cookie(deps.mfa_pending_cookie_name(request), path="/", secure=request.url.scheme == "https",
                           httponly=True, samesite="strict")


def _code_page(request: Request, *, next_path: str, error: str = "", status: int = 200) -> Response:
    token = request.cookies.get(deps.LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "login_mfa.html",
                      {"login_csrf": token, "next_path": _safe_next(next_path), "error": error,
                       "digits": auth.MFA_DIGITS},
                      status_code=status)
    response.set_cookie(
        deps.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.get("/login/mfa", include_in_schema=False)
def login_code_form(request: Request, next: str = "/") -> Response:
    """The second step; without a pending password step there is nothing to ask for."""
    if not request.cookies.get(deps.mfa_pending_cookie_name(request)):
        return RedirectResponse("/login", status_code=303)
    return _code_page(request, next_path=next)


@router.post("/login/mfa", include_in_schema=False)
def login_code_submit(
    request: Request,
    db: Db,
    code: Annotated[str, Form(max_length=32)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if not _login_form_fresh(request, csrf_token):
        return _code_page(request, next_path=next, error="The form expired; please try again.", status=403)
    try:
        grant = auth.complete_mfa_login(
            db, challenge_token=request.cookies.get(deps.mfa_pending_cookie_name(request)), code=code,
            ip_address=deps.client_ip(request),
        )
    except auth.MfaChallengeExpired as exc:
        response = _login_page(request, next_path=next, error=str(exc), status=401)
        _forget_challenge(request, response)
        return response
    except PermissionDeniedError as exc:
        return _code_page(request, next_path=next, error=str(exc), status=401)
    return _session_response(request, db, grant, next_path=next)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, db: Db, user: CsrfEnrollingUser) -> Response:
    auth.logout(db, request.cookies.get(deps.session_cookie_name(request)))
    service.audit(db, user, "logout", "therapist", entity_id=user.id)
    response = RedirectResponse("/login", status_code=303)
    # Browsers drop a __Host- cookie only when the deletion carries the same attributes.
    response.delete_cookie(deps.session_cookie_name(request), path="/", secure=request.url.scheme == "https",
                           httponly=True, samesite="lax")
    return response


class TokenRequest(BaseModel):
    # NUL cannot reach PostgreSQL text (a 500 there): refused in the stored fields.
    username: Annotated[str, Field(max_length=64), AfterValidator(no_nul)]
    password: str = Field(max_length=1024)
    code: str | None = Field(
        default=None, max_length=16,
        description="The authenticator app's current code; required when the account uses two-factor login.",
    )
    label: Annotated[str, Field(max_length=64), AfterValidator(no_nul)] = ""


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: str | None


@router.post(
    "/api/v1/auth/token",
    response_model=TokenResponse,
    tags=["auth"],
    responses={
        401: {"description": "Wrong credentials or code, or account temporarily locked"},
        403: {"description": "An administrator account that has not set up two-factor login yet"},
    },
)
def issue_api_token(request: Request, db: Db, body: TokenRequest) -> TokenResponse:
    """Exchange a username, password and (with two-factor login) the current code for a bearer
    token; same lockout rules as the login page."""
    try:
        therapist = auth.authenticate_with_code(
            db, username=body.username, password=body.password, code=body.code, ip_address=deps.client_ip(request)
        )
    except auth.MfaEnrolmentRequired as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None
    except PermissionDeniedError as exc:
        if str(exc) != auth.MFA_FAILED_MESSAGE:  # a wrong code is already audited as mfa_failed
            _audit_failed_login(request, db, body.username)
        db.commit()  # the HTTP error below rolls the request's unit of work back
        raise HTTPException(status_code=401, detail=str(exc)) from None
    token, row = auth.create_api_token(db, therapist_id=therapist.id, label=body.label)
    return TokenResponse(access_token=token, expires_at=row.expires_at.isoformat() if row.expires_at else None)


# ---- two-factor enrolment ----------------------------------------------------------------------


def _qr_data_uri(uri: str) -> str:
    import segno

    # An <img> data: URI (allowed by the CSP's img-src) rather than inline SVG markup, which would
    # need the template's autoescaping switched off.
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _mfa_page(request: Request, db, user, *, state: forms.FormState | None = None,
              enrolment: auth.MfaEnrolment | None = None, status: int = 200, done: str = "") -> Response:
    return render(
        request,
        "account_mfa.html",
        {"enabled": auth.mfa_enabled(db, therapist_id=user.id), "required": user.is_admin,
         "enrolment": enrolment, "qr": _qr_data_uri(enrolment.uri) if enrolment else "",
         "state": state or forms.FormState(values={}), "done": done, "digits": auth.MFA_DIGITS},
        status_code=status,
    )


@router.get("/account/mfa", include_in_schema=False)
def mfa_page(request: Request, db: Db, user: EnrollingPageUser) -> Response:
    # The secret is never shown here: only the POST that creates it displays it, once.
    return _mfa_page(request, db, user)


@router.post("/account/mfa/setup", include_in_schema=False)
def mfa_setup(request: Request, form: SubmittedForm, db: Db, user: CsrfEnrollingUser) -> Response:
    # The password again: a stolen session cookie alone must not bind the account to someone else's phone.
    try:
        auth.verify_current_password(db, actor=user, password=str(form.get("password", ""))[:1024],
                                     ip_address=deps.client_ip(request))
    except ParameterError as exc:
        db.rollback()
        return _mfa_page(request, db, user, state=_error_state(str(exc)), status=422)
    try:
        enrolment = auth.start_mfa_enrolment(db, actor=user)
    except ConflictError as exc:
        db.rollback()
        return _mfa_page(request, db, user, state=_error_state(str(exc)), status=409)
    return _mfa_page(request, db, user, enrolment=enrolment)


@router.post("/account/mfa/confirm", include_in_schema=False)
def mfa_confirm(request: Request, form: SubmittedForm, db: Db, user: CsrfEnrollingUser) -> Response:
    try:
        auth.confirm_mfa_enrolment(db, actor=user, code=str(form.get("code", ""))[:32],
                                   keep_session_token=request.cookies.get(deps.session_cookie_name(request)))
    except ParameterError as exc:
        db.rollback()
        # The same pending secret again, so a mistyped code does not mean scanning a new QR code.
        return _mfa_page(request, db, user, state=_error_state(str(exc)),
                         enrolment=auth.pending_mfa_enrolment(db, actor=user), status=422)
    return _mfa_page(request, db, user, done="Two-factor login is on. From now on, log in with your password and a "
                                              "code. Your other sessions and all API tokens have ended.")


@router.post("/account/mfa/disable", include_in_schema=False)
def mfa_disable(request: Request, form: SubmittedForm, db: Db, user: CsrfEnrollingUser) -> Response:
    try:
        auth.disable_mfa(db, actor=user, password=str(form.get("password", ""))[:1024],
                         code=str(form.get("code", ""))[:32], ip_address=deps.client_ip(request))
    except ParameterError as exc:
        db.rollback()
        return _mfa_page(request, db, user, state=_error_state(str(exc)), status=422)
    return _mfa_page(request, db, user, done="Two-factor login is off.")


def _error_state(message: str) -> forms.FormState:
    state = forms.FormState(values={})  # codes and passwords are never echoed back
    forms.attribute_error(state, message, ("password", "code"))
    return state
