"""Prefect events for what phonesys runs do, so automations (``phonesys alerts setup``) can react.

| event | resource | payload |
|---|---|---|
| ``phonesys.template.started`` | ``phonesys.template.<uuid>`` | rows, pending (fewer on a resume), policy |
| ``phonesys.template.{completed,partially-completed,failed}`` | same | assigned, failed, pending, rows, codes, policy |
| ``phonesys.request.claimed`` | ``phonesys.request.<orgUuid>/<request>`` | request, manifest key |
| ``phonesys.request.rejected`` | same | codes, problems, template (the manifest's name) |
| ``phonesys.request.processed`` | same | status (draft or started), template UUID |

Every event names the organization as a related resource (``phonesys.org.<uuid>``, role
``organization``); request events name their template (role ``template``) once there is one.
``failed`` means rolled back under all-or-nothing; a run that broke is Prefect's own
``prefect.flow-run.Failed`` / ``Crashed``. Events go through ``emit_event``'s background worker,
which also attaches the flow run, its tags and the task run they happened in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phonesys.services.bulk_job import Job, RowCounts

if TYPE_CHECKING:
    from prefect.events import Event

TEMPLATE_PREFIX = "phonesys.template."
REQUEST_PREFIX = "phonesys.request."
ORG_PREFIX = "phonesys.org."
TEMPLATE_EVENTS = ("started", "completed", "partially-completed", "failed")
REQUEST_EVENTS = ("claimed", "rejected", "processed")


def _resource(resource_id: str, name: str | None, role: str | None = None) -> dict[str, str]:
    resource = {"prefect.resource.id": resource_id}
    if name:
        resource["prefect.resource.name"] = name
    if role:
        resource["prefect.resource.role"] = role
    return resource


def org_related(org_uuid: str, org_name: str | None = None) -> dict[str, str]:
    return _resource(f"{ORG_PREFIX}{org_uuid}", org_name, "organization")


def template_resource(template_uuid: str, name: str | None = None, role: str | None = None) -> dict[str, str]:
    return _resource(f"{TEMPLATE_PREFIX}{template_uuid}", name, role)


def request_resource(org_uuid: str, request: str) -> dict[str, str]:
    return _resource(f"{REQUEST_PREFIX}{org_uuid}/{request}", request)


def emit(event: str, resource: dict[str, str], related: list[dict[str, str]],
         payload: dict[str, Any]) -> Event | None:
    """Queue ``event`` for the Prefect API; never raises (a lost signal must not fail the work)."""
    from prefect.events import emit_event

    try:
        return emit_event(event=event, resource=resource, related=related, payload=payload)
    except Exception:  # noqa: BLE001 - EventTooLarge or a broken worker: the run's own state still tells
        return None


def template_event(kind: str, job: Job, payload: dict[str, Any]) -> Event | None:
    """``phonesys.template.<kind>`` for the job (as ``phonesys.tasks.bulk.load_job`` returns it)."""
    return emit(f"{TEMPLATE_PREFIX}{kind}", template_resource(job.template_uuid, job.template_name),
                [org_related(job.org_uuid, job.org_name)], {"policy": job.policy, **payload})


def outcome_payload(counts: RowCounts, codes: dict[str, int] | None = None) -> dict[str, Any]:
    """The counts a run reports: assigned, failed, pending, rows and failures per code."""
    return {**counts.as_dict(), "rows": counts.rows, "codes": dict(codes or {})}


def request_event(kind: str, outcome: dict[str, Any], org_name: str | None = None, **payload: Any) -> Event | None:
    """``phonesys.request.<kind>`` for a drop-folder request (an ``Outcome`` as a dict)."""
    related = [org_related(outcome["org_uuid"], org_name)]
    if outcome.get("template_uuid"):
        related.append(template_resource(outcome["template_uuid"], outcome.get("template_name"), "template"))
    return emit(f"{REQUEST_PREFIX}{kind}", request_resource(outcome["org_uuid"], outcome["request"]), related,
                {"request": outcome["request"], **payload})


def announce_request(outcome: dict[str, Any], org_name: str | None = None) -> Event | None:
    """``rejected`` (with the problem codes) or ``processed`` once a claimed request is settled."""
    if outcome["status"] == "rejected":
        codes = sorted({p["code"] for p in outcome["problems"]})
        return request_event("rejected", outcome, org_name, codes=codes, problems=len(outcome["problems"]),
                             template=outcome.get("template_name"), status_key=outcome["status_key"])
    if outcome["status"] in ("draft", "started"):
        return request_event("processed", outcome, org_name, status=outcome["status"],
                             template_uuid=outcome["template_uuid"], status_key=outcome["status_key"])
    return None
