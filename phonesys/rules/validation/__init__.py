"""Validation of bulk-assignment template uploads (CSV), every problem reported at once.

    validate_upload(data, file_name, snapshot) -> ValidationResult
    problems_csv(problems) -> bytes          the <upload>.errors.csv an admin downloads
    CODES                                    every code an upload can report -> its meaning

Modules, in the order an upload goes through them:
- ``decoding``: size cap, encodings (UTF-8 +/- BOM, UTF-16 with BOM), where a bad byte is
- ``records``: CSV records numbered as spreadsheet rows; broken quotes; over-long records
- ``header``: which layout (by name / by UUID), where each column is
- ``table``: well-formed rows into an Arrow table; ragged rows
- ``checks``: the row rules, one SQL query each; ``session``: the per-upload DuckDB connection
- ``upload``: the orchestration; ``report``: the errors CSV; ``codes``: the upload's part of
  ``phonesys.rules.codes``, the one code table
"""

from phonesys.rules.limits import TEMPLATE_ROW_LIMIT
from phonesys.rules.validation.codes import CODES
from phonesys.rules.validation.decoding import MAX_FILE_BYTES, check_size
from phonesys.rules.validation.model import (
    EXT_KEYS_SCHEMA,
    NUMBERS_SCHEMA,
    ROWS_SCHEMA,
    TEMPLATE_ROWS_SCHEMA,
    USERS_SCHEMA,
    InventorySnapshot,
    ValidationResult,
)
from phonesys.rules.validation.report import problems_csv
from phonesys.rules.validation.upload import validate_upload

__all__ = [
    "CODES", "EXT_KEYS_SCHEMA", "MAX_FILE_BYTES", "NUMBERS_SCHEMA", "ROWS_SCHEMA", "TEMPLATE_ROWS_SCHEMA",
    "TEMPLATE_ROW_LIMIT", "USERS_SCHEMA", "InventorySnapshot", "ValidationResult", "check_size",
    "problems_csv", "validate_upload",
]
