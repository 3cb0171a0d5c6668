"""Single-value domain rules (phonesys.rules.values): each case is input -> canonical value or problem code."""

from __future__ import annotations

import pytest

from phonesys.rules.errors import Problem
from phonesys.rules.values import (
    check_directory_name,
    check_ext_key,
    check_number,
    check_sku,
    check_user_name,
    check_uuid,
    consecutive_ext_keys,
    name_key,
    printable,
    split_checked,
    unsafe_characters,
)

# bidi embeddings, overrides, isolates and marks (written out here, not taken from phonesys.rules.values)
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
        "\u200e", "\u200f", "\u061c"]


def outcome(result):
    """A check result as comparable data: the canonical value, or ('!', code)."""
    return ("!", result.code) if isinstance(result, Problem) else result


@pytest.mark.parametrize("raw, expected", [
    ("101", "101"),
    ("0101", "0101"),            # leading zeros survive: keys are text
    ("00000", "00000"),
    ("99999", "99999"),
    (" 205 ", "205"),            # surrounding blanks are trimmed
    ("", ("!", "ext-key-required")),
    ("   ", ("!", "ext-key-required")),
    ("12", ("!", "ext-key-format")),
    ("123456", ("!", "ext-key-format")),
    ("1O1", ("!", "ext-key-format")),
    ("+101", ("!", "ext-key-format")),
    ("-101", ("!", "ext-key-format")),
    ("10.1", ("!", "ext-key-format")),
    ("1 01", ("!", "ext-key-format")),
    ("١٢٣", ("!", "ext-key-format")),  # non-ASCII digits are not digits here
    ("１２３", ("!", "ext-key-format")),
])
def test_check_ext_key(raw, expected):
    assert outcome(check_ext_key(raw)) == expected


def test_ext_key_problem_names_field_and_value():
    problem = check_ext_key("12", "start")
    assert (problem.code, problem.field, problem.value) == ("ext-key-format", "start", "12")
    assert "3 to 5 digits" in problem.message


@pytest.mark.parametrize("start, count, expected", [
    ("101", 1, ["101"]),
    ("101", 3, ["101", "102", "103"]),
    ("0998", 3, ["0998", "0999", "1000"]),        # zero padding to the start key's width
    ("099", 2, ["099", "100"]),
    ("00001", 2, ["00001", "00002"]),
    ("9998", 3, ["9998", "9999", "10000"]),       # a key may grow from 4 to 5 digits
    ("99999", 1, ["99999"]),
    (" 101 ", 2, ["101", "102"]),
])
def test_consecutive_ext_keys(start, count, expected):
    assert consecutive_ext_keys(start, count) == expected


@pytest.mark.parametrize("start, count, codes", [
    ("99999", 2, ["ext-key-range"]),
    ("99990", 11, ["ext-key-range"]),
    ("101", 10**12, ["ext-key-range"]),           # answered without building a huge list
    ("101", 0, ["count-invalid"]),
    ("101", -5, ["count-invalid"]),
    ("12", 3, ["ext-key-format"]),
    ("123456", 1, ["ext-key-format"]),
    ("12", 0, ["ext-key-format", "count-invalid"]),  # every problem at once
    ("", 1, ["ext-key-required"]),
])
def test_consecutive_ext_keys_problems(start, count, codes):
    result = consecutive_ext_keys(start, count)
    assert all(isinstance(p, Problem) for p in result)
    assert [p.code for p in result] == codes


def test_consecutive_ext_keys_range_fits_exactly():
    keys = consecutive_ext_keys("99990", 10)
    assert len(keys) == 10 and keys[-1] == "99999"


@pytest.mark.parametrize("raw, expected", [
    ("+6560000001", "+6560000001"),
    ("6560000001", "+6560000001"),               # Excel drops the '+': restored
    (" +65 6000 0001 ", "+6560000001"),          # blanks inside and around are ignored
    ("44 20 7946 0958", "+442079460958"),
    ("+14155550123", "+14155550123"),
    ("6.56E+09", ("!", "number-scientific-notation")),
    ("6.5600001e9", ("!", "number-scientific-notation")),
    ("6,51E+09", ("!", "number-scientific-notation")),
    ("6E9", ("!", "number-scientific-notation")),
    ("65-6000-0001", ("!", "number-format")),
    ("(65) 60000001", ("!", "number-format")),
    ("++6560000001", ("!", "number-format")),
    ("6560000001+", ("!", "number-format")),
    ("tel:+6560000001", ("!", "number-format")),
    ("", ("!", "number-format")),
    ("+", ("!", "number-format")),
    ("+1", ("!", "number-invalid")),              # digits, but not a possible number
    ("+0065", ("!", "number-invalid")),
    ("12345678901234567", ("!", "number-format")),   # more than E.164's 15 digits: as an upload says
    ("+65\t6000\u00a00001", "+6560000001"),          # any blank, as the upload's SQL removes them
    ("+4407700900123", ("!", "number-invalid")),     # trunk 0 kept: refused with the form to use
])
def test_check_number(raw, expected):
    assert outcome(check_number(raw)) == expected


def test_scientific_notation_hint_says_how_to_fix():
    problem = check_number("6.51E+09", "Number")
    assert problem.field == "Number" and problem.value == "6.51E+09"
    assert "Text" in problem.message and "scientific" in problem.message


