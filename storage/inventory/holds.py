"""Holds: what a started template reserves, from its start until each of its rows is decided.

Starting a template holds, in the start's transaction, one base license and one of each selected
add-on per pending row (counters ``organizations.base_held`` / ``addon_pools.held``) and each row's
ext key, user and number (``row_holds``, unique per key, user and number). Everyone else sees held
licenses as used and is refused a held key, user or number with a code naming the template. A chunk
turns its rows' holds into assignments in its own transaction (``convert``); a failed row, an
all-or-nothing undo and completion give holds back (``release``). The CHECKs keep
``used + held <= total`` true at every commit, whatever the code does. A template's revert in
progress holds the extensions it is removing (``revert_holder``): manual changes to them wait.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, String, delete, func, insert, literal, select, update

from phonesys.rules import refusals
from phonesys.rules.assignable import Holder
from phonesys.rules.errors import Problem
from phonesys.rules.vocabulary import PENDING
from phonesys.storage.inventory.schema import (
    addon_pools,
    organizations,
    row_holds,
    template_addons,
    template_rows,
    templates,
)
from phonesys.storage.inventory.schema_audit import revert_rows
from phonesys.storage.inventory.upsert import in_batches


def take(connection: Connection, org_uuid: str, template_uuid: str, skus: Sequence[str]) -> int:
    """Hold everything the template's pending rows need; the caller has checked that it is free."""
    pending = select(template_rows.c.id, template_rows.c.template_uuid, literal(org_uuid, String),
                     template_rows.c.ext_key, template_rows.c.identity_uuid, template_rows.c.number).where(
        template_rows.c.template_uuid == template_uuid, template_rows.c.status == PENDING)
    connection.execute(insert(row_holds).from_select(
        ["row_id", "template_uuid", "org_uuid", "ext_key", "identity_uuid", "number"], pending))
    count = _held_rows(connection, template_uuid)
    _shift_counters(connection, org_uuid, skus, held=count, used=0)
    return count


def convert(connection: Connection, org_uuid: str, template_uuid: str, row_ids: Sequence[int],
            skus: Sequence[str]) -> int:
    """Turn the holds of rows just assigned into use (held -> used); returns how many were held."""
    count = _drop(connection, template_uuid, row_ids)
    _shift_counters(connection, org_uuid, skus, held=-count, used=count)
    return count


def release(connection: Connection, org_uuid: str, template_uuid: str, skus: Sequence[str],
            row_ids: Sequence[int] | None = None) -> int:
    """Give back the holds of ``row_ids`` (or of the whole template); returns how many rows held."""
    if row_ids is None:
        row_ids = connection.execute(select(row_holds.c.row_id).where(
            row_holds.c.template_uuid == template_uuid)).scalars().all()
    count = _drop(connection, template_uuid, row_ids)
    _shift_counters(connection, org_uuid, skus, held=-count, used=0)
    return count


def _drop(connection: Connection, template_uuid: str, row_ids: Sequence[int]) -> int:
    dropped = 0
    for named in in_batches(connection, row_holds.c.row_id, list(row_ids)):
        dropped += connection.execute(delete(row_holds).where(
            row_holds.c.template_uuid == template_uuid, named)).rowcount
    return dropped


def _held_rows(connection: Connection, template_uuid: str) -> int:
    return connection.execute(select(func.count()).select_from(row_holds).where(
        row_holds.c.template_uuid == template_uuid)).scalar_one()


def _shift_counters(connection: Connection, org_uuid: str, skus: Sequence[str], *, held: int, used: int) -> None:
    """Move ``held``/``used`` on the base and add-on pools; the CHECKs refuse any overshoot."""
    if not held and not used:
        return
    o = organizations.c
    connection.execute(update(organizations).where(o.org_uuid == org_uuid)
                       .values(base_held=o.base_held + held, base_used=o.base_used + used))
    if skus:
        p = addon_pools.c
        connection.execute(update(addon_pools).where(p.org_uuid == org_uuid, p.sku.in_(list(skus)))
                           .values(held=p.held + held, used=p.used + used))


def _holder(connection: Connection, condition: ColumnElement[bool]) -> Holder | None:
    row = connection.execute(select(templates.c.template_uuid, templates.c.name)
                             .join(row_holds, row_holds.c.template_uuid == templates.c.template_uuid)
                             .where(condition).limit(1)).first()
    return Holder(row.template_uuid, row.name) if row else None


def user_holder(connection: Connection, identity_uuid: str) -> Holder | None:
    return _holder(connection, row_holds.c.identity_uuid == identity_uuid)


def number_holder(connection: Connection, number: str) -> Holder | None:
    return _holder(connection, row_holds.c.number == number)


def key_holder(connection: Connection, org_uuid: str, ext_key: str) -> Holder | None:
    return _holder(connection, (row_holds.c.org_uuid == org_uuid) & (row_holds.c.ext_key == ext_key))


def held_by_template(connection: Connection, org_uuid: str, sku: str | None = None) -> list[tuple[Holder, int]]:
    """How many base licenses (or ``sku`` add-ons) each in-progress template of the org holds."""
    query = (select(templates.c.template_uuid, templates.c.name, func.count())
             .join(row_holds, row_holds.c.template_uuid == templates.c.template_uuid)
             .where(row_holds.c.org_uuid == org_uuid)
             .group_by(templates.c.template_uuid, templates.c.name).order_by(templates.c.name))
    if sku is not None:
        query = query.join(template_addons, (template_addons.c.template_uuid == templates.c.template_uuid)
                           & (template_addons.c.sku == sku))
    return [(Holder(r[0], r[1]), r[2]) for r in connection.execute(query)]


def describe_held(connection: Connection, org_uuid: str, sku: str | None = None) -> str:
    """`` (20 held by template 'Sales' (uuid))`` for shortfall messages, or '' when nothing is held."""
    parts = [f"{count} held by {holder}" for holder, count in held_by_template(connection, org_uuid, sku)]
    return f" ({'; '.join(parts)})" if parts else ""


def revert_holder(connection: Connection, extension_id: int, ext_key: str) -> Problem | None:
    """Why a manual change to this extension must wait: a revert in progress is removing it."""
    holder = connection.execute(select(templates.c.template_uuid, templates.c.name)
                                .join(revert_rows, revert_rows.c.template_uuid == templates.c.template_uuid)
                                .where(revert_rows.c.extension_id == extension_id,
                                       revert_rows.c.status == PENDING)).first()
    return None if holder is None else refusals.extension_reverting(ext_key, holder.name, holder.template_uuid)
