"""The file-level half of validation: bytes -> header layout + well-formed rows, or why not.

Order matters and each step stops the ones after it when it fails, because later steps would only
report noise: size (before anything is decoded), encoding, the header, then the records. Row
structure problems (ragged rows, broken quotes) do not stop the row rules: they are reported per
row and the other rows are still checked, so the admin sees everything in one run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from phonesys.rules.errors import Problem
from phonesys.rules.validation.decoding import check_size, decode
from phonesys.rules.validation.header import Layout, read_header
from phonesys.rules.validation.records import read_records
from phonesys.rules.validation.table import Collected, collect


@dataclass
class Parsed:
    """What reading found; ``collected`` is None when the row rules must not run."""

    problems: list[Problem] = field(default_factory=list)
    layout: Layout | None = None
    collected: Collected | None = None


def parse_upload(data: bytes, file_name: str, limit: int) -> Parsed:
    too_large = check_size(len(data), file_name)
    if too_large:
        return Parsed([too_large])
    text = decode(data, file_name)
    if isinstance(text, Problem):
        return Parsed([text])
    problems: list[Problem] = []
    records = read_records(text, file_name, problems)
    first = next(records, None)
    if problems or first is None:  # nothing readable before the header, or nothing at all
        return Parsed(problems or [Problem("file-empty", "The file is empty; the first row must be the "
                                           "header, e.g. 'Ext Key,User's Name,Number'.", file=file_name)])
    layout = read_header(first[1], first[0], file_name)
    if isinstance(layout, list):
        return Parsed(layout)
    collected = collect(records, layout, file_name, limit)
    if collected.over_limit:
        return Parsed([_file_over_limit(limit, file_name)], layout)
    if not collected.data_rows:  # broken records, if any, were the data rows; else there were none
        return Parsed(problems or [Problem("file-header-only", "The file has a header but no data rows; "
                                           "add one row per user below the header.", file=file_name)], layout)
    return Parsed(problems + collected.problems, layout, collected)


def _file_over_limit(limit: int, file_name: str) -> Problem:
    return Problem("template-user-limit", f"The file has more than {limit:,} data rows, and a template "
                   f"holds at most {limit:,} users across all its files; split it into smaller files "
                   "for separate templates.", value=f">{limit}", file=file_name)
