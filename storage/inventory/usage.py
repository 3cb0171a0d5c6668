"""Read-only figures about organizations: license, number and user usage, and the org list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Select, func, select

from phonesys.rules.vocabulary import NUMBER_ASSIGNED, NUMBER_AVAILABLE, NUMBER_HELD
from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.inventory.lookup import get_org
from phonesys.storage.inventory.schema import addon_pools, extensions, numbers, organizations, row_holds, users


def org_usage(engine: Engine, org_ref: str) -> dict[str, Any]:
    """Totals, used, held and available for every pool, named plainly for ``org show --json``.

    Users count as unassigned only when no in-progress template holds them either."""
    with read_transaction(engine) as connection:
        org = get_org(connection, org_ref)

        def count(query: Select[int]) -> int:
            return connection.execute(query).scalar_one()
        ext_count = count(select(func.count()).select_from(extensions).where(extensions.c.org_uuid == org.org_uuid))
        numbers_total = count(select(func.count()).select_from(numbers).where(numbers.c.org_uuid == org.org_uuid))
        numbers_assigned = count(select(func.count(extensions.c.number)).where(extensions.c.org_uuid == org.org_uuid))
        users_total = count(select(func.count()).select_from(users).where(users.c.org_uuid == org.org_uuid))
        users_assigned = count(select(func.count(extensions.c.identity_uuid)).where(
            extensions.c.org_uuid == org.org_uuid))
        pools = connection.execute(select(addon_pools).where(addon_pools.c.org_uuid == org.org_uuid)
                                   .order_by(addon_pools.c.sku)).all()
        users_held = count(select(func.count()).select_from(row_holds).where(row_holds.c.org_uuid == org.org_uuid))
        numbers_held = count(select(func.count(row_holds.c.number)).where(row_holds.c.org_uuid == org.org_uuid))
    return {
        "org_uuid": org.org_uuid,
        "name": org.name,
        "base_licenses": _pool(org.base_total, org.base_used, org.base_held),
        "addons": {p.sku: _pool(p.total, p.used, p.held) for p in pools},
        "numbers": {"total": numbers_total, NUMBER_ASSIGNED: numbers_assigned, NUMBER_HELD: numbers_held,
                    NUMBER_AVAILABLE: numbers_total - numbers_assigned - numbers_held},
        "users": {"total": users_total, NUMBER_ASSIGNED: users_assigned, NUMBER_HELD: users_held,
                  "unassigned": users_total - users_assigned - users_held},
        "extensions": {"total": ext_count, "with_user": users_assigned, "without_user": ext_count - users_assigned},
    }


def _pool(total: int, used: int, held: int) -> dict[str, Any]:
    """``held``: reserved by in-progress templates; available to new requests is what is left."""
    return {"total": total, "used": used, "held": held, "available": total - used - held}


def list_orgs(engine: Engine) -> list[dict[str, Any]]:
    with read_transaction(engine) as connection:
        rows = connection.execute(select(organizations).order_by(organizations.c.name)).all()
    return [{"org_uuid": r.org_uuid, "name": r.name, "base_licenses": _pool(r.base_total, r.base_used, r.base_held)}
            for r in rows]
