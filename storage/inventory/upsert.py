"""Dialect-aware bulk INSERT ... ON CONFLICT, so loads of 100,000 rows stay one round of batches."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

BATCH = 5000


def upsert(connection: Connection, table: Table, rows: Sequence[dict], keys: list[str],
           update: list[str]) -> None:
    """Insert ``rows``; on a key clash update the ``update`` columns (or do nothing if empty)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    for start in range(0, len(rows), BATCH):
        statement = dialect.insert(table)
        if update:
            statement = statement.on_conflict_do_update(
                index_elements=keys, set_={column: statement.excluded[column] for column in update})
        else:
            statement = statement.on_conflict_do_nothing(index_elements=keys)
        connection.execute(statement, list(rows[start:start + BATCH]))


def chunked(values: Sequence, size: int = 500):
    """Slices small enough for an ``IN (...)`` list on every backend."""
    for start in range(0, len(values), size):
        yield values[start:start + size]
