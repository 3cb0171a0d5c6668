"""Reading the audit log and downloading the export files through ``/api/v1`` (any token of the org).

``/audit`` takes the filters of ``phonesys audit`` and ``/extensions/{key}/history`` is ``phonesys ext
history``, on the same storage queries. ``/exports/extensions`` and ``/exports/numbers`` run the
export ``phonesys export`` runs (written to object storage under its usual name, as the CLI does)
and stream that very file back from a local copy, deleted once it has been sent.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path as LocalPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from pydantic import StringConstraints
from starlette.background import BackgroundTask

from phonesys.rules.audit import parse_when
from phonesys.rules.limits import AUDIT_LIMIT_DEFAULT, AUDIT_LIMIT_MAX
from phonesys.services.exports import CONTENT_TYPES, ExportFormat, ExportResult, export_extensions, export_numbers
from phonesys.storage.inventory.audit_queries import AuditFilter, extension_history, org_events
from phonesys.storage.objects import open_object_store
from phonesys.web.auth import CallerDep, EngineDep, blocking, visible_org
from phonesys.web.models import problem_responses
from phonesys.web.paging import PRINTABLE, TEXT_MAX, text_query
from phonesys.web.write_models import AuditEvents
from phonesys.web.writes import SettingsDep

router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 404, 422, 503))
Org = Annotated[str, Path(description="Organization UUID.")]
Key = Annotated[str, Path(description="Extension key, 3-5 digits.")]
Filter = Annotated[str | None, text_query("Only events matching this value.")]
Actions = Annotated[list[Annotated[str, StringConstraints(max_length=TEXT_MAX, pattern=PRINTABLE)]] | None,
                    Query(max_length=50, description="Only this action (e.g. ext.set-number); repeat for several.")]
FILES: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
                                                "description": "The export file; X-Export-Rows: its rows."}}
Format = Annotated[Literal["csv", "parquet"], Query(description="csv (Excel-safe) or parquet (raw values).")]


@router.get("/orgs/{org}/audit", summary="The organization's audit events, newest first (phonesys audit)",
            response_model=AuditEvents)
async def audit(org: Org, who: CallerDep, engine: EngineDep, since: Filter = None, until: Filter = None,
                actor: Filter = None, action: Actions = None,
                ext: Filter = None, number: Filter = None, user: Filter = None, template: Filter = None,
                limit: Annotated[int, Query(ge=1, le=AUDIT_LIMIT_MAX)] = AUDIT_LIMIT_DEFAULT) -> dict[str, Any]:
    """``since``/``until``: a UTC date or date-time; ``action`` may be repeated."""
    wanted = AuditFilter(parse_when(since, "since"), parse_when(until, "until"), actor, tuple(action or ()), ext,
                         number, user, template)
    return await blocking(lambda: {"events": [e.as_dict() for e in org_events(engine, visible_org(org, who), wanted,
                                                                              limit)]})


@router.get("/orgs/{org}/extensions/{key}/history",
            summary="One extension's timeline, oldest first, across key changes (phonesys ext history)",
            response_model=AuditEvents)
async def history(org: Org, key: Key, who: CallerDep, engine: EngineDep) -> dict[str, Any]:
    return await blocking(lambda: {"events": [e.as_dict() for e in extension_history(engine, visible_org(org, who),
                                                                                     key)]})


@router.get("/orgs/{org}/exports/extensions", response_class=FileResponse, responses=FILES,
            summary="The provisioned-extension file (phonesys export extensions)")
async def extensions_file(org: Org, who: CallerDep, engine: EngineDep, settings: SettingsDep,
                          format: Format = "csv") -> FileResponse:
    def exported() -> FileResponse:
        org_ref, store = visible_org(org, who), open_object_store(settings.objects_url)
        return _exported(lambda folder: export_extensions(engine, store, org_ref, format, folder))
    return await blocking(exported)


@router.get("/orgs/{org}/exports/numbers", response_class=FileResponse, responses=FILES,
            summary="The number-license file (phonesys export numbers)")
async def numbers_file(org: Org, who: CallerDep, engine: EngineDep, settings: SettingsDep, format: Format = "csv",
                       available_only: Annotated[bool, Query(description="Only numbers free to assign.")] = False,
                       ) -> FileResponse:
    def exported() -> FileResponse:
        org_ref, store = visible_org(org, who), open_object_store(settings.objects_url)
        return _exported(lambda folder: export_numbers(engine, store, org_ref, format, folder,
                                                       available_only=available_only))
    return await blocking(exported)


def _exported(write: Callable[[LocalPath], ExportResult]) -> FileResponse:
    """The export's local copy, streamed; its folder goes once the response is sent (or the export fails)."""
    folder = LocalPath(tempfile.mkdtemp(prefix="phonesys-web-export-"))
    try:
        result = write(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    assert result.local_copy is not None
    fmt: ExportFormat = result.format
    name = result.key.rsplit("/", 1)[-1]
    return FileResponse(result.local_copy, media_type=CONTENT_TYPES[fmt], filename=name,
                        headers={"X-Export-Rows": str(result.rows)},
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
