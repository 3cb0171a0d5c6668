"""What every changing route shares: only an admin token changes anything, each change is recorded
as ``token:<name>`` under one correlation id per request, and denied access is itself audited.

The role is checked before the request's ids are looked at, so a viewer gets the same 403 for an
id of its own organization, of another one and for one that does not exist: the answer says
nothing about the ids. A token asking for another organization's id gets exactly the 404 of a
missing one (``auth.visible_org``/``visible_template``); both denials are written to the log of the
token's own organization with outcome ``denied`` (the response carries nothing of it). Writing that
event must never change the answer, so a failure to write it is only logged.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from phonesys.rules.audit import token_actor
from phonesys.rules.tokens import token_forbidden
from phonesys.rules.values import printable
from phonesys.settings import Settings
from phonesys.storage.inventory.audit import Event, acting, record
from phonesys.storage.inventory.engine import write_transaction
from phonesys.storage.inventory.tokens import Caller
from phonesys.web.auth import CallerDep, EngineDep, visible_org, visible_template

log = logging.getLogger("phonesys.web")
ADMIN = "admin"
PATH_KEPT = 300  # characters of a denied request's path kept in its event (a hostile path can be huge)


@dataclass(frozen=True)
class Changer:
    """An admin caller of a changing route, and the engine its changes are recorded through."""

    who: Caller
    engine: Engine
    actor: str
    correlation: str
    method: str
    path: str

    def org(self, org_ref: str) -> str:
        """``org_ref`` if the caller may change it; another organization's is the 404 of a missing one."""
        return visible_org(org_ref, self.who, on_hidden=lambda: deny(self.engine, self.who, self.method, self.path,
                                                                     404))

    def template(self, template_ref: str) -> str:
        return visible_template(self.engine, template_ref, self.who,
                                on_hidden=lambda: deny(self.engine, self.who, self.method, self.path, 404))


async def changer(request: Request, who: CallerDep, engine: EngineDep) -> Changer:
    """The dependency of every changing route: 403 ``token-forbidden`` for a viewer, else the caller
    with an engine that records ``token:<name>`` and this request's correlation id. ``async``: only a
    denial writes (in a thread), so an admin's request costs no thread hop here."""
    path = printable(request.url.path)[:PATH_KEPT]
    if who.role != ADMIN:
        await run_in_threadpool(deny, engine, who, request.method, path, 403)
        raise token_forbidden()
    actor, correlation = token_actor(who.name), f"api:{uuid.uuid4().hex[:12]}"
    return Changer(who, acting(engine, actor, correlation), actor, correlation, request.method, path)


ChangerDep = Annotated[Changer, Depends(changer)]


async def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]


def deny(engine: Engine, who: Caller, method: str, path: str, status: int) -> None:
    """Record a denied request (outcome ``denied``) in its own transaction: nothing else was changed."""
    event = Event("token.denied", who.org_uuid, "token", who.name, None,
                  {"method": method, "path": path, "status": status}, outcome="denied")
    try:
        with write_transaction(acting(engine, token_actor(who.name), f"api:{uuid.uuid4().hex[:12]}")) as connection:
            record(connection, event)
    except Exception as exc:  # noqa: BLE001 - the answer stays the denial whatever happens here
        log.error("could not record a denied request: %s", type(exc).__name__)
