"""Tasks that write the organization export files (wrapping ``phonesys.services.exports``)."""

from __future__ import annotations

from prefect import task

from phonesys.services import exports
from phonesys.services.exports import ExportFormat, ExportResult
from phonesys.storage.inventory.engine import open_engine
from phonesys.storage.objects import open_object_store
from phonesys.tasks.retry import RETRIES, RETRY_DELAYS, retry_only_transient

_WRITERS = {"extensions": exports.export_extensions, "numbers": exports.export_numbers}


@task(name="write-export", retries=RETRIES, retry_delay_seconds=RETRY_DELAYS,
      retry_condition_fn=retry_only_transient, task_run_name="write-{kind}-export-{org_uuid}")
def write_export(kind: str, org_uuid: str, database_url: str, storage_url: str,
                 fmt: ExportFormat = "csv") -> ExportResult:
    """Write one export file for one organization; returns its key, location and row count."""
    writer = _WRITERS[kind]
    return writer(open_engine(database_url), open_object_store(storage_url), org_uuid, fmt)


@task(name="list-organizations")
def list_organizations(database_url: str) -> list[str]:
    from phonesys.storage.inventory.usage import list_orgs

    return [org.org_uuid for org in list_orgs(open_engine(database_url))]
