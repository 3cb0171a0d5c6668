"""Happy paths of the CLI contract with ``--json``: org show/list, provision and every ``ext`` command,
plus ``--help`` of every command. (``org load`` and ``org import-users`` have their own files.)"""

from __future__ import annotations

import json
import uuid

import pytest
import typer
from typer.testing import CliRunner

from phonesys.cli import app
from phonesys.storage.inventory.orgs import load_org
from tests.cliassert import ok
from tests.conftest import make_document

CONTRACT_COMMANDS = [
    ("org", "load"), ("org", "import-users"), ("org", "show"), ("org", "list"), ("provision",),
    ("ext", "list"), ("ext", "show"), ("ext", "assign-user"), ("ext", "unassign-user"),
    ("ext", "set-addons"), ("ext", "set-number"), ("ext", "edit"), ("ext", "delete"),
]


def all_commands() -> list[tuple[str, ...]]:
    """Every leaf command of the app, found by walking the click tree (new commands are covered too)."""
    found = []

    def walk(command, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):  # a group (typer vendors its own click classes)
            for name, sub in command.commands.items():
                walk(sub, path + (name,))
        else:
            found.append(path)

    walk(typer.main.get_command(app), ())
    return sorted(found)


def test_contract_commands_exist():
    assert set(CONTRACT_COMMANDS) <= set(all_commands())


@pytest.mark.parametrize("path", all_commands(), ids=" ".join)
def test_help_has_an_example(path):
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout
    assert "Usage" in result.stdout
    usage = next(line for line in result.stdout.splitlines() if "Usage" in line)
    if "ORG" in usage:  # the ORG argument is explained
        assert "Organization UUID" in result.stdout


@pytest.fixture
def acme(engine):
    """10 base licenses, Call Recording x3, Voicemail x2, 5 numbers, 8 users 'User 000'..'User 007'."""
    document = make_document(base=10, addons={"Call Recording": 3, "Voicemail": 2}, numbers=5, users=8,
                             number_prefix="+656")
    load_org(engine, document)
    return document


def uid(document, i: int) -> str:
    return document.users[i].identity_uuid


def usage(cli, org: str) -> dict:
    return ok(cli, "org", "show", org)


def test_org_show_names_every_figure(cli, acme):
    A = acme.org_uuid
    ok(cli, "provision", A, "--count", "3", "--start", "101")
    ok(cli, "ext", "assign-user", A, "101", uid(acme, 0))
    ok(cli, "ext", "set-number", A, "101", acme.numbers[0])
    ok(cli, "ext", "set-addons", A, "101", "Voicemail")
    assert usage(cli, A) == {
        "org_uuid": A, "name": acme.name,
        "base_licenses": {"total": 10, "used": 3, "held": 0, "available": 7},
        "addons": {"Call Recording": {"total": 3, "used": 0, "held": 0, "available": 3},
                   "Voicemail": {"total": 2, "used": 1, "held": 0, "available": 1}},
        "numbers": {"total": 5, "assigned": 1, "held": 0, "available": 4},
        "users": {"total": 8, "assigned": 1, "held": 0, "unassigned": 7},
        "extensions": {"total": 3, "with_user": 1, "without_user": 2},
    }


def test_org_show_text_and_org_uuid_in_any_case(cli, acme):
    result = cli("org", "show", acme.org_uuid.upper())
    assert result.exit_code == 0 and result.stderr == ""
    assert "Phone System base licenses" in result.stdout and acme.org_uuid in result.stdout
    assert ok(cli, "org", "show", "{" + acme.org_uuid.upper() + "}")["org_uuid"] == acme.org_uuid


def test_org_list(cli, engine):
    first = make_document(base=4, numbers=0, users=0)
    second = make_document(base=7, numbers=0, users=0)
    first.name, second.name = "Zeta Corp", "Alpha Corp"
    load_org(engine, first)
    load_org(engine, second)
    ok(cli, "provision", first.org_uuid, "--count", "2", "--start", "200")
    assert ok(cli, "org", "list") == {"orgs": [
        {"org_uuid": second.org_uuid, "name": "Alpha Corp", "base_licenses": {"total": 7, "used": 0, "held": 0, "available": 7}},
        {"org_uuid": first.org_uuid, "name": "Zeta Corp", "base_licenses": {"total": 4, "used": 2, "held": 0, "available": 2}},
    ]}
    text = cli("org", "list")
    assert text.exit_code == 0 and "2 organization(s)" in text.stdout


