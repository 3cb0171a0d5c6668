"""``phonesys org load`` read as a hostile user would write it: YAML that YAML 1.1 would turn into
other numbers or booleans, counts that are not whole numbers or are huge, control and bidi characters
in names, deep nesting, duplicate keys, an oversize file. Each is refused with exit 1, one line per
problem naming the file, the document path and a stable code, and nothing changes."""

from __future__ import annotations

import json

import pytest
import yaml

from phonesys.rules.orgparse import MAX_DEPTH, MAX_DOCUMENT_BYTES
from phonesys.rules.orgyaml import EventParser, PurePythonParser, Unacceptable, parse_yaml
from phonesys.rules.values import COUNT_MAX
from phonesys.storage.inventory.orgs import load_org
from tests.cliassert import ok
from tests.cliassert import refused as refused_problems
from tests.conftest import make_document
from tests.test_org_load import ORG, OTHER, U, document, refused, state, write  # noqa: F401 - fixture

HEAD = f"org_uuid: {ORG}\nname: Acme\n"
USER = f"users:\n  - identity_uuid: {U[0]}\n    name: "


def yaml_numbers(*items: str) -> str:
    return HEAD + "base_licenses: 1\nnumbers:\n" + "".join(f"  - {item}\n" for item in items)


HOSTILE = [
    # (id, content, suffix, [(code, field)])
    ("yaml octal number", yaml_numbers("006560000003"), ".yaml", [("number-invalid", "numbers.0")]),
    ("yaml 0o octal number", yaml_numbers("0o6560000003"), ".yaml", [("number-format", "numbers.0")]),
    ("yaml hex number", yaml_numbers("0x6560000003"), ".yaml", [("number-format", "numbers.0")]),
    ("yaml underscores", yaml_numbers("6_560_000_004"), ".yaml", [("number-format", "numbers.0")]),
    ("yaml sexagesimal", yaml_numbers("65:60:00"), ".yaml", [("number-format", "numbers.0")]),
    ("yaml bool number", yaml_numbers("yes"), ".yaml", [("number-format", "numbers.0")]),
    ("yaml explicit int tag", yaml_numbers("!!int 0x10"), ".yaml", [("document-invalid", "file")]),
    ("yaml explicit bool tag", HEAD + "base_licenses: !!bool yes\n", ".yaml", [("document-invalid", "file")]),
    ("yaml python tag", HEAD + "base_licenses: !!python/name:os.system\n", ".yaml",
     [("document-invalid", "file")]),
    ("yaml alias", HEAD + "base_licenses: 1\nnumbers: &n ['+6560000001']\naddons: {x: *n}\n", ".yaml",
     [("document-invalid", "file")]),
    ("yaml count yes", HEAD + "base_licenses: yes\n", ".yaml", [("document-invalid", "base_licenses")]),
    ("yaml count true", HEAD + "base_licenses: true\n", ".yaml", [("document-invalid", "base_licenses")]),
    ("yaml count on", HEAD + "base_licenses: 1\naddons:\n  Fax: on\n", ".yaml", [("document-invalid", "addons.Fax")]),
    ("yaml count quoted", HEAD + "base_licenses: '10'\n", ".yaml", [("document-invalid", "base_licenses")]),
    ("yaml count hex", HEAD + "base_licenses: 0x10\n", ".yaml", [("document-invalid", "base_licenses")]),
    ("yaml count octal", HEAD + "base_licenses: 010\n", ".yaml", [("document-invalid", "base_licenses")]),
    ("yaml count underscores", HEAD + "base_licenses: 1_000\n", ".yaml", [("document-invalid", "base_licenses")]),
    ("yaml count float", HEAD + "base_licenses: 1e3\n", ".yaml", [("document-invalid", "base_licenses")]),
    ("json count true", document(base_licenses=True), ".json", [("document-invalid", "base_licenses")]),
    ("json count string", document(base_licenses="10"), ".json", [("document-invalid", "base_licenses")]),
    ("json count float", document(base_licenses=10.0), ".json", [("document-invalid", "base_licenses")]),
    ("json addon count false", document(addons={"Fax": False}), ".json", [("document-invalid", "addons.Fax")]),
    ("json addon count string", document(addons={"Fax": "10"}), ".json", [("document-invalid", "addons.Fax")]),
    ("addon count 2**63", document(addons={"Fax": 2**63}), ".json", [("document-invalid", "addons.Fax")]),
    ("yaml addon count 2**63", HEAD + f"base_licenses: 1\naddons:\n  Fax: {2**63}\n", ".yaml",
     [("document-invalid", "addons.Fax")]),
    ("base count above max", document(base_licenses=COUNT_MAX + 1), ".json", [("document-invalid", "base_licenses")]),
    ("json count with 5000 digits", '{"base_licenses": ' + "9" * 5000 + "}", ".json",
     [("document-unreadable", "file")]),
    ("json NaN", '{"base_licenses": NaN}', ".json", [("document-unreadable", "file")]),
    ("json name ESC", document(users=[{"identity_uuid": U[0], "name": "Tony\x1b[2J Tan"}]), ".json",
     [("user-name-control-char", "users.0.name")]),
    ("json name NUL", document(users=[{"identity_uuid": U[0], "name": "Tony\x00Tan"}]), ".json",
     [("user-name-control-char", "users.0.name")]),
    ("yaml name BEL", HEAD + "base_licenses: 1\n" + USER + '"Tony\\aTan"\n', ".yaml",
     [("user-name-control-char", "users.0.name")]),
    ("yaml name ESC", HEAD + "base_licenses: 1\n" + USER + '"\\e]0;pwned\\aTony"\n', ".yaml",
     [("user-name-control-char", "users.0.name")]),
    ("name C1 control", document(users=[{"identity_uuid": U[0], "name": "Tony\x9bTan"}]), ".json",
     [("user-name-control-char", "users.0.name")]),
    ("name right-to-left override", document(users=[{"identity_uuid": U[0], "name": "Tony \u202eTan"}]), ".json",
     [("user-name-control-char", "users.0.name")]),
    ("name isolates and marks", document(users=[{"identity_uuid": U[0], "name": "A\u2066B\u2069"},
                                                {"identity_uuid": U[1], "name": "C\u200fD\u061c"}]), ".json",
     [("user-name-control-char", "users.0.name"), ("user-name-control-char", "users.1.name")]),
    ("org name ESC", document(name="Acme\x1b[31m"), ".json", [("document-invalid", "name")]),
    ("addon name bidi", document(addons={"Fax\u202e": 1}), ".json", [("addon-sku-invalid", "addons.Fax\u202e")]),
    ("json duplicate key", '{"org_uuid": "%s", "name": "A", "base_licenses": 1, "base_licenses": 9}' % ORG,
     ".json", [("document-duplicate-key", "base_licenses")]),
    ("json nested duplicate key", json.dumps(document())[:-1] + ', "users": [{"identity_uuid": "%s", '
     '"name": "A", "name": "B"}]}' % U[0], ".json",
     [("document-duplicate-key", "users"), ("document-duplicate-key", "users.0.name")]),
    ("yaml duplicate key", HEAD + "base_licenses: 1\nbase_licenses: 1\nname: B\n", ".yaml",
     [("document-duplicate-key", "base_licenses"), ("document-duplicate-key", "name")]),
    ("duplicate key and bad values", HEAD + "base_licenses: yes\nname: B\nnumbers: [0x1]\n", ".yaml",
     [("document-duplicate-key", "name"), ("document-invalid", "base_licenses"), ("number-format", "numbers.0")]),
    ("deep json", "[" * 100_000 + "]" * 100_000, ".json", [("document-too-deep", "file")]),
    ("deep yaml flow", "[" * 100_000 + "]" * 100_000, ".yaml", [("document-too-deep", "file")]),
    ("deep yaml block", "a:\n" + "".join(" " * i + "- \n" for i in range(1, 5000)), ".yaml",
     [("document-too-deep", "file")]),
    ("json one level too deep", '{"users": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}", ".json",
     [("document-too-deep", "file")]),
    ("yaml one level too deep", "users: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n", ".yaml",
     [("document-too-deep", "file")]),
]


