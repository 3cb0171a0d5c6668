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
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from phonesys.rules.errors import Busy, Problem, Refused
from phonesys.settings import Settings
from phonesys.web.console import extension, licenses, signin, template_runs, template_users, templates_list
from phonesys.web.console.context import Forbidden, SignInNeeded, render
from phonesys.web.console.outcomes import see_other
from phonesys.web.console.sessions import Signer, web_secret
from phonesys.web.problems import status_of

PREFIX = "/console"


Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the console's pages and assets on ``app``; its errors are pages, the API's stay problem+json."""
    app.state.console_signer = Signer(web_secret(settings))
    app.mount(f"{PREFIX}/static", StaticFiles(directory=Path(__file__).parent / "static"), name="console-static")
    for module in (signin, licenses, extension, templates_list, template_users, template_runs):
        app.include_router(module.router)
    for kind, page in ((Refused, _refused_page), (Busy, _busy_page), (RequestValidationError, _invalid_page)):
        app.add_exception_handler(kind, _console_or_api(app.exception_handlers[kind], page))
    app.add_exception_handler(SignInNeeded, lambda _request, _exc: see_other(f"{PREFIX}/sign-in"))


def _console_or_api(api_handler: Handler, page: Callable[[Request, Exception], Response]) -> Handler:
    """A console request's error is a page; any other request keeps the API's problem+json handler."""
    async def handle(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(PREFIX):
            return page(request, exc)
        answer = api_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer
    return handle


def _refused_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    status = 403 if isinstance(exc, Forbidden) else status_of(exc)
    return render(request, "error.html", None, status, problems=exc.problems)


def _busy_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Busy)
    return render(request, "error.html", None, 503, problems=[exc.problem])


def _invalid_page(request: Request, exc: Exception) -> Response:
    """A page's query value FastAPI refused (an offset that is not a number, a NUL in a filter)."""
    assert isinstance(exc, RequestValidationError)
    problems = [Problem("request-invalid", f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}")
                for e in exc.errors()]
    return render(request, "error.html", None, 422, problems=problems)
