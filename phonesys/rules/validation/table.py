"""Turning the data records into the Arrow table DuckDB checks, column by column.

Structural problems are found here because only here are cells still positional: a row with more
or fewer cells than the header (its columns cannot be trusted, so it is reported and left out of the
row rules), and values under an unnamed column. Reading stops one record past ``limit``: such a file
can never be accepted, and a 5 MB file of tiny lines must not become millions of Python objects.

``name_key`` is computed here, in Python, with the same ``rules.name_key`` the inventory used to
store users' keys: a name matches only if both sides were normalised by identical code (NFKC and
case-folding have no exact DuckDB equivalent).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from phonesys.rules.errors import Problem
from phonesys.rules.validation.header import Layout, column_letter
from phonesys.rules.values import name_key

UPLOAD_SCHEMA = pa.schema([("row", pa.int32()), ("ext_key", pa.string()), ("user", pa.string()),
                           ("number", pa.string()), ("name_key", pa.string())])


@dataclass
class Collected:
    """The well-formed records as columns, plus what was wrong with the others."""

    columns: dict[str, list[object]] = field(default_factory=lambda: {n: [] for n in UPLOAD_SCHEMA.names})
    data_rows: list[int] = field(default_factory=list)  # every non-blank data record, well-formed or not
    problems: list[Problem] = field(default_factory=list)
    blank_values: dict[int, list[int]] = field(default_factory=dict)  # unnamed column -> rows with values
    over_limit: bool = False

    def table(self) -> pa.Table:
        return pa.table(self.columns, schema=UPLOAD_SCHEMA)


def collect(records: Iterator[tuple[int, list[str]]], layout: Layout, file_name: str,
            limit: int) -> Collected:
    """Read data records until the end or until there are more than ``limit`` of them."""
    out = Collected()
    for row, cells in records:
        if len(out.data_rows) == limit:
            out.over_limit = True
            break
        out.data_rows.append(row)
        if len(cells) != layout.width:
            out.problems.append(_ragged(cells, layout, row, file_name))
            continue
        for index in layout.blank:
            if cells[index].strip():
                out.blank_values.setdefault(index, []).append(row)
        _append(out.columns, cells, layout, row)
    out.problems += [_blank_column(i, rows, layout, file_name) for i, rows in out.blank_values.items()]
    return out


def _append(columns: dict[str, list[object]], cells: list[str], layout: Layout, row: int) -> None:
    positions = layout.positions
    user = cells[positions["user"]]
    columns["row"].append(row)
    columns["ext_key"].append(cells[positions["ext_key"]])
    columns["user"].append(user)
    columns["number"].append(cells[positions["number"]] if "number" in positions else None)
    columns["name_key"].append(name_key(user) if layout.kind == "name" else None)


def _ragged(cells: list[str], layout: Layout, row: int, file_name: str) -> Problem:
    value = ",".join(cells)[:200]
    expected = ", ".join(layout.labels.values())
    if len(cells) > layout.width:
        return Problem("row-too-many-cells", f"Row {row} has {len(cells)} cells but the header has "
                       f"{layout.width} ({expected}). A cell holding a comma, such as 'Smith, John', "
                       "must be enclosed in double quotes.", value=value, row=row, file=file_name)
    hint = (" The row is separated by semicolons; use commas." if len(cells) == 1 and ";" in cells[0]
            else " Add the missing cells (an optional cell may be empty, but its comma must be there).")
    return Problem("row-too-few-cells", f"Row {row} has {len(cells)} cell(s) but the header has "
                   f"{layout.width} ({expected}).{hint}", value=value, row=row, file=file_name)


def _blank_column(index: int, rows: list[int], layout: Layout, file_name: str) -> Problem:
    shown = ", ".join(str(r) for r in rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
    return Problem("header-blank-column", f"Column {column_letter(index)} has no name in the header "
                   f"but holds values (row{'s' if len(rows) > 1 else ''} {shown}); name it, delete it or "
                   "move its values.",
                   value=f"column {column_letter(index)}", row=layout.row, file=file_name)
