"""Organizations: loading the purchase document, importing users, usage figures, removal.

Reloading an organization may raise or lower purchased counts but never below what is in use, and
only ever adds numbers and users; a document that breaks any rule changes nothing at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Row, Table, delete, func, select

from phonesys.rules import refusals
from phonesys.rules.errors import Problem, Refused, refuse_if
from phonesys.rules.orgfile import OrgDocument, UserEntry
from phonesys.rules.values import name_key
from phonesys.storage.inventory.audit import Event, record
from phonesys.storage.inventory.engine import write_transaction
from phonesys.storage.inventory.holds import describe_held
from phonesys.storage.inventory.lookup import lock_org
from phonesys.storage.inventory.results import OrgLoaded, UsersImported
from phonesys.storage.inventory.schema import (
    addon_pools,
    extension_addons,
    extensions,
    numbers,
    organizations,
    row_holds,
    template_addons,
    template_files,
    template_rows,
    templates,
    users,
)
from phonesys.storage.inventory.tokens import revoke_org_tokens
from phonesys.storage.inventory.upsert import in_batches, upsert


def load_org(engine: Engine, document: OrgDocument) -> OrgLoaded:
    """Create or update an organization from a checked ``OrgDocument``; returns what changed."""
    with write_transaction(engine) as connection:
        existing = _lock_or_create(connection, document)
        problems = _shrink_problems(connection, document, existing)
        problems += _foreign_number_problems(connection, document.org_uuid, document.numbers)
        problems += _foreign_user_problems(connection, document.org_uuid, document.users)
        refuse_if(problems)
        connection.execute(organizations.update().where(organizations.c.org_uuid == document.org_uuid)
                           .values(name=document.name, base_total=document.base_licenses))
        upsert(connection, addon_pools, [{"org_uuid": document.org_uuid, "sku": sku, "total": total}
                                         for sku, total in document.addons.items()],
               ["org_uuid", "sku"], ["total"])
        upsert(connection, numbers, [{"org_uuid": document.org_uuid, "number": n} for n in document.numbers],
               ["number"], [])
        _upsert_users(connection, document.org_uuid, document.users)
        record(connection, Event("org.load", document.org_uuid, "organization", document.org_uuid,
                                 None if existing is None else _org_figures(existing), {
                                     "name": document.name, "base_licenses": document.base_licenses,
                                     "addons": dict(sorted(document.addons.items())),
                                     "numbers": len(document.numbers), "users": len(document.users)}))
        return OrgLoaded(org_uuid=document.org_uuid, created=existing is None,
                         numbers=len(document.numbers), users=len(document.users))


def import_users(engine: Engine, org_ref: str, entries: Sequence[UserEntry]) -> UsersImported:
    """Add or rename users of an existing organization in one transaction."""
    with write_transaction(engine) as connection:
        org_uuid = lock_org(connection, org_ref).org_uuid
        refuse_if(_foreign_user_problems(connection, org_uuid, entries))
        before = _count(connection, users, users.c.org_uuid == org_uuid)
        _upsert_users(connection, org_uuid, entries)
        after = _count(connection, users, users.c.org_uuid == org_uuid)
        record(connection, Event("org.users-import", org_uuid, "users", org_uuid, {"users": before},
                                 {"users": after, "rows": len(entries)}))
        return UsersImported(org_uuid=org_uuid, rows=len(entries), added=after - before,
                             updated=len(entries) - (after - before))


def delete_org(engine: Engine, org_ref: str) -> None:
    """Remove an organization and everything it owns (used by the demo to start afresh)."""
    with write_transaction(engine) as connection:
        org = lock_org(connection, org_ref)
        org_uuid = org.org_uuid
        record(connection, Event("org.delete", org_uuid, "organization", org_uuid, _org_figures(org), None))
        template_ids = select(templates.c.template_uuid).where(templates.c.org_uuid == org_uuid)
        for table in (row_holds, template_rows, template_files, template_addons):
            connection.execute(delete(table).where(table.c.template_uuid.in_(template_ids)))
        for table in (templates, extension_addons, extensions, numbers, users, addon_pools, organizations):
            connection.execute(delete(table).where(table.c.org_uuid == org_uuid))
        revoke_org_tokens(connection, org_uuid)  # same transaction: no request gets in between


def _org_figures(org: Row[Any]) -> dict[str, Any]:
    return {"name": org.name, "base_licenses": org.base_total}


def _lock_or_create(connection: Connection, document: OrgDocument) -> Row[Any] | None:
    try:
        return lock_org(connection, document.org_uuid)
    except Refused as refused:
        if refused.problems[0].code != "org-not-found":
            raise
    connection.execute(organizations.insert().values(org_uuid=document.org_uuid, name=document.name))
    return None


def _shrink_problems(connection: Connection, document: OrgDocument, existing: Row[Any] | None) -> list[Problem]:
    """Counts may not drop below what is in use plus what in-progress templates hold."""
    problems = []
    if existing is not None and document.base_licenses < existing.base_used + existing.base_held:
        problems.append(refusals.base_below_used(document.base_licenses, existing.base_used, existing.base_held,
                                                 describe_held(connection, document.org_uuid)))
    pools = connection.execute(select(addon_pools).where(addon_pools.c.org_uuid == document.org_uuid))
    for pool in pools:
        wanted = document.addons.get(pool.sku)
        if wanted is not None and wanted < pool.used + pool.held:
            problems.append(refusals.addon_below_used(pool.sku, wanted, pool.used, pool.held,
                                                      describe_held(connection, document.org_uuid, pool.sku)))
    return problems


def _foreign_number_problems(connection: Connection, org_uuid: str, wanted: Sequence[str]) -> list[Problem]:
    problems = []
    for named in in_batches(connection, numbers.c.number, list(wanted)):
        for number in connection.execute(select(numbers.c.number).where(
                named, numbers.c.org_uuid != org_uuid)).scalars():
            problems.append(refusals.number_owned_by_other_org(number))
    return problems


def _foreign_user_problems(connection: Connection, org_uuid: str, entries: Sequence[UserEntry]) -> list[Problem]:
    problems = []
    for named in in_batches(connection, users.c.identity_uuid, [e.identity_uuid for e in entries]):
        for identity in connection.execute(select(users.c.identity_uuid).where(
                named, users.c.org_uuid != org_uuid)).scalars():
            problems.append(refusals.user_in_other_org(identity))
    return problems


def _upsert_users(connection: Connection, org_uuid: str, entries: Sequence[UserEntry]) -> None:
    rows = [{"identity_uuid": e.identity_uuid, "org_uuid": org_uuid, "name": e.name,
             "name_key": name_key(e.name)} for e in entries]
    upsert(connection, users, rows, ["identity_uuid"], ["name", "name_key"])


def _count(connection: Connection, table: Table, condition: ColumnElement[bool]) -> int:
    return connection.execute(select(func.count()).select_from(table).where(condition)).scalar_one()