@pytest.mark.parametrize("start, count, keys", [
    ("101", 1, ["101"]),
    ("101", 3, ["101", "102", "103"]),
    ("0998", 3, ["0998", "0999", "1000"]),
    ("99998", 2, ["99998", "99999"]),
    ("9999", 2, ["9999", "10000"]),
])
def test_provision(cli, acme, start, count, keys):
    A = acme.org_uuid
    assert ok(cli, "provision", A, "--count", str(count), "--start", start) == {"ext_keys": keys}
    listed = ok(cli, "ext", "list", A)["extensions"]
    assert [e["ext_key"] for e in listed] == keys
    assert all(e == {"ext_key": e["ext_key"], "directory_name": None, "user": None, "number": None,
                     "addons": []} for e in listed)
    assert usage(cli, A)["base_licenses"] == {"total": 10, "used": count, "held": 0, "available": 10 - count}


def test_provision_uses_every_last_license_and_text_output(cli, acme):
    result = cli("provision", acme.org_uuid, "-n", "10", "-s", "500")
    assert result.exit_code == 0, result.output
    assert "Provisioned 10 extension(s): 500..509" in result.stdout
    assert usage(cli, acme.org_uuid)["base_licenses"]["available"] == 0


def test_provision_next_to_existing_keys(cli, acme):
    A = acme.org_uuid
    ok(cli, "provision", A, "--count", "2", "--start", "101")
    ok(cli, "provision", A, "--count", "2", "--start", "103")
    ok(cli, "provision", A, "--count", "1", "--start", "0101")  # '0101' and '101' are different keys
    # listed by numeric value, then as text
    assert [e["ext_key"] for e in ok(cli, "ext", "list", A)["extensions"]] == ["0101", "101", "102", "103", "104"]


@pytest.fixture
def furnished(cli, acme):
    """101: user 0 + number 0 + Call Recording; 102: user 1; 103: number 1 + Voicemail; 104: nothing."""
    A = acme.org_uuid
    ok(cli, "provision", A, "--count", "4", "--start", "101")
    ok(cli, "ext", "assign-user", A, "101", uid(acme, 0))
    ok(cli, "ext", "set-number", A, "101", acme.numbers[0])
    ok(cli, "ext", "set-addons", A, "101", "Call Recording")
    ok(cli, "ext", "assign-user", A, "102", uid(acme, 1))
    ok(cli, "ext", "set-number", A, "103", acme.numbers[1])
    ok(cli, "ext", "set-addons", A, "103", "Voicemail")
    return acme


@pytest.mark.parametrize("filters, keys", [
    ([], ["101", "102", "103", "104"]),
    (["--has-user"], ["101", "102"]),
    (["--no-user"], ["103", "104"]),
    (["--has-number"], ["101", "103"]),
    (["--no-number"], ["102", "104"]),
    (["--addon", "Call Recording"], ["101"]),
    (["--addon", "Voicemail"], ["103"]),
    (["--addon", "Fax"], []),
    (["--has-user", "--has-number"], ["101"]),
    (["--no-user", "--no-number"], ["104"]),
    (["--no-user", "--addon", "Voicemail"], ["103"]),
    (["--has-user", "--addon", "Voicemail"], []),
    (["--limit", "2"], ["101", "102"]),
])
def test_ext_list_filters(cli, furnished, filters, keys):
    listed = ok(cli, "ext", "list", furnished.org_uuid, *filters)["extensions"]
    assert [e["ext_key"] for e in listed] == keys


def test_ext_list_rows_and_text(cli, furnished):
    A = furnished.org_uuid
    first = ok(cli, "ext", "list", A)["extensions"][0]
    assert first == {"ext_key": "101", "directory_name": "User 000",
                     "user": {"identity_uuid": uid(furnished, 0), "name": "User 000"},
                     "number": furnished.numbers[0], "addons": ["Call Recording"]}
    text = cli("ext", "list", A)
    assert text.exit_code == 0 and "4 extension(s)" in text.stdout and "User 000" in text.stdout


