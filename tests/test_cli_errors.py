"""Bad input for every command, through the CLI: exit 1, one stderr line per problem with its stable
code, ``--json`` gives ``{"ok": false, "problems": [...]}``, and nothing changed in either org.

Each case is ``args -> [(code, field)]``; ``{A}``, ``{B}`` and the other placeholders are filled from
the ``world`` fixture: org A has extensions 101-103 (101 holds user 0, number 0 and the only
Voicemail license; 3 base licenses left), org B has extension 101.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from phonesys.rules.orgfile import UserEntry
from phonesys.storage.inventory.orgs import load_org
from tests.cliassert import ok, refused
from tests.conftest import make_document

UNKNOWN_ORG = "00000000-0000-4000-8000-000000000000"
TONY_1, TONY_2 = "7a000000-0000-4000-8000-000000000001", "7a000000-0000-4000-8000-000000000002"


def snapshot(cli, *orgs: str) -> list:
    """Everything a user can see of the orgs: usage, extensions, and the org list."""
    return [ok(cli, "org", "list")] + [(ok(cli, "org", "show", o), ok(cli, "ext", "list", o)) for o in orgs]


def assert_refused(cli, args: list[str], expected: list[tuple[str, str | None]], orgs: list[str]) -> list[dict]:
    """Run ``args`` as text and as JSON; both refuse with exactly ``expected`` and change nothing."""
    before = snapshot(cli, *orgs)

    problems = refused(cli, *args)
    assert [(p["code"], p.get("field")) for p in problems] == expected

    assert snapshot(cli, *orgs) == before
    return problems


@pytest.fixture
def world(engine, cli, tmp_path):
    a = make_document(base=6, addons={"Call Recording": 2, "Voicemail": 1}, numbers=4, users=6,
                      number_prefix="+656")  # 8-digit SG numbers: possible, so check_number accepts them
    a.users += [UserEntry(identity_uuid=TONY_1, name="Tony Tan"),
                UserEntry(identity_uuid=TONY_2, name="tony  TAN")]
    b = make_document(base=3, numbers=2, users=2, number_prefix="+659")
    load_org(engine, a)
    load_org(engine, b)
    A, B = a.org_uuid, b.org_uuid
    ok(cli, "provision", A, "--count", "3", "--start", "101")
    ok(cli, "ext", "assign-user", A, "101", a.users[0].identity_uuid)
    ok(cli, "ext", "set-number", A, "101", a.numbers[0])
    ok(cli, "ext", "set-addons", A, "101", "Voicemail")
    ok(cli, "provision", B, "--count", "1", "--start", "101")
    csv_file = tmp_path / "users.csv"
    csv_file.write_text(f"Identity UUID,User's Name\n{uuid.uuid4()},New Person\n", encoding="utf-8")
    values = {"A": A, "B": B, "UNKNOWN": UNKNOWN_ORG, "csv": str(csv_file),
              "a_user0": a.users[0].identity_uuid, "a_user1": a.users[1].identity_uuid,
              "a_num0": a.numbers[0], "a_num1": a.numbers[1], "b_num0": b.numbers[0],
              "b_user0": b.users[0].identity_uuid, "long": "x" * 101}
    return SimpleNamespace(a=a, b=b, orgs=[A, B], values=values,
                           fill=lambda args: [arg.format(**values) for arg in args])


# Every command that takes ORG, with otherwise valid arguments.
ORG_COMMANDS = {
    "org show": ["org", "show", "{ORG}"],
    "org import-users": ["org", "import-users", "{ORG}", "{csv}"],
    "provision": ["provision", "{ORG}", "--count", "1", "--start", "500"],
    "ext list": ["ext", "list", "{ORG}"],
    "ext list --no-user": ["ext", "list", "{ORG}", "--no-user"],
    "ext show": ["ext", "show", "{ORG}", "101"],
    "ext assign-user": ["ext", "assign-user", "{ORG}", "102", "{a_user1}"],
    "ext unassign-user": ["ext", "unassign-user", "{ORG}", "101"],
    "ext set-addons": ["ext", "set-addons", "{ORG}", "102", "Call Recording"],
    "ext set-number": ["ext", "set-number", "{ORG}", "102", "{a_num1}"],
    "ext set-number --clear": ["ext", "set-number", "{ORG}", "101", "--clear"],
    "ext edit": ["ext", "edit", "{ORG}", "102", "--name", "Desk"],
    "ext delete": ["ext", "delete", "{ORG}", "102"],
}


@pytest.mark.parametrize("org_ref, code", [("{UNKNOWN}", "org-not-found"), ("acme", "org-uuid-invalid")])
@pytest.mark.parametrize("command", ORG_COMMANDS, ids=str)
def test_bad_org_refused_by_every_command(cli, world, command, org_ref, code):
    args = world.fill([part.replace("{ORG}", org_ref) for part in ORG_COMMANDS[command]])
    assert_refused(cli, args, [(code, "org")], world.orgs)


@pytest.mark.parametrize("org_ref, code", [
    ("0b9f-e1", "org-uuid-invalid"),                                   # the abbreviation of the help texts
    ("", "org-uuid-invalid"),
    ("{A}x", "org-uuid-invalid"),
    ("00000000-0000-4000-8000-00000000000G", "org-uuid-invalid"),
    ("00000000000040008000000000000000", "org-not-found"),              # well formed, just unknown
])
def test_more_bad_org_references(cli, world, org_ref, code):
    assert_refused(cli, world.fill(["ext", "list", org_ref]), [(code, "org")], world.orgs)


CASES = [
    # ext keys: 2 and 6 digits, taken, missing
    ("provision 2-digit start", ["provision", "{A}", "--count", "1", "--start", "12"], [("ext-key-format", "start")]),
    ("provision 6-digit start", ["provision", "{A}", "--count", "1", "--start", "123456"],
     [("ext-key-format", "start")]),
    ("provision letters", ["provision", "{A}", "--count", "1", "--start", "1a1"], [("ext-key-format", "start")]),
    ("provision key taken", ["provision", "{A}", "--count", "1", "--start", "103"], [("ext-key-exists", "start")]),
    ("provision count 0", ["provision", "{A}", "--count", "0", "--start", "500"], [("count-invalid", "count")]),
    ("provision count -1", ["provision", "{A}", "--count", "-1", "--start", "500"], [("count-invalid", "count")]),
    ("provision range > 5 digits", ["provision", "{A}", "--count", "3", "--start", "99998"],
     [("ext-key-range", "count")]),
    ("provision base short", ["provision", "{A}", "--count", "4", "--start", "500"],
     [("base-licenses-insufficient", "count")]),
    ("provision huge count", ["provision", "{A}", "--count", "1000000000", "--start", "101"],
     [("ext-key-range", "count"), ("base-licenses-insufficient", "count")]),
    ("edit 2-digit key", ["ext", "edit", "{A}", "102", "--key", "12"], [("ext-key-format", "key")]),
    ("edit 6-digit key", ["ext", "edit", "{A}", "102", "--key", "123456"], [("ext-key-format", "key")]),
    ("edit key taken", ["ext", "edit", "{A}", "102", "--key", "101"], [("ext-key-exists", "key")]),
    ("edit nothing", ["ext", "edit", "{A}", "102"], [("nothing-to-change", None)]),
    ("show 2-digit key", ["ext", "show", "{A}", "12"], [("ext-key-format", "ext")]),
    ("show 6-digit key", ["ext", "show", "{A}", "123456"], [("ext-key-format", "ext")]),
    ("show unknown ext", ["ext", "show", "{A}", "999"], [("extension-not-found", "ext")]),
    ("unassign unknown ext", ["ext", "unassign-user", "{A}", "999"], [("extension-not-found", "ext")]),
    ("delete unknown ext", ["ext", "delete", "{A}", "999"], [("extension-not-found", "ext")]),
    ("delete 6-digit ext", ["ext", "delete", "{A}", "123456"], [("ext-key-format", "ext")]),
    ("set-addons unknown ext", ["ext", "set-addons", "{A}", "999", "Call Recording"],
     [("extension-not-found", "ext")]),
    ("set-number unknown ext", ["ext", "set-number", "{A}", "999", "{a_num1}"], [("extension-not-found", "ext")]),
    # directory name
    ("edit name 101 chars", ["ext", "edit", "{A}", "102", "--name", "{long}"],
     [("directory-name-too-long", "directory_name")]),
    ("edit name control char", ["ext", "edit", "{A}", "102", "--name", "Front\x07desk"],
     [("directory-name-control-char", "directory_name")]),
    ("edit name ESC", ["ext", "edit", "{A}", "102", "--name", "\x1b[2JFront"],
     [("directory-name-control-char", "directory_name")]),
    ("edit name bidi override", ["ext", "edit", "{A}", "102", "--name", "Front \u202eksed"],
     [("directory-name-control-char", "directory_name")]),
    ("edit bad key and long name", ["ext", "edit", "{A}", "102", "--key", "12", "--name", "{long}"],
     [("ext-key-format", "key"), ("directory-name-too-long", "directory_name")]),
    # numbers
    ("number not owned", ["ext", "set-number", "{A}", "102", "+6599999999"], [("number-not-owned", "number")]),
    ("number of org B", ["ext", "set-number", "{A}", "102", "{b_num0}"], [("number-not-owned", "number")]),
    ("number used by 101", ["ext", "set-number", "{A}", "102", "{a_num0}"], [("number-assigned", "number")]),
    ("number scientific", ["ext", "set-number", "{A}", "102", "6.56E+09"],
     [("number-scientific-notation", "number")]),
    ("number with dashes", ["ext", "set-number", "{A}", "102", "65-6000-0001"], [("number-format", "number")]),
    ("number impossible", ["ext", "set-number", "{A}", "102", "+1"], [("number-invalid", "number")]),
    ("number and --clear", ["ext", "set-number", "{A}", "102", "{a_num1}", "--clear"],
     [("number-argument", None)]),
    ("neither number nor --clear", ["ext", "set-number", "{A}", "102"], [("number-argument", None)]),
    # users
    ("user assigned (uuid)", ["ext", "assign-user", "{A}", "102", "{a_user0}"], [("user-assigned", "user")]),
    ("user assigned (name)", ["ext", "assign-user", "{A}", "102", "user 000"], [("user-assigned", "user")]),
    ("user name ambiguous", ["ext", "assign-user", "{A}", "102", "TONY TAN"], [("user-name-ambiguous", "user")]),
    ("user name unknown", ["ext", "assign-user", "{A}", "102", "Nobody Here"], [("user-not-found", "user")]),
    ("user uuid unknown", ["ext", "assign-user", "{A}", "102", "{UNKNOWN}"], [("user-not-found", "user")]),
    ("user of org B", ["ext", "assign-user", "{A}", "102", "{b_user0}"], [("user-not-found", "user")]),
    ("user markup-like name", ["ext", "assign-user", "{A}", "102", "[/x] [bold]"], [("user-not-found", "user")]),
    ("unknown ext and user", ["ext", "assign-user", "{A}", "999", "Nobody Here"],
     [("extension-not-found", "ext"), ("user-not-found", "user")]),
    # add-ons
    ("addon unknown", ["ext", "set-addons", "{A}", "102", "Fax"], [("addon-unknown", "addon")]),
    ("addon exhausted", ["ext", "set-addons", "{A}", "102", "Voicemail"], [("addon-licenses-insufficient", "addon")]),
    ("addon unknown and exhausted", ["ext", "set-addons", "{A}", "102", "Voicemail", "Fax", "Call Recording"],
     [("addon-unknown", "addon"), ("addon-licenses-insufficient", "addon")]),
    ("addon blank", ["ext", "set-addons", "{A}", "102", " "], [("addon-sku-invalid", "addon")]),
    # several problems at once
    ("provision keys taken and base short", ["provision", "{A}", "--count", "4", "--start", "102"],
     [("ext-key-exists", "start"), ("ext-key-exists", "start"), ("base-licenses-insufficient", "count")]),
    ("provision bad start and count", ["provision", "{A}", "--count", "0", "--start", "12"],
     [("ext-key-format", "start"), ("count-invalid", "count")]),
    ("provision bad org and bad start", ["provision", "acme", "--count", "1", "--start", "12"],
     [("org-uuid-invalid", "org"), ("ext-key-format", "start")]),
    ("provision bad start and base short", ["provision", "{A}", "--count", "9", "--start", "12"],
     [("ext-key-format", "start"), ("base-licenses-insufficient", "count")]),
    # org isolation: org A's extension, user and number are invisible through org B
    ("B cannot see A's ext 102", ["ext", "show", "{B}", "102"], [("extension-not-found", "ext")]),
    ("B cannot delete A's ext 103", ["ext", "delete", "{B}", "103"], [("extension-not-found", "ext")]),
    ("B cannot use A's user", ["ext", "assign-user", "{B}", "101", "{a_user1}"], [("user-not-found", "user")]),
    ("B cannot use A's user by name", ["ext", "assign-user", "{B}", "101", "Tony Tan"], [("user-not-found", "user")]),
    ("B cannot use A's number", ["ext", "set-number", "{B}", "101", "{a_num1}"], [("number-not-owned", "number")]),
    ("B has no Voicemail of A", ["ext", "set-addons", "{B}", "101", "Fax"], [("addon-unknown", "addon")]),
]


@pytest.mark.parametrize("args, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused(cli, world, args, expected):
    assert_refused(cli, world.fill(args), expected, world.orgs)


def test_problem_values_name_the_culprits(cli, world):
    problems = assert_refused(cli, world.fill(["provision", "{A}", "--count", "4", "--start", "102"]),
                              [("ext-key-exists", "start")] * 2 + [("base-licenses-insufficient", "count")],
                              world.orgs)
    assert [p["value"] for p in problems] == ["102", "103", "4"]
    assert "only 3 of 6" in problems[2]["message"]


def test_ambiguous_name_lists_candidates(cli, world):
    [problem] = assert_refused(cli, world.fill(["ext", "assign-user", "{A}", "102", " tony tan "]),
                               [("user-name-ambiguous", "user")], world.orgs)
    assert TONY_1 in problem["message"] and TONY_2 in problem["message"]
    assert "Tony Tan" in problem["message"] and "tony  TAN" in problem["message"]
    text = cli(*world.fill(["ext", "assign-user", "{A}", "102", "tony tan"]))
    assert TONY_1 in text.stderr and TONY_2 in text.stderr


def test_ambiguous_name_resolved_by_uuid(cli, world):
    shown = ok(cli, *world.fill(["ext", "assign-user", "{A}", "102", TONY_2]))
    assert shown["user"] == {"identity_uuid": TONY_2, "name": "tony  TAN"}


def test_scientific_number_message_has_hint(cli, world):
    [problem] = assert_refused(cli, world.fill(["ext", "set-number", "{A}", "102", "6.56E+09"]),
                               [("number-scientific-notation", "number")], world.orgs)
    assert "Text" in problem["message"]


def test_directory_name_of_100_characters_accepted(cli, world):
    name = "y" * 100
    shown = ok(cli, *world.fill(["ext", "edit", "{A}", "102", "--name", name]))
    assert shown["directory_name"] == name


def test_refusal_lines_are_single_lines_even_for_multiline_parser_errors(cli, world, tmp_path):
    bad = tmp_path / "org.yaml"
    bad.write_text("org_uuid: [1, 2\nname: x\n", encoding="utf-8")
    problems = assert_refused(cli, [str(p) for p in ("org", "load", bad)], [("document-unreadable", "file")],
                              world.orgs)
    assert "line 2" in problems[0]["message"]


def test_refused_assign_leaves_previous_user(cli, world):
    """A refused change of user keeps the old one (user 0 stays on 101)."""
    assert_refused(cli, world.fill(["ext", "assign-user", "{A}", "101", "TONY TAN"]),
                   [("user-name-ambiguous", "user")], world.orgs)
    shown = ok(cli, *world.fill(["ext", "show", "{A}", "101"]))
    assert shown["user"]["identity_uuid"] == world.values["a_user0"]


@pytest.mark.parametrize("as_json", [False, True])
def test_settings_that_do_not_parse_are_all_named_with_exit_78(tmp_path, as_json):
    """A mistyped environment is a configuration error (EX_CONFIG), named per variable, not a crash."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "PHONESYS_HOME": str(tmp_path / "home"), "PHONESYS_LOCK_TIMEOUT": "soon",
           "PHONESYS_BULK_LIMITS": "maybe", "PHONESYS_AUDIT_RETENTION_DAYS": "0"}
    args = ["org", "list", *(["--json"] if as_json else [])]
    done = subprocess.run([sys.executable, "-c", "from phonesys.cli import main; main()", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 78, done.stdout + done.stderr
    expected = ["PHONESYS_AUDIT_RETENTION_DAYS", "PHONESYS_BULK_LIMITS", "PHONESYS_LOCK_TIMEOUT"]
    if as_json:
        problems = json.loads(done.stdout)["problems"]
        assert sorted((p["code"], p["field"]) for p in problems) == [("setting-invalid", v) for v in expected]
    else:
        lines = done.stderr.splitlines()
        assert len(lines) == 3 and all(line.startswith("error setting-invalid: PHONESYS_") for line in lines)
        assert sorted(line.split()[2].split("=")[0] for line in lines) == expected
    assert "Traceback" not in done.stderr and not (tmp_path / "home").exists()
