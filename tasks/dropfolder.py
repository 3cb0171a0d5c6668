"""Tasks of the drop-folder scan (wrapping ``phonesys.services.dropfolder`` and ``dropfolder_process``).

They pass ``RequestRef`` and ``Outcome`` (frozen dataclasses) to the flow as they are: Prefect keeps
such results (pickled, like any task result) and hashes them as inputs; the events get the dicts.
"""

from __future__ import annotations

from prefect import task

from phonesys.ops.request_status import publish
from phonesys.ops.run_events import announce_request, request_event
from phonesys.services.dropfolder import Outcome, RequestRef, find_requests
from phonesys.storage.inventory.engine import open_engine
from phonesys.storage.inventory.lookup import org_name
from phonesys.storage.objects import open_object_store
from phonesys.tasks.retry import RETRYING


@task(name="find-requests", **RETRYING)
def find_complete_requests(storage_url: str) -> list[RequestRef]:
    return find_requests(open_object_store(storage_url))


@task(name="process-request", task_run_name="process-{ref.org_uuid}-{ref.name}", **RETRYING)
def process_one(database_url: str, storage_url: str, ref: RequestRef) -> Outcome:
    """Process one request, announcing its claim and its end (``phonesys.request.*`` events).

    The processing code (CSV validation: duckdb, pyarrow) is imported here, not with this module:
    every bulk-assignment flow process imports this module for ``publish_request_status``, and an
    empty scan processes nothing; both start about half a second sooner without it."""
    from phonesys.services.dropfolder_process import process_request

    engine = open_engine(database_url)
    org = org_name(engine, ref.org_uuid)

    def claimed(outcome: Outcome) -> None:
        request_event("claimed", outcome.as_dict(), org, manifest=ref.manifest_key)

    outcome = process_request(engine, open_object_store(storage_url), ref, claimed)
    announce_request(outcome.as_dict(), org)
    return outcome


@task(name="publish-request-status", **RETRYING)
def publish_request_status(database_url: str, storage_url: str, template_uuid: str, status: str) -> str | None:
    """Rewrite status.json of the drop-folder request a template came from (if it did) with the
    run's ``status`` and counts; names this flow run so a script can find it in Prefect."""
    from prefect.runtime import flow_run

    return publish(open_engine(database_url), open_object_store(storage_url), template_uuid, status,
                   flow_run_id=flow_run.id)
