"""Reading a users CSV (``Identity UUID``, ``User's Name``) for ``phonesys org import-users``.

Accepts UTF-8 (with or without BOM) and UTF-16 with BOM, comma-separated, RFC 4180 quoting.
Header names are matched trimmed and case-insensitively, in any order. Every problem in the file is
reported at once with its spreadsheet row number; one bad row rejects the whole file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from pathlib import Path

from phonesys.rules.errors import Problem, Refused
from phonesys.rules.orgfile import UserEntry
from phonesys.rules.values import check_user_name, check_uuid

COLUMNS = {"identity uuid": "Identity UUID", "user's name": "User's Name"}
MAX_FILE_BYTES = 200 * 1024 * 1024


def read_users_csv(path: Path) -> list[UserEntry]:
    text = _decode(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise Refused(_malformed(exc, 1, path.name)) from None
    if header is None:
        raise Refused(Problem("file-empty", "The file is empty; the first row must be the header "
                              "'Identity UUID,User's Name'.", file=path.name))
    positions = _header_positions(header, path.name)
    return _read_rows(reader, positions, path.name)


def _malformed(exc: csv.Error, row: int, file: str) -> Problem:
    """Broken quoting; ``row`` is the spreadsheet row where the broken record starts (an unclosed
    quote swallows every line after it, so the reader's line count would point at the end)."""
    return Problem("csv-malformed", f"Broken CSV quoting in row {row}: {exc}. A cell holding a comma, "
                   "quote or line break must be quoted, with inner quotes doubled.", row=row, file=file)


def _decode(path: Path) -> str:
    if not path.is_file():
        raise Refused(Problem("file-not-found", f"No such file: {path}", file=str(path)))
    if path.stat().st_size > MAX_FILE_BYTES:
        raise Refused(Problem("file-too-large", f"The file is larger than {MAX_FILE_BYTES // 2**20} MB.",
                              file=path.name))
    data = path.read_bytes()
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        row = data[:exc.start].count(b"\n") + 1 if encoding == "utf-8-sig" else None
        raise Refused(Problem("encoding-unsupported", f"The file is not UTF-8 or UTF-16 with BOM (bad "
                              f"byte at offset {exc.start}); save it as 'CSV UTF-8'.", row=row,
                              file=path.name)) from None


def _header_positions(header: list[str], file: str) -> dict[str, int]:
    positions: dict[str, int] = {}
    problems = []
    for index, raw in enumerate(header):
        key = raw.strip().casefold()
        if key not in COLUMNS:
            problems.append(Problem("header-unknown-column", f"Unknown column '{raw}'; expected "
                                    "'Identity UUID' and 'User's Name'.", raw, row=1, file=file))
        elif key in positions:
            problems.append(Problem("header-duplicate-column", f"Column '{raw}' appears twice.", raw,
                                    row=1, file=file))
        else:
            positions[key] = index
    for key, label in COLUMNS.items():
        if key not in positions:
            problems.append(Problem("header-missing-column", f"Column '{label}' is missing.", label,
                                    row=1, file=file))
    if problems:
        raise Refused(problems)
    return positions


def _read_rows(reader: Iterator[list[str]], positions: dict[str, int], file: str) -> list[UserEntry]:
    entries: list[UserEntry] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    width = len(positions)
    row_number = 1
    while True:
        row_number += 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # reported with the problems of the rows before it
            problems.append(_malformed(exc, row_number, file))
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            problems.append(Problem("row-ragged", f"Row has {len(row)} cells; the header has {width}.",
                                    row=row_number, file=file))
            continue
        found, entry = _check_row(row, positions, row_number, file)
        if entry is not None and entry.identity_uuid in seen:
            found.append(Problem("user-duplicate", f"Identity UUID {entry.identity_uuid} already "
                                 f"appears on row {seen[entry.identity_uuid]}.", "Identity UUID",
                                 entry.identity_uuid, row_number, file))
        problems += found
        if not found and entry is not None:
            seen[entry.identity_uuid] = row_number
            entries.append(entry)
    if problems:
        raise Refused(problems)
    return entries


def _check_row(row: list[str], positions: dict[str, int], row_number: int,
               file: str) -> tuple[list[Problem], UserEntry | None]:
    identity = check_uuid(row[positions["identity uuid"]], "Identity UUID")
    name = check_user_name(row[positions["user's name"]], "User's Name")
    if isinstance(identity, Problem) or isinstance(name, Problem):
        return [_located(p, row_number, file) for p in (identity, name) if isinstance(p, Problem)], None
    return [], UserEntry(identity_uuid=identity, name=name)


def _located(problem: Problem, row: int, file: str) -> Problem:
    return Problem(problem.code, problem.message, problem.field, problem.value, row, file)
