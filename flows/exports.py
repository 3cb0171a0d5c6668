"""Flows that write the export files: one organization, or every organization (nightly)."""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from phonesys.services.exports import ExportFormat, ExportResult
from phonesys.settings import load_settings
from phonesys.tasks.exports import list_organizations, write_export

ExportKind = Literal["extensions", "numbers"]


def _run_name() -> str:
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    return f"export-{parameters['kind']}-{parameters.get('org_uuid') or 'all-orgs'}"


@flow(name="export-files", flow_run_name=_run_name, log_prints=False)
def export_files(kind: ExportKind = "extensions", org_uuid: str | None = None,
                 fmt: ExportFormat = "csv") -> list[dict[str, Any]]:
    """Write the provisioned-extension or available-number file for one org (or all when None).

    Returns each file as a dict: the flow's result is read through the Prefect API, as JSON."""
    settings = load_settings()
    database_url, storage_url = settings.inventory_url, settings.objects_url
    org_uuids = [org_uuid] if org_uuid else list_organizations(database_url)
    futures = [write_export.submit(kind, org, database_url, storage_url, fmt) for org in org_uuids]
    results = [future.result() for future in futures]
    create_markdown_artifact(key=f"export-{kind}", markdown=_summary(kind, results),
                             description=f"{kind} export files written")
    return [result.as_dict() for result in results]


def _summary(kind: str, results: list[ExportResult]) -> str:
    lines = [f"# {kind.capitalize()} exports", "", "| file | rows |", "|---|---|"]
    lines += [f"| {r.location} | {r.rows} |" for r in results]
    return "\n".join(lines) + "\n"
