"""The therapist's home page: my clients, recent sessions, goals due."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cadenza.web.deps import Db, PageUser
from cadenza.web.templating import render

router = APIRouter()


@router.get("/", include_in_schema=False)
def dashboard(request: Request, db: Db, user: PageUser) -> Response:
    return render(request, "dashboard.html", {})
