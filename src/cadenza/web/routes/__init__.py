"""Router registry: the app's own route modules, then each installed tool's pages.

The core's pages and API (accounts, clients, sessions, exports, ...) are listed in
:data:`CORE_ROUTER_MODULES`; each module exposes ``router: fastapi.APIRouter``. A clinical tool is not
listed here: its manifest (``cadenza/tools/<tool>/__init__.py``, see :mod:`cadenza.plugins`) names its
pages router, and ``create_app`` includes the core's routers, then the tools' in
:data:`cadenza.plugins.INSTALLED_TOOLS` order. Page routes use ``Depends(deps.current_user_page)``; API
routes live under ``/api/v1`` and use ``Depends(deps.current_user_api)``. See ``docs/architecture.md``.

The client page's **Tools** section comes from the same manifests (:data:`CLIENT_TOOLS`: title, summary,
audience and the session-page link of each tool). A tool is linked only if the app really has a GET
route at its path, so a page that is not registered is never linked.
"""

from __future__ import annotations

from dataclasses import dataclass

from cadenza.plugins import AUDIENCES, Tool, installed_tools

CORE_ROUTER_MODULES: list[str] = [
    "cadenza.web.routes.health",
    "cadenza.web.routes.auth",
    "cadenza.web.routes.clients",
    "cadenza.web.routes.clinic_day",
    "cadenza.web.routes.drafts",
    "cadenza.web.routes.evidence",
    "cadenza.web.routes.exports",
    "cadenza.web.routes.admin",
    "cadenza.web.routes.api",
    "cadenza.web.routes.admin_api",
]


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
    overview: str = ""  # "module:function(db, client) -> list[str]" (the manifest's)
    overview_many: str = ""  # "module:function(db, clients) -> dict[int, list[str]]" (the manifest's)

    def __post_init__(self) -> None:
        if "{client_id}" not in self.path:
            raise ValueError(f"path must contain {{client_id}}, got {self.path!r}")
        if self.audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {AUDIENCES}, got {self.audience!r}")

    def shown_for(self, *, nicu_infant: bool) -> bool:
        return self.audience == "all" or (self.audience == "nicu") == nicu_infant

    def url(self, client_id: int) -> str:
        return self.path.replace("{client_id}", str(int(client_id)))

    def overview_lines(self, db, client) -> list[str]:
        """The tool's plain lines about ``client`` (already authorised), or none."""
        from cadenza.plugins import load_target

        return list(load_target(self.overview)(db, client)) if self.overview else []

    def overview_lines_of_clients(self, db, clients) -> dict[int, list[str]]:
        """:meth:`overview_lines` of each of ``clients`` (already authorised), by client id: with a few queries
        in all when the tool offers ``overview_many``, else one call per client."""
        from cadenza.plugins import load_target

        if not self.overview:
            return {client.id: [] for client in clients}
        if self.overview_many:
            found = load_target(self.overview_many)(db, list(clients))
            return {client.id: list(found.get(client.id, ())) for client in clients}
        return {client.id: self.overview_lines(db, client) for client in clients}


def client_tool(tool: Tool) -> ClientTool:
    """The card on the client page for one tool's manifest."""
    return ClientTool(tool.client_path, tool.title, tool.summary, audience=tool.audience,
                      session_title=tool.session_title, session_query=tool.session_query, overview=tool.overview,
                      overview_many=tool.overview_many)


CLIENT_TOOLS: tuple[ClientTool, ...] = tuple(client_tool(tool) for tool in installed_tools() if tool.pages)


def registered_client_tools(app) -> tuple[ClientTool, ...]:
    """The client tools whose pages this app serves, in :data:`CLIENT_TOOLS` (manifest) order."""
    from fastapi.routing import iter_route_contexts  # included routers are nested, not flattened

    get_paths = {context.path for context in iter_route_contexts(app.routes)
                 if "GET" in (getattr(context, "methods", None) or ())}
    return tuple(tool for tool in CLIENT_TOOLS if tool.path in get_paths)
