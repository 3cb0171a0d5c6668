"""The web console: server-rendered pages for an organization's admins, as the help page describes them.

Pages live under ``/console`` (``/`` redirects there), rendered with Jinja2 from ``templates/``; the
one stylesheet and script are served from ``static/`` by this app (nothing loads from elsewhere, and
each page's Content-Security-Policy says so). Sign-in takes an API token and keeps a signed session
cookie (``sessions``); every page calls the storage or service function the matching CLI command
calls (``licenses``, ``extension``, ``templates_list``, ``template_users``, ``template_runs``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from phonesys.rules.errors import Busy, Refused
from phonesys.settings import Settings
from phonesys.web.console import extension, licenses, signin, template_runs, template_users, templates_list
from phonesys.web.console.context import Forbidden, SignInNeeded, render
from phonesys.web.console.outcomes import see_other
from phonesys.web.console.sessions import Signer, web_secret
from phonesys.web.problems import status_of

PREFIX = "/console"


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the console's pages and assets on ``app``; its errors are pages, the API's stay problem+json."""
    app.state.settings = settings
    app.state.console_signer = Signer(web_secret(settings))
    app.mount(f"{PREFIX}/static", StaticFiles(directory=Path(__file__).parent / "static"), name="console-static")
    for module in (signin, licenses, extension, templates_list, template_users, template_runs):
        app.include_router(module.router)
    api_refused, api_busy = app.exception_handlers[Refused], app.exception_handlers[Busy]

    async def refused(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith(PREFIX):
            return await _delegate(api_refused, request, exc)
        assert isinstance(exc, Refused)
        status = 403 if isinstance(exc, Forbidden) else status_of(exc)
        return render(request, "error.html", None, status, problems=exc.problems)

    async def busy(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith(PREFIX):
            return await _delegate(api_busy, request, exc)
        assert isinstance(exc, Busy)
        return render(request, "error.html", None, 503, problems=[exc.problem])

    async def sign_in_needed(_request: Request, _exc: Exception) -> Response:
        return see_other(f"{PREFIX}/sign-in")

    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(Busy, busy)
    app.add_exception_handler(SignInNeeded, sign_in_needed)


async def _delegate(handler: Callable[[Request, Exception], Response | Awaitable[Response]], request: Request,
                    exc: Exception) -> Response:
    """The API's own handler, for a request outside the console."""
    answer = handler(request, exc)
    return await answer if inspect.isawaitable(answer) else answer
