"""The Jinja2 environment every page renders with (autoescaping on, templates from the package).

Templates are looked up in ``web/templates/`` first (the layout, ``base.html``, shared partials and the
core's pages), then in each installed tool's ``templates/`` folder, named by its manifest
(``cadenza/tools/gait/templates/gait/client_gait.html`` renders as ``"gait/client_gait.html"``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from cadenza.clinic.instruments import safety_prompt, timed_distance_note
from cadenza.plugins import installed_tools
from cadenza.web.questionnaires import questionnaire

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")


def template_dirs() -> list[Path]:
    """The folders pages are looked up in, in order: the web app's, then each installed tool's."""
    return [TEMPLATES_DIR, *(folder for tool in installed_tools() if (folder := tool.template_dir()))]


templates = Jinja2Templates(directory=[str(folder) for folder in template_dirs()])
# Jinja2Templates enables autoescape for .html; say it outright so nobody turns it off by accident.
templates.env.autoescape = True
# Templates ship inside the package and change only with it: each is compiled once per process and never
# re-checked against its file (auto-reload stats the page and every template it extends or imports on each
# render). CADENZA_TEMPLATE_RELOAD=1 turns the check back on while editing templates.
templates.env.auto_reload = os.environ.get("CADENZA_TEMPLATE_RELOAD", "") == "1"
# What the therapist must do now when a questionnaire's safety item is flagged (clinical review H1).
templates.env.globals["safety_prompt"] = safety_prompt
# A timed-walk speed is always shown with the distance it was timed over (clinical review H2).
templates.env.globals["timed_distance_note"] = timed_distance_note
# Item texts and answer labels of questionnaires (walk-through problem 3).
templates.env.globals["questionnaire"] = questionnaire

_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9-]*")
_ATTRIBUTE = re.compile(r"""\s*([a-z][a-z0-9-]*)(?:="([^"]*)")?\s*""", re.I)


def html_attributes(attrs: Mapping[str, Any] | str | None) -> Markup:
    """Extra attributes of a form field, each value escaped exactly once (walk-through problem 7).

    ``attrs`` is a mapping (``{"inputmode": "decimal", "required": True}``: ``True`` gives a bare
    attribute, ``None``/``False`` leaves it out) or, as templates have long written it, a string of
    attributes (``'required maxlength="64"'``), parsed here into the same pairs. Autoescaping
    turned the string form into ``maxlength=&#34;64&#34;``, which browsers ignore.

    >>> html_attributes({"inputmode": "decimal", "required": True, "max": None})
    Markup(' inputmode="decimal" required')
    >>> html_attributes('step="0.5" required autocomplete="off"')
    Markup(' step="0.5" required autocomplete="off"')
    """
    if not attrs:
        return Markup("")
    if isinstance(attrs, str):
        pairs: list[tuple[str, Any]] = []
        position = 0
        while position < len(attrs):
            match = _ATTRIBUTE.match(attrs, position)
            if match is None or match.end() == position:
                raise ValueError(f"attrs: cannot read the attribute at {attrs[position:]!r}")
            pairs.append((match.group(1), True if match.group(2) is None else match.group(2)))
            position = match.end()
    else:
        pairs = list(attrs.items())
    parts = []
    for name, value in pairs:
        if not _ATTRIBUTE_NAME.fullmatch(name.lower()):
            raise ValueError(f"attrs: {name!r} is not an attribute name")
        if value is None or value is False:
            continue
        # Markup.format escapes each argument: the name (checked above) and the value.
        parts.append(Markup(" {}").format(name.lower()) if value is True
                     else Markup(' {}="{}"').format(name.lower(), value))
    return Markup("").join(parts)


templates.env.filters["html_attributes"] = html_attributes


def compile_all_templates() -> int:
    """Compile every template now and keep it (each served worker calls this at start-up); how many.

    Jinja compiles a template the first time it renders, so a fresh worker's first views of each page paid
    for it while requests waited (5 % of a new worker's samples under load, issue 23). The environment keeps
    up to its cache size (400) of them; the core and the tools have far fewer.
    """
    names = templates.env.list_templates()
    for name in names:
        templates.env.get_template(name)
    return len(names)


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
