"""Properties of upload validation (hypothesis): exact round trips, no crash, no hang, no silent drop.

- Rows written by Python's csv module come back cell for cell, whatever they hold (quotes, commas,
  line breaks, any Unicode), in every accepted encoding.
- A valid file built from the organization's free users is accepted with exactly its rows.
- Random bytes and mutated valid files never crash and finish within the deadline, and when the
  file-level checks pass, every non-blank record is accepted or has at least one problem, and no
  problem points at a row the file does not have.
"""

from __future__ import annotations

import codecs
import csv
import io

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from phonesys.rules.validation import CODES, validate_upload
from phonesys.rules.validation.reading import parse_upload
from tests.validation_org import FREE, snapshot, uid

SNAPSHOT = snapshot(template=False)
HEADER = ["Ext Key", "User's Name", "Number"]
ENCODINGS = {
    "utf-8": lambda t: t.encode("utf-8"),
    "utf-8-bom": lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
    "utf-16-le": lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
    "utf-16-be": lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
}
FAST = settings(max_examples=150, deadline=3000, suppress_health_check=[HealthCheck.too_slow])

# Any text a cell can hold in an accepted encoding: no NUL (refused as "UTF-16 without BOM"),
# no lone surrogates (not encodable).
cell_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)


def write_csv(rows: list[list[str]], lineterminator: str = "\r\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=lineterminator).writerows(rows)
    return buffer.getvalue()


@FAST
@given(rows=st.lists(st.lists(cell_text, min_size=3, max_size=3), max_size=25),
       encoding=st.sampled_from(sorted(ENCODINGS)), lineterminator=st.sampled_from(["\r\n", "\n"]))
def test_rows_written_by_the_csv_module_round_trip_exactly(rows, encoding, lineterminator):
    # Python 3.11's writer quotes only the characters of its own line terminator, so with "\n" it
    # writes a bare "\r" unquoted: a file no CSV reader can read back. Excel and the default use CRLF.
    assume(lineterminator == "\r\n" or not any("\r" in cell for row in rows for cell in row))
    data = ENCODINGS[encoding](write_csv([HEADER] + rows, lineterminator))
    parsed = parse_upload(data, "f.csv", 15_000)
    expected = [(i + 2, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not expected:
        assert [p.code for p in parsed.problems] == ["file-header-only"]
        return
    assert parsed.problems == []
    table = parsed.collected.table().to_pydict()
    got = list(zip(table["row"], zip(table["ext_key"], table["user"], table["number"])))
    assert got == [(row, tuple(r)) for row, r in expected]


NUMBER_STYLES = {"e164": lambda n: "+" + n, "plus-stripped": lambda n: n, "padded": lambda n: f" +{n} ",
                 "spaced": lambda n: f"+{n[:2]} {n[2:6]} {n[6:]}", "empty": lambda n: ""}


@st.composite
def valid_files(draw):
    """A valid by-name file: distinct free users, distinct keys (leading zeros too), numbers written
    with or without '+', with spaces, or left empty."""
    names = draw(st.lists(st.sampled_from([n for n in FREE if n != "Zoe"]), min_size=1, unique=True))
    keys = draw(st.lists(st.from_regex(r"[0-9]{3,5}", fullmatch=True).filter(lambda k: k not in ("200", "0300")),
                         min_size=len(names), max_size=len(names), unique=True))
    numbers = draw(st.lists(st.sampled_from([f"65123456{i:02d}" for i in range(1, 10)]),
                            min_size=len(names), max_size=len(names), unique=True))
    styles = draw(st.lists(st.sampled_from(list(NUMBER_STYLES)), min_size=len(names), max_size=len(names)))
    cells = [NUMBER_STYLES[style](number) for style, number in zip(styles, numbers)]
    rows = [[k, draw(st.sampled_from([n, n.upper(), f"  {n.lower()} "])), c] for k, n, c in zip(keys, names, cells)]
    expected = [(i + 2, k, uid(n), ("+" + num) if c else None)
                for i, (k, n, num, c) in enumerate(zip(keys, names, numbers, cells))]
    return write_csv([HEADER] + rows), expected


@FAST
@given(valid_files(), st.sampled_from(sorted(ENCODINGS)))
def test_a_valid_file_is_accepted_with_exactly_its_rows(file_and_rows, encoding):
    text, expected = file_and_rows
    result = validate_upload(ENCODINGS[encoding](text), "f.csv", SNAPSHOT)
    assert result.problems == []
    assert result.accepted
    got = [(r["row"], r["ext_key"], r["identity_uuid"], r["number"]) for r in result.rows.to_pylist()]
    assert got == expected


def assert_every_record_accounted_for(data: bytes) -> None:
    """No crash; and when the rows were checked, each data record is accepted or reported."""
    result = validate_upload(data, "f.csv", SNAPSHOT)
    assert all(p.code in CODES for p in result.problems)
    assert result.accepted == (not result.problems)
    parsed = parse_upload(data, "f.csv", SNAPSHOT.template_row_limit)
    if parsed.collected is None:
        assert result.rows.num_rows == 0 and result.problems
        return
    if any(p.code in ("csv-malformed", "row-too-long") for p in result.problems):
        return  # strict parsing skipped part of a line: an independent count would differ by design
    text = _decode(data)
    records = list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1))
    data_rows = {row for row, cells in records if any(c.strip() for c in cells)} - {parsed.layout.row}
    data_rows = {row for row in data_rows if row > parsed.layout.row}
    accepted = set(result.rows.column("row").to_pylist())
    reported = {p.row for p in result.problems if p.row is not None}
    assert data_rows <= accepted | reported, "a record was neither accepted nor reported"
    assert accepted <= data_rows and reported <= data_rows | {parsed.layout.row}
    assert not accepted & reported


def _decode(data: bytes) -> str:
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
                          (codecs.BOM_UTF8, "utf-8")):
        if data.startswith(bom):
            return data[len(bom):].decode(encoding)
    return data.decode("utf-8")


