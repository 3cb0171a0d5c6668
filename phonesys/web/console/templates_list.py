"""Bulk Assignment: the template list (search by name or UUID, refresh, create), the create wizard's first
step (name and add-ons), and a template's Licenses view (editable while it is a draft)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from phonesys.rules.errors import Problem, Refused
from phonesys.rules.status import allows, list_actions
from phonesys.rules.values import check_template_name
from phonesys.storage.inventory.template_views import list_templates, template_detail
from phonesys.storage.inventory.templates import create_template, rename_template, set_template_addons
from phonesys.storage.inventory.usage import org_usage
from phonesys.web.auth import visible_org, visible_template
from phonesys.web.console.context import ChangingDep, Session, SessionDep, render
from phonesys.web.console.outcomes import attempt, see_other
from phonesys.web.paging import text_query

router = APIRouter(prefix="/console", include_in_schema=False)
Addons = Annotated[list[str], Form()]


@router.get("/orgs/{org}/templates")
def templates(request: Request, org: str, session: SessionDep,
              search: Annotated[str, text_query("Part of a name or UUID.")] = "") -> Response:
    org_uuid = visible_org(org, session.caller)
    found = list_templates(session.engine, org_uuid, search.strip() or None)
    rows = [{**t, "actions": list_actions(t["status"])} for t in found]
    return render(request, "templates.html", session, org=org_uuid, templates=rows, search=search)


def _new_page(request: Request, session: Session, org: str, status: int = 200, **values: object) -> Response:
    return render(request, "template_new.html", session, status, org=org, usage=org_usage(session.engine, org),
                  **values)


@router.get("/orgs/{org}/templates/new")
def new_template(request: Request, org: str, session: SessionDep) -> Response:
    return _new_page(request, session, visible_org(org, session.caller))


@router.post("/orgs/{org}/templates")
def create(request: Request, org: str, session: ChangingDep, name: Annotated[str, Form()] = "",
           addons: Addons = []) -> Response:  # noqa: B006
    """Next: the draft exists, and the wizard goes on to its Users step (sample file, upload)."""
    org_uuid = visible_org(org, session.caller)
    return attempt(lambda: create_template(session.engine, org_uuid, name, addons),
                   lambda made: see_other(f"/console/templates/{made.uuid}/users"),
                   lambda problems, status: _new_page(request, session, org_uuid, status, problems=problems,
                                                      form={"name": name, "addons": addons}))


def licenses_page(request: Request, session: Session, template: str, status: int = 200,
                  **values: object) -> Response:
    detail = template_detail(session.engine, template)
    return render(request, "template_licenses.html", session, status, t=detail, org=detail.org_uuid,
                  usage=org_usage(session.engine, detail.org_uuid), editable=allows(detail.status, "set-addons"),
                  actions=list_actions(detail.status), **values)


@router.get("/templates/{template}")
def template_licenses(request: Request, template: str, session: SessionDep) -> Response:
    """The template's name and add-ons: a form in draft, a view once started."""
    return licenses_page(request, session, visible_template(session.engine, template, session.caller))


@router.post("/templates/{template}/licenses")
def save_licenses(request: Request, template: str, session: ChangingDep, name: Annotated[str, Form()] = "",
                  addons: Addons = []) -> Response:  # noqa: B006
    """Save: ``template set-addons`` and ``template rename`` (draft only) as one form."""
    ref = visible_template(session.engine, template, session.caller)

    def save() -> None:
        """The name is checked first, so a refused save changes neither the add-ons nor the name."""
        checked = check_template_name(name)
        if isinstance(checked, Problem):
            raise Refused(checked)
        set_template_addons(session.engine, ref, addons)
        if checked != template_detail(session.engine, ref).name:
            rename_template(session.engine, ref, checked)

    return attempt(save, lambda _: see_other(f"/console/templates/{ref}"),
                   lambda problems, status: licenses_page(request, session, ref, status, problems=problems))
