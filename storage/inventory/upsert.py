"""Dialect-aware bulk INSERT ... ON CONFLICT, so loads of 100,000 rows stay one round of batches.

On PostgreSQL a large load goes through COPY into a temporary table, then one INSERT ... SELECT ...
ON CONFLICT: the rows travel in PostgreSQL's copy format instead of as bound parameters, and the
server parses and plans one statement instead of one per batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Integer,
    String,
    Table,
    any_,
    bindparam,
    column,
    select,
    table,
)

if TYPE_CHECKING:  # psycopg and the dialects load when a statement needs them: reads never do
    import psycopg

BATCH = 5000
COPY_FROM = 1000  # rows from which a PostgreSQL load is worth a temporary table and COPY

T = TypeVar("T")


def upsert(connection: Connection, table_: Table, rows: Sequence[dict[str, Any]], keys: list[str],
           update: list[str]) -> None:
    """Insert ``rows``; on a key clash update the ``update`` columns (or do nothing if empty)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if connection.dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        _upsert_by_copy(connection, table_, rows, keys, update)
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    for start in range(0, len(rows), BATCH):
        statement = dialect.insert(table_)
        if update:
            statement = statement.on_conflict_do_update(
                index_elements=keys, set_={column: statement.excluded[column] for column in update})
        else:
            statement = statement.on_conflict_do_nothing(index_elements=keys)
        connection.execute(statement, list(rows[start:start + BATCH]))


def _upsert_by_copy(connection: Connection, target: Table, rows: Sequence[dict[str, Any]], keys: list[str],
                    update: list[str]) -> None:
    """COPY the rows into a temporary copy of ``target`` (dropped at commit), then upsert from it,
    all inside the caller's transaction."""
    from psycopg import sql
    from sqlalchemy.dialects import postgresql

    columns = list(rows[0])
    staging = f"staging_{target.name}"
    # Only reached on PostgreSQL, which phonesys reaches through psycopg 3 (postgresql+psycopg URLs).
    driver: psycopg.Connection[Any] | None = connection.connection.driver_connection
    assert driver is not None, "a connection in use always holds its DBAPI connection"
    with driver.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE TEMPORARY TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP")
                       .format(sql.Identifier(staging), sql.Identifier(target.name)))
        cursor.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(staging)))
        copy_rows = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(staging), sql.SQL(", ").join(map(sql.Identifier, columns)))
        with cursor.copy(copy_rows) as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
    selected: list[ColumnClause[Any]] = [column(name) for name in columns]
    source = select(*selected).select_from(table(staging))
    statement = postgresql.insert(target).from_select(columns, source)
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={name: statement.excluded[name] for name in update})
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    connection.execute(statement)


def one_of(connection: Connection, column: Any, values: Sequence[int] | Sequence[str]) -> ColumnElement[bool]:
    """``column IN values`` written for the backend: one array parameter on PostgreSQL (``= ANY``),
    which it parses and plans once whatever the count, and a plain ``IN`` list elsewhere (SQLite
    binds each value; its limit is 32,766 parameters, far above a chunk)."""
    condition: ColumnElement[bool]
    if connection.dialect.name != "postgresql":
        condition = column.in_(list(values))
        return condition
    from sqlalchemy.dialects import postgresql

    kind = Integer if values and isinstance(values[0], int) else String
    condition = column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(kind)))
    return condition


def in_batches(connection: Connection, column: Any, values: Sequence[int] | Sequence[str]
               ) -> Iterator[ColumnElement[bool]]:
    """Conditions that together name ``values``: one array on PostgreSQL, ``IN`` lists of 500 elsewhere."""
    if connection.dialect.name == "postgresql":
        if values:
            yield one_of(connection, column, values)
        return
    for batch in chunked(values):
        yield column.in_(batch)


def chunked(values: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Slices small enough for an ``IN (...)`` list on every backend."""
    for start in range(0, len(values), size):
        yield values[start:start + size]
