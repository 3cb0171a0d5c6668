"""Tasks of the drop-folder scan (wrapping ``phonesys.services.dropfolder`` and ``dropfolder_process``)."""

from __future__ import annotations

from dataclasses import asdict

from prefect import task

from phonesys.ops.request_status import publish
from phonesys.ops.run_events import announce_request, request_event
from phonesys.services.dropfolder import find_requests
from phonesys.services.dropfolder_process import process_request
from phonesys.storage.inventory.engine import open_engine
from phonesys.storage.inventory.lookup import org_name
from phonesys.storage.objects import open_object_store
from phonesys.tasks.retry import RETRIES, RETRY_DELAYS, retry_only_transient

RETRYING = {"retries": RETRIES, "retry_delay_seconds": RETRY_DELAYS, "retry_condition_fn": retry_only_transient}


@task(name="find-requests", **RETRYING)
def find_complete_requests(storage_url: str) -> list[dict]:
    return [asdict(ref) for ref in find_requests(open_object_store(storage_url))]


@task(name="process-request", task_run_name="process-{ref[org_uuid]}-{ref[name]}", **RETRYING)
def process_one(database_url: str, storage_url: str, ref: dict) -> dict:
    """Process one request, announcing its claim and its end (``phonesys.request.*`` events)."""
    from phonesys.services.dropfolder import RequestRef

    engine = open_engine(database_url)
    org = org_name(engine, ref["org_uuid"])
    claimed = lambda outcome: request_event("claimed", asdict(outcome), org, manifest=ref["manifest_key"])  # noqa: E731
    outcome = asdict(process_request(engine, open_object_store(storage_url), RequestRef(**ref), claimed))
    announce_request(outcome, org)
    return outcome


@task(name="publish-request-status", **RETRYING)
def publish_request_status(database_url: str, storage_url: str, template_uuid: str, status: str) -> str | None:
    """Rewrite status.json of the drop-folder request a template came from (if it did) with the
    run's ``status`` and counts; names this flow run so a script can find it in Prefect."""
    from prefect.runtime import flow_run

    return publish(open_engine(database_url), open_object_store(storage_url), template_uuid, status,
                   flow_run_id=flow_run.id)
