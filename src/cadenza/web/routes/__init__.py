"""Router registry: every module listed here exposes ``router: fastapi.APIRouter``.

To add pages or API routes for your domain, write ``cadenza/web/routes/<domain>.py`` exposing
``router`` and add ONE line to :data:`ROUTER_MODULES`. ``create_app`` includes them in this order.
Page routes use ``Depends(deps.current_user_page)``; API routes live under ``/api/v1`` and use
``Depends(deps.current_user_api)``. See ``docs/web.md``.
"""

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
    "cadenza.web.routes.api",
]
