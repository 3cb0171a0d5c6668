"""Streaming the rows of the organization export files out of the inventory as Arrow batches.

Rows are fetched ``BATCH_ROWS`` at a time with a server-side cursor and turned column-wise into
Arrow arrays, so exporting a huge organization never builds one Python dict per row and memory
stays bounded by the batch size.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Engine, text

from phonesys.rules.limits import DIRECTORY_NAME_MAX
from phonesys.rules.vocabulary import NUMBER_STATUSES, sql_text
from phonesys.storage.inventory.audit_queries import at_value
from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.inventory.lookup import get_org

BATCH_ROWS = 50_000

EXTENSION_SCHEMA = pa.schema([
    ("Ext Key", pa.string()), ("Number", pa.string()), ("User", pa.string()),
    ("Addon License", pa.string()), ("Directory Name", pa.string()), ("Identity UUID", pa.string()),
])
NUMBER_SCHEMA = pa.schema([("Number", pa.string()), ("Status", pa.string()), ("Ext Key", pa.string()),
                           ("Held By Template", pa.string())])

# Add-ons per extension as a correlated subquery on the (extension_id, sku) primary key: an index
# lookup per row whatever the planner's statistics say. (A join against a grouped derived table
# became a 67 s nested loop on PostgreSQL right after a bulk assignment, before autovacuum's ANALYZE.)
_ADDONS_SQL = {
    "postgresql": "(SELECT string_agg(ea.sku, '; ' ORDER BY ea.sku) FROM extension_addons ea "
                  "WHERE ea.extension_id = e.id)",
    "sqlite": "(SELECT group_concat(sku, '; ') FROM (SELECT ea.sku FROM extension_addons ea "
              "WHERE ea.extension_id = e.id ORDER BY ea.sku))",
}
_EXTENSIONS_SQL = """
SELECT e.ext_key, e.number, u.name, {addons}, COALESCE(e.directory_name, substr(u.name, 1, {name_max})), e.identity_uuid
FROM extensions e
LEFT JOIN users u ON u.identity_uuid = e.identity_uuid
WHERE e.org_uuid = :org
ORDER BY CAST(e.ext_key AS INTEGER), e.ext_key
"""
# Every number license with what it is doing: on an extension, held by an in-progress template
# for a row's key, or free. (A number is on at most one extension and in at most one hold.)
_NUMBERS_SQL = """
SELECT * FROM (
  SELECT n.number,
         CASE WHEN e.ext_key IS NOT NULL THEN {assigned} WHEN h.row_id IS NOT NULL THEN {held}
              ELSE {available} END AS status,
         COALESCE(e.ext_key, h.ext_key), h.template_uuid
  FROM numbers n
  LEFT JOIN extensions e ON e.number = n.number
  LEFT JOIN row_holds h ON h.number = n.number
  WHERE n.org_uuid = :org
) listed
WHERE status IN ({statuses})
ORDER BY 1
"""


AUDIT_SCHEMA = pa.schema([(name, pa.string()) for name in (
    "Event Id", "At (UTC)", "Actor", "Action", "Target Type", "Target", "Extension Id", "Template UUID", "Before",
    "After", "Correlation", "Outcome")])
_AUDIT_AT = {"postgresql": "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
             "sqlite": "strftime('%Y-%m-%dT%H:%M:%SZ', at)"}
_AUDIT_SQL = """
SELECT CAST(id AS VARCHAR(20)), {at}, actor, action, target_type, target, CAST(extension_id AS VARCHAR(20)),
       template_uuid, before, after, correlation, outcome
FROM audit_events WHERE org_uuid = :org {since}
ORDER BY id
"""


def audit_batches(engine: Engine, org_ref: str, since: datetime | None = None) -> Iterator[pa.RecordBatch]:
    """The organization's audit events, oldest first (from ``since``, if given)."""
    with read_transaction(engine) as connection:
        org_uuid = get_org(connection, org_ref).org_uuid
        dialect = connection.dialect.name
        sql = _AUDIT_SQL.format(at=_AUDIT_AT[dialect], since="AND at >= :since" if since else "")
        params: dict[str, Any] = {"org": org_uuid}
        if since is not None:
            params["since"] = at_value(dialect, since)
        yield from _batches(connection, sql, params, AUDIT_SCHEMA)


def extension_batches(engine: Engine, org_ref: str) -> Iterator[pa.RecordBatch]:
    """One row per provisioned extension, in ext key order."""
    with read_transaction(engine) as connection:
        org_uuid = get_org(connection, org_ref).org_uuid
        sql = _EXTENSIONS_SQL.format(addons=_ADDONS_SQL[connection.dialect.name], name_max=DIRECTORY_NAME_MAX)
        yield from _batches(connection, sql, {"org": org_uuid}, EXTENSION_SCHEMA)


def number_batches(engine: Engine, org_ref: str,
                   statuses: tuple[str, ...] = NUMBER_STATUSES) -> Iterator[pa.RecordBatch]:
    """One row per number license of the organization whose status is in ``statuses``."""
    sql = _NUMBERS_SQL.format(statuses=", ".join(sql_text(s) for s in statuses if s in NUMBER_STATUSES),
                              **{word: sql_text(word) for word in NUMBER_STATUSES})
    with read_transaction(engine) as connection:
        org_uuid = get_org(connection, org_ref).org_uuid
        yield from _batches(connection, sql, {"org": org_uuid}, NUMBER_SCHEMA)


def _batches(connection: Connection, sql: str, params: dict[str, Any], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    result = connection.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(text(sql), params)
    for rows in result.partitions(BATCH_ROWS):
        columns = list(zip(*rows))
        yield pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in columns], schema=schema)


REPORT_SCHEMA = pa.schema([
    ("Ext Key", pa.string()), ("User's Name", pa.string()), ("Identity UUID", pa.string()),
    ("Number", pa.string()), ("Add-ons", pa.string()), ("Status", pa.string()), ("Reason", pa.string()),
    ("File", pa.string()), ("Row", pa.string()),
])
_REPORT_SQL = """
SELECT r.ext_key, r.user_name, r.identity_uuid, r.number, :addons, r.status, r.reason, f.file_name,
       CAST(r.row_number AS VARCHAR(12))
FROM template_rows r JOIN template_files f ON f.id = r.file_id
WHERE r.template_uuid = :template
ORDER BY r.id
"""


def report_batches(engine: Engine, template_uuid: str, addons: str) -> Iterator[pa.RecordBatch]:
    """One row per template row with its outcome, in upload order (for the bulk assignment report)."""
    with read_transaction(engine) as connection:
        yield from _batches(connection, _REPORT_SQL, {"template": template_uuid, "addons": addons}, REPORT_SCHEMA)


REVERT_REPORT_SCHEMA = pa.schema([
    ("Ext Key", pa.string()), ("Status", pa.string()), ("Code", pa.string()), ("Reason", pa.string()),
])
_REVERT_REPORT_SQL = """
SELECT ext_key, status, reason_code, reason FROM revert_rows WHERE template_uuid = :template ORDER BY id
"""


def revert_report_batches(engine: Engine, template_uuid: str) -> Iterator[pa.RecordBatch]:
    """One row per extension the template made: reverted, kept (changed since, with why) or gone."""
    with read_transaction(engine) as connection:
        yield from _batches(connection, _REVERT_REPORT_SQL, {"template": template_uuid}, REVERT_REPORT_SCHEMA)
