"""Changing templates through ``/api/v1``: create, rename or set add-ons, delete, duplicate.

Each route calls the storage function of the matching CLI command (``phonesys template
create|rename|set-addons|delete|duplicate``). A PATCH carries one kind of change (``name`` or
``addons``), as one CLI command does, so a refused request never leaves half of itself done.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import Field

from phonesys.rules.api import patch_mixed
from phonesys.storage.inventory.template_views import template_detail
from phonesys.storage.inventory.templates import (
    create_template,
    delete_template,
    duplicate_template,
    rename_template,
    set_template_addons,
)
from phonesys.web.auth import blocking
from phonesys.web.extensions_api import Body, Text
from phonesys.web.models import Template, problem_responses
from phonesys.web.write_models import NewTemplate as NewTemplateDocument
from phonesys.web.write_models import TemplateCopy, TemplateDeleted
from phonesys.web.writes import ChangerDep

router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 403, 404, 409, 422, 503))
Org = Annotated[str, Path(description="Organization UUID.")]
TemplateRef = Annotated[str, Path(description="Template UUID.")]
Addons = Annotated[list[Text], Field(max_length=100, description="Add-ons every row gets.")]


class NewTemplate(Body):
    name: Text
    addons: Addons = Field(default_factory=list)


class TemplateChange(Body):
    """A draft's new ``name``, or its full new list of ``addons`` (one of them per request)."""

    name: Text | None = None
    addons: Addons | None = None


class Copy(Body):
    name: Text | None = Field(None, description="Name of the copy (default: the original's, marked as a copy).")
    failed_only: bool = Field(False, description="Copy only the rows whose assignment failed.")


def _created(response: Response, document: dict[str, Any]) -> dict[str, Any]:
    response.headers["Location"] = f"/api/v1/templates/{document['uuid']}"
    return document


@router.post("/orgs/{org}/templates", status_code=201, response_model=NewTemplateDocument,
             summary="Create a draft template (phonesys template create)")
async def create(org: Org, body: NewTemplate, change: ChangerDep, response: Response) -> dict[str, Any]:
    return _created(response, await blocking(lambda: create_template(change.engine, change.org(org), body.name,
                                                                     body.addons).as_dict()))


@router.patch("/templates/{template}", response_model=Template,
              summary="Rename a draft or replace its add-ons (phonesys template rename|set-addons)")
async def update(template: TemplateRef, body: TemplateChange, change: ChangerDep) -> Any:
    def updated() -> Any:
        ref = change.template(template)
        if len(body.model_fields_set & {"name", "addons"}) != 1 or (body.name is None and body.addons is None):
            raise patch_mixed("name, or addons")
        if body.name is not None:
            rename_template(change.engine, ref, body.name)
        else:
            set_template_addons(change.engine, ref, body.addons or [])
        return template_detail(change.engine, ref)
    return await blocking(updated)  # one thread hop for the change and the answer


@router.delete("/templates/{template}", summary="Delete a draft template (phonesys template delete)",
               response_model=TemplateDeleted)
async def delete(template: TemplateRef, change: ChangerDep) -> dict[str, Any]:
    return await blocking(lambda: delete_template(change.engine, change.template(template)).as_dict())


@router.post("/templates/{template}/duplicate", status_code=201, response_model=TemplateCopy,
             summary="Copy a template into a new draft (phonesys template duplicate)")
async def duplicate(template: TemplateRef, change: ChangerDep, response: Response,
                    body: Copy | None = None) -> dict[str, Any]:
    """A completed template's copy keeps only the rows that can still be assigned and says what it left out."""
    wanted = body or Copy()
    copy = await blocking(lambda: duplicate_template(change.engine, change.template(template), wanted.name,
                                                     wanted.failed_only))
    return _created(response, copy.as_dict())
