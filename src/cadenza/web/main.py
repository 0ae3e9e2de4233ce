"""The FastAPI application factory: ``uvicorn --factory cadenza.web.main:create_app``."""

from __future__ import annotations

import gc
import importlib

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from cadenza.clinic import audit_chain
from cadenza.clinic.db import is_record_factory, make_engine, make_session_factory
from cadenza.clinic.tables import record_metadata
from cadenza.errors import ParameterError
from cadenza.plugins import installed_tools
from cadenza.settings import Settings
from cadenza.web.dashboard_cache import DashboardCache
from cadenza.web.errors import install_error_handlers
from cadenza.web.middleware import BodySizeLimitMiddleware, ConcurrencyLimitMiddleware, SecurityHeadersMiddleware
from cadenza.web.observability import RequestObservingMiddleware
from cadenza.web.route_index import install as install_route_index
from cadenza.web.routes import CORE_ROUTER_MODULES, registered_client_tools
from cadenza.web.templating import STATIC_DIR, compile_all_templates

API_PREFIX = "/api/v1"
# Sync routes and dependencies run on AnyIO's worker threads (40 by default). A request holds its
# pooled connection while it waits for a thread, so a pool smaller than the thread count can
# deadlock under load (every thread waiting for a connection whose holder waits for a thread).
DB_POOL_SIZE = 20
DB_MAX_OVERFLOW = 30
# SQLite serialises writers (and every Cadenza request writes an audit row): a few requests at a time
# keep the lock moving; more only queue on the lock while holding worker threads.
SQLITE_MAX_CONCURRENT_REQUESTS = 4


def create_app(
    settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None
) -> FastAPI:
    """Build the app; settings default to :meth:`Settings.from_env`.

    ``session_factory`` lets tests and the load benchmark hand in their own database sessions; it
    must come from :func:`cadenza.clinic.db.make_session_factory`, whose sessions seal the audit chain
    and enforce emergency grants (a plain ``sessionmaker`` is refused). Otherwise an engine is made
    from ``settings.database_url`` (the schema must already be migrated: ``cadenza migrate`` or
    ``cadenza serve`` do that).
    """
    if session_factory is not None and not is_record_factory(session_factory):
        raise ParameterError(
            f"session_factory: {session_factory!r} does not carry the record's guards (audit sealing, "
            "emergency grants); make it with cadenza.clinic.db.make_session_factory")
    settings = settings or Settings.from_env()
    record_metadata()  # every table the record and the installed tools declare, before any query
    app = FastAPI(
        title="Cadenza",
        version="0.1.0",
        description=(
            "Clinical record for music therapists. Music therapy is an adjunct to care, not a cure; "
            "every intervention is shown with its evidence and caveat."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        # The interactive docs pages load their scripts from a CDN, which the CSP forbids.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    if session_factory is None:
        engine = make_engine(settings.database_url, request_timeouts=True, pool_size=DB_POOL_SIZE,
                             max_overflow=DB_MAX_OVERFLOW)
        session_factory = make_session_factory(engine)
        # PostgreSQL: requests commit their audit events unsealed-but-tagged; this worker's sealer chains them
        # within a fraction of a second, so no request queues on the chain lock (issue 23).
        audit_chain.start_background_sealer(engine)
    app.state.session_factory = session_factory
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module_name in CORE_ROUTER_MODULES:
        app.include_router(importlib.import_module(module_name).router)
    for tool in installed_tools():  # each tool's pages, named by its manifest: cadenza/tools/<tool>/__init__.py
        if tool.pages:
            app.include_router(tool.load("pages"))
    app.state.client_tools = registered_client_tools(app)  # the client page links only these
    app.state.dashboard_cache = DashboardCache()  # the dashboard's lists per caseload version (issue 23)
    install_route_index(app)  # routers whose routes cannot fit the request's path are not asked (issue 23)
    # Added last = outermost: the size limit sees the raw stream before anything buffers it.
    app.add_middleware(SecurityHeadersMiddleware)
    bind = session_factory.kw.get("bind")
    if bind is not None and getattr(getattr(bind, "dialect", None), "name", "") == "sqlite":
        app.add_middleware(ConcurrencyLimitMiddleware, max_requests=SQLITE_MAX_CONCURRENT_REQUESTS)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_upload_bytes)
    # Outermost: the id and the clock cover everything, including a refused oversize body.
    app.add_middleware(RequestObservingMiddleware, session_factory=session_factory)
    return app


def freeze_startup_objects() -> int:
    """Move every object alive now (the imported modules, the app, its routes and templates) out of the cyclic
    garbage collector's reach; returns how many were frozen.

    A worker imports a few hundred thousand long-lived objects (SQLAlchemy's mappers, FastAPI's routes, NumPy,
    SciPy and librosa for the tools), and every full collection traversed all of them again while requests
    waited (issue 23, bench/RESULTS.md). They are never garbage, so they need not be looked at. Reference
    counting still frees everything; only the cycle search skips them. Called once per worker by
    :func:`create_served_app`, never by the tests' many apps (frozen objects are never collected).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def create_served_app() -> FastAPI:
    """The app as ``cadenza serve`` runs it in each worker: :func:`create_app`, every template compiled
    (:func:`cadenza.web.templating.compile_all_templates`), then :func:`freeze_startup_objects`, which
    freezes the compiled templates with the rest."""
    app = create_app()
    compile_all_templates()
    freeze_startup_objects()
    return app
