"""Which rows of a finished template could still be assigned today, and why the others cannot
(the facts are read here; the rule is ``phonesys.rules.assignable.still_assignable_code``).

Duplicating a completed template is how an admin retries or repeats it; a copy that carries rows
whose user already has an extension (very likely the one the template gave them), whose key exists
or whose number is in use would only fail again at start. So the copy keeps the rows that are still
assignable and says, per reason code, how many it left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from phonesys.rules.assignable import Taken, still_assignable_code
from phonesys.storage.inventory.schema import extensions, numbers, row_holds, users


def taken_now(connection: Connection, org_uuid: str) -> Taken:
    ext = connection.execute(select(extensions.c.ext_key, extensions.c.identity_uuid, extensions.c.number)
                             .where(extensions.c.org_uuid == org_uuid)).all()
    held = connection.execute(select(row_holds.c.ext_key, row_holds.c.identity_uuid, row_holds.c.number)
                              .where(row_holds.c.org_uuid == org_uuid)).all()
    return Taken(
        users=frozenset(e.identity_uuid for e in ext if e.identity_uuid), keys=frozenset(e.ext_key for e in ext),
        numbers=frozenset(e.number for e in ext if e.number),
        held_users=frozenset(h.identity_uuid for h in held), held_keys=frozenset(h.ext_key for h in held),
        held_numbers=frozenset(h.number for h in held if h.number),
        known_users=frozenset(connection.execute(select(users.c.identity_uuid).where(
            users.c.org_uuid == org_uuid)).scalars()),
        owned_numbers=frozenset(connection.execute(select(numbers.c.number).where(
            numbers.c.org_uuid == org_uuid)).scalars()))


def why_not(row: Row[Any], taken: Taken) -> str | None:
    """The first reason ``row`` cannot be assigned now (a stable code), or None when it can."""
    return still_assignable_code(row.identity_uuid, row.ext_key, row.number, taken)


def split_rows(rows: Sequence[Row[Any]], taken: Taken, left_out: Counter[str]) -> list[Row[Any]]:
    """The rows still assignable; the others are counted in ``left_out`` by reason code."""
    kept: list[Row[Any]] = []
    for row in rows:
        reason = why_not(row, taken)
        if reason is None:
            kept.append(row)
        else:
            left_out[reason] += 1
    return kept
