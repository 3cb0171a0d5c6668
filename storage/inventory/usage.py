"""Read-only figures about organizations: license, number and user usage, and the org list."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Engine, Select, func, select

from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.inventory.lookup import get_org
from phonesys.storage.inventory.results import ExtensionUsage, NumberUsage, OrgListing, OrgUsage, Pool, UserUsage
from phonesys.storage.inventory.schema import addon_pools, extensions, numbers, organizations, row_holds, users


def org_usage(engine: Engine, org_ref: str) -> OrgUsage:
    """Totals, used, held and available for every pool, named plainly for ``org show --json``.

    Users count as unassigned only when no in-progress template holds them either."""
    with read_transaction(engine) as connection:
        org = get_org(connection, org_ref)

        def count(query: Select[int]) -> int:
            return connection.execute(query).scalar_one()
        def extension_count(*having: ColumnElement[bool]) -> int:  # each an index-only count (migration 0011)
            return count(select(func.count()).select_from(extensions).where(extensions.c.org_uuid == org.org_uuid,
                                                                            *having))
        ext_count = extension_count()
        numbers_total = count(select(func.count()).select_from(numbers).where(numbers.c.org_uuid == org.org_uuid))
        numbers_assigned = extension_count(extensions.c.number.is_not(None))
        users_total = count(select(func.count()).select_from(users).where(users.c.org_uuid == org.org_uuid))
        users_assigned = extension_count(extensions.c.identity_uuid.is_not(None))
        pools = connection.execute(select(addon_pools).where(addon_pools.c.org_uuid == org.org_uuid)
                                   .order_by(addon_pools.c.sku)).all()
        users_held = count(select(func.count()).select_from(row_holds).where(row_holds.c.org_uuid == org.org_uuid))
        numbers_held = count(select(func.count(row_holds.c.number)).where(row_holds.c.org_uuid == org.org_uuid))
    return OrgUsage(
        org_uuid=org.org_uuid, name=org.name, base_licenses=Pool.of(org.base_total, org.base_used, org.base_held),
        addons={p.sku: Pool.of(p.total, p.used, p.held) for p in pools},
        numbers=NumberUsage(total=numbers_total, assigned=numbers_assigned, held=numbers_held,
                            available=numbers_total - numbers_assigned - numbers_held),
        users=UserUsage(total=users_total, assigned=users_assigned, held=users_held,
                        unassigned=users_total - users_assigned - users_held),
        extensions=ExtensionUsage(total=ext_count, with_user=users_assigned, without_user=ext_count - users_assigned))


def list_orgs(engine: Engine) -> list[OrgListing]:
    with read_transaction(engine) as connection:
        rows = connection.execute(select(organizations).order_by(organizations.c.name)).all()
    return [OrgListing(org_uuid=r.org_uuid, name=r.name, base_licenses=Pool.of(r.base_total, r.base_used, r.base_held))
            for r in rows]
