"""What load balancers, orchestrators and monitoring ask: liveness, readiness and metrics.

- ``/health``: the process answers (liveness; no database work, so a busy database never restarts workers).
- ``/ready``: the database answers and its schema is at this code's migration heads (readiness: a worker
  that cannot serve, or a database not yet migrated, is taken out of the proxy's rotation).
- ``/metrics``: Prometheus' text format (:mod:`cadenza.web.observability`); only for a request with the
  configured bearer token, or, when none is configured, for a direct request from this machine.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

router = APIRouter()


@router.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@functools.cache
def _code_heads() -> frozenset[str]:
    """The migration heads this code expects (read from the scripts once per process)."""
    from cadenza.clinic.backup import code_heads

    return frozenset(code_heads())


@router.get("/ready", tags=["meta"])
def ready(request: Request) -> JSONResponse:
    from alembic.runtime.migration import MigrationContext

    expected = _code_heads()
    try:
        with request.app.state.session_factory() as db:
            connection = db.connection()
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as exc:  # any failure to reach the database means "not ready", with its kind
        return JSONResponse({"status": "unavailable", "database": "unreachable", "error": type(exc).__name__},
                            status_code=503, headers={"Retry-After": "5"})
    if current != expected:
        return JSONResponse({"status": "unavailable", "database": "reachable", "migrations": "behind",
                             "missing_heads": sorted(expected - current)},
                            status_code=503, headers={"Retry-After": "30"})
    return JSONResponse({"status": "ready", "database": "reachable", "migrations": "at head"})


def _may_scrape(request: Request) -> bool:
    token = request.app.state.settings.metrics_token
    if token:
        offered = request.headers.get("authorization", "")
        return hmac.compare_digest(offered.encode(), f"Bearer {token}".encode())
    if "x-forwarded-for" in request.headers or request.client is None:
        return False  # through a proxy, the loopback address is the proxy's, not the scraper's
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


@router.get("/metrics", tags=["meta"], include_in_schema=False)
def metrics(request: Request) -> Response:
    from cadenza.web.observability import metrics_text

    if not _may_scrape(request):
        return Response("not found\n", status_code=404, media_type="text/plain")
    body, content_type = metrics_text()
    return Response(body, media_type=content_type)
