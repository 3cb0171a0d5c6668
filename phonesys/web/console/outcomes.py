"""How a console action ends: a redirect on success, the page again with the CLI's problems on refusal,
and files handed over as downloads."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.responses import RedirectResponse, Response

from phonesys.rules.errors import Problem, Refused
from phonesys.storage.objects import ObjectStore
from phonesys.web.problems import status_of

T = TypeVar("T")


def see_other(url: str) -> RedirectResponse:
    """After a POST the browser loads the result with GET (a reload does not post again)."""
    return RedirectResponse(url, status_code=303)


def attempt(action: Callable[[], T], done: Callable[[T], Response],
            refused: Callable[[list[Problem], int], Response]) -> Response:
    """Run one change; a refusal changed nothing and is shown with its codes and the API's status."""
    try:
        result = action()
    except Refused as refusal:
        return refused(refusal.problems, status_of(refusal))
    return done(result)


def yes_no(value: str) -> bool | None:
    """A filter's select: ``yes``, ``no``, or anything else for either."""
    return {"yes": True, "no": False}.get(value)


def download(store: ObjectStore, key: str, media_type: str = "text/csv; charset=utf-8") -> Response:
    """An object as an attachment named like the object (export and report names are allowlisted keys)."""
    name = key.rsplit("/", 1)[-1]
    return Response(store.read_bytes(key), media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
