"""Splitting decoded text into CSV records numbered as a spreadsheet numbers its rows.

Python's csv module (RFC 4180: comma, double quote, quotes doubled inside quoted cells) does the
parsing instead of DuckDB's ``read_csv``: it never sniffs, it numbers records rather than lines (a
quoted cell with a line break is still one row), it reports a broken quote on the record where it
happens and carries on with the next line, and it works on text we already decoded from UTF-16.
``strict=True`` makes text after a closing quote (``"abc"x``) an error; a stray quote inside an
unquoted cell (``Tony "T" Stark``) is kept as written, as Excel does.

Blank records (every cell empty or spaces) carry no data and are skipped, wherever they are, but
still count as rows. A record longer than ``MAX_RECORD_CHARS`` (DuckDB's ``max_line_size`` idea)
stops reading: it is almost always an unclosed quote swallowing the rest of the file, and the cap
keeps a 5 MB line of junk from becoming a million cells in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from phonesys.rules.errors import Problem

MAX_RECORD_CHARS = 65_536
_QUOTING_HINT = ("A cell holding a comma, quote or line break must be enclosed in double quotes, "
                 "with quotes inside it doubled (\"\"); saving from Excel does this for you.")


class _RecordTooLong(Exception):
    pass


class _Lines:
    """Physical lines for the csv reader; raises once the current record grows past the cap."""

    def __init__(self, text: str):
        self._lines = iter(io.StringIO(text, newline=""))
        self.record_chars = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.record_chars += len(line)
        if self.record_chars > MAX_RECORD_CHARS:
            raise _RecordTooLong
        return line


def read_records(text: str, file_name: str, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row, cells)`` for every non-blank record; broken records go to ``problems``."""
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    row = 0
    while True:
        row += 1
        lines.record_chars = 0
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _RecordTooLong:
            problems.append(_too_long(row, file_name))
            return
        except csv.Error as exc:  # the reader resumes at the next line
            problems.append(_malformed(str(exc), row, file_name))
            continue
        if any(cell.strip() for cell in cells):
            yield row, cells


def _malformed(reason: str, row: int, file_name: str) -> Problem:
    if "unexpected end of data" in reason:
        what = "A quoted cell starting in this row is never closed, so every row after it was swallowed."
    else:
        what = f"Text follows a closing quote ({reason})."
    return Problem("csv-malformed", f"Broken CSV quoting in row {row}: {what} {_QUOTING_HINT}",
                   row=row, file=file_name)


def _too_long(row: int, file_name: str) -> Problem:
    return Problem("row-too-long", f"Row {row} is longer than {MAX_RECORD_CHARS:,} characters, usually "
                   "because a quote is never closed; the rows after it were not read. " + _QUOTING_HINT,
                   row=row, file=file_name)
