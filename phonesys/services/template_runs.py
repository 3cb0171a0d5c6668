"""What a run of a started template needs to know about it: may it resume, is it still running, how did it end.

The entry point (``phonesys.flows.run_template``) and every front end ask these; none needs Prefect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from phonesys.rules.errors import Problem, Refused


def in_progress(engine: Engine, template_uuid: str) -> bool:
    """Whether the template still has a run to finish (False once a run completed it)."""
    from phonesys.storage.inventory.engine import read_transaction
    from phonesys.storage.inventory.templates import get_template

    with read_transaction(engine) as connection:
        return bool(get_template(connection, template_uuid).status == "in_progress")


def resumable(engine: Engine, template_ref: str) -> str:
    """Only an in-progress template can be resumed; its flow run finishes the pending rows."""
    from phonesys.storage.inventory.template_views import template_detail

    detail = template_detail(engine, template_ref, action="show")
    if detail["status"] != "in_progress":
        raise Refused(Problem("template-not-in-progress", f"Template {detail['uuid']} is {detail['status']}; "
                              "only an in-progress template can be resumed.", "template", template_ref))
    return str(detail["uuid"])


def template_summary(engine: Engine, template_ref: str, output: Path | None = None,
                     action: str = "show") -> dict[str, Any]:
    """Counts per status, the first failed rows, and where the report and export are."""
    from phonesys.services.reports import report_location
    from phonesys.storage.inventory.jobs import failed_rows, status_counts
    from phonesys.storage.inventory.template_views import template_detail

    detail = template_detail(engine, template_ref, action=action)
    files = report_location(engine, detail, output)
    return {"uuid": detail["uuid"], "name": detail["name"], "status": detail["status"],
            "counts": status_counts(engine, detail["uuid"]), "failed_rows": failed_rows(engine, detail["uuid"], 50),
            **files}
