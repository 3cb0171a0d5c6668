"""The row rules: each one a declarative unit, a SQL query selecting the rows that break it.

A check's query runs against ``checked`` (one row per well-formed data record, with the raw cells,
their canonical forms and the user they resolve to; see ``session.PREPARE``) and the snapshot
tables ``directory``, ``numbers``, ``ext_keys`` and ``template_rows``. It returns ``row`` and
``value`` (the raw cell) plus whatever its message mentions. Checks are independent of each other,
as in frictionless-py: a row breaking three rules gets three problems, and adding a rule means
adding one entry here (and its code to ``codes.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from phonesys.rules import messages
from phonesys.rules.values import SCIENTIFIC_REGEX, sql_full_match

BOTH = ("name", "uuid")


@dataclass(frozen=True)
class Check:
    code: str
    column: str  # "ext_key", "user" or "number": the header column the problem is reported under
    sql: str
    message: str  # str.format template over the query's columns plus ``label`` (the column's header)
    kinds: tuple[str, ...] = BOTH


def _first_in_file(canonical: str, raw: str, extra: str = "") -> str:
    """Rows whose canonical value already appeared in an earlier row of the file."""
    return (f"SELECT row, value, {canonical}{extra}, first_row FROM (SELECT row, {raw} AS value, {canonical}{extra}, "
            f"min(row) OVER (PARTITION BY {canonical}) AS first_row FROM checked "
            f"WHERE {canonical} IS NOT NULL) WHERE row > first_row")


def _in_template(canonical: str, raw: str, extra: str = "") -> str:
    """Rows whose canonical value is already in a row the template accepted from an earlier file."""
    return (f"SELECT c.row, c.{raw} AS value, c.{canonical}{extra}, t.file_name, t.other_row FROM checked c "
            f"JOIN (SELECT {canonical}, arg_min(file_name, row) AS file_name, min(row) AS other_row "
            f"FROM template_rows WHERE {canonical} IS NOT NULL GROUP BY {canonical}) t "
            f"ON t.{canonical} = c.{canonical}")


SCIENTIFIC = sql_full_match("number_text", SCIENTIFIC_REGEX)
_CANDIDATES = """
SELECT c.row, c.user_raw AS value, count(*) AS matches,
       array_to_string(list(d.name || ' (' || d.identity_uuid || ')' ORDER BY d.name, d.identity_uuid)[1:5], '; ')
       || CASE WHEN count(*) > 5 THEN '; and ' || (count(*) - 5) || ' more' ELSE '' END AS candidates
FROM checked c JOIN directory d ON d.user_key = c.user_key
WHERE c.match_count > 1 GROUP BY c.row, c.user_raw"""

CHECKS: tuple[Check, ...] = (
    Check("ext-key-required", "ext_key", "SELECT row, ext_key_raw AS value FROM checked WHERE ext_key_text = ''",
          "{label} is required: give the new extension's key, 3 to 5 digits."),
    Check("ext-key-format", "ext_key",
          "SELECT row, ext_key_raw AS value FROM checked WHERE ext_key_text <> '' AND ext_key IS NULL",
          "{label} '{value}' must be 3 to 5 digits (0-9); format the column as Text so leading zeros stay."),
    Check("ext-key-duplicate", "ext_key", _first_in_file("ext_key", "ext_key_raw"),
          "{label} {ext_key} is already used in row {first_row} of this file; give each row its own key."),
    Check("ext-key-in-template", "ext_key", _in_template("ext_key", "ext_key_raw"),
          "{label} {ext_key} is already used in this template ({file_name}, row {other_row}); "
          "choose another key."),
    Check("ext-key-exists", "ext_key",
          "SELECT row, ext_key_raw AS value, ext_key FROM checked WHERE ext_key IN (SELECT ext_key FROM ext_keys)",
          messages.EXT_KEY_EXISTS),
    Check("user-required", "user", "SELECT row, user_raw AS value FROM checked WHERE user_text = ''",
          "{label} is required: every row names the user who gets the extension."),
    Check("uuid-invalid", "user",
          "SELECT row, user_raw AS value FROM checked WHERE user_text <> '' AND user_key IS NULL",
          "'{value}' is not a valid {label} (expected e.g. 652d2f57-6e3b-4170-8bf9-4f1e98c88b56).", ("uuid",)),
    Check("user-not-found", "user",
          "SELECT row, user_raw AS value, user_key FROM checked WHERE user_key IS NOT NULL AND match_count = 0",
          "No user of this organization has {label} {user_key}; copy the UUID from the users list.", ("uuid",)),
    Check("user-name-not-found", "user",
          "SELECT row, user_raw AS value FROM checked WHERE user_text <> '' AND match_count = 0",
          "No user of this organization is named '{value}'; check the spelling against the users list, "
          "or use the Identity UUID layout.", ("name",)),
    Check("user-name-ambiguous", "user", _CANDIDATES,
          "'{value}' matches {matches} users: {candidates}. Use the Identity UUID layout for this file "
          "to say which one.", ("name",)),
    Check("user-assigned", "user",
          "SELECT row, user_raw AS value, user_name, assigned_ext FROM checked "
          "WHERE identity_uuid IS NOT NULL AND assigned_ext IS NOT NULL",
          messages.USER_ASSIGNED),
    Check("user-duplicate", "user",
          _first_in_file("identity_uuid", "user_raw", ", user_name"),
          "User '{user_name}' is already in row {first_row} of this file; a user can have only one extension."),
    Check("user-in-template", "user", _in_template("identity_uuid", "user_raw", ", c.user_name"),
          "User '{user_name}' is already in this template ({file_name}, row {other_row}); remove this row."),
    Check("number-scientific-notation", "number",
          f"SELECT row, number_raw AS value FROM checked WHERE {SCIENTIFIC}",
          messages.NUMBER_SCIENTIFIC),
    Check("number-format", "number",
          f"SELECT row, number_raw AS value FROM checked WHERE number_text <> '' AND number IS NULL "
          f"AND NOT {SCIENTIFIC}",
          messages.NUMBER_FORMAT),
    Check("number-not-owned", "number",
          "SELECT c.row, c.number_raw AS value, c.number FROM checked c WHERE c.number IS NOT NULL "
          "AND NOT EXISTS (SELECT 1 FROM numbers n WHERE n.number = c.number)",
          messages.NUMBER_NOT_OWNED),
    Check("number-assigned", "number",
          "SELECT c.row, c.number_raw AS value, c.number, n.assigned_ext FROM checked c "
          "JOIN numbers n ON n.number = c.number WHERE n.assigned_ext IS NOT NULL",
          messages.NUMBER_ASSIGNED),
    Check("number-duplicate", "number", _first_in_file("number", "number_raw"),
          "{label} {number} is already used in row {first_row} of this file; a number can go to one extension only."),
    Check("number-in-template", "number", _in_template("number", "number_raw"),
          "{label} {number} is already used in this template ({file_name}, row {other_row}); pick another number."),
)
