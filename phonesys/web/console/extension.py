"""Manage on an extension: edit key and directory name, change user, add-ons and number, delete.

Each form calls the storage function of the matching ``phonesys ext`` command on an engine acting
as the token, so the rules (the 100-character directory name, a free key, an available number) and
the codes are the CLI's; the page's script only mirrors the name limit by disabling Update.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import Engine
from starlette.responses import Response

from phonesys.rules.limits import DIRECTORY_NAME_MAX
from phonesys.storage.inventory.extensions import assign_user, edit_extension, set_addons, set_number, unassign_user
from phonesys.storage.inventory.provisioning import delete_extension
from phonesys.storage.inventory.usage import org_usage
from phonesys.storage.inventory.views import show_extension
from phonesys.web.auth import visible_org
from phonesys.web.console.context import ChangingDep, Session, SessionDep, render
from phonesys.web.console.outcomes import attempt, see_other

router = APIRouter(prefix="/console/orgs/{org}/extensions/{key}", include_in_schema=False)
Text = Annotated[str, Form()]


def _page(request: Request, session: Session, org: str, key: str, status: int = 200, **values: object) -> Response:
    return render(request, "extension.html", session, status, org=org, ext=show_extension(session.engine, org, key),
                  usage=org_usage(session.engine, org), name_max=DIRECTORY_NAME_MAX, **values)


@router.get("")
def manage(request: Request, org: str, key: str, session: SessionDep) -> Response:
    return _page(request, session, visible_org(org, session.caller), key)


def _change(request: Request, session: Session, org: str, key: str,
            action: Callable[[Engine, str], object], new_key: str | None = None) -> Response:
    """Apply one change; on success show the extension again (under its new key after a re-key)."""
    org_uuid = visible_org(org, session.caller)
    return attempt(lambda: action(session.engine, org_uuid),
                   lambda _: see_other(f"/console/orgs/{org_uuid}/extensions/{new_key or key}"),
                   lambda problems, status: _page(request, session, org_uuid, key, status, problems=problems))


@router.post("/edit")
def edit(request: Request, org: str, key: str, session: ChangingDep, new_key: Text = "",
         directory_name: Text = "") -> Response:
    """Key and directory name; a name over the limit is refused here too (``directory-name-too-long``)."""
    target = new_key.strip() if new_key.strip() and new_key.strip() != key else None
    return _change(request, session, org, key, lambda e, o: edit_extension(
        e, o, key, new_key=target, directory_name=directory_name), target)


@router.post("/user")
def change_user(request: Request, org: str, key: str, session: ChangingDep, user: Text = "") -> Response:
    """A name or identity UUID assigns that user; an empty field removes the user."""
    if user.strip():
        return _change(request, session, org, key, lambda e, o: assign_user(e, o, key, user.strip()))
    return _change(request, session, org, key, lambda e, o: unassign_user(e, o, key))


@router.post("/addons")
def change_addons(request: Request, org: str, key: str, session: ChangingDep,
                  addons: Annotated[list[str], Form()] = []) -> Response:  # noqa: B006
    return _change(request, session, org, key, lambda e, o: set_addons(e, o, key, addons))


@router.post("/number")
def change_number(request: Request, org: str, key: str, session: ChangingDep, number: Text = "") -> Response:
    """A number assigns it; an empty field clears the extension's number."""
    return _change(request, session, org, key, lambda e, o: set_number(e, o, key, number.strip() or None))


@router.get("/delete")
def confirm_delete(request: Request, org: str, key: str, session: SessionDep) -> Response:
    """Delete asks first: this page says what goes back to the pools and posts the deletion."""
    return _page(request, session, visible_org(org, session.caller), key, confirm_delete=True)


@router.post("/delete")
def delete(request: Request, org: str, key: str, session: ChangingDep) -> Response:
    org_uuid = visible_org(org, session.caller)
    return attempt(lambda: delete_extension(session.engine, org_uuid, key),
                   lambda _: see_other(f"/console/orgs/{org_uuid}/licenses"),
                   lambda problems, status: _page(request, session, org_uuid, key, status, problems=problems))
