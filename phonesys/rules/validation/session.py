"""One in-memory DuckDB connection per upload: the parsed rows joined against the snapshot.

The connection can read nothing but the Arrow tables registered on it (no file system, no extension
downloads, configuration locked), is capped in memory and threads so that several uploads validated
at once by one worker cannot starve each other, and is closed with the upload. No cell value is ever
spliced into SQL text: values reach DuckDB only as Arrow data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from phonesys.rules.errors import Problem
from phonesys.rules.validation.checks import CHECKS, Check
from phonesys.rules.validation.model import ROWS_SCHEMA, IdentifierKind, InventorySnapshot
from phonesys.rules.values import EXT_KEY_REGEX, NUMBER_REGEX, sql_full_match

DuckDBSetting = str | bool | int | float | list[str]
CONFIG: dict[str, DuckDBSetting] = {
    "autoinstall_known_extensions": False, "autoload_known_extensions": False,
    "enable_external_access": False, "memory_limit": "512MB", "threads": 1, "lock_configuration": True}
# Python's str.strip() whitespace exactly: RE2's \s lacks \v, \x1c-\x1f and \x85; \p{Z} adds the rest.
_BLANK = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\p{Z}]"
_USER_KEY = {"name": "nullif(name_key, '')", "uuid": "try_cast(clean(\"user\") AS UUID)::VARCHAR"}
_DIRECTORY_KEY = {"name": "name_key", "uuid": "identity_uuid"}

PREPARE = (
    f"CREATE MACRO clean(s) AS regexp_replace(s, '^{_BLANK}+|{_BLANK}+$', '', 'g')",
    # The org's users keyed the way this file names them: by name_key or by Identity UUID.
    "CREATE VIEW directory AS SELECT {directory_key} AS user_key, identity_uuid, name, assigned_ext FROM users",
    # Canonical forms of the cells; a NULL canonical value means "blank or malformed", see the checks.
    f"""CREATE TABLE cells AS SELECT row, ext_key AS ext_key_raw, "user" AS user_raw, number AS number_raw,
        clean(ext_key) AS ext_key_text, clean("user") AS user_text,
        regexp_replace(coalesce(number, ''), '{_BLANK}', '', 'g') AS number_text, {{user_key}} AS user_key
        FROM upload""",
    # Each row with its resolved user: set only when exactly one user matches.
    r"""CREATE TABLE checked AS
        WITH matches AS (SELECT c.row, count(d.identity_uuid) AS match_count, min(d.identity_uuid) AS uuid,
                                min(d.name) AS name, min(d.assigned_ext) AS ext
                         FROM cells c LEFT JOIN directory d ON d.user_key = c.user_key GROUP BY c.row)
        SELECT c.*, m.match_count,
               CASE WHEN {ext_key_ok} THEN ext_key_text END AS ext_key,
               CASE WHEN {number_ok} THEN '+' || ltrim(number_text, '+') END AS number,
               CASE WHEN m.match_count = 1 THEN m.uuid END AS identity_uuid,
               CASE WHEN m.match_count = 1 THEN m.name END AS user_name,
               CASE WHEN m.match_count = 1 THEN m.ext END AS assigned_ext
        FROM cells c JOIN matches m ON m.row = c.row"""
    .replace("{ext_key_ok}", sql_full_match("ext_key_text", EXT_KEY_REGEX))
    .replace("{number_ok}", sql_full_match("number_text", NUMBER_REGEX)),
)
_ACCEPTABLE = ("SELECT row, ext_key, identity_uuid, user_name, number FROM checked "
               "WHERE ext_key IS NOT NULL AND identity_uuid IS NOT NULL ORDER BY row")


@contextmanager
def open_session(upload: pa.Table, snapshot: InventorySnapshot,
                 kind: IdentifierKind) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection holding ``checked`` for this upload; closed on exit."""
    with duckdb.connect(":memory:", config=CONFIG) as connection:
        tables = {"upload": upload, "users": snapshot.users, "numbers": snapshot.numbers,
                  "ext_keys": snapshot.ext_keys, "template_rows": snapshot.template_rows}
        for name, table in tables.items():
            connection.register(name, table)
        for statement in PREPARE:
            connection.execute(statement.replace("{directory_key}", _DIRECTORY_KEY[kind])
                               .replace("{user_key}", _USER_KEY[kind]))
        yield connection


def run_checks(connection: duckdb.DuckDBPyConnection, kind: IdentifierKind, labels: dict[str, str],
               file_name: str) -> list[Problem]:
    """Every problem every applicable check finds, in check order."""
    problems: list[Problem] = []
    for check in CHECKS:
        if kind in check.kinds and check.column in labels:
            relation = connection.sql(check.sql)
            names = relation.columns
            problems += [_problem(check, dict(zip(names, values)), labels[check.column], file_name)
                         for values in relation.fetchall()]
    return problems


def acceptable_rows(connection: duckdb.DuckDBPyConnection, rejected_rows: set[int]) -> pa.Table:
    """Canonical rows that no check objected to."""
    table = connection.sql(_ACCEPTABLE).to_arrow_table().cast(ROWS_SCHEMA)
    if not rejected_rows:
        return table
    keep = pc.invert(pc.is_in(table["row"], value_set=pa.array(sorted(rejected_rows), pa.int32())))
    return table.filter(keep)


def _problem(check: Check, found: dict[str, Any], label: str, file_name: str) -> Problem:
    """The raw cell is cut (80 characters in the message, 200 as the value) so a 60,000-character
    cell cannot flood a report; everything else in a message comes from the inventory."""
    value = found.get("value")
    shown = dict(found, value=value if value is None or len(value) <= 80 else value[:80] + "...")
    return Problem(check.code, check.message.format(label=label, **shown), label,
                   None if value is None else value[:200], found["row"], file_name)
