"""``create_app(settings)``: the ASGI application ``phonesys web`` serves.

No state lives in the process beyond the engine built from the settings. ``/docs`` and ``/redoc``
are off: FastAPI's pages load Swagger UI and ReDoc from a CDN, and nothing here may load from one;
``/openapi.json`` describes the API in the meantime.
"""

from __future__ import annotations

from fastapi import FastAPI

from phonesys.settings import Settings
from phonesys.storage.inventory.engine import interactive, open_engine
from phonesys.web import api, problems, templates_api


def create_app(settings: Settings) -> FastAPI:
    settings.ensure_home()
    app = FastAPI(title="phonesys", version="1", summary="Phone System licenses and extensions of an organization.",
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.engine = interactive(open_engine(settings.inventory_url), settings.lock_timeout)
    problems.install(app)
    app.include_router(api.router)
    app.include_router(templates_api.router)
    return app
