"""The Jinja2 environment every page renders with (autoescaping on, templates from the package)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
# Jinja2Templates enables autoescape for .html; say it outright so nobody turns it off by accident.
templates.env.autoescape = True


def render(
    request: Request, template_name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a page; the logged-in user and the CSRF token are always in the context."""
    ctx = {
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, template_name, ctx, status_code=status_code)
