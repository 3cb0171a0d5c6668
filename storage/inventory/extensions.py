"""Changing one extension: its user, add-ons, number, key and directory name.

Each function is one transaction that starts by locking the organization, checks every rule,
reports all problems together and only then writes; a refused call changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, delete, select

from phonesys.rules import assignable, refusals
from phonesys.rules.assignable import Where
from phonesys.rules.errors import Problem, Refused, refuse_if
from phonesys.rules.values import check_directory_name, check_ext_key, check_number, check_sku
from phonesys.storage.inventory.audit import extension_change
from phonesys.storage.inventory.engine import write_transaction
from phonesys.storage.inventory.facts import key_facts, number_facts, user_facts
from phonesys.storage.inventory.holds import revert_holder
from phonesys.storage.inventory.lookup import get_extension, lock_org, resolve_user
from phonesys.storage.inventory.pools import addon_problems, claim_addons, release_addons
from phonesys.storage.inventory.results import ExtensionEdited
from phonesys.storage.inventory.schema import extension_addons, extensions

T = TypeVar("T")


def _attempt(problems: list[Problem], lookup: Callable[[], T]) -> T | None:
    """Run a lookup, turning its refusal into collected problems so all are reported together."""
    try:
        return lookup()
    except Refused as refused:
        problems.extend(refused.problems)
        return None


def assign_user(engine: Engine, org_ref: str, ext_key: str, user_ref: str) -> None:
    """Give the extension a user (replacing any previous one); the user must be unassigned."""
    with write_transaction(engine) as connection:
        org = lock_org(connection, org_ref)
        problems: list[Problem] = []
        ext = _attempt(problems, lambda: changeable_extension(connection, org.org_uuid, ext_key))
        user = _attempt(problems, lambda: resolve_user(connection, org.org_uuid, user_ref))
        if user and ext:
            problems += user_problems(connection, user, ext.ext_key, user_ref)
        refuse_if(problems)
        assert ext is not None and user is not None, "a failed lookup left a problem, so refuse_if raised"
        with extension_change(connection, "ext.assign-user", org.org_uuid, ext.id):
            connection.execute(extensions.update().where(extensions.c.id == ext.id)
                               .values(identity_uuid=user.identity_uuid))


def changeable_extension(connection: Connection, org_uuid: str, ext_key: str) -> Row[Any]:
    """The extension, unless a template's revert in progress is removing it (then refused)."""
    ext = get_extension(connection, org_uuid, ext_key)
    problem = revert_holder(connection, ext.id, ext.ext_key)
    if problem is not None:
        raise Refused(problem)
    return ext


def user_problems(connection: Connection, user: Row[Any], ext_key: str | None, user_ref: str) -> list[Problem]:
    """Why ``user`` cannot go on extension ``ext_key`` (None: a new one), as the rule decides."""
    return assignable.user_problems(user_facts(connection, user), ext_key, Where("user", user_ref))


def unassign_user(engine: Engine, org_ref: str, ext_key: str) -> None:
    with write_transaction(engine) as connection:
        org = lock_org(connection, org_ref)
        ext = changeable_extension(connection, org.org_uuid, ext_key)
        with extension_change(connection, "ext.unassign-user", org.org_uuid, ext.id):
            connection.execute(extensions.update().where(extensions.c.id == ext.id).values(identity_uuid=None))


def set_addons(engine: Engine, org_ref: str, ext_key: str, skus: Iterable[str]) -> list[str]:
    """Replace the extension's add-ons with ``skus``: releases dropped ones, claims new ones."""
    checked = [check_sku(s) for s in skus]
    refuse_if([c for c in checked if isinstance(c, Problem)])
    wanted = {c for c in checked if isinstance(c, str)}  # all of them: refuse_if raised on any problem
    with write_transaction(engine) as connection:
        org = lock_org(connection, org_ref)
        ext = changeable_extension(connection, org.org_uuid, ext_key)
        current = set(connection.execute(select(extension_addons.c.sku).where(
            extension_addons.c.extension_id == ext.id)).scalars())
        added, removed = sorted(wanted - current), sorted(current - wanted)
        refuse_if(addon_problems(connection, org.org_uuid, {sku: 1 for sku in added}))
        with extension_change(connection, "ext.set-addons", org.org_uuid, ext.id):
            _replace_addons(connection, org.org_uuid, ext.id, added, removed)
    return sorted(wanted)


def _replace_addons(connection: Connection, org_uuid: str, extension_id: int, added: list[str],
                    removed: list[str]) -> None:
    connection.execute(delete(extension_addons).where(
        extension_addons.c.extension_id == extension_id, extension_addons.c.sku.in_(removed)))
    release_addons(connection, org_uuid, removed)
    claim_addons(connection, org_uuid, {sku: 1 for sku in added})
    if added:
        connection.execute(extension_addons.insert(), [
            {"extension_id": extension_id, "org_uuid": org_uuid, "sku": sku} for sku in added])


def set_number(engine: Engine, org_ref: str, ext_key: str, number: str | None) -> str | None:
    """Give the extension one of the org's available numbers, or clear it with ``None``."""
    canonical = None if number is None else check_number(number)
    if isinstance(canonical, Problem):
        raise Refused(canonical)
    with write_transaction(engine) as connection:
        org = lock_org(connection, org_ref)
        ext = changeable_extension(connection, org.org_uuid, ext_key)
        if canonical is not None:
            refuse_if(number_problems(connection, org.org_uuid, ext.ext_key, canonical))
        with extension_change(connection, "ext.set-number", org.org_uuid, ext.id):
            connection.execute(extensions.update().where(extensions.c.id == ext.id).values(number=canonical))
    return canonical


def number_problems(connection: Connection, org_uuid: str, ext_key: str | None, number: str) -> list[Problem]:
    """Why ``number`` cannot go on extension ``ext_key`` (None: a new one), as the rule decides."""
    problem = assignable.number_problem(number_facts(connection, org_uuid, number), ext_key, Where("number", number))
    return [] if problem is None else [problem]


def edit_extension(engine: Engine, org_ref: str, ext_key: str, *, new_key: str | None = None,
                   directory_name: str | None = None) -> ExtensionEdited:
    """Rename the key and/or directory name; an empty name goes back to the user's name."""
    problems: list[Problem] = []
    changes: dict[str, Any] = {}
    if new_key is None and directory_name is None:
        raise Refused(refusals.nothing_to_change())
    if new_key is not None:
        key = check_ext_key(new_key, "key")
        problems += [key] if isinstance(key, Problem) else []
        changes["ext_key"] = key
    if directory_name is not None:
        name = check_directory_name(directory_name)
        problems += [name] if isinstance(name, Problem) else []
        changes["directory_name"] = name or None
    refuse_if(problems)
    with write_transaction(engine) as connection:
        org = lock_org(connection, org_ref)
        ext = changeable_extension(connection, org.org_uuid, ext_key)
        if changes.get("ext_key", ext.ext_key) != ext.ext_key:
            _refuse_taken_key(connection, org.org_uuid, changes["ext_key"])
        with extension_change(connection, "ext.edit", org.org_uuid, ext.id):
            connection.execute(extensions.update().where(extensions.c.id == ext.id).values(**changes))
    return ExtensionEdited(ext_key=changes.get("ext_key", ext.ext_key),
                           directory_name=changes.get("directory_name", ext.directory_name))


def _refuse_taken_key(connection: Connection, org_uuid: str, key: str) -> None:
    problem = assignable.key_problem(key_facts(connection, org_uuid, key), Where("key", key))
    if problem is not None:
        raise Refused(problem)
