"""Upload validation, one case per rule and code: CSV in -> [(row, column, code)] out.

The organization the uploads are checked against is ``tests/validation_org.py``; snapshots are
plain Arrow tables, so these tests need no database (one test at the end reads a real inventory).
"""

from __future__ import annotations

import codecs
import csv
import io
import uuid

import pytest

from phonesys.rules.validation import CODES, MAX_FILE_BYTES, problems_csv, validate_upload
from phonesys.rules.validation.session import open_session
from tests.validation_org import snapshot, uid

NAME = "Ext Key,User's Name,Number\n"
UUID = "Ext Key,Identity UUID,Number\n"


def flatten(result) -> list[tuple]:
    """Problems as compact (row, column, code) tuples, the way frictionless' report.flatten does."""
    return [(p.row, p.field, p.code) for p in result.problems]


def run(data: str | bytes, **options):
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return validate_upload(raw, "upload.csv", snapshot(**options))


CASES = [
    # -- file level: nothing else is checked when these fail
    pytest.param("", [(None, None, "file-empty")], {}, id="file-empty"),
    pytest.param("\r\n  \n,,\n", [(None, None, "file-empty")], {}, id="file-empty-blank-lines"),
    pytest.param(b"a" * (MAX_FILE_BYTES + 1), [(None, None, "file-too-large")], {}, id="file-too-large"),
    pytest.param(b"PK\x03\x04" + bytes(60), [(None, None, "file-not-csv")], {}, id="file-not-csv-xlsx"),
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(60), [(None, None, "file-not-csv")], {},
                 id="file-not-csv-xls"),
    pytest.param(NAME.encode() + "101,Jos’s,\n".encode("cp1252"), [(2, "User's Name", "encoding-unsupported")],
                 {}, id="encoding-cp1252"),
    pytest.param((NAME + "101,Tony,\n").encode("utf-16-le"), [(1, None, "encoding-unsupported")], {},
                 id="encoding-utf16-without-bom"),
    pytest.param((NAME + "101,Tony,\n").encode("utf-32"), [(None, None, "encoding-unsupported")], {},
                 id="encoding-utf32"),
    pytest.param(codecs.BOM_UTF16_LE + b"\x00\xd8", [(1, None, "encoding-unsupported")], {},
                 id="encoding-utf16-lone-surrogate"),
    pytest.param("Ext Key;User's Name;Number\n101;Tony;\n", [(1, None, "delimiter-semicolon")], {},
                 id="delimiter-semicolon"),
    pytest.param("Ext Key\tUser's Name\tNumber\n101\tTony\t\n", [(1, None, "delimiter-tab")], {},
                 id="delimiter-tab"),
    pytest.param(NAME, [(None, None, "file-header-only")], {}, id="file-header-only"),
    pytest.param(NAME + ",,\n\n", [(None, None, "file-header-only")], {}, id="file-header-only-blank-rows"),
    pytest.param("Ext Key,User's Name,Phone\n101,Tony,\n", [(1, "Phone", "header-unknown-column")], {},
                 id="header-unknown-column"),
    pytest.param("Ext Key,User's Name,ext key\n101,Tony,102\n", [(1, "ext key", "header-duplicate-column")],
                 {}, id="header-duplicate-column"),
    pytest.param("User's Name,Number\nTony,\n", [(1, "Ext Key", "header-missing-column")], {},
                 id="header-missing-ext-key"),
    pytest.param("Ext Key,Number\n101,\n", [(1, "User's Name / Identity UUID", "header-missing-column")], {},
                 id="header-missing-user"),
    pytest.param(f"Ext Key,User's Name,Identity UUID,Number\n101,Tony,{uid('Tony')},\n",
                 [(1, "Identity UUID", "header-mixed-identifiers")], {}, id="header-mixed-identifiers"),
    pytest.param("Ext Key,User's Name,Number,\n101,Tony,,note\n102,Jane,,\n", [(1, None, "header-blank-column")],
                 {}, id="header-blank-column"),
    pytest.param("Ext Key,Ext Key,Phone\n", [(1, "Ext Key", "header-duplicate-column"),
                                             (1, "Phone", "header-unknown-column"),
                                             (1, "User's Name / Identity UUID", "header-missing-column")],
                 {}, id="header-every-problem-at-once"),
    # -- row structure: reported per row, the other rows are still checked
    pytest.param(NAME + "101,Smith, John,\n102,Tony,\n", [(2, None, "row-too-many-cells")], {},
                 id="row-too-many-cells"),
    pytest.param(NAME + "101,Tony\n102,Jane,\n", [(2, None, "row-too-few-cells")], {}, id="row-too-few-cells"),
    pytest.param(NAME + '101,"Tony"x,\n102,Jane,\n', [(2, None, "csv-malformed")], {},
                 id="csv-malformed-text-after-quote"),
    pytest.param(NAME + '101,Tony,\n102,"Jane,\n103,Ann,\n', [(3, None, "csv-malformed")], {},
                 id="csv-malformed-unclosed-quote"),
    pytest.param(NAME + '101,Tony,\n102,"' + "x" * 70_000 + "\n", [(3, None, "row-too-long")], {},
                 id="row-too-long"),
    # -- Ext Key
    pytest.param(NAME + ",Tony,\n", [(2, "Ext Key", "ext-key-required")], {}, id="ext-key-required"),
    pytest.param(NAME + "12,Tony,\n123456,Jane,\n1O1,Ann,\n+101,Zoe,\n10.1,Bob,\n",
                 [(2, "Ext Key", "ext-key-format"), (3, "Ext Key", "ext-key-format"),
                  (4, "Ext Key", "ext-key-format"), (5, "Ext Key", "ext-key-format"),
                  (5, "User's Name", "user-in-template"), (6, "Ext Key", "ext-key-format"),
                  (6, "User's Name", "user-assigned")], {}, id="ext-key-format"),
    pytest.param(NAME + "101,Tony,\n102,Jane,\n101,Ann,\n", [(4, "Ext Key", "ext-key-duplicate")], {},
                 id="ext-key-duplicate"),
    pytest.param(NAME + "150,Tony,\n", [(2, "Ext Key", "ext-key-in-template")], {}, id="ext-key-in-template"),
    pytest.param(NAME + "200,Tony,\n0300,Jane,\n300,Ann,\n", [(2, "Ext Key", "ext-key-exists"),
                                                           (3, "Ext Key", "ext-key-exists")], {},
                 id="ext-key-exists"),
    # -- user
    pytest.param(NAME + "101,,\n", [(2, "User's Name", "user-required")], {}, id="user-required-name"),
    pytest.param(UUID + "101,  ,\n", [(2, "Identity UUID", "user-required")], {}, id="user-required-uuid"),
    pytest.param(UUID + "101,not-a-uuid,\n102,652d2f57-6e3b-4170-8bf9,\n",
                 [(2, "Identity UUID", "uuid-invalid"), (3, "Identity UUID", "uuid-invalid")], {},
                 id="uuid-invalid"),
    pytest.param(UUID + f"101,{uuid.UUID(int=1)},\n", [(2, "Identity UUID", "user-not-found")], {},
                 id="user-not-found"),
    pytest.param(NAME + "101,Nobody,\n102,Tony Jr,\n", [(2, "User's Name", "user-name-not-found"),
                                                      (3, "User's Name", "user-name-not-found")], {},
                 id="user-name-not-found"),
    pytest.param(NAME + "101,sam lee,\n", [(2, "User's Name", "user-name-ambiguous")], {},
                 id="user-name-ambiguous"),
    pytest.param(NAME + "101,Bob,\n", [(2, "User's Name", "user-assigned")], {}, id="user-assigned-name"),
    pytest.param(UUID + f"101,{uid('Bob')},\n", [(2, "Identity UUID", "user-assigned")], {},
                 id="user-assigned-uuid"),
    pytest.param(NAME + "101,Tony,\n102,  TONY ,\n", [(3, "User's Name", "user-duplicate")], {},
                 id="user-duplicate-name"),
    pytest.param(UUID + f"101,{uid('Tony')},\n102,{{{uid('Tony').upper()}}},\n",
                 [(3, "Identity UUID", "user-duplicate")], {}, id="user-duplicate-uuid"),
    pytest.param(NAME + "101,Zoe,\n", [(2, "User's Name", "user-in-template")], {}, id="user-in-template"),
    # -- Number
    pytest.param(NAME + '101,Tony,6.51E+09\n102,Jane,"6,51E+09"\n',
                 [(2, "Number", "number-scientific-notation"), (3, "Number", "number-scientific-notation")], {},
                 id="number-scientific-notation"),
    pytest.param(NAME + "101,Tony,+65-1234-5601\n102,Jane,abc\n103,Ann,++6512345601\n104,Zoe,1234567890123456\n",
                 [(2, "Number", "number-format"), (3, "Number", "number-format"), (4, "Number", "number-format"),
                  (5, "User's Name", "user-in-template"), (5, "Number", "number-format")], {},
                 id="number-format"),
    pytest.param(NAME + "101,Tony,+6599999999\n", [(2, "Number", "number-not-owned")], {}, id="number-not-owned"),
    pytest.param(NAME + "101,Tony,+6512345600\n", [(2, "Number", "number-assigned")], {}, id="number-assigned"),
    pytest.param(NAME + "101,Tony,+6512345601\n102,Jane,6512345601\n", [(3, "Number", "number-duplicate")], {},
                 id="number-duplicate"),
    pytest.param(NAME + "101,Tony,+6512345610\n", [(2, "Number", "number-in-template")], {},
                 id="number-in-template"),
    # -- template level
    pytest.param(NAME + "101,Tony,\n102,Jane,\n", [(None, None, "template-user-limit")],
                 {"template_row_limit": 2}, id="template-user-limit"),
    pytest.param(NAME + "101,Tony,\n102,Jane,\n103,Ann,\n", [(None, None, "template-user-limit")],
                 {"template_row_limit": 2, "template": False}, id="template-user-limit-file-alone"),
]


