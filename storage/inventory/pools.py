"""Claiming and releasing licenses: conditional UPDATEs that succeed only while stock remains.

A claim is ``UPDATE ... SET used = used + n WHERE used + held + n <= total``; zero rows updated means
the pool ran dry, whatever any other process did meanwhile. Licenses held by in-progress templates
(``holds``) count as used for every claim made here; refusals say which template holds how many.
The CHECK constraints on the same columns are the last line of defence.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from phonesys.rules.assignable import Where, pool_problem, shortfall
from phonesys.rules.errors import Conflict, Problem
from phonesys.storage.inventory.facts import addon_pool_facts, base_pool
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
    """Why ``needed`` base licenses cannot be claimed (the rule's wording, with who holds the rest)."""
    return shortfall(base_pool(connection, org_uuid), needed, Where("count", str(needed)))


def addon_problems(connection: Connection, org_uuid: str, needed: dict[str, int]) -> list[Problem]:
    """Unknown add-ons and pools too small for ``needed`` (sku -> count), one problem each."""
    pools = addon_pool_facts(connection, org_uuid, sorted(needed))
    found = (pool_problem(pools[sku], count, Where("addon", sku)) for sku, count in sorted(needed.items()))
    return [problem for problem in found if problem is not None]


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