def test_ext_show(cli, furnished):
    A = furnished.org_uuid
    assert ok(cli, "ext", "show", A, "103") == {"ext_key": "103", "directory_name": None, "user": None,
                                                 "number": furnished.numbers[1], "addons": ["Voicemail"]}
    assert ok(cli, "ext", "show", A, " 101 ")["ext_key"] == "101"
    text = cli("ext", "show", A, "101")
    assert text.exit_code == 0 and "Extension 101" in text.stdout and furnished.numbers[0] in text.stdout


@pytest.mark.parametrize("how", ["uuid", "UUID-upper-braces", "name", "name-any-case-and-spacing"])
def test_assign_user(cli, furnished, how):
    A, user = furnished.org_uuid, furnished.users[5]
    ref = {"uuid": user.identity_uuid, "UUID-upper-braces": "{" + user.identity_uuid.upper() + "}",
           "name": user.name, "name-any-case-and-spacing": "  USER   005 "}[how]
    shown = ok(cli, "ext", "assign-user", A, "104", ref)
    assert shown["user"] == {"identity_uuid": user.identity_uuid, "name": "User 005"}
    assert shown["directory_name"] == "User 005"  # defaults to the user's name
    assert usage(cli, A)["users"] == {"total": 8, "assigned": 3, "held": 0, "unassigned": 5}


def test_assign_user_replaces_previous_user(cli, furnished):
    A = furnished.org_uuid
    shown = ok(cli, "ext", "assign-user", A, "102", "User 002")
    assert shown["user"]["identity_uuid"] == uid(furnished, 2)
    assert usage(cli, A)["users"]["assigned"] == 2
    # the replaced user is free again
    assert ok(cli, "ext", "assign-user", A, "104", uid(furnished, 1))["user"]["identity_uuid"] == uid(furnished, 1)


def test_assign_user_again_to_same_extension_is_harmless(cli, furnished):
    A = furnished.org_uuid
    before = ok(cli, "ext", "show", A, "101")
    assert ok(cli, "ext", "assign-user", A, "101", "user 000") == before


def test_unassign_user(cli, furnished):
    A = furnished.org_uuid
    shown = ok(cli, "ext", "unassign-user", A, "101")
    assert shown == {"ext_key": "101", "directory_name": None, "user": None,
                     "number": furnished.numbers[0], "addons": ["Call Recording"]}
    assert usage(cli, A)["users"]["assigned"] == 1
    assert ok(cli, "ext", "unassign-user", A, "104")["user"] is None  # already without a user
    assert ok(cli, "ext", "assign-user", A, "104", uid(furnished, 0))["user"]["name"] == "User 000"


def test_set_addons_set_replace_clear(cli, furnished):
    A = furnished.org_uuid
    pools = lambda: {sku: p["used"] for sku, p in usage(cli, A)["addons"].items()}  # noqa: E731
    assert pools() == {"Call Recording": 1, "Voicemail": 1}

    assert ok(cli, "ext", "set-addons", A, "104", "Voicemail", "Call Recording")["addons"] == \
        ["Call Recording", "Voicemail"]
    assert pools() == {"Call Recording": 2, "Voicemail": 2}

    assert ok(cli, "ext", "set-addons", A, "104", " Call   Recording ")["addons"] == ["Call Recording"]
    assert pools() == {"Call Recording": 2, "Voicemail": 1}

    assert ok(cli, "ext", "set-addons", A, "104", "Voicemail")["addons"] == ["Voicemail"]
    assert pools() == {"Call Recording": 1, "Voicemail": 2}

    assert ok(cli, "ext", "set-addons", A, "104", "Voicemail", "Voicemail")["addons"] == ["Voicemail"]
    assert pools() == {"Call Recording": 1, "Voicemail": 2}

    assert ok(cli, "ext", "set-addons", A, "104")["addons"] == []
    assert ok(cli, "ext", "set-addons", A, "101")["addons"] == []
    assert pools() == {"Call Recording": 0, "Voicemail": 1}