@pytest.mark.parametrize("data, expected, options", CASES)
def test_rule(data, expected, options):
    result = run(data, **options)
    assert flatten(result) == expected
    assert not result.accepted
    for problem in result.problems:
        assert problem.code in CODES
        assert problem.file == "upload.csv" and problem.message


def test_every_code_has_a_case_and_every_case_code_is_documented():
    codes = {code for case in CASES for (_, _, code) in case.values[1]}
    assert codes == set(CODES)


def test_every_code_the_source_can_emit_is_documented():
    """Codes are written in two places: Problem(...) literals and the Check table."""
    import re
    from pathlib import Path

    import phonesys.rules.validation as package
    from phonesys.rules.validation.checks import CHECKS
    source = "".join(p.read_text() for p in Path(package.__file__).parent.glob("*.py"))
    literal = set(re.findall(r'Problem\(\s*"([a-z0-9-]+)"', source))
    assert literal | {check.code for check in CHECKS} == set(CODES)


def test_every_upload_code_is_in_the_one_code_table():
    from phonesys.rules.codes import CODES as ALL_CODES
    from phonesys.rules.codes import markdown_table
    assert all(ALL_CODES[code] == meaning for code, meaning in CODES.items())
    assert all(f"| `{code}` |" in markdown_table() for code in CODES)


