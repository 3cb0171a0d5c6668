"""The routes of ``/api/v1``: each one checks the caller's scope, then calls the storage function the
matching CLI command calls, so the API and ``--json`` output carry the same figures and codes.

The routes are ``async`` and send their storage call to the thread pool in one hop (``blocking``):
a plain ``def`` route costs a hop for the route and another for validating its answer, and under
load each hop queues again behind every other request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from phonesys.storage.inventory.extension_pages import extension_page
from phonesys.storage.inventory.usage import org_usage
from phonesys.storage.inventory.views import show_extension
from phonesys.web.auth import CallerDep, EngineDep, blocking, visible_org
from phonesys.web.models import Extension, ExtensionPage, Licenses, problem_responses
from phonesys.web.paging import PAGE_DEFAULT, Limit, Offset, text_query

router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 404, 422, 503))
# no length limits of their own: any text is the CLI's org-uuid-invalid / ext-key-format, as for the CLI
Org = Annotated[str, Path(description="Organization UUID.")]
Key = Annotated[str, Path(description="Extension key, 3-5 digits.")]


@router.get("/orgs/{org}/licenses", summary="License, number and user pools (phonesys org show)",
            response_model=Licenses)
async def licenses(org: Org, who: CallerDep, engine: EngineDep) -> Any:
    """Base licenses, each add-on, numbers and users: total, used (assigned), held and available."""
    return await blocking(lambda: org_usage(engine, visible_org(org, who)).as_dict())


@router.get("/orgs/{org}/extensions", summary="A page of extensions in key order (phonesys ext list)",
            response_model=ExtensionPage)
async def extensions(
    org: Org, who: CallerDep, engine: EngineDep,
    has_user: Annotated[bool | None, Query(description="Only with (true) / without (false) a user.")] = None,
    has_number: Annotated[bool | None, Query(description="Only with / without a number.")] = None,
    addon: Annotated[str | None, text_query("Only holding this add-on.")] = None,
    limit: Limit = PAGE_DEFAULT, offset: Offset = 0,
) -> Any:
    """``total`` counts every match; ``extensions`` holds at most ``limit`` of them from ``offset``."""
    return await blocking(lambda: extension_page(engine, visible_org(org, who), has_user=has_user,
                                                 has_number=has_number, addon=addon, limit=limit, offset=offset))


@router.get("/orgs/{org}/extensions/{key}", summary="One extension (phonesys ext show)", response_model=Extension)
async def extension(org: Org, key: Key, who: CallerDep, engine: EngineDep) -> Any:
    return await blocking(lambda: show_extension(engine, visible_org(org, who), key))
