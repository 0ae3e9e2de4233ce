"""The installed clinical tools, each described by one :class:`Tool` manifest.

A tool is one folder, ``cadenza/tools/<name>/``, whose ``__init__.py`` holds ``TOOL = Tool(...)``. The
hosts read the manifests and nothing else: the web app includes each tool's pages router and links its
card from the client page, the ``cadenza`` command adds its command group, the instrument catalogue
registers its measures and the migrations see its tables. Nothing is discovered by file name.

This is a leaf module: it imports no tool. A manifest names its parts by dotted strings
(``"package.module:attribute"``), loaded on first use, so ``cadenza --help`` imports only what it shows.

>>> tool = Tool("walk", "Walking", "Steps and cadence.", records="cadenza.units", cli="cadenza.units:s_to_idx")
>>> tool.client_path
'/clients/{client_id}/walk'
>>> tool.load("records").__name__, tool.load("cli").__name__
('cadenza.units', 's_to_idx')
>>> Tool("walk", "Walking", "Steps.", audience="adults")
Traceback (most recent call last):
...
ValueError: audience must be one of ('all', 'nicu', 'not_nicu'), got 'adults'
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUDIENCES = ("all", "nicu", "not_nicu")

# Django's INSTALLED_APPS: each entry is a package holding ``TOOL``, in the order the client page lists them.
INSTALLED_TOOLS: tuple[str, ...] = (
    "cadenza.tools.gait",
    "cadenza.tools.ras",
    "cadenza.tools.live",
    "cadenza.tools.library",
    "cadenza.tools.mit",
    "cadenza.tools.safety",
    "cadenza.tools.nicu",
    "cadenza.tools.home",
    "cadenza.tools.timing",
    "cadenza.tools.sing",
    "cadenza.tools.care",
    "cadenza.tools.improv",
    "cadenza.tools.songs",
)

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_TARGET = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*\Z")
_MODULE = re.compile(r"[A-Za-z_][\w.]*\Z")
_SCRIPT = re.compile(r"[A-Za-z_][\w.]*:[\w-]+\.js\Z")


@dataclass(frozen=True)
class TaskKind:
    """A kind of home-programme task that a tool provides (e.g. the timing tool's "tap along to a beat").

    The home programme stores the task and its completions; the providing tool checks what the therapist
    prescribes and measures what the person did, so home never imports the tool. ``prepare`` names
    ``function(db, client, values: dict[str, str]) -> dict``: the therapist's form values checked into
    the task's ``music`` (a ``ParameterError`` naming the field otherwise; the client is already
    authorised). ``measure`` names ``function(db, client, music, result, *, device_label) -> dict``: the
    device's raw ``result`` turned into ``{"scores": {...}, "measurements": [(instrument code, value)],
    "summary": plain words for the person}``. ``form`` and ``page`` are template names: the kind's fields
    on the therapist's form and its part of the person's task page. ``intervention_code`` (from the
    evidence catalogue) names the home session its measurements are stored on. ``script`` is
    ``"package:file.js"``, a file in that package's ``static/`` folder: the page's script, served by the
    person's app at ``/me/kinds/<code>.js``.

    >>> TaskKind("tapping", "Tap along to a beat", prepare="m:p", measure="m:q", form="f.html", page="p.html",
    ...          intervention_code="timp", script="cadenza.tools.timing:home_tap.js").script_file().name
    'home_tap.js'
    """

    code: str
    title: str
    prepare: str
    measure: str
    form: str
    page: str
    intervention_code: str
    script: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not _NAME.match(self.code) or len(self.code) > 16:
            raise ValueError(f"code must be a lower-case identifier of at most 16 characters, got {self.code!r}")
        for field in ("prepare", "measure"):
            value = getattr(self, field)
            if not isinstance(value, str) or not _TARGET.match(value):
                raise ValueError(f"{field} must be 'package.module:attribute', got {value!r}")
        for field in ("title", "form", "page", "intervention_code"):
            if not isinstance(getattr(self, field), str) or not getattr(self, field):
                raise ValueError(f"{field} must be a non-empty string, got {getattr(self, field)!r}")
        if self.script and not (isinstance(self.script, str) and _SCRIPT.match(self.script)):
            raise ValueError(f"script must be 'package:file.js' (a file in the package's static/ folder), "
                             f"got {self.script!r}")

    def script_file(self) -> Path | None:
        """The page's script file, or None when the kind has none."""
        if not self.script:
            return None
        package, _, name = self.script.partition(":")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ValueError(f"script names {package!r}, which is not an importable package")
        return Path(next(iter(spec.submodule_search_locations))) / "static" / name

    def load(self, part: str) -> Any:
        """The function ``"prepare"`` or ``"measure"`` names, imported on first call."""
        return load_target(getattr(self, part))


