"""The bulk assignment report: one row per template row with what happened to it.

Written to ``reports/<orgUuid>/<templateUuid>/<orgUuid>_<exportdatetime>_license_phonesystem_
bulk_assignment_report.csv`` with the same timestamp format and Excel-safe CSV as the exports.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from phonesys.failpoints import failpoint
from phonesys.services.exports import ExportResult, export_timestamp, write_file
from phonesys.services.local_copy import copy_target, require_usable
from phonesys.storage.inventory.exports import (
    REPORT_SCHEMA,
    REVERT_REPORT_SCHEMA,
    report_batches,
    revert_report_batches,
)
from phonesys.storage.inventory.results import TemplateDetail
from phonesys.storage.objects import ObjectStore

REPORT_SUFFIX = "license_phonesystem_bulk_assignment_report"
REVERT_REPORT_SUFFIX = "license_phonesystem_bulk_revert_report"


@dataclass(frozen=True)
class ReportFiles:
    """Where a template's report and export are (locations in object storage), and a local copy."""

    report: str | None = None
    export: str | None = None
    local_copy: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The keys ``template report --json`` has always printed, in that order."""
        return {"report": self.report, "export": self.export, "local_copy": self.local_copy}


def report_key(org_uuid: str, template_uuid: str, when: datetime | None = None, suffix: str = REPORT_SUFFIX) -> str:
    return f"reports/{org_uuid}/{template_uuid}/{org_uuid}_{export_timestamp(when)}_{suffix}.csv"


def write_revert_report(engine: Engine, store: ObjectStore, org_uuid: str, template_uuid: str) -> ExportResult:
    """The revert's own report, beside the template's: each extension reverted, kept or gone, and why."""
    key = report_key(org_uuid, template_uuid, suffix=REVERT_REPORT_SUFFIX)
    return write_file(store, key, "csv", lambda: revert_report_batches(engine, template_uuid), REVERT_REPORT_SCHEMA)


def write_report(engine: Engine, store: ObjectStore, org_uuid: str, template_uuid: str, addons: list[str],
                 output: Path | None = None, when: datetime | None = None) -> ExportResult:
    key = report_key(org_uuid, template_uuid, when)
    failpoint("during-report")
    return write_file(store, key, "csv", lambda: report_batches(engine, template_uuid, "; ".join(addons)),
                      REPORT_SCHEMA, output)


def report_location(engine: Engine, detail: TemplateDetail, output: Path | None = None) -> ReportFiles:
    """Where the template's report and export are; with ``output`` also a local copy of the report.

    A completed template has its final report in storage; for one still in progress a current
    report is written when a copy is asked for.
    """
    from phonesys.settings import load_settings
    from phonesys.storage.objects import open_object_store

    if output is not None:
        require_usable(output)
    store = open_object_store(load_settings().objects_url)
    report_object, export_object = detail.report_key, detail.export_key
    files = ReportFiles(report=store.location(report_object) if report_object else None,
                        export=store.location(export_object) if export_object else None)
    if output is None:
        return files
    if report_object:
        target = copy_target(output, report_object.rsplit("/", 1)[-1])
        target.parent.mkdir(parents=True, exist_ok=True)
        return replace(files, local_copy=str(store.download(report_object, target)))
    written = write_report(engine, store, detail.org_uuid, detail.uuid, list(detail.addons), output)
    return replace(files, report=written.location, local_copy=written.local_copy)
