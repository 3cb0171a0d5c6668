"""``POST /api/v1/templates/{t}/files``: upload CSV files into a draft, as ``phonesys template upload``.

The files arrive as ``multipart/form-data`` in the field ``files`` (repeat it for several) and are
received while the body streams (``phonesys.web.multipart``: 413 the moment one passes 5 MB), into a
temporary folder, then handed to ``services.uploads.upload_files`` as local files, exactly as the
CLI hands its arguments: every problem of every file at once (file, row, column, code), an errors
file beside each rejected upload, and all files or none accepted. The folder is removed whatever
happens. The caller and the template are checked before a byte of the body is read.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as LocalPath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool

from phonesys.rules.api import upload_nothing
from phonesys.services.uploads import UploadSource, upload_files
from phonesys.storage.objects import open_object_store
from phonesys.web.models import problem_responses
from phonesys.web.multipart import check_declared, receive_files
from phonesys.web.write_models import Uploaded
from phonesys.web.writes import ChangerDep, SettingsDep

router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 403, 404, 409, 413, 422, 503))
TemplateRef = Annotated[str, Path(description="Template UUID.")]
FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}}


@router.post("/templates/{template}/files", summary="Upload CSV files into a draft (phonesys template upload)",
             openapi_extra=FORM, response_model=Uploaded)
async def upload(template: TemplateRef, request: Request, change: ChangerDep, settings: SettingsDep) -> dict[str, Any]:
    """Layouts ``Ext Key, User's Name, Number`` or ``Ext Key, Identity UUID, Number``; at most 5 MB a file."""
    ref = await run_in_threadpool(change.template, template)
    boundary = check_declared(request.headers.get("Content-Type"), request.headers.get("Content-Length"))
    folder = LocalPath(tempfile.mkdtemp(prefix="phonesys-web-upload-"))
    try:
        files = await receive_files(request.stream(), boundary, folder)
        if not files:
            raise upload_nothing()
        store = open_object_store(settings.objects_url)
        result = await run_in_threadpool(upload_files, change.engine, store, ref,
                                         [UploadSource(path=path) for path in files])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result.as_dict()
