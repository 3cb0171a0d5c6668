"""The bulk assignment flow: a started template's rows become extensions, chunk by chunk.

load -> (all-or-nothing: fail every row if any cannot be assigned) -> assign chunks -> (all-or-
nothing: undo if a row failed meanwhile) -> report + export -> complete -> summary artifacts.
Re-running it for a template that crashed mid-way finishes the remaining rows; the ledger in the
inventory makes every row's outcome exactly-once. A template that came from the drop folder has its
request's status.json follow the run (``phonesys.ops.request_status``): the flow writes
``in_progress`` and how its rows ended, and its state hooks write ``failed``, ``crashed`` or
``cancelled``, also when the runner or worker that saw the process die runs them.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast
from uuid import UUID

from prefect import Flow, flow
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.client.schemas.objects import FlowRun, State
from pydantic import BaseModel, Field

from phonesys.failpoints import failpoint
from phonesys.flows.chunking import MAX_ROWS, ChunkSizer, chunks_of
from phonesys.ops.limits import bulk_job_slots
from phonesys.ops.prefect_env import untagged_tasks
from phonesys.ops.request_status import broken_status, decided_status, publish
from phonesys.ops.run_events import outcome_payload, template_event
from phonesys.ops.run_states import bulk_state, planned, quiet_planned_outcomes, rows_decided
from phonesys.rules.values import UUID_REGEX
from phonesys.rules.vocabulary import IN_PROGRESS
from phonesys.services.bulk_job import Job, JobOutcome
from phonesys.services.job_summary import summary_markdown
from phonesys.settings import load_settings
from phonesys.storage.inventory.engine import open_engine
from phonesys.storage.inventory.jobs import failed_rows, template_names
from phonesys.storage.inventory.results import OrgUsage
from phonesys.storage.objects import open_object_store
from phonesys.tasks import bulk
from phonesys.tasks.dropfolder import publish_request_status
from phonesys.tasks.exports import write_export

PROGRESS_INTERVAL = 0.5  # seconds between progress artifact updates: the UI polls, no need for more
UUID_PATTERN = f"^{UUID_REGEX}$"
logger = logging.getLogger("phonesys.flows.bulk_assignment")


class BulkAssignmentParameters(BaseModel):
    """What the Prefect UI asks for when someone runs the deployment by hand."""

    template_uuid: str = Field(pattern=UUID_PATTERN, description="UUID of a started (in progress) template")
    chunk_size: int | None = Field(None, ge=1, le=MAX_ROWS,
                                   description="Rows per task; default: the start's, else sized by time")


def _template_of(parameters: dict[str, Any]) -> str:
    """The template a run was given: a dict from the API, the model when called in-process."""
    given = parameters["parameters"]
    return str(given["template_uuid"] if isinstance(given, dict) else given.template_uuid)


def _run_name() -> str:
    """``<org name> / <template name>``, so runs are recognisable in the UI."""
    from prefect.runtime import flow_run

    template_uuid = _template_of(flow_run.parameters)
    try:
        return " / ".join(template_names(open_engine(load_settings().inventory_url), template_uuid))
    except Exception:  # noqa: BLE001 - a name is cosmetic; the run itself reports real errors
        return f"bulk-assignment {template_uuid}"


def publish_broken_run(flow: Flow[..., Any], flow_run: FlowRun, state: State) -> None:
    """State hook (failed, crashed, cancelled): a run that left rows pending says so in its drop-folder
    request's status.json. A ``Rolled back`` run decided its rows and wrote its own status. (The
    parameter names are those of Prefect's hook protocol; ``flow`` is not needed.)"""
    if rows_decided(state):
        return
    try:
        settings = load_settings()
        publish(open_engine(settings.inventory_url), open_object_store(settings.objects_url),
                _template_of(flow_run.parameters), broken_status(state), flow_run_id=str(flow_run.id),
                message=state.message)
    except Exception as exc:  # noqa: BLE001 - a hook must not hide the run's own failure behind its own
        logger.warning("status.json of the request of flow run %s not updated: %s", flow_run.name, exc)


@flow(name="bulk-assignment", flow_run_name=_run_name, on_failure=[publish_broken_run],
      on_crashed=[publish_broken_run], on_cancellation=[publish_broken_run])
