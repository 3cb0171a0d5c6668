"""Tasks of the drop-folder scan (wrapping ``phonesys.jobs.dropfolder`` and ``dropfolder_process``)."""

from __future__ import annotations

import json
from dataclasses import asdict

from prefect import task

from phonesys.jobs.dropfolder import Outcome, find_requests, status_document, write_status
from phonesys.jobs.dropfolder_process import process_request
from phonesys.jobs.run_events import announce_request, request_event
from phonesys.storage.inventory.dropfolder import status_key_of_template
from phonesys.storage.inventory.engine import open_engine
from phonesys.storage.inventory.jobs import status_counts
from phonesys.storage.inventory.lookup import org_name
from phonesys.storage.inventory.template_views import template_detail
from phonesys.storage.objects import open_object_store
from phonesys.tasks.retry import RETRIES, RETRY_DELAYS, retry_only_transient

RETRYING = {"retries": RETRIES, "retry_delay_seconds": RETRY_DELAYS, "retry_condition_fn": retry_only_transient}


@task(name="find-requests", **RETRYING)
def find_complete_requests(storage_url: str) -> list[dict]:
    return [asdict(ref) for ref in find_requests(open_object_store(storage_url))]


@task(name="process-request", task_run_name="process-{ref[org_uuid]}-{ref[name]}", **RETRYING)
def process_one(database_url: str, storage_url: str, ref: dict) -> dict:
    """Process one request, announcing its claim and its end (``phonesys.request.*`` events)."""
    from phonesys.jobs.dropfolder import RequestRef

    engine = open_engine(database_url)
    org = org_name(engine, ref["org_uuid"])
    claimed = lambda outcome: request_event("claimed", asdict(outcome), org, manifest=ref["manifest_key"])  # noqa: E731
    outcome = asdict(process_request(engine, open_object_store(storage_url), RequestRef(**ref), claimed))
    announce_request(outcome, org)
    return outcome


@task(name="publish-request-status", **RETRYING)
def publish_request_status(database_url: str, storage_url: str, template_uuid: str) -> str | None:
    """Refresh status.json of the drop-folder request a template came from (if it did)."""
    engine, store = open_engine(database_url), open_object_store(storage_url)
    key = status_key_of_template(engine, template_uuid)
    if key is None:
        return None
    previous = json.loads(store.read_bytes(key, max_bytes=1024 * 1024))
    detail = template_detail(engine, template_uuid, action="duplicate")
    outcome = Outcome(previous["request"], previous["org_uuid"], detail["status"], template_uuid)
    write_status(store, key, status_document(outcome, counts=status_counts(engine, template_uuid),
                                             report_key=detail["report_key"], export_key=detail["export_key"]))
    return key
