"""The administrator's JSON API for what had pages and commands only (issue 16): a password reset, a
caseload reassignment and the audit-trail listing.

Each endpoint calls the same workflow function as the page (``routes/admin.py``) and the command line
(``cadenza admin reset-password``, ``cadenza admin reassign``, ``cadenza audit log``), so the rules,
the refusals and the audit rows are one copy: :func:`cadenza.clinic.auth.reset_password`,
:func:`cadenza.clinic.reassignment.reassign_caseload` and :func:`cadenza.clinic.audit_log.audit_page`.
Admins only (a therapist's token gets 403, like the other admin endpoints); an unknown account is a 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AfterValidator, BaseModel, Field

from cadenza.clinic import audit_log, auth, reassignment
from cadenza.web.deps import AdminApiUser, Db
from cadenza.web.routes.api import INVALID, AuditOut, ShortText, StrictModel, _no_nul

router = APIRouter(prefix="/api/v1")

Username = Annotated[str, Path(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")]
ADMINS_ONLY = {403: {"description": "Admins only (with two-factor login)"}}
UNKNOWN_ACCOUNT = {404: {"description": "No account with this username"}}


class PasswordResetOut(BaseModel):
    username: str
    temporary_password: str = Field(description="Shown in this response only (the database keeps its hash); "
                                                "hand it over out of band")
    must_change_password: bool = Field(description="Always true: every page and endpoint but the password change "
                                                   "is closed to the account until its owner chooses a password")
    sessions_ended: bool = Field(description="Always true: every browser session and API token of the account "
                                             "ended")


@router.post("/therapists/{username}/password-reset", response_model=PasswordResetOut, tags=["admin"],
             responses={**ADMINS_ONLY, **UNKNOWN_ACCOUNT,
                        422: {"description": "Your own account (change it with the current password instead)"}})
def reset_password(response: Response, db: Db, user: AdminApiUser, username: Username) -> Any:
    """A temporary password for a therapist who forgot theirs (audited as ``password_reset``). The account's
    sessions and API tokens end and it must choose its own password at the next login; two-factor login
    is unchanged. The same reset as the accounts page and ``cadenza admin reset-password``."""
    password = auth.reset_password(db, actor=user, username=username)
    response.headers["Cache-Control"] = "no-store"  # a credential: never kept by a proxy or browser cache
    return PasswordResetOut(username=username, temporary_password=password, must_change_password=True,
                            sessions_ended=True)


class ReassignIn(StrictModel):
    from_username: ShortText = Field(description="Whose clients move (the account may be disabled)")
    to_username: ShortText = Field(description="The active therapist who takes them over")
    codes: list[ShortText] | None = Field(
        default=None, min_length=1, max_length=10_000,
        description="Only these clients (by code); left out, the whole caseload moves")


class ReassignOut(BaseModel):
    from_username: str
    to_username: str
    client_ids: list[int]
    codes: list[str]


@router.post("/caseload/reassign", response_model=ReassignOut, tags=["admin"],
             responses={**ADMINS_ONLY, 404: {"description": "No account with one of the usernames"},
                        409: {"description": "The receiving account is disabled, or already has a client with one "
                                             "of the codes (nothing moved)"}, **INVALID})
def reassign_caseload(db: Db, user: AdminApiUser, body: ReassignIn) -> Any:
    """Move a therapist's clients (all, or the ``codes`` given) to another therapist, each audited as
    ``reassign``; sessions keep their author, and the author's unsigned notes go to the new holder's
    "notes to sign" (they co-sign: docs/web.md). The same move as the accounts page and ``cadenza admin
    reassign``; all or nothing."""
    moved = reassignment.reassign_caseload(db, actor=user, from_username=body.from_username,
                                           to_username=body.to_username, codes=body.codes)
    return ReassignOut(from_username=moved.from_username, to_username=moved.to_username,
                       client_ids=list(moved.client_ids), codes=list(moved.codes))


AUDIT_PAGE_HEADERS = {
    "Link": {"description": 'The next (older) page as <url>; rel="next", paged by `before_id` (absent on the last '
                            "page)", "schema": {"type": "string"}},
}
FilterText = Annotated[str | None, Query(min_length=1, max_length=64), AfterValidator(_no_nul)]


@router.get("/audit", response_model=list[AuditOut], tags=["admin"],
            responses={200: {"description": "One page of the trail, newest first", "headers": AUDIT_PAGE_HEADERS},
                       **ADMINS_ONLY, **INVALID})
def audit_trail(
    request: Request, response: Response, db: Db, user: AdminApiUser,
    username: Annotated[FilterText, Query(description="Only this actor's events (a username, 'system' or "
                                                      "'anonymous')")] = None,
    client_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only events about this client")] = None,
    action: Annotated[FilterText, Query(description="Only this action (read, create, reassign, ...)")] = None,
    since: Annotated[dt.date | None, Query(description="From this date (UTC), inclusive")] = None,
    until: Annotated[dt.date | None, Query(description="Up to this date (UTC), inclusive")] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only events older than this id: the "
                                                                          "cursor of the next page")] = None,
    limit: Annotated[int, Query(ge=1, le=audit_log.MAX_PAGE_ROWS,
                                description=f"Events per page, at most {audit_log.MAX_PAGE_ROWS}")]
    = audit_log.DEFAULT_PAGE_ROWS,
) -> Any:
    """The whole audit trail with the filters of the /admin/audit page and ``cadenza audit log``, newest
    first, one keyset page at a time: follow the ``Link`` header (``before_id``), which events written
    meanwhile never shift. Reading the trail is itself audited."""
    page = audit_log.audit_page(db, actor=user, before_id=before_id, limit=limit, filters=audit_log.AuditFilter(
        username=username, client_id=client_id, action=action, since_date=since, until_date=until))
    if page.next_before_id is not None:
        next_url = request.url.include_query_params(limit=limit, before_id=page.next_before_id)
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return page.rows
