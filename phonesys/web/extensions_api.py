"""Changing extensions through ``/api/v1``: provision (and Provision & Assign), change, delete.

Each route calls the storage function the matching CLI command calls (``phonesys provision``,
``ext edit|assign-user|unassign-user|set-addons|set-number|delete``), so rules, codes and audit
events are the CLI's. A PATCH carries one kind of change, as one CLI command does: key and directory
name together (``ext edit``), or the user, or the add-ons, or the number. Each of those is one
transaction in storage; allowing several kinds at once would let the second be refused after the
first was made, and a rejected request must change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from phonesys.rules.api import patch_mixed
from phonesys.storage.inventory.extensions import assign_user, edit_extension, set_addons, set_number, unassign_user
from phonesys.storage.inventory.provisioning import Assignment, delete_extension, provision
from phonesys.storage.inventory.results import ExtensionEdited
from phonesys.storage.inventory.views import show_extension
from phonesys.web.auth import blocking
from phonesys.web.models import Extension, problem_responses
from phonesys.web.write_models import ExtensionDeleted, Provisioned
from phonesys.web.writes import ChangerDep

router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 403, 404, 409, 422, 503))
Org = Annotated[str, Path(description="Organization UUID.")]
Key = Annotated[str, Path(description="Extension key, 3-5 digits.")]
# Any text reaches the storage rules (so their codes are the CLI's) except NUL, which no database text holds.
Text = Annotated[str, Field(max_length=1000, pattern=r"^[^\x00]*$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProvisionRequest(Body):
    """``phonesys provision``: ``count`` extensions from ``start``; or one with a user, add-ons and a number."""

    start: Text
    count: int = Field(1, description="How many consecutive extensions (only 1 with user, add-ons or number).")
    user: Text | None = Field(None, description="Identity UUID, or a name matching exactly one user.")
    addons: list[Text] = Field(default_factory=list, max_length=100)
    number: Text | None = None


class ExtensionChange(Body):
    """One kind of change: ``key`` and/or ``directory_name``; or ``user`` (null: unassign); or ``addons``
    (the full new list); or ``number`` (null: clear)."""

    key: Text | None = None
    directory_name: Text | None = Field(None, description="At most 100 characters; '' resets it to the user's name.")
    user: Text | None = None
    addons: list[Text] | None = Field(None, max_length=100)
    number: Text | None = None


@router.post("/orgs/{org}/extensions", status_code=201, response_model=Provisioned,
             summary="Provision extensions, or Provision & Assign one (phonesys provision)")
async def provision_extensions(org: Org, body: ProvisionRequest, change: ChangerDep) -> Any:
    assign = Assignment(body.user, tuple(body.addons), body.number)
    return {"ext_keys": await blocking(lambda: provision(change.engine, change.org(org), body.count, body.start,
                                                         assign))}


@router.patch("/orgs/{org}/extensions/{key}", response_model=Extension,
              summary="Change an extension's key and name, user, add-ons or number (phonesys ext ...)")
async def change_extension(org: Org, key: Key, body: ExtensionChange, change: ChangerDep) -> Any:
    """Answers the extension as it now stands (under its new key, if it changed)."""
    def changed() -> Any:
        org_ref = change.org(org)
        result = _change_of(body, org_ref, key)(change.engine)
        new_key = result.ext_key if isinstance(result, ExtensionEdited) else key
        return show_extension(change.engine, org_ref, new_key)
    return await blocking(changed)  # one thread hop for the change and the answer (see phonesys.web.api)


@router.delete("/orgs/{org}/extensions/{key}", summary="Delete an extension (phonesys ext delete)",
               response_model=ExtensionDeleted)
async def delete(org: Org, key: Key, change: ChangerDep) -> dict[str, Any]:
    """Its base license, add-ons and number go back to the pools; answers what was released."""
    return await blocking(lambda: delete_extension(change.engine, change.org(org), key).as_dict())


def _change_of(body: ExtensionChange, org: str, key: str) -> Callable[[Engine], object]:
    """The one CLI command the body amounts to, or ``patch-mixed`` when it asks for none or several."""
    given = body.model_fields_set
    kinds = [kind for kind in ({"key", "directory_name"}, {"user"}, {"addons"}, {"number"}) if kind & given]
    if len(kinds) != 1:
        raise patch_mixed("key and/or directory_name, or user, or addons, or number")
    if "user" in given:
        user = body.user
        return lambda e: unassign_user(e, org, key) if user is None else assign_user(e, org, key, user)
    if "addons" in given:
        return lambda e: set_addons(e, org, key, body.addons or [])
    if "number" in given:
        return lambda e: set_number(e, org, key, body.number)
    return lambda e: edit_extension(e, org, key, new_key=body.key, directory_name=body.directory_name)
