"""A started template's report and export files through ``/api/v1``: downloads, and the routes the
report names instead of server paths.

``template report --json`` tells where the files are in object storage (a folder path or an
``s3://`` URL): useful on the machine that runs phonesys, useless to an API client, and a server
path is not the client's business. The API's report names the download routes below instead, which
stream the very object (copied to a temporary folder first, deleted once sent; S3 works the same).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as LocalPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse
from sqlalchemy import Engine
from starlette.background import BackgroundTask

from phonesys.rules.api import report_file_not_written
from phonesys.services.exports import CONTENT_TYPES
from phonesys.settings import Settings
from phonesys.storage.inventory.results import TemplateDetail
from phonesys.storage.inventory.template_views import template_detail
from phonesys.storage.inventory.tokens import Caller
from phonesys.storage.objects import open_object_store
from phonesys.web.auth import CallerDep, EngineDep, blocking, visible_template
from phonesys.web.models import problem_responses
from phonesys.web.writes import SettingsDep

router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 404, 422, 503))
TemplateRef = Annotated[str, Path(description="Template UUID.")]
Which = Literal["report", "export"]
FILE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}, "description": "The file, as stored."}}


def file_route(template_uuid: str, which: Which) -> str:
    return f"/api/v1/templates/{template_uuid}/{which}/file"


def linked(report: dict[str, Any]) -> dict[str, Any]:
    """The report document with ``report`` and ``export`` naming their download routes (None until written)."""
    return {**report, "report": report["report"] and file_route(report["uuid"], "report"),
            "export": report["export"] and file_route(report["uuid"], "export")}


@router.get("/templates/{template}/report/file", response_class=FileResponse, responses=FILE,
            summary="The per-row report file of a started template (phonesys template report --output)")
async def report_file(template: TemplateRef, who: CallerDep, engine: EngineDep, settings: SettingsDep) -> FileResponse:
    return await blocking(lambda: _streamed(settings, _detail(engine, template, who), "report"))


@router.get("/templates/{template}/export/file", response_class=FileResponse, responses=FILE,
            summary="The provisioned-extension file a template's run wrote")
async def export_file(template: TemplateRef, who: CallerDep, engine: EngineDep, settings: SettingsDep) -> FileResponse:
    return await blocking(lambda: _streamed(settings, _detail(engine, template, who), "export"))


def _detail(engine: Engine, template: str, who: Caller) -> TemplateDetail:
    """The template as ``template report`` reads it: the same status checks and codes."""
    return template_detail(engine, visible_template(engine, template, who), action="report")


def _streamed(settings: Settings, detail: TemplateDetail, which: Which) -> FileResponse:
    key = detail.report_key if which == "report" else detail.export_key
    if not key:
        raise report_file_not_written(detail.uuid, which)
    name = key.rsplit("/", 1)[-1]
    folder = LocalPath(tempfile.mkdtemp(prefix="phonesys-web-report-"))
    try:
        local = open_object_store(settings.objects_url).download(key, folder / name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    media = CONTENT_TYPES["parquet" if name.endswith(".parquet") else "csv"]
    return FileResponse(local, media_type=media, filename=name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
