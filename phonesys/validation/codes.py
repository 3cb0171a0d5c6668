"""Every problem code the upload validation can report, with its one-line meaning.

The codes are a public contract: scripts match on them and the README documents them, so a code is
never renamed or reused for another meaning. ``tests/test_validation_rules.py`` proves that every code
listed here can be produced and that nothing outside this list ever is.
"""

from __future__ import annotations

FILE_CODES: dict[str, str] = {
    "file-too-large": "The file is larger than 5 MB; split it into several files.",
    "file-empty": "The file has no content at all.",
    "file-not-csv": "The file is a spreadsheet workbook (.xlsx/.xls), not CSV; save it as CSV UTF-8.",
    "encoding-unsupported": "The file is not UTF-8 (with or without BOM) or UTF-16 with BOM.",
    "delimiter-semicolon": "Cells are separated by semicolons (Excel in European locales); use commas.",
    "delimiter-tab": "Cells are separated by tabs (Excel 'Unicode Text'); save as CSV UTF-8 instead.",
    "file-header-only": "The file has a header but no data rows.",
    "header-unknown-column": "The header names a column that is not part of either layout.",
    "header-blank-column": "A column without a name in the header holds values.",
    "header-duplicate-column": "The header names the same column twice.",
    "header-missing-column": "A required column (Ext Key, and User's Name or Identity UUID) is missing.",
    "header-mixed-identifiers": "The header has both User's Name and Identity UUID; a file uses one.",
    "row-too-many-cells": "A row has more cells than the header (often an unquoted comma).",
    "row-too-few-cells": "A row has fewer cells than the header.",
    "csv-malformed": "Broken CSV quoting: a quoted cell is not closed or has text after its quote.",
    "row-too-long": "A row is longer than 65,536 characters (usually an unclosed quote); reading stopped.",
}

ROW_CODES: dict[str, str] = {
    "ext-key-required": "Ext Key is blank.",
    "ext-key-format": "Ext Key is not 3 to 5 digits.",
    "ext-key-duplicate": "Ext Key appears on an earlier row of the same file.",
    "ext-key-in-template": "Ext Key is already used by a row of this template.",
    "ext-key-exists": "Ext Key is already an extension of the organization.",
    "user-required": "The user cell (User's Name or Identity UUID) is blank.",
    "uuid-invalid": "Identity UUID is not a valid UUID.",
    "user-not-found": "No user of the organization has this Identity UUID.",
    "user-name-not-found": "No user of the organization has this name.",
    "user-name-ambiguous": "Several users of the organization have this name; the candidates are listed.",
    "user-assigned": "The user already has an extension.",
    "user-duplicate": "The user appears on an earlier row of the same file.",
    "user-in-template": "The user is already in this template.",
    "number-scientific-notation": "Number was mangled by Excel into scientific notation (6.51E+09).",
    "number-format": "Number is not digits with an optional leading '+'.",
    "number-not-owned": "Number is not a number license of the organization.",
    "number-assigned": "Number is already assigned to an extension.",
    "number-duplicate": "Number appears on an earlier row of the same file.",
    "number-in-template": "Number is already used by a row of this template.",
}

TEMPLATE_CODES: dict[str, str] = {
    "template-user-limit": "The template would hold more than 15,000 users across its files.",
}

CODES: dict[str, str] = {**FILE_CODES, **ROW_CODES, **TEMPLATE_CODES}


def markdown_table() -> str:
    """The README's table of codes, generated so that a docs test can compare it with the README."""
    lines = ["| code | meaning |", "| --- | --- |"]
    lines += [f"| `{code}` | {meaning} |" for code, meaning in CODES.items()]
    return "\n".join(lines)
