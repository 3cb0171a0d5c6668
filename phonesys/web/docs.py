"""``/docs``: Swagger UI for ``/openapi.json``, every file of it served by this app.

FastAPI's own ``/docs`` loads Swagger UI from a CDN; here its script, stylesheet and icon come from
the ``fastapi-offline`` package (Swagger UI 5, which reads OpenAPI 3.1) under ``/docs/assets``. The
validator badge is off (it is an image from another host), and a Content-Security-Policy keeps a
browser from loading anything off-host even if a later version of the page tried.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"
ASSETS = Path(fastapi_offline.__file__).parent / "static"
POLICY = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'")


def install(app: FastAPI, openapi_url: str) -> None:
    """Route ``/docs`` and mount its assets; nothing here needs a token (the API's description is public)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} API",
                                   swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
                                   swagger_ui_parameters={"validatorUrl": None})
        page.headers["Content-Security-Policy"] = POLICY
        return page