def test_header_after_leading_blank_lines_keeps_spreadsheet_row_numbers():
    assert flatten(run("\n,,\n" + NAME + "101,Nobody,\n")) == [(4, "User's Name", "user-name-not-found")]


def test_every_problem_of_a_file_at_once_sorted_by_row_and_column():
    data = (NAME + "101,Tony,+6512345601\n"
                   "101,Nobody,6.51E+09\n"
                   "12,Tony\n"
                   ",Bob,+6512345601\n")
    assert flatten(run(data)) == [
        (3, "Ext Key", "ext-key-duplicate"), (3, "User's Name", "user-name-not-found"),
        (3, "Number", "number-scientific-notation"), (4, None, "row-too-few-cells"),
        (5, "Ext Key", "ext-key-required"), (5, "User's Name", "user-assigned"),
        (5, "Number", "number-duplicate"),
    ]


# -- what a valid file becomes -----------------------------------------------------------------------

def rows(result) -> list[tuple]:
    assert result.accepted, flatten(result)
    return [(r["row"], r["ext_key"], r["user_name"], r["number"]) for r in result.rows.to_pylist()]


def test_valid_file_by_name():
    result = run(NAME + "101,Tony,+6512345601\n102,Jane,\n")
    assert result.identifier_kind == "name"
    assert rows(result) == [(2, "101", "Tony", "+6512345601"), (3, "102", "Jane", None)]
    assert result.rows.column("identity_uuid").to_pylist() == [uid("Tony"), uid("Jane")]
    assert len(result.sha256) == 64 and result.file_name == "upload.csv"


