"""A page of an organization's extensions and how many match, for the HTTP API's extension list.

The filters are those of ``phonesys ext list`` and each row is what ``views.show_extension`` gives,
so the API and the CLI describe an extension the same way; the count and the page come from one
read snapshot, so ``total`` and the rows agree even while others write.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Engine, Integer, Select, cast, exists, func, select

from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.inventory.lookup import get_org
from phonesys.storage.inventory.schema import extension_addons, extensions
from phonesys.storage.inventory.views import _addons_by_extension, _as_dict, _base_query


def extension_page(engine: Engine, org_ref: str, *, has_user: bool | None = None, has_number: bool | None = None,
                   addon: str | None = None, limit: int, offset: int = 0) -> dict[str, Any]:
    """``{"total": matching extensions, "extensions": at most limit of them from offset, in key order}``."""
    with read_transaction(engine) as connection:
        org = get_org(connection, org_ref)
        conditions = _filters(has_user, has_number, addon)
        total = connection.execute(select(func.count()).select_from(extensions)
                                   .where(extensions.c.org_uuid == org.org_uuid, *conditions)).scalar_one()
        query: Select[Any] = _base_query(org.org_uuid).where(*conditions)
        rows = connection.execute(query.order_by(cast(extensions.c.ext_key, Integer), extensions.c.ext_key)
                                  .limit(limit).offset(offset)).all()
        addons = _addons_by_extension(connection, [row.id for row in rows])
    return {"total": total, "limit": limit, "offset": offset,
            "extensions": [_as_dict(row, addons[row.id]) for row in rows]}


def _filters(has_user: bool | None, has_number: bool | None, addon: str | None) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a filtered listing (None: that filter is off)."""
    wanted: list[ColumnElement[bool]] = []
    for column, present in ((extensions.c.identity_uuid, has_user), (extensions.c.number, has_number)):
        if present is not None:
            wanted.append(column.is_not(None) if present else column.is_(None))
    if addon is not None:
        wanted.append(exists().where(extension_addons.c.extension_id == extensions.c.id,
                                     extension_addons.c.sku == addon))
    return wanted
