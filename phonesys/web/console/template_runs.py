"""Assign (start), its live progress, the Report page and its download, Duplicate and Delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from phonesys.ops.prefect_api import PrefectUnavailable
from phonesys.rules.audit import token_actor
from phonesys.rules.errors import Refused
from phonesys.services.template_runs import template_summary
from phonesys.storage.inventory.template_views import template_detail
from phonesys.storage.inventory.templates import delete_template, duplicate_template
from phonesys.storage.objects import open_object_store
from phonesys.web.auth import visible_template
from phonesys.web.console.context import ChangingDep, Session, SessionDep, render
from phonesys.web.console.outcomes import attempt, download, see_other
from phonesys.web.console.template_users import users_page
from phonesys.web.runs import Launched, launch_start

router = APIRouter(prefix="/console/templates/{template}", include_in_schema=False)


def _progress(session: Session, template: str) -> dict[str, Any]:
    summary = template_summary(session.engine, template, action="show")
    return {"status": summary.status, "counts": summary.counts.as_dict(), "rows": summary.counts.rows}


@router.get("/report")
def report(request: Request, template: str, session: SessionDep) -> Response:
    """Counts per status and the failed rows with codes (``template report``); live while it runs."""
    ref = visible_template(session.engine, template, session.caller)
    summary = template_summary(session.engine, ref, action="report")
    detail = template_detail(session.engine, ref, action="report")
    return render(request, "report.html", session, t=detail, org=detail.org_uuid, summary=summary)


@router.get("/progress")
def progress(template: str, session: SessionDep) -> Response:
    """What the Report page polls while the template runs: its status and row counts."""
    ref = visible_template(session.engine, template, session.caller)
    return JSONResponse(_progress(session, ref), headers={"Cache-Control": "no-store, private"})


@router.get("/report.csv")
def report_file(request: Request, template: str, session: SessionDep) -> Response:
    """The report file in storage; until the run wrote one, back to the Report page."""
    detail = template_detail(session.engine, visible_template(session.engine, template, session.caller),
                             action="report")
    if detail.report_key is None:
        return see_other(f"/console/templates/{detail.uuid}/report")
    return download(open_object_store(request.app.state.settings.objects_url), detail.report_key)


@router.post("/start")
def start(request: Request, template: str, session: ChangingDep) -> Response:
    """Assign: the start's checks and holds happen now, as the API's start (``web.runs.launch_start``):
    a refusal is shown on the Users view; the rows are assigned by a detached ``template start
    --resume`` while the Report page follows them."""
    ref = visible_template(session.engine, template, session.caller)

    def launch() -> Launched:
        try:
            return launch_start(request.app.state.settings, ref, token_actor(session.caller.name))
        except PrefectUnavailable as unavailable:  # nothing changed: the check comes before the holds
            raise Refused(unavailable.problem) from None

    return attempt(launch, lambda _: see_other(f"/console/templates/{ref}/report"),
                   lambda problems, status: users_page(request, session, ref, 0, status, problems=problems))


@router.post("/duplicate")
def duplicate(request: Request, template: str, session: ChangingDep) -> Response:
    ref = visible_template(session.engine, template, session.caller)
    return attempt(lambda: duplicate_template(session.engine, ref),
                   lambda copy: see_other(f"/console/templates/{copy.uuid}"),
                   lambda problems, status: users_page(request, session, ref, 0, status, problems=problems))


@router.post("/delete")
def delete(request: Request, template: str, session: ChangingDep) -> Response:
    ref = visible_template(session.engine, template, session.caller)
    org = template_detail(session.engine, ref).org_uuid
    return attempt(lambda: delete_template(session.engine, ref),
                   lambda _: see_other(f"/console/orgs/{org}/templates"),
                   lambda problems, status: users_page(request, session, ref, 0, status, problems=problems))
