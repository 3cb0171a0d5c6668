"""Writing export files people open in Excel: RFC 4180 CSV, UTF-8 with BOM, no formula injection.

Neutralising rule: a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
leading apostrophe, so a spreadsheet shows it as text instead of evaluating it. One exception keeps
phone numbers readable: a cell that is exactly an E.164 number (``+`` then 2-15 digits) is left as it
is, because a formula made only of digits can call nothing. Parquet files are for data tools and keep
the raw values. Work is column-wise on Arrow batches, so memory is bounded by the batch size.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

RISKY_START = r"^[=+\-@\t\r]"
PLAIN_E164 = r"^\+[0-9]{2,15}$"
CSV_OPTIONS = pa_csv.WriteOptions(eol="\r\n", quoting_style="needed")


def neutralize(column: pa.Array) -> pa.Array:
    """Prefix risky cells with an apostrophe; plain E.164 numbers and nulls pass through."""
    risky = pc.and_(pc.match_substring_regex(column, RISKY_START),
                    pc.invert(pc.match_substring_regex(column, PLAIN_E164)))
    prefixed = pc.binary_join_element_wise(pa.scalar("'"), column, pa.scalar(""))
    return pc.if_else(pc.fill_null(risky, False), prefixed, column)


def neutralize_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([neutralize(c) for c in batch.columns], schema=batch.schema)


def write_csv(batches: Iterable[pa.RecordBatch], schema: pa.Schema, path: Path) -> int:
    """Write batches as a safe CSV; returns the number of data rows."""
    rows = 0
    with path.open("wb") as handle:
        handle.write(codecs.BOM_UTF8)
        with pa_csv.CSVWriter(handle, schema, write_options=CSV_OPTIONS) as writer:
            for batch in batches:
                writer.write_batch(neutralize_batch(batch))
                rows += batch.num_rows
    return rows


def write_parquet(batches: Iterable[pa.RecordBatch], schema: pa.Schema, path: Path) -> int:
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows
