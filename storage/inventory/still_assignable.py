"""Which rows of a finished template could still be assigned today, and why the others cannot.

Duplicating a completed template is how an admin retries or repeats it; a copy that carries rows
whose user already has an extension (very likely the one the template gave them), whose key exists
or whose number is in use would only fail again at start. So the copy keeps the rows that are still
assignable and says, per reason code, how many it left out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Connection, select

from phonesys.storage.inventory.schema import extensions, numbers, row_holds, users


@dataclass(frozen=True)
class Taken:
    """What the organization's inventory has already given away or reserved, by kind."""

    users: set[str]
    keys: set[str]
    numbers: set[str]
    held_users: set[str]
    held_keys: set[str]
    held_numbers: set[str]
    known_users: set[str]
    owned_numbers: set[str]


def taken_now(connection: Connection, org_uuid: str) -> Taken:
    ext = connection.execute(select(extensions.c.ext_key, extensions.c.identity_uuid, extensions.c.number)
                             .where(extensions.c.org_uuid == org_uuid)).all()
    held = connection.execute(select(row_holds.c.ext_key, row_holds.c.identity_uuid, row_holds.c.number)
                              .where(row_holds.c.org_uuid == org_uuid)).all()
    return Taken(
        users={e.identity_uuid for e in ext if e.identity_uuid}, keys={e.ext_key for e in ext},
        numbers={e.number for e in ext if e.number},
        held_users={h.identity_uuid for h in held}, held_keys={h.ext_key for h in held},
        held_numbers={h.number for h in held if h.number},
        known_users=set(connection.execute(select(users.c.identity_uuid).where(users.c.org_uuid == org_uuid))
                        .scalars()),
        owned_numbers=set(connection.execute(select(numbers.c.number).where(numbers.c.org_uuid == org_uuid))
                          .scalars()))


def why_not(row, taken: Taken) -> str | None:
    """The first reason ``row`` cannot be assigned now (a stable code), or None when it can."""
    checks = (
        (row.identity_uuid not in taken.known_users, "user-not-found"),
        (row.identity_uuid in taken.users, "user-assigned"),
        (row.identity_uuid in taken.held_users, "user-reserved"),
        (row.ext_key in taken.keys, "ext-key-exists"),
        (row.ext_key in taken.held_keys, "ext-key-reserved"),
        (bool(row.number) and row.number not in taken.owned_numbers, "number-not-owned"),
        (bool(row.number) and row.number in taken.numbers, "number-assigned"),
        (bool(row.number) and row.number in taken.held_numbers, "number-reserved"),
    )
    return next((code for failed, code in checks if failed), None)


def split_rows(rows: list, taken: Taken, left_out: Counter) -> list:
    """The rows still assignable; the others are counted in ``left_out`` by reason code."""
    kept = []
    for row in rows:
        reason = why_not(row, taken)
        if reason is None:
            kept.append(row)
        else:
            left_out[reason] += 1
    return kept
