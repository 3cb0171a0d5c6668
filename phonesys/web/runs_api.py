"""Starting, reverting and cancelling templates through ``/api/v1``.

``POST /templates/{t}/start`` and ``/revert`` check everything synchronously (refusals come back with
the CLI's codes and nothing runs), then answer 202 with a ``Location`` to poll while the run goes on
elsewhere (``phonesys.web.runs``: the served deployment when one is served, else a detached
``phonesys`` process); ``?dry_run=true`` answers the plan instead (200) and changes nothing, as
``--dry-run`` does. ``/cancel`` is ``phonesys template cancel``: done when it answers, unless
``?revert=true`` also launches the revert of the rows already assigned (202).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from phonesys.ops.prefect_api import check_configured_api
from phonesys.ops.run_cancel import cancel_and_stop
from phonesys.rules.limits import CHUNK_SIZE_MAX
from phonesys.rules.vocabulary import CONTINUE, IN_PROGRESS, Policy
from phonesys.storage.inventory.jobs import start_job
from phonesys.storage.inventory.revert_plan import start_revert
from phonesys.storage.objects import open_object_store
from phonesys.web.auth import blocking
from phonesys.web.models import problem_responses
from phonesys.web.runs import Launched, launch_revert, launch_start
from phonesys.web.write_models import Accepted, Cancelled, RevertPlan, StartPlan
from phonesys.web.writes import ChangerDep, SettingsDep

router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 403, 404, 409, 422, 503))
TemplateRef = Annotated[str, Path(description="Template UUID.")]
DryRun = Annotated[bool, Query(description="Check and answer the plan; change nothing.")]
ChunkSize = Annotated[int | None, Query(ge=1, le=CHUNK_SIZE_MAX, description="Rows per task (default: by time).")]
PolicyQuery = Annotated[Policy, Query(description="continue, or all-or-nothing.")]


def accepted(launched: Launched, extra: dict[str, Any] | None = None) -> JSONResponse:
    """202: the run goes on; poll ``Location`` (the template) and its report."""
    body = {"uuid": launched.template_uuid, "status": IN_PROGRESS, "run": launched.kind,
            "location": launched.location, "report": f"{launched.location}/report", **(extra or {})}
    return JSONResponse(body, status_code=202, headers={"Location": launched.location})


@router.post("/templates/{template}/start", status_code=202, response_model=Accepted,
             responses={200: {"model": StartPlan, "description": "The dry run's plan."}},
             summary="Start the bulk assignment of a draft (phonesys template start)")
async def start(template: TemplateRef, change: ChangerDep, settings: SettingsDep, dry_run: DryRun = False,
                chunk_size: ChunkSize = None, policy: PolicyQuery = CONTINUE) -> Any:
    """Refused (409/422 with the shortfall per pool and per row) before anything is held; else 202."""
    def started() -> JSONResponse:
        ref = change.template(template)
        if dry_run:
            plan = start_job(change.engine, ref, policy=policy, chunk_size=chunk_size, dry_run=True)
            return JSONResponse(jsonable_encoder({"ok": not plan.problems, **plan.as_dict()}))
        return accepted(launch_start(settings, ref, change.actor, chunk_size, policy=policy,
                                     correlation=change.correlation))
    return await blocking(started)


@router.post("/templates/{template}/revert", status_code=202, response_model=Accepted,
             responses={200: {"model": RevertPlan, "description": "The revert plan."}},
             summary="Revert what a completed template made (phonesys template revert)")
async def revert(template: TemplateRef, change: ChangerDep, settings: SettingsDep, dry_run: DryRun = False,
                 policy: PolicyQuery = CONTINUE) -> Any:
    """Extensions changed since the template made them are kept (``changed-since``); 202 once the plan is held."""
    def reverted() -> JSONResponse:
        ref = change.template(template)
        if dry_run:
            plan = start_revert(change.engine, ref, policy=policy, dry_run=True)
            return JSONResponse(jsonable_encoder({"ok": True, **plan.as_dict()}))
        return accepted(launch_revert(settings, ref, change.actor, policy=policy, correlation=change.correlation))
    return await blocking(reverted)


@router.post("/templates/{template}/cancel", summary="End an in-progress template (phonesys template cancel)",
             response_model=Cancelled,
             responses={202: {"model": Accepted, "description": "Cancelled; its assigned rows are being reverted."}})
async def cancel(template: TemplateRef, change: ChangerDep, settings: SettingsDep,
                 revert: Annotated[bool, Query(description="Then revert the rows already assigned.")] = False) -> Any:
    """Its rows not yet assigned fail as ``template-cancelled`` and give their holds back; the template
    ends completed with a report; its live Prefect runs are stopped (as ``phonesys template cancel``)."""
    def cancelled() -> Any:
        ref = change.template(template)
        if revert:  # before the cancel: a revert that cannot be handed on must not leave half the request done
            check_configured_api()
        outcome = cancel_and_stop(change.engine, open_object_store(settings.objects_url), ref)
        if not revert:
            return outcome.as_dict()
        launched = launch_revert(settings, outcome.outcome.cancelled.template_uuid, change.actor,
                                 correlation=change.correlation)
        return accepted(launched, {"cancelled": outcome.as_dict()})
    return await blocking(cancelled)