def test_valid_file_by_uuid_canonicalises_case_and_braces():
    result = run(UUID + f"101,{uid('Tony').upper()},\n102,{{{uid('Jane')}}},\n")
    assert result.identifier_kind == "uuid"
    assert result.rows.column("identity_uuid").to_pylist() == [uid("Tony"), uid("Jane")]


def test_names_match_trimmed_case_folded_and_whitespace_collapsed():
    assert rows(run(NAME + "101,  tony ,\n102,JOSÉ   álvarez,\n")) == [
        (2, "101", "Tony", None), (3, "102", "José Álvarez", None)]


def test_header_in_any_order_trimmed_case_insensitive_with_typographic_apostrophe():
    data = " number ,USER’S NAME,ext key\n+6512345601,Tony,101\n"
    assert rows(run(data)) == [(2, "101", "Tony", "+6512345601")]
    assert flatten(run(" number ,USER’S NAME,ext key\nx,Tony,101\n")) == [(2, "number", "number-format")]


def test_number_column_is_optional():
    assert rows(run("Ext Key,User's Name\n101,Tony\n")) == [(2, "101", "Tony", None)]


def test_unnamed_empty_column_is_tolerated():
    assert rows(run("Ext Key,User's Name,Number,,\n101,Tony,,,\n")) == [(2, "101", "Tony", None)]


# -- spreadsheet artefacts -----------------------------------------------------------------------------

VALID = "Ext Key,User's Name,Number\r\n0101,Tony,6512345601\r\n102,Jane,\r\n"
VALID_ROWS = [(2, "0101", "Tony", "+6512345601"), (3, "102", "Jane", None)]


@pytest.mark.parametrize("encode", [
    pytest.param(lambda t: t.encode("utf-8"), id="utf-8"),
    pytest.param(lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), id="utf-8-bom"),
    pytest.param(lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"), id="utf-16-le-bom"),
    pytest.param(lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), id="utf-16-be-bom"),
    pytest.param(lambda t: t.replace("\r\n", "\n").encode(), id="lf"),
    pytest.param(lambda t: t.replace("\r\n", "\r").encode(), id="old-mac-cr"),
    pytest.param(lambda t: (t + "\r\n\r\n,,\r\n  \r\n").encode(), id="trailing-blank-lines"),
    pytest.param(lambda t: t.rstrip("\r\n").encode(), id="no-final-newline"),
])
def test_encodings_and_line_endings(encode):
    """CRLF, LF, CR, BOMs, UTF-16 and trailing blank lines all give the same rows; leading zeros stay."""
    assert rows(run(encode(VALID))) == VALID_ROWS


