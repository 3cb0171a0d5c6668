"""What a finished bulk assignment tells people: the markdown summary shown in the Prefect UI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phonesys.services.bulk_job import Job, JobOutcome
from phonesys.services.exports import ExportResult

Pool = dict[str, Any]


def summary_markdown(job: Job, outcome: JobOutcome, before: dict[str, Any], after: dict[str, Any]) -> str:
    lines = [f"# Bulk assignment: {job.template_name}",
             f"Organization **{job.org_name}** (`{job.org_uuid}`), template `{job.template_uuid}`, "
             f"policy `{job.policy}`.", "",
             "| status | rows |", "|---|---|"]
    lines += [f"| {status} | {count} |" for status, count in outcome.counts.as_dict().items()]
    lines += ["", "| license pool | used before | used after | available after |", "|---|---|---|---|"]
    for label, pool_before, pool_after in _pools(before, after):
        lines.append(f"| {label} | {pool_before['used']} | {pool_after['used']} | {pool_after['available']} |")
    lines += ["", _file_line("Report", outcome.report), _file_line("Provisioned-extension export", outcome.export)]
    return "\n".join(lines) + "\n"


def _file_line(label: str, written: ExportResult | None) -> str:
    """The flow writes both files before it completes; an outcome without one says so rather than fail."""
    if written is None:
        return f"{label}: not written"
    return f"{label}: `{written.location}` ({written.rows} rows)"


def _pools(before: dict[str, Any], after: dict[str, Any]) -> Iterator[tuple[str, Pool, Pool]]:
    yield "Phone System base licenses", before["base_licenses"], after["base_licenses"]
    for sku, pool in after["addons"].items():
        yield f"add-on: {sku}", before["addons"].get(sku, pool), pool
    numbers_before, numbers_after = before["numbers"], after["numbers"]
    yield ("numbers", {"used": numbers_before["assigned"]},
           {"used": numbers_after["assigned"], "available": numbers_after["available"]})