def test_set_addons_keeping_a_held_addon_needs_no_spare_license(cli, furnished):
    A = furnished.org_uuid
    ok(cli, "ext", "set-addons", A, "102", "Voicemail")  # Voicemail now 2/2
    assert ok(cli, "ext", "set-addons", A, "103", "Voicemail", "Call Recording")["addons"] == \
        ["Call Recording", "Voicemail"]


@pytest.mark.parametrize("typed", ["{n}", "{n_plain}", "{n_spaced}"])
def test_set_number(cli, furnished, typed):
    A, number = furnished.org_uuid, furnished.numbers[2]
    raw = typed.format(n=number, n_plain=number[1:], n_spaced=f"{number[:3]} {number[3:7]} {number[7:]}")
    assert ok(cli, "ext", "set-number", A, "104", raw)["number"] == number
    assert usage(cli, A)["numbers"] == {"total": 5, "assigned": 3, "held": 0, "available": 2}


def test_set_number_replace_and_clear(cli, furnished):
    A, numbers = furnished.org_uuid, furnished.numbers
    assert ok(cli, "ext", "set-number", A, "101", numbers[3])["number"] == numbers[3]
    assert ok(cli, "ext", "set-number", A, "104", numbers[0])["number"] == numbers[0]  # the old one is free
    assert ok(cli, "ext", "set-number", A, "104", numbers[0])["number"] == numbers[0]  # same again: fine
    assert ok(cli, "ext", "set-number", A, "104", "--clear")["number"] is None
    assert ok(cli, "ext", "set-number", A, "102", "--clear")["number"] is None  # nothing to clear: fine
    assert usage(cli, A)["numbers"] == {"total": 5, "assigned": 2, "held": 0, "available": 3}


def test_edit_key_keeps_everything_else(cli, furnished):
    A = furnished.org_uuid
    before = ok(cli, "ext", "show", A, "101")
    shown = ok(cli, "ext", "edit", A, "101", "--key", "0201")
    assert shown == {**before, "ext_key": "0201"}
    assert cli("ext", "show", A, "101").exit_code == 1
    assert [e["ext_key"] for e in ok(cli, "ext", "list", A)["extensions"]] == ["102", "103", "104", "0201"]
    assert usage(cli, A)["base_licenses"]["used"] == 4
    assert ok(cli, "ext", "edit", A, "0201", "--key", "0201")["ext_key"] == "0201"  # unchanged: fine


def test_edit_name_and_reset_to_users_name(cli, furnished):
    A = furnished.org_uuid
    assert ok(cli, "ext", "edit", A, "101", "--name", "  Front desk ")["directory_name"] == "Front desk"
    assert ok(cli, "ext", "show", A, "101")["user"]["name"] == "User 000"
    assert ok(cli, "ext", "edit", A, "101", "--name", "")["directory_name"] == "User 000"
    assert ok(cli, "ext", "edit", A, "104", "--name", "Lobby")["directory_name"] == "Lobby"
    assert ok(cli, "ext", "edit", A, "104", "--name", "")["directory_name"] is None  # no user: no name
    # a name set by hand survives a change of user
    ok(cli, "ext", "edit", A, "102", "--name", "Support line")
    assert ok(cli, "ext", "assign-user", A, "102", "User 004")["directory_name"] == "Support line"


def test_edit_key_and_name_together(cli, furnished):
    shown = ok(cli, "ext", "edit", furnished.org_uuid, "104", "--key", "99999", "--name", "x" * 100)
    assert (shown["ext_key"], shown["directory_name"]) == ("99999", "x" * 100)


