"""Request dependencies: the database session, the acting therapist, CSRF checks.

Pages use :data:`PageUser` (no login -> redirect to ``/login``); the JSON API uses :data:`ApiUser`
(bearer token, no token -> 401). Both load the therapist once per request. Both also hold an
administrator without two-factor login at the door (pages: redirect to ``/account/mfa``; API: 403);
only the enrolment pages take :data:`EnrollingPageUser`, the bare login check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cadenza.clinic import auth, drafts, people
from cadenza.clinic.db import session_scope
from cadenza.clinic.models import Therapist
from cadenza.clinic.people import PersonDevice
from cadenza.errors import ParameterError
from cadenza.web.errors import LoginRequired

SESSION_COOKIE = "cadenza_session"
# The __Host- prefix binds the cookie to this exact origin, but browsers accept it only with Secure,
# i.e. over HTTPS; plain-HTTP localhost use falls back to the unprefixed name.
SECURE_SESSION_COOKIE = "__Host-cadenza_session"
LOGIN_CSRF_COOKIE = "cadenza_login_csrf"
# Between the password and the code the browser holds only a challenge token, never a session.
MFA_PENDING_COOKIE = "cadenza_mfa_pending"
SECURE_MFA_PENDING_COOKIE = "__Host-cadenza_mfa_pending"
MFA_ENROL_PATH = "/account/mfa"
PASSWORD_PATH = "/account/password"
# The person's app (/me) keeps its own device cookie; a browser holding only that one is a client or
# caregiver, never a therapist, so therapist pages answer it 404 rather than offering a login.
PERSON_COOKIE = "cadenza_person"
SECURE_PERSON_COOKIE = "__Host-cadenza_person"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
# A form that names its page in this hidden field is drafted (clinic.drafts): its text survives a lapsed login.
DRAFT_KEY_FIELD = "draft_key"


def session_cookie_name(request: Request) -> str:
    return SECURE_SESSION_COOKIE if request.url.scheme == "https" else SESSION_COOKIE


def mfa_pending_cookie_name(request: Request) -> str:
    return SECURE_MFA_PENDING_COOKIE if request.url.scheme == "https" else MFA_PENDING_COOKIE


def person_cookie_name(request: Request) -> str:
    return SECURE_PERSON_COOKIE if request.url.scheme == "https" else PERSON_COOKIE


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request: services flush, this commits once when the route returns
    (before the response is sent, so a failed commit is an error, never a silently lost write)
    and rolls back if it raised (the route's exception is thrown in at the ``yield``).

    Making the session touches no database (its connection is checked out at the first statement), so it
    happens on the event loop; the commit or rollback and the close run on a worker thread, in one
    hand-off (a plain ``def`` generator would cost two: one to enter, one to leave; issue 23).
    """
    unit = session_scope(request.app.state.session_factory)
    session = unit.__enter__()
    try:
        yield session
    except BaseException as exc:
        await _off_the_loop(unit.__exit__, type(exc), exc, exc.__traceback__)
        raise
    await _off_the_loop(unit.__exit__, None, None, None)


async def _off_the_loop(work: Callable[..., object], *args: object) -> None:
    """Run ``work(*args)`` on a worker thread outside the shared thread limit: the request still holds its
    pooled connection, and a commit queued behind requests that wait for a connection would never come
    (FastAPI ends its own ``def`` generator dependencies the same way)."""
    await anyio.to_thread.run_sync(work, *args, limiter=anyio.CapacityLimiter(1))


Db = Annotated[Session, Depends(get_db, scope="function")]


@dataclass(frozen=True)
class UserView:
    """What templates may show about the logged-in user; a plain copy, so error pages rendered
    after a rollback never touch an expired ORM object."""

    id: int
    username: str
    is_admin: bool


def _remember_user(request: Request, therapist: Therapist) -> None:
    request.state.user = UserView(id=therapist.id, username=therapist.username, is_admin=therapist.is_admin)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _session_user(request: Request, db: Session) -> Therapist | None:
    token = request.cookies.get(session_cookie_name(request))
    found = auth.resolve_session(db, token)
    if found is None:
        return None
    therapist, login_session = found
    _remember_user(request, therapist)
    request.state.csrf_token = login_session.csrf_token
    return therapist


