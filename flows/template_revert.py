"""The template revert flow: the extensions a completed template made are removed, chunk by chunk.

load the held plan -> revert chunks (each re-judges its extensions under the organization lock) ->
revert report -> complete. Its final state says what happened: Completed with the counts, and a
markdown artifact listing them. Rerunning it for a revert that crashed mid-way finishes the rows
still pending; the revert's ledger (``revert_rows``) makes each removal exactly-once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State
from prefect.states import Completed

from phonesys.flows.chunking import ChunkSizer, chunks_of
from phonesys.flows.run_template import HandedOff
from phonesys.ops.limits import bulk_job_slots
from phonesys.ops.prefect_env import untagged_tasks
from phonesys.settings import load_settings
from phonesys.storage.inventory.engine import open_engine, read_transaction
from phonesys.storage.inventory.revert import revert_counts
from phonesys.storage.inventory.templates import get_template
from phonesys.tasks import revert


@flow(name="template-revert", flow_run_name="revert-{template_uuid}", log_prints=False)
def template_revert(template_uuid: str, chunk_size: int | None = None) -> State:
    """Remove what a completed template made, as planned by ``phonesys template revert``."""
    with untagged_tasks():
        return revert_template(template_uuid, chunk_size)


def revert_template(template_uuid: str, chunk_size: int | None) -> State:
    """The flow's body: revert the held plan chunk by chunk under the job slots, report, complete."""
    settings = load_settings()
    database_url = settings.inventory_url
    with read_transaction(open_engine(database_url)) as connection:
        org_uuid = get_template(connection, template_uuid).org_uuid
    with bulk_job_slots(org_uuid, settings.bulk_jobs, enabled=settings.bulk_limits):
        row_ids = revert.pending_revert_ids(database_url, template_uuid)
        for number, chunk in enumerate(chunks_of(row_ids, ChunkSizer(fixed=chunk_size)), start=1):
            revert.revert_rows(database_url, template_uuid, chunk, number)
    report = revert.write_report(database_url, settings.objects_url, org_uuid, template_uuid)
    revert.complete_revert(database_url, template_uuid, report.key)
    with read_transaction(open_engine(database_url)) as connection:
        counts = revert_counts(connection, template_uuid)
    text = (f"{counts['reverted']} extension(s) removed, {counts['kept']} kept (changed since), "
            f"{counts['gone']} already gone")
    create_markdown_artifact(f"# Revert of {template_uuid}\n\n{text}\n\nReport: `{report.location}`",
                             key=f"revert-summary-{template_uuid}", description="Outcome of the revert")
    return Completed(message=text, data={"counts": counts, "report": report.location})


@dataclass(frozen=True)
class RevertRun:
    """A revert run's final ``state``; only ``handed_off`` when it went to the served deployment
    and nobody waits for it (then ``state`` is None)."""

    state: State | None
    handed_off: HandedOff | None = None


def run_revert(template_uuid: str, org_uuid: str, chunk_size: int | None = None, *, wait: bool = True,
               foreground: bool = False, on_handoff: Callable[[HandedOff], None] | None = None) -> RevertRun:
    """Hand the revert to the served ``template-revert`` deployment when there is one (and follow it
    with ``wait``), else run it to its end in this process: where ops watch runs, they see it."""
    from phonesys.ops.handoff import REVERT_DEPLOYMENT, served_deployment, wait_for_final_state
    from phonesys.ops.prefect_env import prepare_prefect

    prepare_prefect()  # first: without PREFECT_API_URL, the home's server may serve the deployment
    deployment = None if foreground else served_deployment(REVERT_DEPLOYMENT)
    if deployment is None:
        return RevertRun(_run_here(template_uuid, org_uuid, chunk_size))
    handed = _hand_off(deployment, template_uuid, org_uuid, chunk_size)
    if not wait:
        return RevertRun(None, handed)
    if on_handoff is not None:
        on_handoff(handed)
    return RevertRun(wait_for_final_state(handed.flow_run_id), handed)


def _run_here(template_uuid: str, org_uuid: str, chunk_size: int | None) -> State:
    from prefect import tags

    from phonesys.ops.prefect_env import run_tags

    with tags(*run_tags(org_uuid), "template-revert"):
        return template_revert(template_uuid, chunk_size, return_state=True)


def _hand_off(deployment: Any, template_uuid: str, org_uuid: str, chunk_size: int | None) -> HandedOff:
    from phonesys.ops.handoff import REVERT_DEPLOYMENT, run_url, submit_run, template_parameters
    from phonesys.ops.prefect_env import run_tags

    flow_run = submit_run(deployment, template_parameters(template_uuid, chunk_size),
                          run_name=f"revert-{template_uuid}", tags=run_tags(org_uuid))
    return HandedOff(str(flow_run.id), flow_run.name, run_url(flow_run), REVERT_DEPLOYMENT)
