"""The ``<upload>.errors.csv`` an admin downloads: one line per problem, safe to open in Excel.

Same conventions as the export files (``phonesys.rules.safecsv``): UTF-8 with BOM so Excel picks the
encoding, CRLF, RFC 4180 quoting, and cells that would start a formula (``= + - @``, tab, CR)
prefixed with an apostrophe, except plain E.164 numbers. Uploaded values are the dangerous ones:
a cell ``=HYPERLINK(...)`` in a bad upload must come back as text.
"""

from __future__ import annotations

import codecs
import io

import pyarrow as pa
import pyarrow.csv as pa_csv

from phonesys.rules.errors import Problem
from phonesys.rules.safecsv import CSV_OPTIONS, neutralize

COLUMNS = ("file", "row", "column", "value", "code", "message")
_NO_HEADER = pa_csv.WriteOptions(include_header=False, eol=CSV_OPTIONS.eol,
                                 quoting_style=CSV_OPTIONS.quoting_style)


def problems_csv(problems: list[Problem]) -> bytes:
    """The report as bytes, in the order given (``validate_upload`` sorts by row and column)."""
    columns = {
        "file": [p.file for p in problems],
        "row": [None if p.row is None else str(p.row) for p in problems],
        "column": [p.field for p in problems],
        "value": [p.value for p in problems],
        "code": [p.code for p in problems],
        "message": [p.message for p in problems],
    }
    table = pa.table({name: neutralize(pa.array(values, pa.string())) for name, values in columns.items()})
    buffer = io.BytesIO()
    buffer.write(codecs.BOM_UTF8 + (",".join(COLUMNS) + "\r\n").encode())
    pa_csv.write_csv(table, buffer, write_options=_NO_HEADER)
    return buffer.getvalue()
