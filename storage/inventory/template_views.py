"""Reading templates: the list with search, one template's details, and its users."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, String, cast, func, or_, select

from phonesys.rules.status import require_allowed
from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.inventory.lookup import get_org
from phonesys.storage.inventory.results import TemplateDetail, TemplateFile
from phonesys.storage.inventory.schema import template_addons, template_files, template_rows, templates
from phonesys.storage.inventory.schema_audit import template_reverts
from phonesys.storage.inventory.templates import get_template, row_count


def list_templates(engine: Engine, org_ref: str, search: str | None = None) -> list[dict[str, Any]]:
    """UUID, name, total users and status, newest first; ``search`` matches name or UUID."""
    users = (select(template_rows.c.template_uuid, func.count().label("total"))
             .group_by(template_rows.c.template_uuid).subquery())
    query = (select(templates.c.template_uuid, templates.c.name, templates.c.status,
                    func.coalesce(users.c.total, 0).label("total_users"), templates.c.cancelled_at,
                    template_reverts.c.status.label("revert"))
             .select_from(templates.outerjoin(users, users.c.template_uuid == templates.c.template_uuid)
                          .outerjoin(template_reverts, template_reverts.c.template_uuid == templates.c.template_uuid))
             .order_by(*TEMPLATE_ORDER))
    with read_transaction(engine) as connection:
        org = get_org(connection, org_ref)
        rows = connection.execute(query.where(*template_filter(org.org_uuid, search))).all()
    return [listed_template(r, r.total_users) for r in rows]


TEMPLATE_ORDER = (templates.c.created_at.desc(), templates.c.name, templates.c.template_uuid)  # newest first


def template_filter(org_uuid: str, search: str | None) -> list[ColumnElement[bool]]:
    """The organization's templates whose name or UUID contains ``search`` (any case; blank: all)."""
    wanted: list[ColumnElement[bool]] = [templates.c.org_uuid == org_uuid]
    if search and search.strip():
        pattern = f"%{search.strip().lower()}%"
        wanted.append(or_(func.lower(templates.c.name).like(pattern),
                          cast(templates.c.template_uuid, String).like(pattern)))
    return wanted


def listed_template(row: Any, total_users: int) -> dict[str, Any]:
    """One line of ``template list --json`` (and of the API's template page)."""
    return {"uuid": row.template_uuid, "name": row.name, "total_users": total_users, "status": row.status,
            "cancelled": row.cancelled_at is not None, "revert": row.revert}


def template_detail(engine: Engine, template_ref: str, action: str = "show") -> TemplateDetail:
    """The template with its add-ons and files; ``action`` names what it is read for, checked against its status."""
    with read_transaction(engine) as connection:
        template = get_template(connection, template_ref)
        require_allowed(template.template_uuid, template.status, action)
        addons = connection.execute(select(template_addons.c.sku).where(
            template_addons.c.template_uuid == template.template_uuid).order_by(template_addons.c.sku)).scalars()
        files = connection.execute(select(template_files).where(
            template_files.c.template_uuid == template.template_uuid).order_by(template_files.c.id)).all()
        return TemplateDetail(
            uuid=template.template_uuid, org_uuid=template.org_uuid, name=template.name, status=template.status,
            addons=tuple(addons), total_users=row_count(connection, template.template_uuid),
            created_at=template.created_at.isoformat() if template.created_at else None,
            policy=template.policy, report_key=template.report_key, export_key=template.export_key,
            files=tuple(TemplateFile(file_name=f.file_name, object_key=f.object_key, sha256=f.sha256, rows=f.rows,
                                     identifier_kind=f.identifier_kind) for f in files),
            cancelled=template.cancelled_at is not None, revert=_revert_status(connection, template.template_uuid))


def _revert_status(connection: Connection, template_uuid: str) -> str | None:
    return connection.execute(select(template_reverts.c.status).where(
        template_reverts.c.template_uuid == template_uuid)).scalar()


def template_users(engine: Engine, template_ref: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The template's rows in upload order: ext key, user, number, and the file and row they came from."""
    with read_transaction(engine) as connection:
        template = get_template(connection, template_ref)
        require_allowed(template.template_uuid, template.status, "users")
        rows = connection.execute(template_users_query(template.template_uuid).limit(limit)).all()
    return [template_user(r) for r in rows]


def template_users_query(template_uuid: str) -> Select[Any]:
    """A template's rows in upload order, with the file each came from."""
    return (select(template_rows.c.ext_key, template_rows.c.user_name, template_rows.c.identity_uuid,
                   template_rows.c.number, template_files.c.file_name, template_rows.c.row_number)
            .join(template_files, template_files.c.id == template_rows.c.file_id)
            .where(template_rows.c.template_uuid == template_uuid).order_by(template_rows.c.id))


def template_user(row: Any) -> dict[str, Any]:
    return {"ext_key": row.ext_key, "user_name": row.user_name, "identity_uuid": row.identity_uuid,
            "number": row.number, "file": row.file_name, "row": row.row_number}
