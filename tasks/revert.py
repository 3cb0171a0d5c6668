"""Tasks of the template revert flow; each wraps one plain function of ``storage``/``services``."""

from __future__ import annotations

from prefect import task

from phonesys.services.exports import ExportResult
from phonesys.services.reports import write_revert_report
from phonesys.storage.inventory import revert
from phonesys.storage.inventory.engine import open_engine
from phonesys.storage.objects import open_object_store
from phonesys.tasks.engines import changing_engine
from phonesys.tasks.retry import RETRYING


@task(name="pending-reverts", **RETRYING)
def pending_revert_ids(database_url: str, template_uuid: str) -> list[int]:
    return revert.pending_revert_ids(open_engine(database_url), template_uuid)


@task(name="revert-chunk", task_run_name="revert-chunk-{number}", **RETRYING)
def revert_rows(database_url: str, template_uuid: str, row_ids: list[int], number: int) -> revert.RevertChunk:
    return revert.revert_chunk(changing_engine(database_url, number), template_uuid, row_ids)


@task(name="write-revert-report", **RETRYING)
def write_report(database_url: str, storage_url: str, org_uuid: str, template_uuid: str) -> ExportResult:
    return write_revert_report(open_engine(database_url), open_object_store(storage_url), org_uuid, template_uuid)


@task(name="complete-revert", **RETRYING)
def complete_revert(database_url: str, template_uuid: str, report_key: str | None) -> bool:
    return revert.complete_revert(changing_engine(database_url), template_uuid, report_key)
