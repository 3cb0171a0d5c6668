"""The facts one request is decided on, read from the inventory: a user, a number, a key, a pool.

Manual edits, Provision & Assign and license claims read them here and hand them to the pure
decisions of ``phonesys.rules.assignable``, which say whether (and why not) the thing may be
assigned; bulk rows read theirs set-based, a chunk at a time (``decide.py``), for the same rules.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select

from phonesys.rules.assignable import KeyFacts, NumberFacts, PoolFacts, UserFacts
from phonesys.storage.inventory import holds
from phonesys.storage.inventory.lookup import extension_holding_number, extension_holding_user
from phonesys.storage.inventory.schema import addon_pools, extensions, numbers, organizations


def user_facts(connection: Connection, user: Row[Any]) -> UserFacts:
    """The user (a ``users`` row), the extension that has them and the template holding them."""
    return UserFacts(user.name, extension_holding_user(connection, user.identity_uuid),
                     holds.user_holder(connection, user.identity_uuid))


def number_facts(connection: Connection, org_uuid: str, number: str) -> NumberFacts:
    """Whether the org owns ``number``, which extension has it and which template holds it."""
    owned = connection.execute(select(numbers.c.number).where(
        numbers.c.org_uuid == org_uuid, numbers.c.number == number)).first() is not None
    if not owned:  # nothing else matters: a number not owned is never on an extension of the org
        return NumberFacts(number, False)
    return NumberFacts(number, True, extension_holding_number(connection, number),
                       holds.number_holder(connection, number))


def key_facts(connection: Connection, org_uuid: str, key: str) -> KeyFacts:
    """Whether extension ``key`` exists in the org and which template holds it."""
    exists = connection.execute(select(extensions.c.id).where(
        extensions.c.org_uuid == org_uuid, extensions.c.ext_key == key)).first() is not None
    return KeyFacts(key, exists, holds.key_holder(connection, org_uuid, key))


def base_pool(connection: Connection, org_uuid: str) -> PoolFacts:
    """The org's unprovisioned base licenses, with who holds the others."""
    org = connection.execute(select(organizations).where(organizations.c.org_uuid == org_uuid)).one()
    return PoolFacts(None, org.base_total - org.base_used - org.base_held, org.base_total,
                     held_note=holds.describe_held(connection, org_uuid))


def addon_pool_facts(connection: Connection, org_uuid: str, skus: list[str]) -> dict[str, PoolFacts]:
    """Each add-on pool of ``skus`` (``known`` False for one the org does not have)."""
    rows = {r.sku: r for r in connection.execute(select(addon_pools).where(
        addon_pools.c.org_uuid == org_uuid, addon_pools.c.sku.in_(skus)))}
    return {sku: PoolFacts(sku, rows[sku].total - rows[sku].used - rows[sku].held, rows[sku].total,
                           held_note=holds.describe_held(connection, org_uuid, sku)) if sku in rows
            else PoolFacts(sku, 0, 0, known=False) for sku in skus}
