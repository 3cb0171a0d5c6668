"""A template's Users view (its rows, a page at a time) with the create wizard's second step: the sample
files and the upload, whose refusal lists every problem with file, row, column, code and message."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from phonesys.rules.errors import Problem, Refused
from phonesys.rules.limits import CONSOLE_PAGE_SIZE
from phonesys.rules.samples import SampleKind, sample_bytes, sample_file_name
from phonesys.rules.status import allows, list_actions
from phonesys.rules.validation import check_size
from phonesys.services.uploads import UploadResult, UploadSource, safe_name, upload_files
from phonesys.storage.inventory.template_views import template_detail, template_users
from phonesys.storage.objects import open_object_store
from phonesys.web.auth import visible_template
from phonesys.web.console.context import ChangingDep, Session, SessionDep, form_of, render
from phonesys.web.console.outcomes import attempt, see_other
from phonesys.web.paging import Offset
from phonesys.web.problems import status_of

router = APIRouter(prefix="/console", include_in_schema=False)


def users_page(request: Request, session: Session, template: str, offset: int = 0, status: int = 200,
               **values: object) -> Response:
    """The Users view; the upload form only while the template is a draft (``rules.status``)."""
    detail = template_detail(session.engine, template)
    rows = template_users(session.engine, template) if allows(detail.status, "users") else []
    start = max(offset, 0)
    return render(request, "template_users.html", session, status, t=detail, org=detail.org_uuid,
                  rows=rows[start:start + CONSOLE_PAGE_SIZE], total=len(rows), offset=start,
                  page_size=CONSOLE_PAGE_SIZE, can_upload=allows(detail.status, "upload"),
                  actions=list_actions(detail.status), **values)


@router.get("/templates/{template}/users")
def users(request: Request, template: str, session: SessionDep, offset: Offset = 0) -> Response:
    return users_page(request, session, visible_template(session.engine, template, session.caller), offset)


@router.get("/sample.csv")
def sample(session: SessionDep, by: SampleKind = "name") -> Response:
    """The file ``phonesys sample-csv --by name|uuid`` writes."""
    return Response(sample_bytes(by), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{sample_file_name(by)}"'})


@router.post("/templates/{template}/files")
async def upload(request: Request, template: str, session: ChangingDep) -> Response:
    """``template upload`` with the posted files: every one validated, all added or none."""
    ref = visible_template(session.engine, template, session.caller)
    files = [f for f in (await form_of(request)).getlist("files") if isinstance(f, UploadFile) and f.filename]
    too_big = [p for f in files if (p := check_size(f.size or 0, safe_name(Path(f.filename or "").name)))]
    contents = [] if too_big else [(safe_name(Path(f.filename or "").name), await f.read()) for f in files]
    if too_big:  # refused before its bytes are read, with the API's status (413)
        return users_page(request, session, ref, 0, status_of(Refused(too_big)), problems=too_big)
    return attempt(lambda: _upload(request, session, ref, contents),
                   lambda _: see_other(f"/console/templates/{ref}/users"),
                   lambda problems, status: users_page(request, session, ref, 0, status, problems=problems))


def _upload(request: Request, session: Session, template: str, contents: list[tuple[str, bytes]]) -> UploadResult:
    """The bytes go through a private folder so the upload service reads them like ``template upload``'s
    files (its 5 MB check first); the folder is gone when the request ends."""
    if not contents:
        raise Refused(Problem("upload-nothing", "Choose at least one CSV file.", "file"))
    store = open_object_store(request.app.state.settings.objects_url)
    with tempfile.TemporaryDirectory(prefix="phonesys-upload-") as folder:
        paths = [Path(folder) / f"{index}" / name for index, (name, _) in enumerate(contents)]
        for path, (_, data) in zip(paths, contents):
            path.parent.mkdir()
            path.write_bytes(data)
        return upload_files(session.engine, store, template, [UploadSource(path=p) for p in paths])