@settings(max_examples=300, deadline=3000)
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash_or_hang(data):
    assert_every_record_accounted_for(data)


@settings(max_examples=200, deadline=3000)
@given(st.lists(st.text(st.sampled_from(',"\r\n ;\tab1+É'), max_size=20), max_size=30).map("".join)
       .map(lambda body: "Ext Key,User's Name,Number\n" + body))
def test_csv_punctuation_soup_never_crashes_or_drops_rows(text):
    assert_every_record_accounted_for(text.encode())


BASE = ("Ext Key,User's Name,Number\r\n0101,Tony,+6512345601\r\n102,\"Tony, Jr.\",6512345602\r\n"
        "103,Jane,\r\n104,\"Line\r\nBreak\",+65 1234 5603\r\n105,Ann,\r\n")


@st.composite
def mutations(draw):
    """A valid file with a few random byte insertions, deletions and replacements."""
    data = bytearray(draw(st.sampled_from(sorted(ENCODINGS)).map(lambda e: ENCODINGS[e](BASE))))
    alphabet = st.sampled_from([b",", b'"', b"\r", b"\n", b";", b" ", b"\x00", b"\x92", b"\xff", b"9",
                                b"E+", b"\xef\xbb\xbf"]) | st.binary(min_size=1, max_size=3)
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(alphabet)
        if action == "insert":
            data[position:position] = chunk
        elif action == "delete":
            del data[position:position + len(chunk)]
        else:
            data[position:position + len(chunk)] = chunk
    return bytes(data)


@settings(max_examples=300, deadline=3000)
@given(mutations())
def test_mutated_valid_files_never_crash_or_drop_rows(data):
    assert_every_record_accounted_for(data)


@pytest.mark.parametrize("size", [5 * 1024 * 1024])
def test_five_megabytes_of_one_long_line_is_refused_quickly(size):
    import time
    started = time.process_time()  # this process's CPU, not the wall clock: steady on a busy machine
    result = validate_upload(b"Ext Key,User's Name,Number\n101," + b"x" * (size - 40) + b",\n", "f.csv", SNAPSHOT)
    assert [p.code for p in result.problems] == ["row-too-long"]
    assert time.process_time() - started < 2
