"""The template revert flow: the extensions a completed template made are removed, chunk by chunk.

load the held plan -> revert chunks (each re-judges its extensions under the organization lock) ->
revert report -> complete. Its final state says what happened: Completed with the counts, and a
markdown artifact listing them. Rerunning it for a revert that crashed mid-way finishes the rows
still pending; the revert's ledger (``revert_rows``) makes each removal exactly-once.
"""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State
from prefect.states import Completed

from phonesys.flows.chunking import ChunkSizer, chunks_of
from phonesys.ops.limits import bulk_job_slots
from phonesys.settings import load_settings
from phonesys.storage.inventory.engine import open_engine, read_transaction
from phonesys.storage.inventory.revert import revert_counts
from phonesys.storage.inventory.templates import get_template
from phonesys.tasks import revert


@flow(name="template-revert", flow_run_name="revert-{template_uuid}", log_prints=False)
def template_revert(template_uuid: str, chunk_size: int | None = None) -> State:
    """Remove what a completed template made, as planned by ``phonesys template revert``."""
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


def run_revert(template_uuid: str, org_uuid: str, chunk_size: int | None = None) -> State:
    """Run the revert flow to its end in this process; returns its final state."""
    from phonesys.ops.prefect_env import prepare_prefect, run_tags

    prepare_prefect()
    from prefect import tags

    with tags(*run_tags(org_uuid), "template-revert"):
        return template_revert(template_uuid, chunk_size, return_state=True)
