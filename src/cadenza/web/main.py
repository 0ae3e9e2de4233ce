"""The FastAPI application factory: ``uvicorn --factory cadenza.web.main:create_app``."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

from cadenza.settings import Settings
from cadenza.web.routes import ROUTER_MODULES


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings default to :meth:`Settings.from_env`."""
    settings = settings or Settings.from_env()
    app = FastAPI(title="Cadenza", version="0.1.0")
    app.state.settings = settings
    for module_name in ROUTER_MODULES:
        app.include_router(importlib.import_module(module_name).router)
    return app
