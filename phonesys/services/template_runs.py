"""What a run of a started template needs to know about it: may it resume, is it still running, how did it end.

The entry point (``phonesys.flows.run_template``) and every front end ask these; none needs Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from phonesys.rules.errors import Problem, Refused
from phonesys.rules.vocabulary import IN_PROGRESS
from phonesys.services.bulk_job import RowCounts
from phonesys.storage.inventory.results import FailedRow

if TYPE_CHECKING:  # reports loads pyarrow: imported where a summary is made, not by every importer
    from phonesys.services.reports import ReportFiles

FAILED_ROWS_SHOWN = 50


@dataclass(frozen=True)
class TemplateSummary:
    """A started template at a glance: what ``template report`` and the end of ``template start`` show."""

    uuid: str
    name: str
    status: str
    counts: RowCounts
    failed_rows: tuple[FailedRow, ...]
    files: ReportFiles

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` document, keys and order as before (counts in the ledger's order)."""
        return {"uuid": self.uuid, "name": self.name, "status": self.status, "counts": self.counts.in_ledger_order(),
                "failed_rows": [row.as_dict() for row in self.failed_rows], **self.files.as_dict()}


def in_progress(engine: Engine, template_uuid: str) -> bool:
    """Whether the template still has a run to finish (False once a run completed it)."""
    from phonesys.storage.inventory.engine import read_transaction
    from phonesys.storage.inventory.templates import get_template

    with read_transaction(engine) as connection:
        return bool(get_template(connection, template_uuid).status == IN_PROGRESS)


def resumable(engine: Engine, template_ref: str) -> str:
    """Only an in-progress template can be resumed; its flow run finishes the pending rows."""
    from phonesys.storage.inventory.template_views import template_detail

    detail = template_detail(engine, template_ref, action="show")
    if detail.status != IN_PROGRESS:
        raise Refused(Problem("template-not-in-progress", f"Template {detail.uuid} is {detail.status}; "
                              "only an in-progress template can be resumed.", "template", template_ref))
    return detail.uuid


def template_summary(engine: Engine, template_ref: str, output: Path | None = None,
                     action: str = "show") -> TemplateSummary:
    """Counts per status, the first failed rows, and where the report and export are."""
    from phonesys.services.reports import report_location
    from phonesys.storage.inventory.jobs import failed_rows, status_counts
    from phonesys.storage.inventory.template_views import template_detail

    detail = template_detail(engine, template_ref, action=action)
    files = report_location(engine, detail, output)
    return TemplateSummary(uuid=detail.uuid, name=detail.name, status=detail.status,
                           counts=RowCounts.of(status_counts(engine, detail.uuid)),
                           failed_rows=tuple(failed_rows(engine, detail.uuid, FAILED_ROWS_SHOWN)), files=files)
