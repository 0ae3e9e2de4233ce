"""Login and logout pages (server-side sessions) and the API token endpoint."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from cadenza.clinic import auth
from cadenza.errors import PermissionDeniedError
from cadenza.web import deps
from cadenza.web.deps import CsrfPageUser, Db
from cadenza.web.templating import render

router = APIRouter()


def _safe_next(path: str | None) -> str:
    # Only same-site relative paths: "//evil.example" or "https://..." would be an open redirect.
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _login_page(request: Request, *, next_path: str, username: str = "", error: str = "", status: int = 200) -> Response:
    token = request.cookies.get(deps.LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "next_path": _safe_next(next_path), "username": username, "error": error},
        status_code=status,
    )
    response.set_cookie(
        deps.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next_path=next)


@router.post("/login", include_in_schema=False)
def login_submit(
    request: Request,
    db: Db,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    cookie_token = request.cookies.get(deps.LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not auth.csrf_matches(cookie_token, csrf_token):
        return _login_page(
            request, next_path=next, username=username,
            error="The login form expired; please try again.", status=403,
        )
    try:
        grant = auth.login(db, username=username, password=password, ip_address=deps.client_ip(request))
    except PermissionDeniedError as exc:
        return _login_page(request, next_path=next, username=username, error=str(exc), status=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
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
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, db: Db, user: CsrfPageUser) -> Response:
    auth.logout(db, request.cookies.get(deps.session_cookie_name(request)))
    response = RedirectResponse("/login", status_code=303)
    # Browsers drop a __Host- cookie only when the deletion carries the same attributes.
    response.delete_cookie(deps.session_cookie_name(request), path="/", secure=request.url.scheme == "https",
                           httponly=True, samesite="lax")
    return response


class TokenRequest(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    label: str = Field(default="", max_length=64)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: str | None


@router.post(
    "/api/v1/auth/token",
    response_model=TokenResponse,
    tags=["auth"],
    responses={401: {"description": "Wrong credentials or account temporarily locked"}},
)
def issue_api_token(request: Request, db: Db, body: TokenRequest) -> TokenResponse:
    """Exchange a username and password for a bearer token (same lockout rules as the login page)."""
    try:
        therapist = auth.authenticate(
            db, username=body.username, password=body.password, ip_address=deps.client_ip(request)
        )
    except PermissionDeniedError as exc:
        raise HTTPException(status_code=401, detail=str(exc)) from None
    token, row = auth.create_api_token(db, therapist_id=therapist.id, label=body.label)
    return TokenResponse(access_token=token, expires_at=row.expires_at.isoformat() if row.expires_at else None)
