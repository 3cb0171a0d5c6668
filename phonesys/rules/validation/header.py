"""Recognising the header row: which of the two layouts a file uses and where each column is.

Decisions (documented in the README's codes section as well):
- Names are matched trimmed, case-insensitively, with inner blanks collapsed, and Excel's
  typographic apostrophe (``User’s Name``) counts as ``'``.
- Columns may come in any order: a spreadsheet user who moves a column has not changed its meaning,
  and every column is found by name, never by position.
- ``Number`` may be left out entirely (a file that assigns no numbers); ``Ext Key`` and exactly one
  of ``User's Name`` / ``Identity UUID`` are required.
- A column without a name is tolerated only while every cell under it is empty: Excel writes such
  columns when a cell outside the data was once formatted. ``layout.blank`` lists them so the
  caller can check that after reading the rows.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from phonesys.rules.errors import Problem
from phonesys.rules.validation.model import IdentifierKind
from phonesys.rules.values import name_key

EXT_KEY, USER_NAME, IDENTITY_UUID, NUMBER = "Ext Key", "User's Name", "Identity UUID", "Number"
_COLUMNS = {name_key(label): label for label in (EXT_KEY, USER_NAME, IDENTITY_UUID, NUMBER)}
_LAYOUTS = f"'{EXT_KEY},{USER_NAME},{NUMBER}' or '{EXT_KEY},{IDENTITY_UUID},{NUMBER}'"
_LOGICAL = {EXT_KEY: "ext_key", USER_NAME: "user", IDENTITY_UUID: "user", NUMBER: "number"}


@dataclass(frozen=True)
class Layout:
    """Where the columns of one file are; ``labels`` are the header cells as the file spells them."""

    kind: IdentifierKind
    width: int
    row: int
    positions: dict[str, int]  # "ext_key" / "user" / "number" -> cell index
    labels: dict[str, str]
    blank: tuple[int, ...]


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: how a spreadsheet names the column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def canonical(cell: str) -> str:
    return name_key(cell.replace("\ufeff", "")).replace("\u2019", "'").replace("\u2018", "'")


def read_header(cells: list[str], row: int, file_name: str) -> Layout | list[Problem]:
    """The layout of the file, or every problem with its header at once."""
    delimiter = _other_delimiter(cells, row, file_name)
    if delimiter:
        return [delimiter]
    found: dict[str, int] = {}
    problems: list[Problem] = []
    blank: list[int] = []
    for index, cell in enumerate(cells):
        label = _COLUMNS.get(canonical(cell))
        if not cell.strip():
            blank.append(index)
        elif label is None:
            problems.append(_unknown(cell, index, row, file_name))
        elif label in found:
            problems.append(Problem("header-duplicate-column", f"Column '{label}' appears twice in the "
                                    f"header (columns {column_letter(found[label])} and "
                                    f"{column_letter(index)}); keep one of them.", cell.strip(), cell,
                                    row, file_name))
        else:
            found[label] = index
    problems += _missing_or_mixed(found, cells, row, file_name)
    return problems or _layout(found, cells, row, tuple(blank))


def _layout(found: dict[str, int], cells: list[str], row: int, blank: tuple[int, ...]) -> Layout:
    kind: IdentifierKind = "name" if USER_NAME in found else "uuid"
    positions = {_LOGICAL[label]: index for label, index in found.items()}
    labels = {_LOGICAL[label]: cells[index].strip() for label, index in found.items()}
    return Layout(kind, len(cells), row, positions, labels, blank)


def _other_delimiter(cells: list[str], row: int, file_name: str) -> Problem | None:
    """A one-cell header holding ';' or a tab: the whole file uses another separator."""
    if len(cells) != 1:
        return None
    if ";" in cells[0]:
        return Problem("delimiter-semicolon", "The cells are separated by semicolons (';'), as Excel does "
                       "in many European locales; this upload needs commas. Save the file as 'CSV UTF-8 "
                       "(Comma delimited)', or change the list separator to ',' and export again.",
                       value=cells[0][:200], row=row, file=file_name)
    if "\t" in cells[0]:
        return Problem("delimiter-tab", "The cells are separated by tabs (Excel's 'Unicode Text' format); "
                       "this upload needs commas. Save the file as 'CSV UTF-8 (Comma delimited)'.",
                       value=cells[0][:200], row=row, file=file_name)
    return None


def _unknown(cell: str, index: int, row: int, file_name: str) -> Problem:
    guess = difflib.get_close_matches(canonical(cell), list(_COLUMNS), n=1, cutoff=0.6)
    hint = f" Did you mean '{_COLUMNS[guess[0]]}'?" if guess else ""
    return Problem("header-unknown-column", f"Unknown column '{cell.strip()[:100]}' (column "
                   f"{column_letter(index)}).{hint} The header must be {_LAYOUTS}.",
                   cell.strip()[:200], cell[:200], row, file_name)


def _missing_or_mixed(found: dict[str, int], cells: list[str], row: int, file_name: str) -> list[Problem]:
    problems = []
    if EXT_KEY not in found:
        problems.append(Problem("header-missing-column", f"The header has no '{EXT_KEY}' column; the "
                                f"header must be {_LAYOUTS}.", EXT_KEY, row=row, file=file_name))
    if USER_NAME in found and IDENTITY_UUID in found:
        second = max(found[USER_NAME], found[IDENTITY_UUID])
        problems.append(Problem("header-mixed-identifiers", f"The header has both '{USER_NAME}' and "
                                f"'{IDENTITY_UUID}'; a file identifies users one way only, so delete one "
                                "of the two columns.", cells[second].strip(), row=row, file=file_name))
    elif USER_NAME not in found and IDENTITY_UUID not in found:
        problems.append(Problem("header-missing-column", f"The header has neither '{USER_NAME}' nor "
                                f"'{IDENTITY_UUID}'; add one of them (one per file).",
                                f"{USER_NAME} / {IDENTITY_UUID}", row=row, file=file_name))
    return problems
