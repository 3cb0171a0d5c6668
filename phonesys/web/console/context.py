"""What every console page needs: the signed-in caller, an audited engine, CSRF checks and rendering.

``signed_in`` re-resolves the session's token on every request (a revoked token stops at once) and
hands the page an engine acting as ``token:<name>``, so every change the console makes is audited
like the API's. ``changing`` guards every POST: the form's CSRF token first, then the role.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse

from phonesys.rules.api import request_too_large
from phonesys.rules.audit import token_actor
from phonesys.rules.errors import Refused
from phonesys.rules.limits import CONSOLE_SESSION_SECONDS, UPLOAD_FILES_MAX, UPLOAD_MAX_BYTES, UPLOAD_REQUEST_MAX_BYTES
from phonesys.rules.tokens import csrf_invalid, may_change, token_forbidden
from phonesys.rules.values import printable
from phonesys.storage.inventory.audit import acting
from phonesys.storage.inventory.tokens import Caller, resolve_token_id
from phonesys.web.console.sessions import COOKIE_PATH, SESSION_COOKIE, Signer
from phonesys.web.writes import PATH_KEPT, deny

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"


class SignInNeeded(Exception):
    """No valid session: the page answers with a redirect to the sign-in form."""


class Forbidden(Refused):
    """A POST without its CSRF token, or from a viewer: 403, nothing changed."""


@dataclass(frozen=True)
class Session:
    """The signed-in caller, the CSRF token its forms carry, and the engine its changes are audited on."""

    caller: Caller
    csrf: str
    engine: Engine

    @property
    def can_change(self) -> bool:
        return may_change(self.caller.role)


def signer(request: Request) -> Signer:
    """The app's signer: one secret per app, read when the app is made."""
    found: Signer = request.app.state.console_signer
    return found


def signed_in(request: Request) -> Session:
    """The session's caller, looked up again by token id on every request (a revoked token stops here)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    token_id = signer(request).session_token_id(cookie)
    caller = None if token_id is None else resolve_token_id(request.app.state.engine, token_id)
    if caller is None or cookie is None:
        raise SignInNeeded()
    engine = acting(request.app.state.engine, token_actor(caller.name), f"web:{uuid.uuid4().hex[:12]}")
    return Session(caller, signer(request).csrf(cookie), engine)


SessionDep = Annotated[Session, Depends(signed_in)]


async def form_of(request: Request) -> FormData:
    """The posted form (Starlette keeps it, so the route reads the same one); a file part may be an upload.
    A body that says it is over the API's upload cap is refused (413) before any of it is read."""
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > UPLOAD_REQUEST_MAX_BYTES:
        raise request_too_large(int(declared))
    return await request.form(max_files=UPLOAD_FILES_MAX, max_fields=200, max_part_size=UPLOAD_MAX_BYTES)


async def changing(request: Request, session: SessionDep) -> Session:
    """A POST is accepted only with this session's CSRF token, and only from an admin token (a viewer's
    attempt is audited as denied, as the API's is)."""
    form = await form_of(request)
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not signer(request).csrf_matches(request.cookies.get(SESSION_COOKIE), sent):
        raise Forbidden(csrf_invalid())
    if not session.can_change:
        deny(request.app.state.engine, session.caller, request.method, printable(request.url.path)[:PATH_KEPT], 403)
        raise Forbidden(token_forbidden().problems)
    return session


ChangingDep = Annotated[Session, Depends(changing)]


def render(request: Request, view: str, session: Session | None, status: int = 200, **values: Any) -> HTMLResponse:
    """A page of the console; every page gets the caller, the CSRF token and what it may do."""
    context = {"session": session, "csrf": session.csrf if session else values.pop("csrf", ""),
               "problems": values.pop("problems", []), **values}
    response = TEMPLATES.TemplateResponse(request, view, context, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def set_cookie(request: Request, response: Any, name: str, value: str, max_age: int = CONSOLE_SESSION_SECONDS) -> None:
    """HttpOnly, SameSite=Strict, limited to the console's path; Secure whenever served over https."""
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")

