"""Router registry: every module listed here exposes ``router: fastapi.APIRouter``.

To add pages or API routes for your domain, write ``cadenza/web/routes/<domain>.py`` exposing
``router`` and add ONE line to :data:`ROUTER_MODULES`. ``create_app`` includes them in this order.
Page routes use ``Depends(deps.current_user_page)``; API routes live under ``/api/v1`` and use
``Depends(deps.current_user_api)``. See ``docs/web.md``.

The client page's **Tools** section is built from the same registry: :data:`CLIENT_TOOLS` lists the
domain pages about one client, and a route module may declare its own ``CLIENT_TOOLS`` (same shape;
an entry with the same path replaces the one here). A tool is linked only if the app really has a
GET route at its path, so a page that is not registered is never linked.
"""

from __future__ import annotations

from dataclasses import dataclass

ROUTER_MODULES: list[str] = [
    "cadenza.web.routes.health",
    "cadenza.web.routes.auth",
    "cadenza.web.routes.clients",
    "cadenza.web.routes.evidence",
    "cadenza.web.routes.exports",
    "cadenza.web.routes.admin",
    "cadenza.web.routes.safety",
    "cadenza.web.routes.nicu",
    "cadenza.web.routes.ras",
    "cadenza.web.routes.library",
    "cadenza.web.routes.gait",
    "cadenza.web.routes.mit",
    "cadenza.web.routes.api",
]

AUDIENCES = ("all", "nicu", "not_nicu")


@dataclass(frozen=True)
class ClientTool:
    """A domain page about one client, linked from the client page (and, with ``session_query``, from
    each session page, e.g. ``?session_id={session_id}`` to store a result on that session)."""

    path: str  # a GET route template containing {client_id}
    title: str
    summary: str
    audience: str = "all"  # "nicu": NICU-flagged clients only; "not_nicu": everyone else
    session_title: str = ""
    session_query: str = ""

    def __post_init__(self) -> None:
        if "{client_id}" not in self.path:
            raise ValueError(f"path must contain {{client_id}}, got {self.path!r}")
        if self.audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {AUDIENCES}, got {self.audience!r}")

    def shown_for(self, *, nicu_infant: bool) -> bool:
        return self.audience == "all" or (self.audience == "nicu") == nicu_infant

    def url(self, client_id: int) -> str:
        return self.path.replace("{client_id}", str(int(client_id)))


CLIENT_TOOLS: tuple[ClientTool, ...] = (
    ClientTool("/clients/{client_id}/gait", "Gait analysis",
               "Upload a walk recorded with an IMU: steps, walking bouts and cadence, stored on a session.",
               audience="not_nicu", session_title="Analyse a gait recording for this session",
               session_query="session_id={session_id}"),
    ClientTool("/clients/{client_id}/ras", "Rhythmic auditory stimulation",
               "Cue plans from the measured cadence, cue tracks to listen to, and cue-step synchronisation.",
               audience="not_nicu"),
    ClientTool("/clients/{client_id}/library", "Music library and playlists",
               "The person's own music: preferences, family picks, playlists and responses per song."),
    ClientTool("/clients/{client_id}/mit", "Melodic Intonation Therapy",
               "The phrase bank, intoned cues and scored attempts by level.", audience="not_nicu"),
    ClientTool("/clients/{client_id}/safety", "Hearing safety and dose ledger",
               "Calibrate the playback level, log listening and see the weekly sound dose."),
    ClientTool("/clients/{client_id}/nicu", "NICU tools",
               "Infant-led stop rules on vital signs, pacifier-activated lullaby, lullaby and womb sounds "
               "within NICU sound limits.", audience="nicu"),
)


def registered_client_tools(app) -> tuple[ClientTool, ...]:
    """The client tools whose pages this app serves, in :data:`CLIENT_TOOLS` order, then any
    tools that only route modules declare."""
    from importlib import import_module

    from fastapi.routing import iter_route_contexts  # included routers are nested, not flattened

    get_paths = {context.path for context in iter_route_contexts(app.routes)
                 if "GET" in (getattr(context, "methods", None) or ())}
    tools = {tool.path: tool for tool in CLIENT_TOOLS}
    for module_name in ROUTER_MODULES:
        for tool in getattr(import_module(module_name), "CLIENT_TOOLS", ()):
            tools[tool.path] = tool
    return tuple(tool for tool in tools.values() if tool.path in get_paths)