@pytest.mark.parametrize("content, suffix, expected", [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_document_is_refused_and_changes_nothing(cli, write, engine, content, suffix, expected):
    load_org(engine, make_document(OTHER, number_prefix="+656"))  # an org that must stay as it is
    before = state(cli, OTHER)
    path = write(content, suffix)
    assert refused(cli, "org", "load", path) == expected
    assert state(cli, OTHER) == before  # and ORG was not created: `org list` is part of the state
    lines = cli("org", "load", path).stderr.splitlines()
    assert all(line.startswith(f"error {path}: ") for line in lines), lines
    assert not any(c in "".join(lines) for c in "\x00\x07\x1b\x9b\u202e\u2066\u200f"), lines


def test_exactly_max_depth_is_a_schema_problem_not_too_deep(cli, write):
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    for suffix in (".json", ".yaml"):
        problems = refused(cli, "org", "load", write('{"users": %s}' % nested, suffix))
        assert ("document-too-deep", "file") not in problems and ("document-invalid", "users.0") in problems


def test_oversize_document_is_refused_before_it_is_read(cli, write):
    before = state(cli)
    path = write(json.dumps(document()).encode() + b" " * MAX_DOCUMENT_BYTES)
    assert refused(cli, "org", "load", path) == [("file-too-large", "file")]
    assert refused(cli, "org", "load", write(b" " * (MAX_DOCUMENT_BYTES - 2) + b"[]")) == \
        [("document-invalid", "document")]  # exactly at the limit: read, then refused for its shape
    assert state(cli) == before


def test_unquoted_yaml_values_keep_their_literal_text(cli, write):
    path = write(f"""org_uuid: {ORG}
name: 007
base_licenses: {COUNT_MAX}
addons:
  123: 0
  yes: {COUNT_MAX}
numbers:
  - 6560000001
  - +6560000002
{USER}no
""", ".yaml")
    assert ok(cli, "org", "load", path)["numbers"] == 2
    shown = ok(cli, "org", "show", ORG)
    assert (shown["name"], shown["base_licenses"]["total"]) == ("007", COUNT_MAX)
    assert {sku: pool["total"] for sku, pool in shown["addons"].items()} == {"123": 0, "yes": COUNT_MAX}
    ok(cli, "provision", ORG, "-n", "2", "-s", "101")
    assert ok(cli, "ext", "set-number", ORG, "101", "+6560000001")["number"] == "+6560000001"
    assert ok(cli, "ext", "set-number", ORG, "102", "+6560000002")["number"] == "+6560000002"
    assert ok(cli, "ext", "assign-user", ORG, "101", "no")["user"]["identity_uuid"] == U[0]


def test_a_quoted_value_in_a_message_cannot_drive_the_terminal(cli, write):
    path = write(document(numbers=["\x1b]0;title\x07+65\u202e123"]))
    [problem] = refused_problems(cli, "org", "load", path)
    assert problem["code"] == "number-format" and "\x1b" in problem["value"]  # JSON keeps the value
    line = cli("org", "load", path).stderr
    assert "\\u001b]0;title\\u0007+65\\u202e123" in line and "\x1b" not in line


YAML_SAMPLES = [c[1] for c in HOSTILE if c[2] == ".yaml"] + [
    f"{HEAD}base_licenses: 3\naddons: {{Fax: 1, 123: 2}}\nnumbers: [6560000001, '+6560000002', 0x1]\n"
    f"{USER}|\n      Tony\n      Tan\n",
    "a: ! 12\nb: !!str 0x10\nc: ~\nd:\ne: -0\n---\nf: 1\n",
]


@pytest.mark.parametrize("text", YAML_SAMPLES)
def test_libyaml_and_pure_python_parsers_read_alike(text):
    """Where libyaml is missing PyYAML's own parser takes over, with the same values and refusals."""
    def outcome(parser):
        try:
            return parse_yaml(text, parser)
        except Unacceptable as exc:
            return exc.code
        except yaml.YAMLError:
            return "unreadable"

    assert outcome(PurePythonParser) == outcome(EventParser)
