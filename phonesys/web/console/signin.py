"""Signing in with an API token, signing out, and choosing an organization (operator tokens).

The sign-in form is posted with its own CSRF token (tied to a nonce cookie), so another site cannot
sign a browser into someone else's session. A wrong, unknown or revoked token is ``token-invalid``,
the API's answer, and sets no cookie.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from phonesys.rules.errors import Problem
from phonesys.rules.tokens import csrf_invalid, token_invalid
from phonesys.storage.inventory.tokens import resolve_token
from phonesys.storage.inventory.usage import list_orgs
from phonesys.web.console.context import SessionDep, render, set_cookie, signer
from phonesys.web.console.outcomes import see_other
from phonesys.web.console.sessions import COOKIE_PATH, SESSION_COOKIE, SIGN_IN_COOKIE, new_nonce

router = APIRouter(include_in_schema=False)
SIGN_IN_SECONDS = 3600  # how long a sign-in form stays good


@router.get("/")
@router.get("/console")
def home(session: SessionDep) -> Response:
    """An organization's token goes to its Licenses page; an operator token chooses an organization."""
    org = session.caller.org_uuid
    return see_other(f"/console/orgs/{org}/licenses" if org else "/console/orgs")


@router.get("/console/orgs")
def organizations(request: Request, session: SessionDep) -> Response:
    orgs = [o for o in list_orgs(session.engine) if session.caller.may_see(o.org_uuid)]
    return render(request, "orgs.html", session, orgs=orgs)


@router.get("/console/sign-in")
def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request, [], 200)


def _sign_in_page(request: Request, problems: list[Problem], status: int) -> Response:
    nonce = new_nonce()
    response = render(request, "sign_in.html", None, status, csrf=signer(request).csrf(nonce), problems=problems)
    set_cookie(request, response, SIGN_IN_COOKIE, nonce, SIGN_IN_SECONDS)
    return response


@router.post("/console/sign-in")
def sign_in(request: Request, token: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "") -> Response:
    """The token is checked like a bearer token; the cookie keeps only its id, never the secret."""
    if not signer(request).csrf_matches(request.cookies.get(SIGN_IN_COOKIE), csrf_token):
        return _sign_in_page(request, [csrf_invalid()], 403)
    caller = resolve_token(request.app.state.engine, token.strip())
    if caller is None or caller.token_id is None:
        return _sign_in_page(request, [token_invalid()], 401)
    response = see_other("/console")
    set_cookie(request, response, SESSION_COOKIE, signer(request).new_session(caller.token_id))
    response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


@router.post("/console/sign-out")
def sign_out(request: Request, session: SessionDep, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Signing out needs the CSRF token too (else any site could sign an admin out)."""
    if not signer(request).csrf_matches(request.cookies.get(SESSION_COOKIE), csrf_token):
        return render(request, "error.html", session, 403, problems=[csrf_invalid()])
    response = see_other("/console/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response
