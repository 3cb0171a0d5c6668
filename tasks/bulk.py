"""Tasks of the bulk assignment flow; each wraps one plain function of ``storage``/``phonesys``.

Every task that touches the database or storage retries only transient errors (see ``phonesys.tasks.retry``);
a business refusal fails the task at once and so fails the flow.
"""

from __future__ import annotations

from prefect import task

from phonesys.rules.vocabulary import FAILED
from phonesys.services.bulk_job import Job, JobOutcome, RowCounts, as_policy
from phonesys.services.exports import ExportResult
from phonesys.services.reports import write_report
from phonesys.storage.inventory import jobs, undo
from phonesys.storage.inventory.assignment import ChunkOutcome, assign_chunk, template_skus
from phonesys.storage.inventory.engine import open_engine, read_transaction
from phonesys.storage.inventory.lookup import get_org
from phonesys.storage.inventory.results import OrgUsage
from phonesys.storage.inventory.templates import get_template
from phonesys.storage.inventory.usage import org_usage
from phonesys.storage.objects import open_object_store
from phonesys.tasks.engines import changing_engine
from phonesys.tasks.retry import RETRYING


@task(name="load-job", **RETRYING)
def load_job(database_url: str, template_uuid: str) -> Job:
    """The template, its organization and its counts, read in one snapshot."""
    with read_transaction(open_engine(database_url)) as connection:
        template = get_template(connection, template_uuid)
        org = get_org(connection, template.org_uuid)
        return Job(template_uuid=template.template_uuid, template_name=template.name,
                   org_uuid=org.org_uuid, org_name=org.name, status=template.status,
                   policy=as_policy(template.policy), chunk_size=template.chunk_size,
                   addons=tuple(template_skus(connection, template.template_uuid)),
                   counts=RowCounts.of(jobs.counts_by_status(connection, template.template_uuid)))


@task(name="usage-snapshot", **RETRYING)
def usage_snapshot(database_url: str, org_uuid: str) -> OrgUsage:
    return org_usage(open_engine(database_url), org_uuid)


@task(name="fail-all-if-any-row-fails", **RETRYING)
def fail_all_if_any_row_fails(database_url: str, template_uuid: str) -> int:
    """All-or-nothing, before claiming anything: if some row cannot be assigned, fail every row."""
    engine = changing_engine(database_url)
    decisions = undo.revalidate(engine, template_uuid)
    failing = sum(d.problem is not None for d in decisions)
    if failing:
        undo.fail_all(engine, template_uuid, decisions)
    return failing


@task(name="pending-rows", **RETRYING)
def pending_row_ids(database_url: str, template_uuid: str) -> list[int]:
    return jobs.pending_row_ids(open_engine(database_url), template_uuid)


@task(name="assign-chunk", task_run_name="assign-chunk-{number}", **RETRYING)
def assign_rows(database_url: str, template_uuid: str, row_ids: list[int], number: int) -> ChunkOutcome:
    return assign_chunk(changing_engine(database_url, number), template_uuid, row_ids)


@task(name="undo-if-any-row-failed", **RETRYING)
def undo_if_any_row_failed(database_url: str, template_uuid: str) -> int:
    engine = changing_engine(database_url)
    if jobs.status_counts(engine, template_uuid)[FAILED] == 0:
        return 0
    return undo.undo_job(engine, template_uuid)


@task(name="write-report", **RETRYING)
def write_job_report(database_url: str, storage_url: str, job: Job) -> ExportResult:
    return write_report(open_engine(database_url), open_object_store(storage_url), job.org_uuid,
                        job.template_uuid, list(job.addons))


@task(name="complete-job", **RETRYING)
def complete_job(database_url: str, template_uuid: str, report: ExportResult, export: ExportResult) -> JobOutcome:
    """Completed once no row is pending; the outcome carries the files written before."""
    engine = changing_engine(database_url)
    completed = jobs.complete_job(engine, template_uuid, report.key, export.key)
    return JobOutcome(template_uuid=template_uuid, counts=RowCounts.of(jobs.status_counts(engine, template_uuid)),
                      completed=completed, codes=jobs.failure_codes(engine, template_uuid),
                      report=report, export=export)
