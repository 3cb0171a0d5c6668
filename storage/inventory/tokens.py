"""API tokens: create (the secret is returned once), list, revoke, and find the token a request sent.

Only ``sha256(secret)`` is stored: a copy of the database hands out no usable token. The secret is
``phs_`` + 32 random bytes (``secrets.token_urlsafe``), so hashing without a salt is enough (nothing
to guess), and a lookup by hash is one indexed read. ``scope`` is an organization UUID, or None for
an operator token that may read every organization. Refusals come from ``phonesys.rules.tokens``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, or_, select, update

from phonesys.rules.errors import Busy, Refused, TransientError
from phonesys.rules.tokens import TOKEN_PREFIX, Role, check_role, check_token_name, name_taken, token_not_found
from phonesys.storage.inventory.audit import Event, record
from phonesys.storage.inventory.engine import interactive, read_transaction, write_transaction
from phonesys.storage.inventory.lookup import get_org, lock_org
from phonesys.storage.inventory.schema import api_tokens

LAST_USED_GRANULARITY = timedelta(minutes=1)  # a read does not become a write more often than this
TOUCH_LOCK_WAIT = 0.05  # seconds a request waits to note last_used_at; busier than that, it is noted next time


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the token's name (the audit actor), its scope and its role."""

    name: str
    org_uuid: str | None
    role: Role
    token_id: int | None = None  # the row's id: what a console session names

    def may_see(self, org_uuid: str) -> bool:
        return self.org_uuid is None or self.org_uuid == org_uuid


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(engine: Engine, org_ref: str | None, name: str, role: str) -> dict[str, Any]:
    """A new token of ``org_ref`` (None: operator); the only time its secret is ever returned."""
    checked_name, checked_role = check_token_name(name), check_role(role)
    problems = [p for p in (checked_name, checked_role) if not isinstance(p, str)]
    if problems:
        raise Refused(problems)
    assert isinstance(checked_name, str) and isinstance(checked_role, str)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction(engine) as connection:
        org_uuid = None if org_ref is None else lock_org(connection, org_ref).org_uuid
        if _find(connection, org_uuid, checked_name) is not None:
            raise Refused(name_taken(checked_name))
        connection.execute(api_tokens.insert().values(name=checked_name, org_uuid=org_uuid, role=checked_role,
                                                      hash=hash_secret(secret)))
        record(connection, Event("token.create", org_uuid, "token", checked_name, None, {"role": checked_role}))
    return {"name": checked_name, "org_uuid": org_uuid, "role": checked_role, "token": secret}


def list_tokens(engine: Engine, org_ref: str | None) -> list[dict[str, Any]]:
    """The tokens of a scope, oldest first, without anything secret (not even the hash)."""
    with read_transaction(engine) as connection:
        org_uuid = None if org_ref is None else get_org(connection, org_ref).org_uuid
        rows = connection.execute(select(api_tokens).where(_in_scope(org_uuid))
                                  .order_by(api_tokens.c.created_at, api_tokens.c.id)).all()
    return [_listed(row) for row in rows]


def revoke_token(engine: Engine, org_ref: str | None, name: str) -> dict[str, Any]:
    """Revoke by name; the next request with it is refused. Revoking twice keeps the first time."""
    with write_transaction(engine) as connection:
        org_uuid = None if org_ref is None else lock_org(connection, org_ref).org_uuid
        row = _find(connection, org_uuid, " ".join(name.split()))
        if row is None:
            raise token_not_found(name)
        if row.revoked_at is None:
            connection.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(revoked_at=_now()))
            record(connection, Event("token.revoke", org_uuid, "token", row.name, {"role": row.role}, None))
        row = connection.execute(select(api_tokens).where(api_tokens.c.id == row.id)).one()
    return _listed(row)


def revoke_org_tokens(connection: Connection, org_uuid: str) -> int:
    """Revoke every token of an organization being deleted, inside the caller's transaction, so no
    request can use one between the deletion and a revocation. Their rows stay: a name is never reused."""
    result = connection.execute(update(api_tokens).where(api_tokens.c.org_uuid == org_uuid,
                                                         api_tokens.c.revoked_at.is_(None)).values(revoked_at=_now()))
    return int(result.rowcount)


def resolve_token(engine: Engine, secret: str) -> Caller | None:
    """The caller a bearer secret belongs to, or None when it is unknown or revoked."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    digest = hash_secret(secret)
    with read_transaction(engine) as connection:
        row = connection.execute(select(api_tokens).where(api_tokens.c.hash == digest)).first()
    if row is None or not hmac.compare_digest(row.hash, digest):
        return None
    return _caller(engine, row)


def resolve_token_id(engine: Engine, token_id: int) -> Caller | None:
    """The caller a console session names (by the token's id), or None once the token is revoked."""
    with read_transaction(engine) as connection:
        row = connection.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
    return None if row is None else _caller(engine, row)


def _caller(engine: Engine, row: Row[Any]) -> Caller | None:
    if row.revoked_at is not None:
        return None
    if _stale(row.last_used_at):
        _touch(engine, row.id)
    return Caller(row.name, row.org_uuid, row.role, row.id)


def _touch(engine: Engine, token_id: int) -> None:
    """Note the token's use, at most once a minute, and never at a reader's expense: on SQLite this
    write queues for the one write lock, so a request that finds it taken (by a bulk chunk, another
    write) gives up after ``TOUCH_LOCK_WAIT`` and the next request notes it. The UPDATE's condition
    keeps concurrent first requests of a minute from writing it more than once."""
    stale = or_(api_tokens.c.last_used_at.is_(None), api_tokens.c.last_used_at < _now() - LAST_USED_GRANULARITY)
    try:
        with write_transaction(interactive(engine, TOUCH_LOCK_WAIT)) as connection:
            connection.execute(update(api_tokens).where(api_tokens.c.id == token_id, stale)
                               .values(last_used_at=_now()))
    except (Busy, TransientError):
        return


def _stale(last_used: datetime | None) -> bool:
    if last_used is None:
        return True
    aware = last_used if last_used.tzinfo else last_used.replace(tzinfo=UTC)  # SQLite keeps no zone
    return _now() - aware > LAST_USED_GRANULARITY


def _now() -> datetime:
    return datetime.now(UTC)


def _in_scope(org_uuid: str | None) -> Any:
    return api_tokens.c.org_uuid.is_(None) if org_uuid is None else api_tokens.c.org_uuid == org_uuid


def _find(connection: Connection, org_uuid: str | None, name: str) -> Row[Any] | None:
    return connection.execute(select(api_tokens).where(_in_scope(org_uuid), api_tokens.c.name == name)).first()


def _listed(row: Row[Any]) -> dict[str, Any]:
    return {"name": row.name, "org_uuid": row.org_uuid, "role": row.role, "created_at": row.created_at,
            "revoked_at": row.revoked_at, "last_used_at": row.last_used_at}
