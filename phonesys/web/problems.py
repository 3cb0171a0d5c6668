"""Every failure of the API as an RFC 9457 ``application/problem+json`` document with the CLI's codes.

The CLI prints ``error <code>: <message>`` for each ``Problem`` of a refusal and exits 1; the API
answers the same problems with a status from ``status_of``, so a script sees one code for one fact
whichever door it used. ``problems`` lists them all (with ``field`` and ``value`` where known);
``code`` and ``detail`` repeat the first for clients that read only one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from phonesys.ops.prefect_api import PrefectUnavailable
from phonesys.rules.codes import CODES
from phonesys.rules.errors import Busy, Conflict, NotFound, Problem, Refused, TransientError

MEDIA_TYPE = "application/problem+json"
STATUS_BY_CODE = {"token-invalid": 401, "token-forbidden": 403, "file-too-large": 413, "request-too-large": 413}
STATUS_BY_HTTP = {404: "route-not-found", 405: "method-not-allowed"}
log = logging.getLogger("phonesys.web")


def problem_response(problems: list[Problem], status: int, extra: dict[str, Any] | None = None,
                     headers: Mapping[str, str] | None = None) -> JSONResponse:
    first = problems[0]
    document = {"type": f"urn:phonesys:problem:{first.code}", "title": CODES.get(first.code, first.code),
                "status": status, "detail": "; ".join(p.message for p in problems), "code": first.code,
                "problems": [p.as_dict() for p in problems], **(extra or {})}
    return JSONResponse(document, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(refused: Refused) -> int:
    """401 for a bad token, 403 for a viewer's change, 413 for an upload over its limit, 404 for what
    does not exist (or is not the caller's to see), 409 when the
    inventory's state stands in the way, 422 for a request that breaks a rule."""
    by_code = STATUS_BY_CODE.get(refused.problems[0].code)
    if by_code is not None:
        return by_code
    if isinstance(refused, NotFound):
        return 404
    return 409 if isinstance(refused, Conflict) else 422


async def _refused(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem_response(exc.problems, status, exc.details, headers)


async def _busy(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Busy)
    return problem_response([exc.problem], 503, headers={"Retry-After": "1"})


async def _prefect_down(_request: Request, exc: Exception) -> JSONResponse:
    """The Prefect API a start or revert hands its run to did not answer: nothing was changed."""
    assert isinstance(exc, PrefectUnavailable)
    return problem_response([exc.problem], 503, headers={"Retry-After": "5"})


async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """The reason goes to the server's log, not to the caller (it may name hosts and users)."""
    log.error("inventory database unavailable: %s", str(getattr(exc, "orig", exc)).strip().splitlines()[:1])
    problem = Problem("database-unavailable", "The inventory database cannot be reached; try again later.")
    return problem_response([problem], 503, headers={"Retry-After": "5"})


async def _server_busy(_request: Request, exc: Exception) -> JSONResponse:
    """Every pooled database connection stayed in use past the pool's timeout: the server is loaded,
    not broken, so the client is told to come back (a 500 would say the server failed). The step that
    waited never reached the database; an earlier step of the same request may have."""
    log.warning("no database connection free within the pool's timeout: %s", str(exc).splitlines()[:1])
    problem = Problem("server-busy", "The server is busy (every database connection is in use); retry shortly.")
    return problem_response([problem], 503, headers={"Retry-After": "1"})


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's checks of path and query values (e.g. ``limit`` above 1000), one problem each."""
    assert isinstance(exc, RequestValidationError)
    problems = [Problem("request-invalid", str(error.get("msg", "invalid")), _field(error.get("loc", ())),
                        None if error.get("input") is None else str(error["input"])[:120])
                for error in exc.errors()]
    return problem_response(problems or [Problem("request-invalid", "The request is not valid.")], 422)


def _field(location: tuple[Any, ...] | list[Any]) -> str:
    """``("query", "limit")`` -> ``limit``: where the value came from is the route's business."""
    return ".".join(str(part) for part in location[1:]) or ".".join(str(part) for part in location)


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = STATUS_BY_HTTP.get(exc.status_code, "request-invalid")
    return problem_response([Problem(code, str(exc.detail))], exc.status_code, headers=exc.headers)


async def _internal(_request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error: %s", type(exc).__name__, exc_info=exc)
    problem = Problem("internal-error", "An unexpected error; the server's log has the details.")
    return problem_response([problem], 500)


def install(app: FastAPI) -> None:
    """Register the handlers; the most specific class wins (``Busy`` before ``TransientError``)."""
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(Busy, _busy)
    app.add_exception_handler(PrefectUnavailable, _prefect_down)
    app.add_exception_handler(TransientError, _unavailable)
    app.add_exception_handler(DBAPIError, _unavailable)
    app.add_exception_handler(PoolTimeout, _server_busy)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _internal)
