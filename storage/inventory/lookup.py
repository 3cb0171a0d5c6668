"""Finding the organization, extension or user a request names, with a clear error when it is not there.

Every query is scoped by ``org_uuid``: a request for org B can never see org A's rows (invariant 5).
``lock_org`` is how every write starts: it takes the organization row lock on PostgreSQL (SQLite's
``BEGIN IMMEDIATE`` already serializes writers), so checks made afterwards stay true until commit.
A wait for that lock that runs out (``phonesys.storage.inventory.engine``) is ``Busy`` naming the org.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, Engine, Row, select
from sqlalchemy.exc import DBAPIError

from phonesys.rules import refusals
from phonesys.rules.errors import Busy, NotFound, Problem, Refused
from phonesys.rules.values import check_ext_key, check_uuid, name_key
from phonesys.storage.inventory.schema import extensions, organizations, users


def canonical_org_uuid(org_ref: str) -> str:
    checked = check_uuid(org_ref, "org")
    if isinstance(checked, Problem):
        raise Refused(refusals.org_uuid_invalid(org_ref))
    return checked


def get_org(connection: Connection, org_ref: str, *, lock: bool = False) -> Row[Any]:
    org_uuid = canonical_org_uuid(org_ref)
    query = select(organizations).where(organizations.c.org_uuid == org_uuid)
    row = connection.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(refusals.org_not_found(org_uuid, org_ref))
    return row


def org_name(engine: Engine, org_uuid: str) -> str | None:
    """The organization's name, or None when there is no such organization (events name it if known)."""
    from phonesys.storage.inventory.engine import read_transaction

    try:
        with read_transaction(engine) as connection:
            name: str = get_org(connection, org_uuid).name
            return name
    except (NotFound, Refused):
        return None


def lock_org(connection: Connection, org_ref: str) -> Row[Any]:
    """The organization's row, locked until commit; ``Busy`` when another job holds it longer than
    this transaction waits (on SQLite the wait is for the write lock its first statement takes)."""
    from phonesys.storage.inventory.engine import is_lock_wait, lock_wait_of

    try:
        return get_org(connection, org_ref, lock=True)
    except DBAPIError as exc:
        if not is_lock_wait(exc):
            raise
        raise Busy(canonical_org_uuid(org_ref), lock_wait_of(connection), connection.dialect.name == "sqlite") from exc


def get_extension(connection: Connection, org_uuid: str, ext_key: str) -> Row[Any]:
    checked = check_ext_key(ext_key, "ext")
    if isinstance(checked, Problem):
        raise Refused(checked)
    row = connection.execute(select(extensions).where(
        extensions.c.org_uuid == org_uuid, extensions.c.ext_key == checked)).first()
    if row is None:
        raise NotFound(refusals.extension_not_found(checked, ext_key))
    return row


def resolve_user(connection: Connection, org_uuid: str, user_ref: str) -> Row[Any]:
    """A user by identity UUID, or by a name that matches exactly one user of the org."""
    if _looks_like_uuid(user_ref):
        row = connection.execute(select(users).where(
            users.c.org_uuid == org_uuid, users.c.identity_uuid == str(uuid.UUID(user_ref.strip())))).first()
        if row is None:
            raise NotFound(refusals.user_uuid_not_found(user_ref.strip(), user_ref))
        return row
    matches = connection.execute(select(users).where(
        users.c.org_uuid == org_uuid, users.c.name_key == name_key(user_ref)).limit(11)).all()
    if not matches:
        raise NotFound(refusals.user_name_not_found(user_ref))
    if len(matches) > 1:
        candidates = [f"{m.name} ({m.identity_uuid})" for m in matches[:10]]
        raise Refused(refusals.user_name_ambiguous(user_ref, candidates, len(matches) > 10))
    return matches[0]


def _looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(value.strip())
    except ValueError:
        return False
    return True


def extension_holding_user(connection: Connection, identity_uuid: str) -> str | None:
    return connection.execute(select(extensions.c.ext_key).where(
        extensions.c.identity_uuid == identity_uuid)).scalar()


def extension_holding_number(connection: Connection, number: str) -> str | None:
    return connection.execute(select(extensions.c.ext_key).where(extensions.c.number == number)).scalar()