def test_delete_returns_everything_to_the_pools(cli, furnished):
    A = furnished.org_uuid
    ok(cli, "ext", "set-addons", A, "101", "Call Recording", "Voicemail")
    assert ok(cli, "ext", "delete", A, "101") == {
        "ext_key": "101",
        "released": {"base_licenses": 1, "addons": ["Call Recording", "Voicemail"],
                     "number": furnished.numbers[0], "user": uid(furnished, 0)},
    }
    figures = usage(cli, A)
    assert figures["base_licenses"] == {"total": 10, "used": 3, "held": 0, "available": 7}
    assert {sku: p["used"] for sku, p in figures["addons"].items()} == {"Call Recording": 0, "Voicemail": 1}
    assert figures["numbers"]["assigned"] == 1 and figures["users"]["assigned"] == 1
    assert [e["ext_key"] for e in ok(cli, "ext", "list", A)["extensions"]] == ["102", "103", "104"]
    # what was released can be used again
    ok(cli, "ext", "assign-user", A, "104", "User 000")
    ok(cli, "ext", "set-number", A, "104", furnished.numbers[0])
    ok(cli, "ext", "set-addons", A, "104", "Call Recording", "Voicemail")
    assert ok(cli, "provision", A, "--count", "1", "--start", "101") == {"ext_keys": ["101"]}


def test_delete_text_output(cli, furnished):
    result = cli("ext", "delete", furnished.org_uuid, "104")
    assert result.exit_code == 0 and "Deleted extension 104" in result.stdout


def test_json_is_the_only_stdout(cli, furnished):
    """--json output parses as one document for every read and write command."""
    A = furnished.org_uuid
    for args in (("org", "show", A), ("org", "list"), ("ext", "list", A), ("ext", "show", A, "101"),
                 ("provision", A, "-n", "1", "-s", "300"), ("ext", "assign-user", A, "300", "User 007"),
                 ("ext", "unassign-user", A, "300"), ("ext", "set-addons", A, "300"),
                 ("ext", "set-number", A, "300", "--clear"), ("ext", "edit", A, "300", "--name", "n"),
                 ("ext", "delete", A, "300")):
        result = cli(*args, "--json")
        assert result.exit_code == 0, (args, result.output)
        assert json.loads(result.stdout)["ok"] is True


def test_unknown_user_uuid_format_is_treated_as_a_name(cli, furnished):
    """A USER that is not a UUID is looked up as a name, even if it looks half like one."""
    almost = str(uuid.uuid4())[:-1]
    result = cli("ext", "assign-user", furnished.org_uuid, "104", almost, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problems"][0]["code"] == "user-not-found"


def test_text_output_prints_names_verbatim(cli, engine):
    """Names are data, not rich markup: '[/x]' must neither crash the output nor vanish from it."""
    odd = make_document(base=2, numbers=0, users=1)
    odd.name, odd.users[0].name = "Acme [Sales]", "Tony [bold]Tan[/bold] [/x]"
    load_org(engine, odd)
    A = odd.org_uuid
    ok(cli, "provision", A, "-n", "1", "-s", "101")
    assigned = cli("ext", "assign-user", A, "101", odd.users[0].identity_uuid)
    assert assigned.exit_code == 0, assigned.output
    for args in (("ext", "show", A, "101"), ("ext", "list", A), ("org", "show", A), ("org", "list")):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        assert ("Acme [Sales]" if args[0] == "org" else "Tony [bold]Tan[/bold] [/x]") in result.stdout
    refused = cli("ext", "assign-user", A, "101", "[/nobody]")
    assert refused.exit_code == 1 and "'[/nobody]'" in refused.stderr


def test_default_directory_name_never_exceeds_100_characters(cli, engine):
    """A user's name may be up to 200 characters; the directory name shown is cut at 100."""
    from phonesys.rules.orgfile import UserEntry
    from phonesys.storage.inventory.orgs import import_users, load_org
    from tests.conftest import make_document

    document = make_document(users=0)
    load_org(engine, document)
    long_name = "N" * 150
    import_users(engine, document.org_uuid, [UserEntry(identity_uuid="5b1f0e3c-2d10-4a57-9a51-6f2b1c9e3a57",
                                                       name=long_name)])
    cli("provision", document.org_uuid, "-n", "1", "-s", "500")
    shown = json.loads(cli("ext", "assign-user", document.org_uuid, "500", long_name, "--json").stdout)
    assert shown["directory_name"] == "N" * 100 and shown["user"]["name"] == long_name