def bulk_assignment(parameters: BulkAssignmentParameters) -> State:
    """Assign a started template's rows; the final state says whether all, some or none were assigned."""
    with untagged_tasks():
        return assign_template(parameters)


def assign_template(parameters: BulkAssignmentParameters) -> State:
    """The flow's body: load the job, assign its chunks under the job slots, report, publish."""
    quiet_planned_outcomes()
    settings = load_settings()
    database_url, storage_url = settings.inventory_url, settings.objects_url
    job: Job = bulk.load_job(database_url, parameters.template_uuid)
    template_event("started", job, outcome_payload(job.counts))
    publish_request_status(database_url, storage_url, job.template_uuid, IN_PROGRESS)
    before = bulk.usage_snapshot(database_url, job.org_uuid)
    if job.all_or_nothing:
        bulk.fail_all_if_any_row_fails(database_url, job.template_uuid)
    with bulk_job_slots(job.org_uuid, settings.bulk_jobs, enabled=settings.bulk_limits):
        assign_all_chunks(database_url, job, parameters.chunk_size or job.chunk_size)
    if job.all_or_nothing:
        bulk.undo_if_any_row_failed(database_url, job.template_uuid)
    report = bulk.write_job_report(database_url, storage_url, job)
    export = write_export("extensions", job.org_uuid, database_url, storage_url)
    outcome: JobOutcome = bulk.complete_job(database_url, job.template_uuid, report, export)
    after = bulk.usage_snapshot(database_url, job.org_uuid)
    publish_request_status(database_url, storage_url, job.template_uuid, decided_status(job.policy, outcome))
    publish_summary(database_url, job, outcome, before, after)
    return finish(job, outcome)


def finish(job: Job, outcome: JobOutcome) -> State:
    """Tell ops how it ended: the event automations react to, the state the runs list shows."""
    template_event(outcome.verdict(job.policy), job, outcome_payload(outcome.counts, outcome.codes))
    return planned(bulk_state(job.policy, outcome))


def assign_all_chunks(database_url: str, job: Job, chunk_size: int | None) -> None:
    """Chunks run one after another: they serialize on the organization lock anyway (and the
    caller holds the organization's only bulk-job slot, see ``phonesys.ops.limits``). Their size is
    ``chunk_size`` when given, else sized by time (``phonesys.flows.chunking``).

    Under all-or-nothing the first failed row ends the assignment: everything will be undone, so
    claiming more licenses, numbers and users meanwhile would only starve other jobs.
    """
    row_ids = bulk.pending_row_ids(database_url, job.template_uuid)
    progress = cast(UUID, create_progress_artifact(0.0, key=f"bulk-progress-{job.template_uuid}",  # sync call
                                                   description=f"Rows of {job.template_name} decided"))
    failpoint("before-first-chunk")
    sizer, done, last_update = ChunkSizer(fixed=chunk_size), 0, time.monotonic()
    for number, chunk in enumerate(chunks_of(row_ids, sizer), start=1):
        started = time.monotonic()
        outcome = bulk.assign_rows(database_url, job.template_uuid, chunk, number)
        sizer.record(len(chunk), time.monotonic() - started)
        done += len(chunk)
        if time.monotonic() - last_update >= PROGRESS_INTERVAL:
            update_progress_artifact(progress, 100.0 * done / len(row_ids))
            last_update = time.monotonic()
        if outcome.failed and job.all_or_nothing:
            break
        failpoint("between-chunks")
    update_progress_artifact(progress, 100.0)


def publish_summary(database_url: str, job: Job, outcome: JobOutcome, before: OrgUsage, after: OrgUsage) -> None:
    key = f"bulk-summary-{job.template_uuid}"
    create_markdown_artifact(summary_markdown(job, outcome, before, after), key=key,
                             description=f"Outcome of {job.template_name}")
    failed = failed_rows(open_engine(database_url), job.template_uuid)
    if failed:
        create_table_artifact([row.as_dict() for row in failed], key=f"bulk-failed-{job.template_uuid}",
                              description=f"Failed rows of {job.template_name} (first 1,000)")