async def page_form_sent_with_login(request: Request) -> FormData | None:
    """The fields of a plain page form posted with a login cookie, read before the login is checked, so
    that a form sent after the login lapsed can still be kept as a draft (walk-through problem 1).

    None for other requests: anything but a POST, no login cookie, or not a plain form (uploads and
    JSON are never read before the login check).
    """
    if request.method != "POST" or not request.cookies.get(session_cookie_name(request)):
        return None
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    return await request.form()


def _keep_draft_of_lapsed_login(request: Request, db: Session, form: FormData) -> str | None:
    """Keep a drafted form sent after its login lapsed as that therapist's draft; its page, or None.

    Only the session the form was rendered in (its cookie *and* its CSRF token, not logged out) names
    the therapist, and only to store the text; nothing is shown or changed in the record.
    """
    form_key = form.get(DRAFT_KEY_FIELD)
    given = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not isinstance(form_key, str) or not isinstance(given, str):
        return None
    owner = auth.lapsed_session_owner(db, request.cookies.get(session_cookie_name(request)), given)
    if owner is None:
        return None
    try:
        drafts.save_draft(db, actor=owner, form_key=form_key, fields=form.multi_items())
    except ParameterError:
        db.rollback()
        return None
    db.commit()  # the login error below rolls the request's unit of work back
    return form_key


def current_user_page(request: Request, db: Db,
                      form: Annotated[FormData | None, Depends(page_form_sent_with_login)]) -> Therapist:
    therapist = _session_user(request, db)
    if therapist is None and request.cookies.get(person_cookie_name(request)):
        raise HTTPException(status_code=404, detail="Not Found")
    if therapist is None:
        if form is not None and (kept := _keep_draft_of_lapsed_login(request, db, form)):
            raise LoginRequired(kept, draft_kept=True)
        next_path = request.url.path if request.method == "GET" else "/"
        raise LoginRequired(next_path)
    return therapist


def _send_to(request: Request, path: str, message: str) -> HTTPException:
    if request.headers.get("hx-request"):
        return HTTPException(status_code=403, detail=message, headers={"HX-Redirect": path})
    return HTTPException(status_code=303, detail=message, headers={"Location": path})


async def current_enrolled_page(request: Request, db: Db,
                                user: Annotated[Therapist, Depends(current_user_page)]) -> Therapist:
    """The logged-in user, unless an administrator who has not enrolled in two-factor login yet.

    A coroutine: only an administrator's check reads the database, and that read runs on a worker thread;
    everyone else passes without a thread hand-off (issue 23)."""
    if user.is_admin and await anyio.to_thread.run_sync(auth.needs_mfa_enrolment, db, user):
        raise _send_to(request, MFA_ENROL_PATH, auth.MFA_ENROLMENT_REQUIRED_MESSAGE)
    return user


async def current_settled_page(request: Request,
                               user: Annotated[Therapist, Depends(current_enrolled_page)]) -> Therapist:
    """:func:`current_enrolled_page`, unless the user must first replace a temporary password (an admin's
    reset, or an initial password an admin chose): then only the password page opens. Reads only the
    therapist row the login loaded."""
    if user.must_change_password:
        raise _send_to(request, PASSWORD_PATH, auth.PASSWORD_CHANGE_REQUIRED_MESSAGE)
    return user


async def current_admin_page(user: Annotated[Therapist, Depends(current_settled_page)]) -> Therapist:
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only administrators may do this.")
    return user


