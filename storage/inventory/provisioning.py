"""Creating and deleting extensions, the two operations that move base licenses.

Provisioning is all or nothing: every key must be well formed and free and enough unprovisioned
base licenses must remain, otherwise nothing is created and every problem is reported. The portal's
"Provision & Assign" is the same call for one extension with its user, add-ons and number, checked
by the same rules as the `ext` commands and written in the same transaction. Deleting an
extension returns its base license, add-ons and number to their pools and frees its user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, select

from phonesys.rules import refusals
from phonesys.rules.assignable import Holder, Where, key_exists, key_reserved, pool_problem
from phonesys.rules.errors import Problem, Refused, refuse_if
from phonesys.rules.values import check_number, check_sku, consecutive_ext_keys
from phonesys.storage.inventory.audit import extension_event, extension_snapshots, record_all
from phonesys.storage.inventory.engine import write_transaction
from phonesys.storage.inventory.extensions import changeable_extension, number_problems, user_problems
from phonesys.storage.inventory.facts import base_pool
from phonesys.storage.inventory.lookup import lock_org, resolve_user
from phonesys.storage.inventory.pools import (
    addon_problems,
    claim_addons,
    claim_base,
    release_addons,
    release_base,
)
from phonesys.storage.inventory.results import ExtensionDeleted, Released
from phonesys.storage.inventory.schema import extension_addons, extensions, row_holds, templates
from phonesys.storage.inventory.upsert import chunked


@dataclass(frozen=True)
class Assignment:
    """What "Provision & Assign" puts on the one new extension: a user, add-ons, a number."""

    user: str | None = None
    addons: tuple[str, ...] = ()
    number: str | None = None

    def __bool__(self) -> bool:
        return bool(self.user or self.addons or self.number)


def provision(engine: Engine, org_ref: str, count: int, start: str,
              assign: Assignment = Assignment()) -> list[str]:
    """Create ``count`` consecutive extensions from ``start``; returns the new keys. With ``assign``
    (count 1 only) the extension gets its user, add-ons and number in the same transaction."""
    checked_keys = consecutive_ext_keys(start, count)
    problems: list[Problem] = [k for k in checked_keys if isinstance(k, Problem)]
    keys = [k for k in checked_keys if isinstance(k, str)]  # all of them when keys_ok
    keys_ok = not problems
    if assign and count != 1:
        problems.append(refusals.assign_needs_one(count))
    checked = _checked_assignment(assign, problems)
    with write_transaction(engine) as connection:
        try:
            org = lock_org(connection, org_ref)
        except Refused as refused:  # report a bad org together with bad keys / count
            raise type(refused)(refused.problems + problems) from None
        if keys_ok:
            problems += [key_exists(key, Where("start", key)) for key in _taken(connection, org.org_uuid, keys)]
            problems += _reserved_keys(connection, org.org_uuid, keys)
        if count >= 1:
            problems += _found(pool_problem(base_pool(connection, org.org_uuid), count, Where("count", str(count))))
        values = _assignment_values(connection, org.org_uuid, assign, checked, problems)
        refuse_if(problems)
        claim_base(connection, org.org_uuid, count)
        connection.execute(extensions.insert(), [{"org_uuid": org.org_uuid, "ext_key": k, **values} for k in keys])
        ids = list(connection.execute(select(extensions.c.id).where(
            extensions.c.org_uuid == org.org_uuid, extensions.c.ext_key.in_(keys))).scalars())
        _add_addons(connection, org.org_uuid, ids, checked.addons)
        _record_provisioned(connection, org.org_uuid, ids)
    return keys


def _record_provisioned(connection: Connection, org_uuid: str, ids: list[int]) -> None:
    created = extension_snapshots(connection, ids)
    record_all(connection, (extension_event("ext.provision", org_uuid, i, None, created[i]) for i in sorted(ids)))


def _checked_assignment(assign: Assignment, problems: list[Problem]) -> Assignment:
    """The add-ons and number in canonical form; malformed ones become problems."""
    skus = [check_sku(s) for s in assign.addons]
    number = None if assign.number is None else check_number(assign.number)
    problems += [p for p in [*skus, number] if isinstance(p, Problem)]
    return Assignment(assign.user, tuple(sorted({s for s in skus if isinstance(s, str)})),
                      number if isinstance(number, str) else None)


def _assignment_values(connection: Connection, org_uuid: str, assign: Assignment, checked: Assignment,
                       problems: list[Problem]) -> dict[str, Any]:
    """The new extension's user and number columns, checked as `ext assign-user` / `set-number` do."""
    values: dict[str, Any] = {}
    if assign.user is not None:
        try:
            user = resolve_user(connection, org_uuid, assign.user)
            problems += user_problems(connection, user, None, assign.user)
            values["identity_uuid"] = user.identity_uuid
        except Refused as refused:
            problems += refused.problems
    if checked.number is not None:
        problems += number_problems(connection, org_uuid, None, checked.number)
        values["number"] = checked.number
    problems += addon_problems(connection, org_uuid, {sku: 1 for sku in checked.addons})
    return values


def _add_addons(connection: Connection, org_uuid: str, ids: list[int], skus: tuple[str, ...]) -> None:
    if not skus:
        return
    claim_addons(connection, org_uuid, {sku: 1 for sku in skus})
    connection.execute(extension_addons.insert(), [
        {"extension_id": i, "org_uuid": org_uuid, "sku": sku} for i in ids for sku in skus])


def delete_extension(engine: Engine, org_ref: str, ext_key: str) -> ExtensionDeleted:
    """Remove an extension and give back everything it held; returns what was released."""
    with write_transaction(engine) as connection:
        org = lock_org(connection, org_ref)
        ext = changeable_extension(connection, org.org_uuid, ext_key)
        before = extension_snapshots(connection, [ext.id])[ext.id]
        addons = connection.execute(select(extension_addons.c.sku).where(
            extension_addons.c.extension_id == ext.id)).scalars().all()
        connection.execute(delete(extension_addons).where(extension_addons.c.extension_id == ext.id))
        release_addons(connection, org.org_uuid, addons)
        connection.execute(delete(extensions).where(extensions.c.id == ext.id))
        release_base(connection, org.org_uuid, 1)
        record_all(connection, [extension_event("ext.delete", org.org_uuid, ext.id, before, None)])
    return ExtensionDeleted(ext_key=ext.ext_key, released=Released(base_licenses=1, addons=tuple(sorted(addons)),
                                                                   number=ext.number, user=ext.identity_uuid))


def _reserved_keys(connection: Connection, org_uuid: str, keys: list[str]) -> list[Problem]:
    held: list[Row[Any, Any, Any]] = []  # ext_key, template_uuid, name
    for batch in chunked(keys):
        held += connection.execute(select(row_holds.c.ext_key, templates.c.template_uuid, templates.c.name)
                                   .join(templates, templates.c.template_uuid == row_holds.c.template_uuid)
                                   .where(row_holds.c.org_uuid == org_uuid, row_holds.c.ext_key.in_(batch))).all()
    return [key_reserved(r.ext_key, Holder(r.template_uuid, r.name), Where("start", r.ext_key)) for r in sorted(held)]


def _found(problem: Problem | None) -> list[Problem]:
    return [] if problem is None else [problem]


def _taken(connection: Connection, org_uuid: str, keys: list[str]) -> list[str]:
    taken: list[str] = []
    for batch in chunked(keys):
        taken += connection.execute(select(extensions.c.ext_key).where(
            extensions.c.org_uuid == org_uuid, extensions.c.ext_key.in_(batch))).scalars().all()
    return sorted(taken)
