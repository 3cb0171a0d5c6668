"""The codes upload validation can report: a view of the one table in ``phonesys.rules.codes``.

``tests/test_validation_rules.py`` proves that every code listed here can be produced by an upload and
that an upload never produces anything outside this list.
"""

from __future__ import annotations

from phonesys.rules.codes import meanings

FILE_CODES: dict[str, str] = meanings(
    "file-too-large", "file-empty", "file-not-csv", "encoding-unsupported", "delimiter-semicolon",
    "delimiter-tab", "file-header-only", "header-unknown-column", "header-blank-column",
    "header-duplicate-column", "header-missing-column", "header-mixed-identifiers", "row-too-many-cells",
    "row-too-few-cells", "csv-malformed", "row-too-long")

ROW_CODES: dict[str, str] = meanings(
    "ext-key-required", "ext-key-format", "ext-key-duplicate", "ext-key-in-template", "ext-key-exists",
    "user-required", "uuid-invalid", "user-not-found", "user-name-not-found", "user-name-ambiguous",
    "user-assigned", "user-duplicate", "user-in-template", "number-scientific-notation", "number-format",
    "number-not-owned", "number-assigned", "number-duplicate", "number-in-template")

TEMPLATE_CODES: dict[str, str] = meanings("template-user-limit")

CODES: dict[str, str] = {**FILE_CODES, **ROW_CODES, **TEMPLATE_CODES}
