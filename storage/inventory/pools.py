"""Claiming and releasing licenses: conditional UPDATEs that succeed only while stock remains.

A claim is ``UPDATE ... SET used = used + n WHERE used + held + n <= total``; zero rows updated means
the pool ran dry, whatever any other process did meanwhile. Licenses held by in-progress templates
(``holds``) count as used for every claim made here; refusals say which template holds how many.
The CHECK constraints on the same columns are the last line of defence.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from phonesys.rules.errors import Conflict, Problem
from phonesys.storage.inventory.holds import describe_held
from phonesys.storage.inventory.schema import addon_pools, organizations


def claim_base(connection: Connection, org_uuid: str, count: int) -> None:
    t = organizations.c
    result = connection.execute(organizations.update()
                                .where(t.org_uuid == org_uuid, t.base_used + t.base_held + count <= t.base_total)
                                .values(base_used=t.base_used + count))
    if result.rowcount != 1:
        raise Conflict(base_shortfall(connection, org_uuid, count))


def release_base(connection: Connection, org_uuid: str, count: int) -> None:
    t = organizations.c
    connection.execute(organizations.update().where(t.org_uuid == org_uuid)
                       .values(base_used=t.base_used - count))


def base_shortfall(connection: Connection, org_uuid: str, needed: int) -> Problem:
    row = connection.execute(select(organizations).where(organizations.c.org_uuid == org_uuid)).one()
    available = row.base_total - row.base_used - row.base_held
    return Problem("base-licenses-insufficient", f"Needs {needed} unprovisioned Phone System base "
                   f"license(s) but only {available} of {row.base_total} are available"
                   f"{describe_held(connection, org_uuid)}; buy more or delete unused extensions.",
                   "count", str(needed))


def addon_problems(connection: Connection, org_uuid: str, needed: dict[str, int]) -> list[Problem]:
    """Unknown add-ons and pools too small for ``needed`` (sku -> count), one problem each."""
    rows = {r.sku: r for r in connection.execute(select(addon_pools).where(
        addon_pools.c.org_uuid == org_uuid, addon_pools.c.sku.in_(list(needed))))}
    problems = []
    for sku, count in sorted(needed.items()):
        row = rows.get(sku)
        if row is None:
            problems.append(Problem("addon-unknown", f"The organization has no '{sku}' add-on "
                                    "licenses; check the spelling with `phonesys org show`.", "addon", sku))
        elif row.total - row.used - row.held < count:
            problems.append(Problem("addon-licenses-insufficient", f"Needs {count} '{sku}' add-on "
                                    f"license(s) but only {row.total - row.used - row.held} of {row.total} "
                                    f"are available{describe_held(connection, org_uuid, sku)}.", "addon", sku))
    return problems


def claim_addons(connection: Connection, org_uuid: str, needed: dict[str, int]) -> None:
    for sku, count in sorted(needed.items()):
        t = addon_pools.c
        result = connection.execute(addon_pools.update()
                                    .where(t.org_uuid == org_uuid, t.sku == sku, t.used + t.held + count <= t.total)
                                    .values(used=t.used + count))
        if result.rowcount != 1:
            raise Conflict(addon_problems(connection, org_uuid, {sku: count}))


def release_addons(connection: Connection, org_uuid: str, skus: Iterable[str]) -> None:
    for sku in skus:
        t = addon_pools.c
        connection.execute(addon_pools.update().where(t.org_uuid == org_uuid, t.sku == sku)
                           .values(used=t.used - 1))
