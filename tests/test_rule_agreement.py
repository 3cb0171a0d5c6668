"""One rule, two forms: the Python checks (org documents, manual commands) and the upload's DuckDB
SQL must give the same verdict on the same cell. The SQL is built from the patterns in
``phonesys.rules.values``; these properties prove the two forms agree on whatever a cell holds."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phonesys.rules.errors import Problem
from phonesys.rules.validation import validate_upload
from phonesys.rules.values import check_ext_key, check_number
from tests.validation_org import snapshot

SNAPSHOT = snapshot(template=False)
EXT_CODES = {"ext-key-required", "ext-key-format"}
NUMBER_FORMAT_CODES = {"number-scientific-notation", "number-format"}
AGREE = settings(max_examples=300, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
# What people type into these cells, and what spreadsheets and other scripts add: digits (ASCII and
# not), signs, separators, exponents, every kind of blank.
cell = st.text(st.sampled_from(list("0123456789+-., eE()") + ["\t", "\u00a0", "\u2003", "\u3000", "\u0661",
                                                                "\uff11", "\x0b", "\x1c", "\x85", "a"]),
               max_size=20)
# Near misses of real numbers: the right shape, one digit too many or few, blanks inside, an exponent.
digits = st.from_regex(r"\+?[0-9]{1,18}", fullmatch=True)
near_number = st.tuples(digits, st.sampled_from(["", " ", "\t", "\u00a0", "e5", "E+09", ".5", "++"]),
                        st.integers(0, 18)).map(lambda t: t[0][:t[2]] + t[1] + t[0][t[2]:])
cell = st.one_of(cell, digits, near_number)


def upload_one_row(ext_key: str, number: str) -> tuple[list[Problem], list[dict]]:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([["Ext Key", "User's Name", "Number"],
                                                          [ext_key, "Tony", number]])
    result = validate_upload(buffer.getvalue().encode("utf-8"), "f.csv", SNAPSHOT)
    return result.problems, result.rows.to_pylist()


def codes_on(problems: list[Problem], field: str) -> set[str]:
    return {p.code for p in problems if p.field == field}


@AGREE
@given(cell)
def test_ext_key_rule_agrees(text: str) -> None:
    python = check_ext_key(text)
    problems, rows = upload_one_row(text, "")
    sql_codes = codes_on(problems, "Ext Key") & EXT_CODES
    if isinstance(python, Problem):
        assert sql_codes == {python.code}
    else:
        assert sql_codes == set()
        assert not rows or rows[0]["ext_key"] == python


@AGREE
@given(cell)
def test_number_rule_agrees(text: str) -> None:
    python = check_number(text) if "".join(text.split()) else None
    problems, rows = upload_one_row("4321", text)
    sql_format = codes_on(problems, "Number") & NUMBER_FORMAT_CODES
    if isinstance(python, Problem) and python.code in NUMBER_FORMAT_CODES:
        assert sql_format == {python.code}
        return
    assert sql_format == set()
    if isinstance(python, Problem):  # number-invalid: never in an organization, so never owned
        assert "number-not-owned" in codes_on(problems, "Number")
    elif python is not None and rows:
        assert rows[0]["number"] == python
