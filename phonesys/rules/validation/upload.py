"""``validate_upload``: one uploaded file against one inventory snapshot, every problem at once.

Reading (``reading``) decides whether the rows can be checked at all; the row rules then run as
DuckDB SQL (``checks``, ``session``). Before answering, every data record is proved to be either
accepted or reported: a row that vanished silently would otherwise make a broken file look clean.
"""

from __future__ import annotations

import hashlib

from phonesys.rules.errors import Problem
from phonesys.rules.validation.model import (
    ROWS_SCHEMA,
    InventorySnapshot,
    ValidationResult,
    empty_table,
)
from phonesys.rules.validation.reading import Parsed, parse_upload
from phonesys.rules.validation.session import acceptable_rows, open_session, run_checks


def validate_upload(data: bytes, file_name: str, snapshot: InventorySnapshot) -> ValidationResult:
    """Validate ``data`` (the whole file) as a bulk-assignment upload named ``file_name``."""
    sha256 = hashlib.sha256(data).hexdigest()
    parsed = parse_upload(data, file_name, snapshot.template_row_limit)
    kind = parsed.layout.kind if parsed.layout else None
    if parsed.collected is None or parsed.layout is None:
        return ValidationResult(file_name, kind, empty_table(ROWS_SCHEMA), _sorted(parsed.problems, parsed),
                                sha256)
    snapshot = snapshot.conformed()
    problems = parsed.problems + _template_limit(snapshot, len(parsed.collected.data_rows), file_name)
    with open_session(parsed.collected.table(), snapshot, parsed.layout.kind) as connection:
        problems += run_checks(connection, parsed.layout.kind, parsed.layout.labels, file_name)
        rows = acceptable_rows(connection, {p.row for p in problems if p.row is not None})
    _prove_covered(parsed.collected.data_rows, rows.column("row").to_pylist(), problems)
    return ValidationResult(file_name, kind, rows, _sorted(problems, parsed), sha256)


def _template_limit(snapshot: InventorySnapshot, adding: int, file_name: str) -> list[Problem]:
    existing, limit = snapshot.template_rows.num_rows, snapshot.template_row_limit
    if existing + adding <= limit:
        return []
    return [Problem("template-user-limit", f"The template already has {_users(existing)} and this file adds "
                    f"{adding:,}: {existing + adding - limit:,} over the limit of {_users(limit)} per "
                    "template. Remove rows or use another template.", value=str(adding), file=file_name)]


def _users(count: int) -> str:
    return f"{count:,} user" + ("" if count == 1 else "s")


def _prove_covered(data_rows: list[int], accepted: list[int], problems: list[Problem]) -> None:
    """Every data record is accepted or has a problem; anything else is a bug in the checks."""
    reported = {p.row for p in problems}
    lost = set(data_rows) - set(accepted) - reported
    if lost:
        raise RuntimeError(f"validation lost rows {sorted(lost)[:10]}: neither accepted nor reported")


def _sorted(problems: list[Problem], parsed: Parsed) -> list[Problem]:
    """By row (file-level problems first), then by the column's position in the header."""
    order = {}
    if parsed.layout is not None:
        order = {label: parsed.layout.positions[column] for column, label in parsed.layout.labels.items()}
    return sorted(problems, key=lambda p: (p.row or 0, order.get(p.field or "", -1)))
