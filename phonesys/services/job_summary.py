"""What a finished bulk assignment tells people: the markdown summary shown in the Prefect UI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from phonesys.services.bulk_job import Job, JobOutcome
from phonesys.services.exports import ExportResult
from phonesys.storage.inventory.results import OrgUsage


class PoolLine(NamedTuple):
    """One line of the pools table: a pool used before and after the run, and what is left."""

    label: str
    used_before: int
    used_after: int
    available_after: int


def summary_markdown(job: Job, outcome: JobOutcome, before: OrgUsage, after: OrgUsage) -> str:
    lines = [f"# Bulk assignment: {job.template_name}",
             f"Organization **{job.org_name}** (`{job.org_uuid}`), template `{job.template_uuid}`, "
             f"policy `{job.policy}`.", "",
             "| status | rows |", "|---|---|"]
    lines += [f"| {status} | {count} |" for status, count in outcome.counts.as_dict().items()]
    lines += ["", "| license pool | used before | used after | available after |", "|---|---|---|---|"]
    lines += [f"| {p.label} | {p.used_before} | {p.used_after} | {p.available_after} |" for p in _pools(before, after)]
    lines += ["", _file_line("Report", outcome.report), _file_line("Provisioned-extension export", outcome.export)]
    return "\n".join(lines) + "\n"


def _file_line(label: str, written: ExportResult | None) -> str:
    """The flow writes both files before it completes; an outcome without one says so rather than fail."""
    if written is None:
        return f"{label}: not written"
    return f"{label}: `{written.location}` ({written.rows} rows)"


def _pools(before: OrgUsage, after: OrgUsage) -> Iterator[PoolLine]:
    yield PoolLine("Phone System base licenses", before.base_licenses.used, after.base_licenses.used,
                   after.base_licenses.available)
    for sku, pool in after.addons.items():
        yield PoolLine(f"add-on: {sku}", before.addons.get(sku, pool).used, pool.used, pool.available)
    yield PoolLine("numbers", before.numbers.assigned, after.numbers.assigned, after.numbers.available)
