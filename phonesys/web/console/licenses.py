"""The Licenses page (Phone System pools and the extensions table), Provision / Provision & Assign, and the
two export downloads: each calls the storage function the matching CLI command calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from phonesys.rules.limits import CONSOLE_PAGE_SIZE
from phonesys.rules.values import EXT_KEY_REGEX
from phonesys.services.exports import export_extensions, export_numbers
from phonesys.storage.inventory.extension_pages import extension_page
from phonesys.storage.inventory.provisioning import Assignment, provision
from phonesys.storage.inventory.usage import org_usage
from phonesys.storage.objects import open_object_store
from phonesys.web.auth import visible_org
from phonesys.web.console.context import ChangingDep, Session, SessionDep, render
from phonesys.web.console.outcomes import attempt, download, see_other, yes_no
from phonesys.web.paging import Offset, text_query

router = APIRouter(prefix="/console/orgs/{org}", include_in_schema=False)
AddonsForm = Annotated[list[str], Form()]
Choice = Annotated[str, Query(pattern="^(yes|no)?$")]
FreeText = Annotated[str, text_query("Only holding this add-on.")]


@router.get("/licenses")
def licenses(request: Request, org: str, session: SessionDep, has_user: Choice = "", has_number: Choice = "",
             addon: FreeText = "", offset: Offset = 0) -> Response:
    """The pools (total / used / held / available) and a page of extensions, filtered like ``ext list``."""
    org_uuid = visible_org(org, session.caller)
    filters = {"has_user": has_user, "has_number": has_number, "addon": addon}
    page = extension_page(session.engine, org_uuid, has_user=yes_no(has_user), has_number=yes_no(has_number),
                          addon=addon.strip() or None, limit=CONSOLE_PAGE_SIZE, offset=offset)
    return render(request, "licenses.html", session, org=org_uuid, usage=org_usage(session.engine, org_uuid),
                  page=page, filters=filters, page_size=CONSOLE_PAGE_SIZE)


def _provision_page(request: Request, session: Session, org: str, status: int = 200, **values: object) -> Response:
    return render(request, "provision.html", session, status, org=org, usage=org_usage(session.engine, org),
                  key_pattern=EXT_KEY_REGEX, form=values.pop("form", {}), **values)


@router.get("/provision")
def provision_form(request: Request, org: str, session: SessionDep) -> Response:
    return _provision_page(request, session, visible_org(org, session.caller))


@router.post("/provision")
def provision_extensions(request: Request, org: str, session: ChangingDep, start: Annotated[str, Form()] = "",
                         count: Annotated[int, Form()] = 1, user: Annotated[str, Form()] = "",
                         addons: AddonsForm = [], number: Annotated[str, Form()] = "",  # noqa: B006
                         mode: Annotated[str, Form()] = "provision") -> Response:
    """Provision (count from start), or Provision & Assign (one extension with its user, add-ons, number)."""
    org_uuid = visible_org(org, session.caller)
    assign = (Assignment(user.strip() or None, tuple(addons), number.strip() or None) if mode == "assign"
              else Assignment(None, (), None))
    return attempt(lambda: provision(session.engine, org_uuid, count, start.strip(), assign),
                   lambda _keys: see_other(f"/console/orgs/{org_uuid}/licenses"),
                   lambda problems, status: _provision_page(request, session, org_uuid, status, problems=problems,
                                                    form={"start": start, "count": count, "user": user,
                                                          "number": number, "addons": addons}))


@router.get("/exports/{kind}.csv")
def export(request: Request, org: str, kind: str, session: SessionDep) -> Response:
    """``export extensions`` / ``export numbers --available-only`` as a download; the file is also kept in
    object storage under ``exports/<orgUuid>/``, like the CLI's."""
    org_uuid = visible_org(org, session.caller)
    store = open_object_store(request.app.state.settings.objects_url)
    if kind == "extensions":
        written = export_extensions(session.engine, store, org_uuid)
    elif kind == "numbers":
        written = export_numbers(session.engine, store, org_uuid, available_only=True)
    else:
        return render(request, "error.html", session, 404, problems=[])
    return download(store, written.key)