def test_stripped_plus_and_spaces_in_numbers_are_restored():
    assert rows(run(NAME + "101,Tony,6512345601\n102,Jane,+65 1234 5602\n103,Ann, 65\u00a012345603 \n")) == [
        (2, "101", "Tony", "+6512345601"), (3, "102", "Jane", "+6512345602"), (4, "103", "Ann", "+6512345603")]


def test_scientific_notation_says_to_format_as_text():
    [problem] = run(NAME + "101,Tony,6.51E+09\n").problems
    assert problem.value == "6.51E+09" and "format the column as Text" in problem.message


def test_cp1252_smart_quote_names_byte_offset_row_and_meaning():
    data = NAME.encode() + "101,Tony,\n102,Jos’s,\n".encode("cp1252")
    [problem] = run(data).problems
    offset = data.index(b"\x92")
    assert (problem.code, problem.row, problem.field) == ("encoding-unsupported", 3, "User's Name")
    assert f"0x92 at offset {offset}" in problem.message and "’" in problem.message
    assert "CSV UTF-8" in problem.message


def test_semicolon_file_is_explained():
    [problem] = run("Ext Key;User's Name;Number\r\n101;Tony;\r\n").problems
    assert "semicolon" in problem.message and "CSV UTF-8" in problem.message


def test_semicolon_rows_under_a_comma_header_get_a_hint():
    [problem] = run(NAME + "101;Tony;\n").problems
    assert problem.code == "row-too-few-cells" and "semicolons" in problem.message


def test_quoted_commas_quotes_and_line_breaks_keep_row_numbers_right():
    data = (NAME + '101,"Tony, Jr.",\n'
                   '102,"Line\r\nBreak",\n'
                   '"103","Ann",""\n'
                   '104,"Nobody ""Nick"" Here",\n')
    result = run(data)
    assert flatten(result) == [(5, "User's Name", "user-name-not-found")]
    assert result.problems[0].value == 'Nobody "Nick" Here'
    assert [(r["row"], r["user_name"]) for r in result.rows.to_pylist()] == [
        (2, "Tony, Jr."), (3, "Line Break"), (4, "Ann")]


def test_blank_rows_inside_the_file_are_skipped_but_counted():
    result = run(NAME + "101,Tony,\n\n,,\n102,Nobody,\n")
    assert flatten(result) == [(5, "User's Name", "user-name-not-found")]


# -- messages say how to fix --------------------------------------------------------------------------

def message(data: str, code: str) -> str:
    return next(p.message for p in run(data).problems if p.code == code)


def test_ambiguous_name_lists_at_most_five_candidates():
    text = message(NAME + "101,john smith,\n", "user-name-ambiguous")
    assert "matches 7 users" in text and text.count("John Smith (") == 5 and "and 2 more" in text
    text = message(NAME + "101,Sam Lee,\n", "user-name-ambiguous")
    assert uid("Sam Lee") in text and uid("Sam  lee") in text


def test_duplicates_name_the_first_row_and_template_hits_name_file_and_row():
    assert "row 2" in message(NAME + "101,Tony,\n101,Jane,\n", "ext-key-duplicate")
    assert "row 2" in message(NAME + "101,Tony,\n102,tony,\n", "user-duplicate")
    assert "first.csv, row 2" in message(NAME + "150,Tony,\n", "ext-key-in-template")
    assert "first.csv, row 2" in message(NAME + "101,Zoe,\n", "user-in-template")
    assert "extension 200" in message(NAME + "101,Bob,\n", "user-assigned")
    assert "extension 200" in message(NAME + "101,Tony,+6512345600\n", "number-assigned")


def test_huge_cell_values_are_cut_in_messages():
    problem = run(NAME + "101," + "x" * 10_000 + ",\n").problems[0]
    assert len(problem.message) < 400 and len(problem.value) == 200


# -- the errors CSV ------------------------------------------------------------------------------------

