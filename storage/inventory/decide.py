"""Deciding, row by row, whether a template row can be assigned against the inventory as it is now.

Used both by the preflight/dry run (nothing written) and by ``assignment.assign_chunk`` (inside the
chunk's transaction). Facts are read in a few set-based queries per chunk, then each row is checked
in order, consuming base and add-on licenses from what remains, so the decision for row N accounts
for the rows before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from phonesys.errors import Problem
from storage.inventory.holds import Holder, held_row_ids
from storage.inventory.schema import addon_pools, extensions, numbers, organizations, row_holds, templates, users
from storage.inventory.upsert import chunked


@dataclass(frozen=True)
class RowDecision:
    row: object          # a template_rows row
    problem: Problem | None
    prepaid: bool = False  # its template holds its licenses (convert them, claim nothing new)


@dataclass
class Facts:
    user_orgs: dict[str, str | None]   # identity -> ext key holding it ("" when free); missing = unknown
    number_holders: dict[str, str]     # number -> ext key holding it ("" when free); missing = not owned
    taken_keys: set[str]
    base_left: int
    addons_left: dict[str, int]
    holders: dict[tuple[str, str], Holder] = field(default_factory=dict)  # (kind, value) -> other template
    prepaid: set[int] = field(default_factory=set)  # row ids whose licenses their own template holds


def decide_rows(connection: Connection, org_uuid: str, rows: Sequence, skus: Sequence[str]) -> list[RowDecision]:
    facts = gather_facts(connection, org_uuid, rows, skus)
    return [RowDecision(row, _decide(row, facts, skus), row.id in facts.prepaid) for row in rows]


def gather_facts(connection: Connection, org_uuid: str, rows: Sequence, skus: Sequence[str]) -> Facts:
    facts = _inventory_facts(connection, org_uuid, rows, skus)
    if rows:
        template_uuid = rows[0].template_uuid
        facts.holders = _other_holders(connection, org_uuid, template_uuid, rows)
        facts.prepaid = held_row_ids(connection, [r.id for r in rows])
    return facts


def _other_holders(connection: Connection, org_uuid: str, template_uuid: str, rows: Sequence) -> dict:
    """What other in-progress templates hold of the keys, users and numbers these rows want."""
    holders: dict[tuple[str, str], Holder] = {}
    wanted = {"ext_key": [r.ext_key for r in rows], "identity_uuid": [r.identity_uuid for r in rows],
              "number": [r.number for r in rows if r.number]}
    for kind, values in wanted.items():
        column = row_holds.c[kind]
        for batch in chunked(values):
            for value, uuid, name in connection.execute(
                    select(column, templates.c.template_uuid, templates.c.name)
                    .join(templates, templates.c.template_uuid == row_holds.c.template_uuid)
                    .where(row_holds.c.org_uuid == org_uuid, row_holds.c.template_uuid != template_uuid,
                           column.in_(batch))):
                holders[(kind, value)] = Holder(uuid, name)
    return holders


def _inventory_facts(connection: Connection, org_uuid: str, rows: Sequence, skus: Sequence[str]) -> Facts:
    identities = [r.identity_uuid for r in rows]
    wanted_numbers = [r.number for r in rows if r.number]
    keys = [r.ext_key for r in rows]
    user_orgs, number_holders, taken = {}, {}, set()
    for batch in chunked(identities):
        user_orgs.update(connection.execute(
            select(users.c.identity_uuid, extensions.c.ext_key)
            .select_from(users.outerjoin(extensions, extensions.c.identity_uuid == users.c.identity_uuid))
            .where(users.c.org_uuid == org_uuid, users.c.identity_uuid.in_(batch))).all())
    for batch in chunked(wanted_numbers):
        number_holders.update(connection.execute(
            select(numbers.c.number, extensions.c.ext_key)
            .select_from(numbers.outerjoin(extensions, extensions.c.number == numbers.c.number))
            .where(numbers.c.org_uuid == org_uuid, numbers.c.number.in_(batch))).all())
    for batch in chunked(keys):
        taken.update(connection.execute(select(extensions.c.ext_key).where(
            extensions.c.org_uuid == org_uuid, extensions.c.ext_key.in_(batch))).scalars())
    org = connection.execute(select(organizations).where(organizations.c.org_uuid == org_uuid)).one()
    free = addon_pools.c.total - addon_pools.c.used - addon_pools.c.held
    pools = dict(connection.execute(select(addon_pools.c.sku, free).where(
        addon_pools.c.org_uuid == org_uuid, addon_pools.c.sku.in_(list(skus)))).all())
    return Facts({k: v or "" for k, v in user_orgs.items()}, {k: v or "" for k, v in number_holders.items()},
                 taken, org.base_total - org.base_used - org.base_held, {sku: pools.get(sku, 0) for sku in skus})


def _decide(row, facts: Facts, skus: Sequence[str]) -> Problem | None:
    """The first reason the row cannot be assigned, or None after consuming its licenses."""
    problem = inventory_problem(row, facts)
    prepaid = row.id in facts.prepaid
    if problem is None and not prepaid:
        problem = _license_problem(facts, skus)
    if problem is None:
        if not prepaid:
            facts.base_left -= 1
            for sku in skus:
                facts.addons_left[sku] -= 1
        facts.taken_keys.add(row.ext_key)
        facts.user_orgs[row.identity_uuid] = row.ext_key
        if row.number:
            facts.number_holders[row.number] = row.ext_key
    return problem


def inventory_problem(row, facts: Facts) -> Problem | None:
    reserved = _reserved_problem(row, facts)
    if reserved is not None:
        return reserved
    if row.identity_uuid not in facts.user_orgs:
        return Problem("user-not-found", f"User {row.user_name} ({row.identity_uuid}) no longer exists in "
                       "the organization.", "User")
    if facts.user_orgs[row.identity_uuid]:
        return Problem("user-assigned", f"{row.user_name} already has extension "
                       f"{facts.user_orgs[row.identity_uuid]}.", "User")
    if row.ext_key in facts.taken_keys:
        return Problem("ext-key-exists", f"Extension {row.ext_key} already exists.", "Ext Key")
    if row.number and row.number not in facts.number_holders:
        return Problem("number-not-owned", f"Number {row.number} is not a number license of the "
                       "organization.", "Number")
    if row.number and facts.number_holders[row.number]:
        return Problem("number-assigned", f"Number {row.number} is already assigned to extension "
                       f"{facts.number_holders[row.number]}.", "Number")
    return None


def _reserved_problem(row, facts: Facts) -> Problem | None:
    """A key, user or number another in-progress template holds, naming that template."""
    if holder := facts.holders.get(("identity_uuid", row.identity_uuid)):
        return Problem("user-reserved", f"{row.user_name} is reserved by {holder}, which is in progress.", "User")
    if holder := facts.holders.get(("ext_key", row.ext_key)):
        return Problem("ext-key-reserved", f"Extension {row.ext_key} is reserved by {holder}, which is in "
                       "progress.", "Ext Key")
    if row.number and (holder := facts.holders.get(("number", row.number))):
        return Problem("number-reserved", f"Number {row.number} is reserved by {holder}, which is in "
                       "progress.", "Number")
    return None


def _license_problem(facts: Facts, skus: Sequence[str]) -> Problem | None:
    if facts.base_left < 1:
        return Problem("base-licenses-insufficient", "No unprovisioned Phone System base license is left.",
                       "Ext Key")
    for sku in skus:
        if facts.addons_left[sku] < 1:
            return Problem("addon-licenses-insufficient", f"No '{sku}' add-on license is left.", "Add-ons")
    return None
