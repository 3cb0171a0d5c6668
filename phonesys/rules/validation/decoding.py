"""Turning uploaded bytes into text, or saying precisely why not.

Accepted: UTF-8 with or without BOM (Excel's "CSV UTF-8" writes one), UTF-16 LE or BE with BOM
(Excel's "Unicode Text"). Anything else is refused rather than guessed: a cp1252 file decoded as
Latin-1 would silently turn "José" into a name that matches nobody, or worse, somebody else. The
refusal names the first bad byte: its offset, the row and column it sits in, and what it would mean
in Windows-1252, which is almost always what it is.
"""

from __future__ import annotations

import codecs
import csv
import io

from phonesys.rules.errors import Problem
from phonesys.rules.limits import UPLOAD_MAX_BYTES

MAX_FILE_BYTES = UPLOAD_MAX_BYTES  # the name this package has always exported
_SAVE_AS = "In Excel use File > Save As > 'CSV UTF-8 (Comma delimited)' and upload that file."
_WORKBOOKS = {b"PK\x03\x04": "an Excel workbook (.xlsx) or another zip file",
              b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)"}
_UTF16 = {codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be"}
_SENTINEL = "\uffff"  # a noncharacter: marks the bad byte's position while the prefix is parsed


def check_size(size: int, file_name: str) -> Problem | None:
    """The 5 MB cap; callers that know a file's or object's size call this before reading it."""
    if size <= MAX_FILE_BYTES:
        return None
    return Problem("file-too-large", f"The file has {size:,} bytes; the limit is {MAX_FILE_BYTES:,} "
                   "bytes (5 MB). Split it into several files and upload each one.",
                   value=str(size), file=file_name)


def decode(data: bytes, file_name: str) -> str | Problem:
    """The text of the upload without its BOM, or the one problem that stops us reading it."""
    for magic, what in _WORKBOOKS.items():
        if data.startswith(magic):
            return Problem("file-not-csv", f"This is {what}, not a CSV file. {_SAVE_AS}", file=file_name)
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return Problem("encoding-unsupported", f"The file is UTF-32, which is not accepted. {_SAVE_AS}",
                       file=file_name)
    bom = next((b for b in (codecs.BOM_UTF8, *_UTF16) if data.startswith(b)), b"")
    encoding = _UTF16.get(bom, "utf-8")
    try:
        text = data[len(bom):].decode(encoding)
    except UnicodeDecodeError as exc:
        return _undecodable(data, bom, encoding, exc, file_name)
    if "\x00" in text:
        return _nul_problem(text, file_name)
    return text


def _undecodable(data: bytes, bom: bytes, encoding: str, exc: UnicodeDecodeError,
                 file_name: str) -> Problem:
    offset = len(bom) + exc.start
    row, column = locate(data[len(bom):offset].decode(encoding))
    bad = data[offset:offset + 1] if encoding == "utf-8" else data[offset:len(bom) + exc.end][:4]
    where = f"row {row}" + (f", column {column}" if column else "")
    meaning = ""
    if encoding == "utf-8":
        meaning = (f" In Windows-1252 it reads as '{bad.decode('cp1252', errors='replace')}', so the file "
                   "was probably saved as plain 'CSV' instead of 'CSV UTF-8'.")
    what = "byte" if len(bad) == 1 else "bytes"
    return Problem("encoding-unsupported", f"The file is not valid {encoding.upper()}: {what} 0x{bad.hex()} "
                   f"at offset {offset} ({where}) cannot be read.{meaning} {_SAVE_AS}",
                   field=column, value=data[max(offset - 20, 0):offset + 20].decode(encoding, "replace"),
                   row=row, file=file_name)


def _nul_problem(text: str, file_name: str) -> Problem:
    """NUL characters: UTF-16 without a BOM (every other byte is zero) or a binary file."""
    row, column = locate(text[:text.index("\x00")])
    return Problem("encoding-unsupported", f"The file contains NUL characters (first in row {row}): it is "
                   "UTF-16 without a byte order mark, or not a text file at all. " + _SAVE_AS,
                   field=column, row=row, file=file_name)


def locate(prefix: str) -> tuple[int, str | None]:
    """Spreadsheet row and header column at the end of ``prefix``, counting CSV records (a quoted
    cell may span lines), so the admin is sent to the row a spreadsheet shows, not a line number."""
    header: list[str] = []
    row = 0
    cells: list[str] = []
    try:
        for row, cells in enumerate(csv.reader(io.StringIO(prefix + _SENTINEL, newline="")), start=1):
            if row == 1:
                header = cells
    except csv.Error:  # a cell longer than the csv module allows: the bad byte is in the next row
        return row + 1, None
    index = next((i for i, cell in enumerate(cells) if _SENTINEL in cell), None)
    if row <= 1 or index is None or index >= len(header):
        return max(row, 1), None
    return row, header[index].strip() or None
