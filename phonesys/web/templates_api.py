"""Template routes of ``/api/v1`` (read-only): the list with search, one template, its users, its
report, and the sample upload file. Each calls the storage or service function of the matching CLI
command, so the figures and codes are the CLI's; a template of another organization is answered
exactly like a missing one (``auth.visible_template``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from phonesys.rules.samples import SampleKind, sample_bytes, sample_file_name
from phonesys.services.template_runs import template_summary
from phonesys.storage.inventory.template_pages import template_page, template_users_page
from phonesys.storage.inventory.template_views import template_detail
from phonesys.web.auth import CallerDep, EngineDep, blocking, visible_org, visible_template
from phonesys.web.models import Report, Template, TemplatePage, TemplateUserPage, problem_responses
from phonesys.web.paging import PAGE_DEFAULT, Limit, Offset, text_query
from phonesys.web.report_files import linked

router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 404, 422, 503))
Org = Annotated[str, Path(description="Organization UUID.")]
TemplateRef = Annotated[str, Path(description="Template UUID.")]
Search = Annotated[str | None, text_query("Part of a template's name or UUID, any case.")]


@router.get("/orgs/{org}/templates", summary="An organization's templates, newest first (phonesys template list)",
            response_model=TemplatePage)
async def templates(org: Org, who: CallerDep, engine: EngineDep, search: Search = None,
                    limit: Limit = PAGE_DEFAULT, offset: Offset = 0) -> Any:
    """UUID, name, total users and status; ``total`` counts every template the search matches."""
    return await blocking(lambda: template_page(engine, visible_org(org, who), search, limit=limit, offset=offset))


@router.get("/templates/{template}", summary="One template (phonesys template show)", response_model=Template)
async def template(template: TemplateRef, who: CallerDep, engine: EngineDep) -> Any:
    """Status, add-ons, total users and the files uploaded into it."""
    return await blocking(lambda: template_detail(engine, visible_template(engine, template, who)))


@router.get("/templates/{template}/users", summary="A page of a template's rows (phonesys template users)",
            response_model=TemplateUserPage)
async def users(template: TemplateRef, who: CallerDep, engine: EngineDep,
                limit: Limit = PAGE_DEFAULT, offset: Offset = 0) -> Any:
    """The rows in upload order (a draft or in-progress template); ``total`` counts them all."""
    return await blocking(lambda: template_users_page(engine, visible_template(engine, template, who),
                                                      limit=limit, offset=offset))


@router.get("/templates/{template}/report", summary="What a started template did (phonesys template report)",
            response_model=Report)
async def report(template: TemplateRef, who: CallerDep, engine: EngineDep) -> Any:
    """Counts per row status, the first failed rows with their codes, and the routes that download the
    report and the export once written (``template report --json`` gives their storage locations)."""
    return linked(await blocking(lambda: template_summary(engine, visible_template(engine, template, who),
                                                          action="report").as_dict()))


@router.get("/sample-csv", summary="A sample upload file (phonesys sample-csv)",
            response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def sample(who: CallerDep,
           by: Annotated[SampleKind, Query(description="Identify users by name or by Identity UUID.")] = "name",
           ) -> Response:
    """UTF-8 with a BOM and CRLF line ends, as ``phonesys sample-csv --output`` writes it."""
    return Response(sample_bytes(by), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{sample_file_name(by)}"'})
