"""Reading extensions as plain dicts for the CLI, exports and tests."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, Engine, Integer, Row, Select, cast, exists, func, select

from phonesys.rules.limits import DIRECTORY_NAME_MAX
from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.inventory.lookup import get_extension, get_org
from phonesys.storage.inventory.schema import extension_addons, extensions, users
from phonesys.storage.inventory.upsert import chunked


def _base_query(org_uuid: str) -> Select[Any]:
    return (select(extensions.c.id, extensions.c.ext_key, extensions.c.number,
                   extensions.c.identity_uuid, users.c.name.label("user_name"),
                   func.coalesce(extensions.c.directory_name, func.substr(users.c.name, 1, DIRECTORY_NAME_MAX))
                   .label("directory_name"))
            .select_from(extensions.outerjoin(users, extensions.c.identity_uuid == users.c.identity_uuid))
            .where(extensions.c.org_uuid == org_uuid))


def list_extensions(engine: Engine, org_ref: str, *, has_user: bool | None = None,
                    has_number: bool | None = None, addon: str | None = None,
                    limit: int | None = None) -> list[dict[str, Any]]:
    """Extensions in key order, optionally filtered by user, number and add-on."""
    with read_transaction(engine) as connection:
        org = get_org(connection, org_ref)
        query = _base_query(org.org_uuid)
        if has_user is not None:
            query = query.where(extensions.c.identity_uuid.is_not(None) if has_user
                                else extensions.c.identity_uuid.is_(None))
        if has_number is not None:
            query = query.where(extensions.c.number.is_not(None) if has_number else extensions.c.number.is_(None))
        if addon is not None:
            query = query.where(exists().where(extension_addons.c.extension_id == extensions.c.id,
                                               extension_addons.c.sku == addon))
        query = query.order_by(cast(extensions.c.ext_key, Integer), extensions.c.ext_key).limit(limit)
        rows = connection.execute(query).all()
        addons = _addons_by_extension(connection, [r.id for r in rows])
    return [_as_dict(row, addons[row.id]) for row in rows]


def show_extension(engine: Engine, org_ref: str, ext_key: str) -> dict[str, Any]:
    with read_transaction(engine) as connection:
        org = get_org(connection, org_ref)
        ext = get_extension(connection, org.org_uuid, ext_key)
        row = connection.execute(_base_query(org.org_uuid).where(extensions.c.id == ext.id)).one()
        addons = _addons_by_extension(connection, [ext.id])
    return _as_dict(row, addons[ext.id])


def _addons_by_extension(connection: Connection, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for batch in chunked(ids):
        for extension_id, sku in connection.execute(
                select(extension_addons.c.extension_id, extension_addons.c.sku)
                .where(extension_addons.c.extension_id.in_(batch)).order_by(extension_addons.c.sku)):
            found[extension_id].append(sku)
    return found


def _as_dict(row: Row[Any], addons: list[str]) -> dict[str, Any]:
    user = None if row.identity_uuid is None else {"identity_uuid": row.identity_uuid, "name": row.user_name}
    return {"ext_key": row.ext_key, "directory_name": row.directory_name, "user": user,
            "number": row.number, "addons": addons}
