"""The facts a row's assignment is decided on, read from the inventory as it is now.

The decision itself, row by row, is a rule (``phonesys.rules.decisions``). Used both by the
preflight/dry run (nothing written) and by ``assignment.assign_chunk`` (inside the chunk's
transaction): facts are read in a few set-based queries per chunk, then the rows are decided in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, select

from phonesys.rules.assignable import Holder
from phonesys.rules.decisions import Facts, RowDecision, decide
from phonesys.rules.status import IN_PROGRESS
from phonesys.rules.vocabulary import PENDING
from phonesys.storage.inventory.schema import (
    addon_pools,
    extensions,
    numbers,
    organizations,
    row_holds,
    template_rows,
    templates,
    users,
)
from phonesys.storage.inventory.upsert import in_batches, one_of

IN_LIST_MAX = 1000  # rows named one by one in an IN list; more are named by their template


def pending_rows(connection: Connection, template_uuid: str,
                 row_ids: Sequence[int] | None = None) -> Sequence[Row[Any]]:
    """The template's pending rows (those of ``row_ids`` only, when given), each with ``prepaid``:
    whether its own template holds its licenses. One query, so a chunk pays nothing extra for holds."""
    held = (row_holds.c.row_id == template_rows.c.id) & (row_holds.c.template_uuid == template_uuid)
    query = (select(template_rows, row_holds.c.row_id.is_not(None).label("prepaid"))
             .select_from(template_rows.outerjoin(row_holds, held))
             .where(template_rows.c.template_uuid == template_uuid, template_rows.c.status == PENDING)
             .order_by(template_rows.c.id))
    if row_ids is not None:
        query = query.where(one_of(connection, template_rows.c.id, list(row_ids)))
    return connection.execute(query).all()


def decide_rows(connection: Connection, org_uuid: str, rows: Sequence[Row[Any]],
                skus: Sequence[str]) -> list[RowDecision]:
    """Decide ``rows`` (from ``pending_rows``) in order, each seeing what the ones before it took."""
    facts = gather_facts(connection, org_uuid, rows, skus)
    return [RowDecision(row, decide(row, facts, skus), bool(row.prepaid)) for row in rows]


def gather_facts(connection: Connection, org_uuid: str, rows: Sequence[Row[Any]], skus: Sequence[str]) -> Facts:
    facts = _inventory_facts(connection, org_uuid, rows, skus)
    if rows:
        template_uuid = rows[0].template_uuid
        # A chunk names its rows; a whole template (the start) is cheaper to name by its UUID.
        mine = (template_rows.c.id.in_([r.id for r in rows]) if len(rows) <= IN_LIST_MAX
                else template_rows.c.template_uuid == template_uuid)
        facts.holders = _other_holders(connection, org_uuid, template_uuid, mine)
        # Rows read without the flag (a draft's, at start) hold nothing yet.
        facts.prepaid = {r.id for r in rows if getattr(r, "prepaid", False)}
    return facts


def _other_holders(connection: Connection, org_uuid: str, template_uuid: str,
                   mine: ColumnElement[bool]) -> dict[tuple[str, str], Holder]:
    """What other in-progress templates hold of the keys, users and numbers these rows want: one
    join per kind, whatever the number of rows."""
    holders: dict[tuple[str, str], Holder] = {}
    if not _others_in_progress(connection, org_uuid, template_uuid):
        return holders  # holds live only while their template is in progress: nobody else holds anything
    for kind in ("ext_key", "identity_uuid", "number"):
        same = row_holds.c[kind] == template_rows.c[kind]
        if kind == "ext_key":  # keys are per organization; users and numbers are global
            same &= row_holds.c.org_uuid == org_uuid
        query = (select(row_holds.c[kind], templates.c.template_uuid, templates.c.name)
                 .select_from(template_rows.join(row_holds, same)
                              .join(templates, templates.c.template_uuid == row_holds.c.template_uuid))
                 .where(mine, row_holds.c.template_uuid != template_uuid))
        for value, uuid, name in connection.execute(query):
            holders[(kind, value)] = Holder(uuid, name)
    return holders


def _others_in_progress(connection: Connection, org_uuid: str, template_uuid: str) -> bool:
    """Whether another template of the org is in progress (only they can hold what these rows want:
    a template names its own organization's users, numbers and keys)."""
    return connection.execute(select(templates.c.template_uuid).where(
        templates.c.org_uuid == org_uuid, templates.c.status == IN_PROGRESS,
        templates.c.template_uuid != template_uuid).limit(1)).first() is not None


def _inventory_facts(connection: Connection, org_uuid: str, rows: Sequence[Row[Any]], skus: Sequence[str]) -> Facts:
    identities = [r.identity_uuid for r in rows]
    wanted_numbers = [r.number for r in rows if r.number]
    keys = [r.ext_key for r in rows]
    user_orgs: dict[str, str | None] = {}
    number_holders: dict[str, str | None] = {}
    taken: set[str] = set()
    for named in in_batches(connection, users.c.identity_uuid, identities):
        user_orgs.update(connection.execute(
            select(users.c.identity_uuid, extensions.c.ext_key)
            .select_from(users.outerjoin(extensions, extensions.c.identity_uuid == users.c.identity_uuid))
            .where(users.c.org_uuid == org_uuid, named)).all())
    for named in in_batches(connection, numbers.c.number, wanted_numbers):
        number_holders.update(connection.execute(
            select(numbers.c.number, extensions.c.ext_key)
            .select_from(numbers.outerjoin(extensions, extensions.c.number == numbers.c.number))
            .where(numbers.c.org_uuid == org_uuid, named)).all())
    for named in in_batches(connection, extensions.c.ext_key, keys):
        taken.update(connection.execute(select(extensions.c.ext_key).where(
            extensions.c.org_uuid == org_uuid, named)).scalars())
    org = connection.execute(select(organizations).where(organizations.c.org_uuid == org_uuid)).one()
    free = addon_pools.c.total - addon_pools.c.used - addon_pools.c.held
    pools = {sku: (left, total) for sku, left, total in connection.execute(
        select(addon_pools.c.sku, free, addon_pools.c.total).where(
            addon_pools.c.org_uuid == org_uuid, addon_pools.c.sku.in_(list(skus))))}
    return Facts({k: v or "" for k, v in user_orgs.items()}, {k: v or "" for k, v in number_holders.items()},
                 taken, org.base_total - org.base_used - org.base_held,
                 {sku: pools.get(sku, (0, 0))[0] for sku in skus}, org.base_total,
                 {sku: pools.get(sku, (0, 0))[1] for sku in skus})
