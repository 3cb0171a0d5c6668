"""Who is calling: the bearer token of each request, and which organizations it may see.

Every request looks its token up again (one indexed read), so a revoked token stops at the next
request, on every server process. The dependencies are ``async``: FastAPI runs a plain ``def``
dependency in its thread pool, and under load each such hop waits its turn again behind every other
request, so only the token's read goes to a thread (``run_in_threadpool``), once. A token of one
organization asking for another gets exactly the 404 a missing organization gets: the answer never
tells that the other organization exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from phonesys.rules.errors import NotFound, Refused
from phonesys.rules.refusals import template_not_found
from phonesys.rules.tokens import org_hidden, token_invalid
from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.inventory.lookup import canonical_org_uuid
from phonesys.storage.inventory.templates import get_template
from phonesys.storage.inventory.tokens import Caller, resolve_token

Result = TypeVar("Result")
bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="An API token from `phonesys token create` (phs_...).")


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def inventory(request: Request) -> Engine:
    """The app's engine; ``async`` because it does no I/O (a plain ``def`` would cost a thread hop)."""
    return engine_of(request)


async def blocking(work: Callable[[], Result]) -> Result:
    """Run ``work`` (database or file I/O) in the thread pool: the one hop an ``async`` route makes."""
    return await run_in_threadpool(work)


async def caller(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    """The token's caller; 401 ``token-invalid`` alike for no token, an unknown one and a revoked one."""
    found = None if credentials is None else await run_in_threadpool(resolve_token, engine_of(request),
                                                                     credentials.credentials)
    if found is None:
        raise Refused(token_invalid())
    return found


CallerDep = Annotated[Caller, Depends(caller)]
EngineDep = Annotated[Engine, Depends(inventory)]


Hidden = Callable[[], None] | None  # told (to audit it) when the caller asks for another organization's id


def visible_org(org_ref: str, who: Caller, on_hidden: Hidden = None) -> str:
    """``org_ref`` if the caller may see it; a malformed UUID is refused the same for every caller."""
    org_uuid = canonical_org_uuid(org_ref)
    if not who.may_see(org_uuid):
        if on_hidden is not None:
            on_hidden()
        raise org_hidden(org_ref, org_uuid)
    return org_ref


def visible_template(engine: Engine, template_ref: str, who: Caller, on_hidden: Hidden = None) -> str:
    """``template_ref`` if the caller may see its organization; otherwise exactly the ``template-not-found``
    of a missing template. A template never moves to another organization, so the answer stays true."""
    with read_transaction(engine) as connection:
        found = get_template(connection, template_ref)
    if not who.may_see(found.org_uuid):
        if on_hidden is not None:
            on_hidden()
        raise NotFound(template_not_found(found.template_uuid, template_ref))
    return template_ref
