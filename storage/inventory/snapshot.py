"""An organization's inventory as Arrow tables, for validating an upload in DuckDB.

Three Core queries (users with the extension they hold, numbers with the extension holding them,
extension keys) fetched in batches and turned column-wise into Arrow arrays: a 100,000-user org
never becomes 100,000 dicts or objects. Call it inside one ``read_transaction`` so the three
tables agree with each other.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Select, select

from phonesys.rules.limits import TEMPLATE_ROW_LIMIT
from phonesys.rules.validation.model import (
    EXT_KEYS_SCHEMA,
    NUMBERS_SCHEMA,
    USERS_SCHEMA,
    InventorySnapshot,
    conform,
)
from phonesys.storage.inventory.schema import extensions, numbers, users

BATCH_ROWS = 50_000


def snapshot_from_inventory(connection: Connection, org_uuid: str, template_rows: pa.Table,
                            template_row_limit: int = TEMPLATE_ROW_LIMIT) -> InventorySnapshot:
    """The snapshot ``validate_upload`` checks against; ``template_rows`` come from the caller,
    who knows the template (ext_key, identity_uuid, number, file_name, row)."""
    user_query = (select(users.c.identity_uuid, users.c.name, users.c.name_key,
                         extensions.c.ext_key.label("assigned_ext"))
                  .select_from(users.outerjoin(extensions, extensions.c.identity_uuid == users.c.identity_uuid))
                  .where(users.c.org_uuid == org_uuid))
    number_query = (select(numbers.c.number, extensions.c.ext_key.label("assigned_ext"))
                    .select_from(numbers.outerjoin(extensions, extensions.c.number == numbers.c.number))
                    .where(numbers.c.org_uuid == org_uuid))
    key_query = select(extensions.c.ext_key).where(extensions.c.org_uuid == org_uuid)
    return InventorySnapshot(users=_table(connection, user_query, USERS_SCHEMA),
                             numbers=_table(connection, number_query, NUMBERS_SCHEMA),
                             ext_keys=_table(connection, key_query, EXT_KEYS_SCHEMA),
                             template_rows=template_rows, template_row_limit=template_row_limit)


def _table(connection: Connection, query: Select[Any], schema: pa.Schema) -> pa.Table:
    """Run ``query`` and build the table batch by batch, one Arrow array per column."""
    result = connection.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(query)
    names = list(result.keys())
    batches = []
    for rows in result.partitions(BATCH_ROWS):
        columns = list(zip(*rows))
        batches.append(pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in columns], names=names))
    table = pa.Table.from_batches(batches) if batches else pa.table({n: pa.array([], pa.string()) for n in names})
    return conform(table, schema, "snapshot")