@dataclass(frozen=True)
class Tool:
    """One clinical tool, top to bottom.

    ``name`` is the command group (``cadenza gait``), the URL segment (``/clients/{client_id}/gait``) and
    the template folder (``templates/gait/``). ``cli``, ``pages``, ``cli_top_level`` and each entry of
    ``instruments`` are ``"module:attribute"`` strings (a ``typer.Typer``, a ``fastapi.APIRouter``, a
    ``typer.Typer`` whose commands sit at the top level, an ``Instrument``); ``records`` is the module
    holding the tool's tables and record services; ``templates`` is the package whose ``templates/``
    folder holds the tool's pages (empty while they are still under ``web/templates``). An empty string
    means the tool has no such part.

    ``title``, ``summary`` and ``audience`` make the tool's card on the client page: ``"nicu"`` shows it
    for NICU infants only, ``"not_nicu"`` for everyone else. With ``session_query`` (formatted with
    ``session_id``), each session page links the tool as ``session_title``, e.g. to store a result there.
    ``overview`` names ``function(db, client) -> list[str]``: a few plain lines about this client (e.g.
    adherence and alerts) shown on the tool's card and in the progress report; the client is already
    authorised by the page. ``overview_many`` names ``function(db, clients) -> dict[client id, list[str]]``:
    the same lines for many clients with a few queries in all (the dashboard's alerts; each client is a
    read-only row of the client's columns, :class:`cadenza.clinic.dashboard_lists.ClientLine`, not an ORM
    object); a tool with ``overview`` but without it is asked once per client. ``fhir`` names ``function(db, client, patient_id) -> list[dict]``: the tool's
    own FHIR resources about the client, added to the client's exported Bundle. ``person_path`` (under
    ``/me/``) and ``person_title`` link the tool's page for the person from their app's home page.
    ``task_kinds`` are the kinds of home-programme task the tool provides (:class:`TaskKind`): the home
    programme offers them without importing the tool.
    """

    name: str
    title: str
    summary: str
    cli: str = ""
    pages: str = ""
    records: str = ""
    instruments: tuple[str, ...] = ()
    audience: str = "all"
    session_title: str = ""
    session_query: str = ""
    cli_top_level: str = ""
    templates: str = ""
    overview: str = ""
    overview_many: str = ""
    fhir: str = ""
    person_title: str = ""
    person_path: str = ""
    task_kinds: tuple[TaskKind, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"name must be a lower-case identifier (a URL segment), got {self.name!r}")
        if self.audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {AUDIENCES}, got {self.audience!r}")
        for field in ("cli", "pages", "cli_top_level", "overview", "overview_many", "fhir"):
            value = getattr(self, field)
            if value and not _TARGET.match(value):
                raise ValueError(f"{field} must be 'package.module:attribute', got {value!r}")
        for field in ("records", "templates"):
            value = getattr(self, field)
            if value and not _MODULE.match(value):
                raise ValueError(f"{field} must be a dotted module name, got {value!r}")
        if not isinstance(self.instruments, tuple) or not all(
                isinstance(i, str) and _TARGET.match(i) for i in self.instruments):
            raise ValueError(f"instruments must be a tuple of 'package.module:attribute', got {self.instruments!r}")
        if self.person_path and not (self.person_path.startswith("/me/") and self.person_title):
            raise ValueError(f"person_path must be a path under /me/ with a person_title, got {self.person_path!r} "
                             f"and {self.person_title!r}")
        if not isinstance(self.task_kinds, tuple) or not all(isinstance(k, TaskKind) for k in self.task_kinds):
            raise ValueError(f"task_kinds must be a tuple of TaskKind, got {self.task_kinds!r}")
        if bool(self.session_title) != bool(self.session_query):
            raise ValueError(f"session_title and session_query go together, got {self.session_title!r} "
                             f"and {self.session_query!r}")

    @property
    def client_path(self) -> str:
        """The tool's page about one client, the target of its card on the client page."""
        return f"/clients/{{client_id}}/{self.name}"

    def load(self, part: str) -> Any:
        """The object a ``"module:attribute"`` field names (``"cli"``, ``"pages"``, ``"cli_top_level"``),
        or the module ``"records"`` names; imported on first call."""
        return load_target(getattr(self, part))

    def load_instruments(self) -> list[Any]:
        return [load_target(target) for target in self.instruments]

    def template_dir(self) -> Path | None:
        """The tool's ``templates/`` folder, or None while its pages are still under ``web/templates``."""
        if not self.templates:
            return None
        spec = importlib.util.find_spec(self.templates)
        if spec is None or not spec.submodule_search_locations:
            raise ValueError(f"templates names {self.templates!r}, which is not an importable package")
        folder = Path(next(iter(spec.submodule_search_locations))) / "templates"
        return folder if folder.is_dir() else None


def load_target(target: str) -> Any:
    """``"package.module:attribute"`` -> the attribute; ``"package.module"`` -> the module."""
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def installed_task_kinds() -> dict[str, TaskKind]:
    """Every home-task kind the installed tools provide, by code (two tools providing one code is an error)."""
    kinds: dict[str, TaskKind] = {}
    for tool in installed_tools():
        for kind in tool.task_kinds:
            if kind.code in kinds:
                raise ValueError(f"two installed tools provide the home-task kind {kind.code!r}")
            kinds[kind.code] = kind
    return kinds


def installed_tools() -> tuple[Tool, ...]:
    """The manifests of :data:`INSTALLED_TOOLS`, in that order (each package's ``TOOL``)."""
    tools = []
    for package in INSTALLED_TOOLS:
        tool = importlib.import_module(package).TOOL
        if not isinstance(tool, Tool):
            raise TypeError(f"{package}.TOOL must be a cadenza.plugins.Tool, got {type(tool).__name__}")
        tools.append(tool)
    names = [tool.name for tool in tools]
    if len(set(names)) != len(names):
        raise ValueError(f"two installed tools share a name: {names}")
    return tuple(tools)
