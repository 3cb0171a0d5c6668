"""The data an upload is validated against, and what validation returns.

Both sides are Arrow tables so that a 100,000-user organization crosses from the inventory into
DuckDB without one Python object per user: DuckDB scans registered Arrow tables in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

from phonesys.rules.errors import Problem
from phonesys.rules.limits import TEMPLATE_ROW_LIMIT

IdentifierKind = Literal["name", "uuid"]

USERS_SCHEMA = pa.schema([("identity_uuid", pa.string()), ("name", pa.string()),
                          ("name_key", pa.string()), ("assigned_ext", pa.string())])
NUMBERS_SCHEMA = pa.schema([("number", pa.string()), ("assigned_ext", pa.string())])
EXT_KEYS_SCHEMA = pa.schema([("ext_key", pa.string())])
TEMPLATE_ROWS_SCHEMA = pa.schema([("ext_key", pa.string()), ("identity_uuid", pa.string()),
                                  ("number", pa.string()), ("file_name", pa.string()),
                                  ("row", pa.int32())])
ROWS_SCHEMA = pa.schema([("row", pa.int32()), ("ext_key", pa.string()), ("identity_uuid", pa.string()),
                         ("user_name", pa.string()), ("number", pa.string())])


def empty_table(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def conform(table: pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    """The columns the SQL relies on, in the expected types; a caller's bug fails loudly here
    instead of as a confusing DuckDB binder error halfway through the checks."""
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise ValueError(f"InventorySnapshot.{what} lacks columns {missing}")
    return table.select(schema.names).cast(schema)


@dataclass(frozen=True)
class InventorySnapshot:
    """What an upload is checked against, read from the inventory in one consistent transaction.

    ``users``: identity_uuid, name, name_key (``rules.name_key``), assigned_ext (null if free);
    ``numbers``: number (E.164), assigned_ext (null if available); ``ext_keys``: every existing
    extension key of the org; ``template_rows``: rows already accepted into the template
    (ext_key, identity_uuid, number, file_name, row).
    """

    users: pa.Table
    numbers: pa.Table
    ext_keys: pa.Table
    template_rows: pa.Table = field(default_factory=lambda: empty_table(TEMPLATE_ROWS_SCHEMA))
    template_row_limit: int = TEMPLATE_ROW_LIMIT

    def conformed(self) -> InventorySnapshot:
        return InventorySnapshot(conform(self.users, USERS_SCHEMA, "users"),
                                 conform(self.numbers, NUMBERS_SCHEMA, "numbers"),
                                 conform(self.ext_keys, EXT_KEYS_SCHEMA, "ext_keys"),
                                 conform(self.template_rows, TEMPLATE_ROWS_SCHEMA, "template_rows"),
                                 self.template_row_limit)


@dataclass(frozen=True)
class ValidationResult:
    """The verdict on one uploaded file.

    ``rows`` holds the canonical form of every data record that passed every check (row, ext_key,
    identity_uuid, user_name, number). The file is all-or-nothing: append ``rows`` to the template
    only when ``accepted``; on a rejected file ``rows`` is what was fine, for reports and tests.
    """

    file_name: str
    identifier_kind: IdentifierKind | None
    rows: pa.Table
    problems: list[Problem]
    sha256: str

    @property
    def accepted(self) -> bool:
        return not self.problems
