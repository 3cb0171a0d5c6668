"""``create_app(settings)``: the ASGI application ``phonesys web`` serves.

No state lives in the process beyond the engine built from the settings. FastAPI's own ``/docs`` and
``/redoc`` are off (they load Swagger UI and ReDoc from a CDN, and nothing here may load from one):
``phonesys.web.docs`` serves Swagger UI from files in the installed packages instead.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from phonesys.settings import Settings
from phonesys.storage.inventory.engine import interactive, open_engine
from phonesys.web import (
    api,
    audit_api,
    console,
    docs,
    extensions_api,
    problems,
    report_files,
    runs_api,
    template_writes_api,
    templates_api,
    uploads_api,
)
from phonesys.web.models import problem_schemas


def create_app(settings: Settings) -> FastAPI:
    settings.ensure_home()
    app = FastAPI(title="phonesys", version="1", summary="Phone System licenses and extensions of an organization.",
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.settings = settings
    app.state.engine = interactive(open_engine(settings.inventory_url), settings.lock_timeout)
    problems.install(app)
    for module in (api, templates_api, report_files, audit_api, extensions_api, template_writes_api, uploads_api,
                   runs_api):
        app.include_router(module.router)
    console.install(app, settings)
    _document_problems(app)
    docs.install(app, "/openapi.json")
    return app


def _document_problems(app: FastAPI) -> None:
    """Adds the problem document's schema, which the routes' error answers refer to, to ``/openapi.json``."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = FastAPI.openapi(app)
            spec.setdefault("components", {}).setdefault("schemas", {}).update(problem_schemas())
        return app.openapi_schema or {}
    app.openapi = openapi  # type: ignore[method-assign]
