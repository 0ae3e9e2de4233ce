"""The Jinja2 environment every page renders with (autoescaping on, templates from the package).

Templates are looked up in ``web/templates/`` first (the layout, ``base.html``, shared partials and the
core's pages), then in each installed tool's ``templates/`` folder, named by its manifest
(``cadenza/tools/gait/templates/gait/client_gait.html`` renders as ``"gait/client_gait.html"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cadenza.clinic.instruments import safety_prompt, timed_distance_note
from cadenza.plugins import installed_tools

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")


def template_dirs() -> list[Path]:
    """The folders pages are looked up in, in order: the web app's, then each installed tool's."""
    return [TEMPLATES_DIR, *(folder for tool in installed_tools() if (folder := tool.template_dir()))]


templates = Jinja2Templates(directory=[str(folder) for folder in template_dirs()])
# Jinja2Templates enables autoescape for .html; say it outright so nobody turns it off by accident.
templates.env.autoescape = True
# What the therapist must do now when a questionnaire's safety item is flagged (clinical review H1).
templates.env.globals["safety_prompt"] = safety_prompt
# A timed-walk speed is always shown with the distance it was timed over (clinical review H2).
templates.env.globals["timed_distance_note"] = timed_distance_note


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