def current_user_api(request: Request, db: Db) -> Therapist:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    therapist = auth.resolve_api_token(db, token.strip()) if scheme.lower() == "bearer" else None
    if therapist is None:
        raise HTTPException(
            status_code=401,
            detail="A valid API token is required: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    _remember_user(request, therapist)
    if therapist.must_change_password:
        raise HTTPException(status_code=403, detail=auth.PASSWORD_CHANGE_REQUIRED_MESSAGE)
    if auth.needs_mfa_enrolment(db, therapist):
        raise HTTPException(status_code=403, detail=auth.MFA_ENROLMENT_REQUIRED_MESSAGE)
    return therapist


async def current_admin_api(user: Annotated[Therapist, Depends(current_user_api)]) -> Therapist:
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only administrators may do this.")
    return user


async def require_csrf(request: Request) -> None:
    """Refuse a state-changing browser request whose token does not match the session's."""
    expected = getattr(request.state, "csrf_token", "")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not auth.csrf_matches(expected, given):
        raise HTTPException(status_code=403, detail="The form expired or was not sent from Cadenza; reload and try again.")


async def submitted_form(request: Request) -> FormData:
    """The submitted form (fields and uploads), read from the network on the event loop.

    Routes that touch the database or compute are plain ``def`` and run on a worker thread: a route
    that waits for a row lock or a busy SQLite file on the event loop stops every other request,
    including the lock holder's own commit (docs/web.md, "Concurrency"). Reading the body is the
    only part that must be async, so it happens here and the route receives the parsed form.
    """
    return await request.form()


SubmittedForm = Annotated[FormData, Depends(submitted_form)]
PageUser = Annotated[Therapist, Depends(current_settled_page)]
# Only for the password page: enrolled, but possibly still on a temporary password.
PasswordPageUser = Annotated[Therapist, Depends(current_enrolled_page)]
# Only for the two-factor enrolment pages and logout: logged in, but possibly not yet enrolled.
EnrollingPageUser = Annotated[Therapist, Depends(current_user_page)]
AdminPageUser = Annotated[Therapist, Depends(current_admin_page)]
ApiUser = Annotated[Therapist, Depends(current_user_api)]
AdminApiUser = Annotated[Therapist, Depends(current_admin_api)]
# CsrfPageUser goes on every state-changing page route: it requires the login *and* the token.
# These wrappers only pass on what their dependencies checked: coroutines, so they cost no thread hand-off.


async def _csrf_page_user(request: Request, user: PageUser, _: None = Depends(require_csrf)) -> Therapist:
    return user


CsrfPageUser = Annotated[Therapist, Depends(_csrf_page_user)]


async def _csrf_admin_user(request: Request, user: AdminPageUser, _: None = Depends(require_csrf)) -> Therapist:
    return user


CsrfAdminUser = Annotated[Therapist, Depends(_csrf_admin_user)]


async def _csrf_enrolling_user(request: Request, user: EnrollingPageUser, _: None = Depends(require_csrf)) -> Therapist:
    return user


CsrfEnrollingUser = Annotated[Therapist, Depends(_csrf_enrolling_user)]


async def _csrf_password_user(request: Request, user: PasswordPageUser, _: None = Depends(require_csrf)) -> Therapist:
    return user


CsrfPasswordUser = Annotated[Therapist, Depends(_csrf_password_user)]


# --- the person (a client or caregiver on their own device; cadenza.clinic.people) ---------------------------

def self_care(request: Request) -> bool:
    """True when this server is one person's own self-care app (``cadenza me``): local, account-free."""
    return bool(getattr(request.app.state, "self_care", False))


def current_person_device(request: Request, db: Db) -> PersonDevice:
    """The device the person's cookie names (locked or not); without one, the page that explains how to get in."""
    device = people.resolve_device(db, request.cookies.get(person_cookie_name(request)))
    if device is None:
        raise HTTPException(status_code=303, headers={"Location": "/me/start"})
    request.state.csrf_token = device.csrf_token
    return device


def current_person_page(request: Request, db: Db,
                        device: Annotated[PersonDevice, Depends(current_person_device)]) -> PersonDevice:
    """An opened device (PIN or passkey within its unlock window; always in self-care mode)."""
    if not self_care(request) and not people.is_unlocked(device):
        if request.method != "GET" or request.headers.get("accept", "").startswith("application/json"):
            raise HTTPException(status_code=401, detail="Open the app with your PIN first.")
        raise HTTPException(status_code=303, headers={"Location": "/me/unlock"})
    people.touch(device)
    return device


async def _csrf_person_page(device: Annotated[PersonDevice, Depends(current_person_page)],
                      _: None = Depends(require_csrf)) -> PersonDevice:
    return device


# Every person-facing route (any tool's, under /me) takes one of these; the client is the device's, never
# an id from the request (docs/home.md).
KnownPerson = Annotated[PersonDevice, Depends(current_person_device)]
PersonPage = Annotated[PersonDevice, Depends(current_person_page)]
CsrfPersonPage = Annotated[PersonDevice, Depends(_csrf_person_page)]
