"""Pages of templates and of a template's users, for the HTTP API's lists.

``template_views.list_templates`` and ``template_users`` read every row (the CLI prints them all);
an API page needs only ``limit`` of them, so these count the matches and read the page in SQL, from
one read snapshot, so ``total`` and the rows agree even while others write (as
``extension_pages.extension_page`` does). Rows and order are those of the whole listings.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, func, select

from phonesys.rules.status import require_allowed
from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.inventory.lookup import get_org
from phonesys.storage.inventory.schema import template_rows, templates
from phonesys.storage.inventory.schema_audit import template_reverts
from phonesys.storage.inventory.template_views import (
    TEMPLATE_ORDER,
    listed_template,
    template_filter,
    template_user,
    template_users_query,
)
from phonesys.storage.inventory.templates import get_template, row_count


def template_page(engine: Engine, org_ref: str, search: str | None = None, *, limit: int,
                  offset: int = 0) -> dict[str, Any]:
    """``{"total", "limit", "offset", "templates"}``: the templates ``list_templates`` gives, paged."""
    with read_transaction(engine) as connection:
        org = get_org(connection, org_ref)
        wanted = template_filter(org.org_uuid, search)
        total = connection.execute(select(func.count()).select_from(templates).where(*wanted)).scalar_one()
        rows = connection.execute(
            select(templates.c.template_uuid, templates.c.name, templates.c.status, templates.c.cancelled_at,
                   template_reverts.c.status.label("revert"))
            .select_from(templates.outerjoin(template_reverts,
                                             template_reverts.c.template_uuid == templates.c.template_uuid))
            .where(*wanted).order_by(*TEMPLATE_ORDER).limit(limit).offset(offset)).all()
        users = _user_counts(connection, [row.template_uuid for row in rows])
    listed = [listed_template(row, users.get(row.template_uuid, 0)) for row in rows]
    return {"total": total, "limit": limit, "offset": offset, "templates": listed}


def template_users_page(engine: Engine, template_ref: str, *, limit: int, offset: int = 0) -> dict[str, Any]:
    """``{"total", "limit", "offset", "users"}``: the rows ``template_users`` gives, paged in SQL."""
    with read_transaction(engine) as connection:
        template = get_template(connection, template_ref)
        require_allowed(template.template_uuid, template.status, "users")
        total = row_count(connection, template.template_uuid)
        rows = connection.execute(template_users_query(template.template_uuid).limit(limit).offset(offset)).all()
    return {"total": total, "limit": limit, "offset": offset, "users": [template_user(row) for row in rows]}


def _user_counts(connection: Connection, template_uuids: list[str]) -> dict[str, int]:
    """Rows per template, counted only for the page's templates."""
    if not template_uuids:
        return {}
    counted = connection.execute(select(template_rows.c.template_uuid, func.count())
                                 .where(template_rows.c.template_uuid.in_(template_uuids))
                                 .group_by(template_rows.c.template_uuid)).all()
    return {uuid: int(count) for uuid, count in counted}

