"""One place that maps domain errors to HTTP; error pages never show stack traces or SQL.

API paths (``/api/...``) get JSON ``{"detail": ...}``; everything else gets a small HTML page.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cadenza.clinic.models import AuditEvent, utcnow
from cadenza.errors import (
    CadenzaError,
    ConflictError,
    NotFoundError,
    ParameterError,
    PermissionDeniedError,
)

log = logging.getLogger("cadenza.web")

# PermissionDenied on a record maps to 404 like a missing one, so ids of other therapists'
# clients cannot be enumerated (reliability anchors T1).
_STATUS_BY_ERROR: tuple[tuple[type[CadenzaError], int], ...] = (
    (NotFoundError, 404),
    (PermissionDeniedError, 404),
    (ConflictError, 409),
    (ParameterError, 422),
)

_TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Upload too large",
    415: "Unsupported file type",
    422: "Please check the input",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Busy, please retry",
}


class LoginRequired(Exception):
    """Raised by page dependencies: the browser is redirected to the login page.

    ``draft_kept``: the form sent was kept as a draft of the page ``next_path`` (clinic.drafts); the
    login page says so, and the page shows the draft once the therapist is back.
    """

    def __init__(self, next_path: str = "/", *, draft_kept: bool = False) -> None:
        self.next_path = next_path
        self.draft_kept = draft_kept


def status_for(exc: CadenzaError) -> int:
    for error_type, status in _STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return status
    return 400


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _public_message(status: int, exc: Exception) -> str:
    if status == 404:
        return "Not found."  # identical for missing and foreign records
    if status >= 500:
        return "An internal error occurred. It has been logged; please try again."
    return str(exc) or _TITLES.get(status, "Error")


def _same_site_referer(request: Request) -> str | None:
    """The page the person came from, if it is on this site: an error page leads back there (walk-through
    problem 8: a 422 led only to the dashboard), where the browser's Back still holds the form."""
    from urllib.parse import urlsplit

    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or referer.scheme not in ("http", "https"):
        return None
    path = referer.path or "/"
    if not path.startswith("/") or path.startswith("//") or path == request.url.path:
        return None
    return path + (f"?{referer.query}" if referer.query else "")


def error_response(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    from cadenza.web.templating import render

    response = render(
        request,
        "error.html",
        {"status": status, "title": _TITLES.get(status, "Error"), "message": message,
         "back": _same_site_referer(request)},
        status_code=status,
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _audit_refusal(request: Request) -> None:
    """Record a refused or failed lookup of a client record (who, which id, when) in the audit log.

    The request's own transaction was rolled back with the error, so this gets its own session.
    """
    user = getattr(request.state, "user", None)
    raw_id = request.path_params.get("client_id")
    if user is None or raw_id is None:
        return
    try:
        client_id = int(raw_id)
        with request.app.state.session_factory() as db:
            db.add(
                AuditEvent(actor_id=user.id, actor_username=user.username, action="not_found", entity="client",
                           entity_id=client_id, client_id=client_id, at=utcnow())
            )
            db.commit()
    except Exception:  # the audit of a refusal must never turn a 404 into a 500
        log.exception("could not audit a refused access to client %r", raw_id)


# PostgreSQL SQLSTATEs of the waits bounded by clinic.db.postgres_session_options.
_PG_LOCK_NOT_AVAILABLE = "55P03"
_PG_QUERY_CANCELED = "57014"
BUSY_RETRY_AFTER_S = 2
LOCK_CONFLICT_MESSAGE = ("Someone else is saving this record right now. Your changes were not saved; "
                         "go back, reload the record and try again.")
BUSY_MESSAGE = "The record is busy. Nothing was saved; please try again in a moment."


def database_wait_status(exc: DBAPIError) -> int | None:
    """409 for a row lock not granted in time, 503 for a busy database; None for any other error."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code == _PG_LOCK_NOT_AVAILABLE:
        return 409
    if code == _PG_QUERY_CANCELED or "database is locked" in str(exc.orig):
        return 503
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CadenzaError)
    async def _domain_error(request: Request, exc: CadenzaError) -> Response:
        status = status_for(exc)
        if status == 404:
            from starlette.concurrency import run_in_threadpool

            await run_in_threadpool(_audit_refusal, request)
        return error_response(request, status, _public_message(status, exc))

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        login = f"/login?next={quote(exc.next_path, safe='/')}" + ("&kept=1" if exc.draft_kept else "")
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": login})
        if request.headers.get("accept", "").startswith("application/json"):  # the draft script's fetch
            return JSONResponse({"detail": "Your login has timed out.", "draft_kept": exc.draft_kept,
                                 "login": login}, status_code=401)
        return RedirectResponse(login, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        if exc.status_code == 404:
            detail = "Not found."
        return error_response(request, exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            errors = [
                {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                for e in exc.errors()
            ]
            return JSONResponse({"detail": errors}, status_code=422)
        fields = ", ".join(str(e.get("loc", ("?",))[-1]) for e in exc.errors())
        return error_response(request, 422, f"Missing or invalid fields: {fields}.")

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> Response:
        status = database_wait_status(exc)
        if status is None:
            return _server_error(request, exc)
        log.warning("database wait bounded on %s %s: %s", request.method, request.url.path, exc.orig)
        if status == 409:
            return error_response(request, 409, LOCK_CONFLICT_MESSAGE)
        return error_response(request, 503, BUSY_MESSAGE, headers={"Retry-After": str(BUSY_RETRY_AFTER_S)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return _server_error(request, exc)


def _server_error(request: Request, exc: Exception) -> Response:
    """The 500 page. Its handler runs outside every middleware (Starlette's ServerErrorMiddleware),
    so the security headers are added here."""
    from cadenza.web.middleware import SECURITY_HEADERS

    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    response = error_response(request, 500, _public_message(500, exc))
    for name, value in SECURITY_HEADERS:
        response.headers.setdefault(name.decode(), value.decode())
    return response


__all__ = ["HTTPException", "LoginRequired", "install_error_handlers", "error_response", "status_for"]