def test_problems_csv_is_excel_safe_and_round_trips():
    result = run(NAME + "101,=HYPERLINK(\"x\"),\n102,Tony,+6599999999\n")
    data = problems_csv(result.problems)
    assert data.startswith(codecs.BOM_UTF8) and b"\r\n" in data
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert records[0] == ["file", "row", "column", "value", "code", "message"]
    assert records[1][:5] == ["upload.csv", "2", "User's Name", "'=HYPERLINK(\"x\")", "user-name-not-found"]
    assert records[2][:5] == ["upload.csv", "3", "Number", "+6599999999", "number-not-owned"]
    assert problems_csv([]).decode("utf-8-sig") == "file,row,column,value,code,message\r\n"


# -- the DuckDB connection ------------------------------------------------------------------------------

def test_session_cannot_touch_files_or_extensions(tmp_path):
    from phonesys.rules.validation.table import UPLOAD_SCHEMA
    (tmp_path / "x.csv").write_text("a\n1\n")
    with open_session(UPLOAD_SCHEMA.empty_table(), snapshot().conformed(), "name") as connection:
        with pytest.raises(Exception, match="disabled|Permission"):
            connection.sql(f"SELECT * FROM read_csv('{tmp_path}/x.csv')").fetchall()
        with pytest.raises(Exception, match="locked"):
            connection.execute("SET enable_external_access = true")
        assert connection.sql("SELECT count(*) FROM checked").fetchall() == [(0,)]


# -- a snapshot read from a real inventory (SQLite and PostgreSQL) -------------------------------------

def test_snapshot_from_inventory_reads_users_numbers_and_keys(engine, org):
    import pyarrow as pa

    from phonesys.rules.validation import TEMPLATE_ROWS_SCHEMA
    from phonesys.storage.inventory.engine import read_transaction
    from phonesys.storage.inventory.extensions import assign_user, set_number
    from phonesys.storage.inventory.provisioning import provision
    from phonesys.storage.inventory.snapshot import snapshot_from_inventory

    holder, free = org.users[0], org.users[1]
    provision(engine, org.org_uuid, 2, "0201")
    assign_user(engine, org.org_uuid, "0201", holder.identity_uuid)
    set_number(engine, org.org_uuid, "0201", org.numbers[0])
    template = pa.table({"ext_key": ["0300"], "identity_uuid": [org.users[2].identity_uuid], "number": [None],
                         "file_name": ["a.csv"], "row": [2]}, schema=TEMPLATE_ROWS_SCHEMA)
    with read_transaction(engine) as connection:
        snap = snapshot_from_inventory(connection, org.org_uuid, template)
    users = {u["identity_uuid"]: u for u in snap.users.to_pylist()}
    assert len(users) == len(org.users)
    assert users[holder.identity_uuid]["assigned_ext"] == "0201"
    assert users[free.identity_uuid] == {"identity_uuid": free.identity_uuid, "name": free.name,
                                         "name_key": free.name.casefold(), "assigned_ext": None}
    numbers = dict(zip(snap.numbers["number"].to_pylist(), snap.numbers["assigned_ext"].to_pylist()))
    assert numbers == {n: ("0201" if n == org.numbers[0] else None) for n in org.numbers}
    assert sorted(snap.ext_keys["ext_key"].to_pylist()) == ["0201", "0202"]

    data = (f"Ext Key,Identity UUID,Number\n0201,{holder.identity_uuid},{org.numbers[0]}\n"
            f"0203,{free.identity_uuid},{org.numbers[1][1:]}\n0300,{org.users[2].identity_uuid},\n")
    result = validate_upload(data.encode(), "b.csv", snap)
    assert flatten(result) == [(2, "Ext Key", "ext-key-exists"), (2, "Identity UUID", "user-assigned"),
                               (2, "Number", "number-assigned"), (4, "Ext Key", "ext-key-in-template"),
                               (4, "Identity UUID", "user-in-template")]
    assert result.rows.to_pylist() == [{"row": 3, "ext_key": "0203", "identity_uuid": free.identity_uuid,
                                        "user_name": free.name, "number": org.numbers[1]}]