@pytest.mark.parametrize("raw, expected", [
    ("652d2f57-6e3b-4170-8bf9-4f1e98c88b56", "652d2f57-6e3b-4170-8bf9-4f1e98c88b56"),
    ("652D2F57-6E3B-4170-8BF9-4F1E98C88B56", "652d2f57-6e3b-4170-8bf9-4f1e98c88b56"),
    ("{652d2f57-6e3b-4170-8bf9-4f1e98c88b56}", "652d2f57-6e3b-4170-8bf9-4f1e98c88b56"),
    ("652d2f576e3b41708bf94f1e98c88b56", "652d2f57-6e3b-4170-8bf9-4f1e98c88b56"),
    ("  652d2f57-6e3b-4170-8bf9-4f1e98c88b56\t", "652d2f57-6e3b-4170-8bf9-4f1e98c88b56"),
    ("652d2f57-6e3b-4170-8bf9", ("!", "uuid-invalid")),
    ("652d2f57-6e3b-4170-8bf9-4f1e98c88b56-00", ("!", "uuid-invalid")),
    ("g52d2f57-6e3b-4170-8bf9-4f1e98c88b56", ("!", "uuid-invalid")),
    ("acme", ("!", "uuid-invalid")),
    ("", ("!", "uuid-invalid")),
])
def test_check_uuid(raw, expected):
    assert outcome(check_uuid(raw, "Identity UUID")) == expected


def test_uuid_problem_carries_field():
    problem = check_uuid("nope", "users.3.identity_uuid")
    assert (problem.field, problem.value) == ("users.3.identity_uuid", "nope")


@pytest.mark.parametrize("a, b", [
    ("Tony Tan", "tony tan"),
    ("Tony Tan", "  TONY   TAN "),
    ("Tony Tan", "Tony\tTan"),
    ("Straße", "STRASSE"),                        # case-folding, not just lower()
    ("Ｔｏｎｙ", "tony"),                          # NFKC: full-width letters
    ("José", "Jose\u0301"),                        # NFKC: composed == decomposed
])
def test_name_key_matches(a, b):
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize("a, b", [("Tony Tan", "Tony Tang"), ("Tony Tan", "TonyTan"), ("Jose", "José")])
def test_name_key_distinguishes(a, b):
    assert name_key(a) != name_key(b)


@pytest.mark.parametrize("raw, expected", [
    ("Tony Tan", "Tony Tan"),
    ("  Tony    Tan  ", "Tony Tan"),
    ("", ("!", "user-name-required")),
    ("   ", ("!", "user-name-required")),
    ("x" * 200, "x" * 200),
    ("x" * 201, ("!", "user-name-too-long")),
    ("Tony\tTan", "Tony Tan"),                   # whitespace controls collapse into one space
    ("Tony\x1b[31mTan", ("!", "user-name-control-char")),
    ("Tony\x00Tan", ("!", "user-name-control-char")),
    ("Tony\x07Tan", ("!", "user-name-control-char")),
    ("Tony\x9bTan", ("!", "user-name-control-char")),   # C1 CSI
    ("Tony\x7fTan", ("!", "user-name-control-char")),
    *[(f"Tony{c}Tan", ("!", "user-name-control-char")) for c in BIDI],
])
def test_check_user_name(raw, expected):
    assert outcome(check_user_name(raw)) == expected


@pytest.mark.parametrize("raw, expected", [
    ("Front desk", "Front desk"),
    ("  Front desk  ", "Front desk"),
    ("", ""),                                    # empty: falls back to the user's name
    ("x" * 100, "x" * 100),
    (" " + "x" * 100 + " ", "x" * 100),
    ("x" * 101, ("!", "directory-name-too-long")),
    ("Front\x07desk", ("!", "directory-name-control-char")),
    ("Front\ndesk", ("!", "directory-name-control-char")),
    ("Front\x1bdesk", ("!", "directory-name-control-char")),
    *[(f"Front{c}desk", ("!", "directory-name-control-char")) for c in BIDI],
    ("Nguyễn Văn An", "Nguyễn Văn An"),
    ("مكتب الاستقبال", "مكتب الاستقبال"),          # right-to-left text itself is fine
])
def test_check_directory_name(raw, expected):
    assert outcome(check_directory_name(raw)) == expected


@pytest.mark.parametrize("raw, expected", [
    ("Call Recording", "Call Recording"),
    ("  Call   Recording ", "Call Recording"),
    ("", ("!", "addon-sku-invalid")),
    ("x" * 101, ("!", "addon-sku-invalid")),
    ("Call\x00Recording", ("!", "addon-sku-invalid")),
    ("Call\u202eRecording", ("!", "addon-sku-invalid")),
])
def test_check_sku(raw, expected):
    assert outcome(check_sku(raw)) == expected


def test_unsafe_characters_are_named_and_printed_escaped():
    assert unsafe_characters("a\x1b[1mb\x1b\u202ec") == ["U+001B", "U+202E"]
    assert unsafe_characters("Zoë \u00a0Lee") == []
    assert printable("a\x1b[2Jb\x07\u2066c") == "a\\u001b[2Jb\\u0007\\u2066c"


def test_split_checked():
    values, problems = split_checked([check_ext_key("101"), check_ext_key("1"), check_ext_key("0102")])
    assert values == ["101", "0102"]
    assert [p.code for p in problems] == ["ext-key-format"]


def test_problem_str_and_dict():
    problem = Problem("user-name-required", "User's name is required.", "User's Name", "", 7, "users.csv")
    assert str(problem) == "users.csv:7: user-name-required: User's name is required."
    assert Problem("c", "m").as_dict() == {"code": "c", "message": "m"}
    assert problem.as_dict()["row"] == 7
