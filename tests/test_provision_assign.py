"""``phonesys provision --user/--addon/--number``: the portal's "Provision & Assign" for one extension.

It is the same all-or-nothing call as plain provisioning: every problem of the key, the licenses,
the user, the add-ons and the number is reported at once and a refusal creates nothing.
"""

from __future__ import annotations

import pytest

from phonesys.storage.inventory.orgs import load_org
from tests.cliassert import ok, refused
from tests.conftest import make_document


@pytest.fixture
def acme(engine):
    """3 base licenses, Voicemail x1, 3 numbers, 4 users 'User 000'..'User 003'."""
    document = make_document(base=3, addons={"Voicemail": 1}, numbers=3, users=4, number_prefix="+656")
    load_org(engine, document)
    return document


def test_provision_and_assign_in_one_step(cli, acme):
    A = acme.org_uuid
    keys = ok(cli, "provision", A, "--start", "101", "--user", acme.users[1].name, "--addon", "Voicemail",
              "--number", acme.numbers[2].removeprefix("+"))
    assert keys == {"ext_keys": ["101"]}
    shown = ok(cli, "ext", "show", A, "101")
    assert shown["user"]["identity_uuid"] == acme.users[1].identity_uuid
    assert (shown["number"], shown["addons"]) == (acme.numbers[2], ["Voicemail"])
    figures = ok(cli, "org", "show", A)
    assert figures["base_licenses"]["used"] == 1 and figures["addons"]["Voicemail"]["used"] == 1
    assert figures["users"]["assigned"] == 1 and figures["numbers"]["assigned"] == 1


def test_text_output_says_it_was_assigned(cli, acme):
    result = cli("provision", acme.org_uuid, "--start", "200", "--user", acme.users[0].identity_uuid)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Provisioned 1 extension(s) 200 and assigned it"


def test_every_problem_is_reported_and_nothing_changes(cli, acme):
    A = acme.org_uuid
    ok(cli, "provision", A, "--start", "101", "--user", acme.users[0].identity_uuid, "--addon", "Voicemail",
       "--number", acme.numbers[0])
    before = ok(cli, "org", "show", A), ok(cli, "ext", "list", A)
    problems = refused(cli, "provision", A, "--start", "101", "--user", acme.users[0].identity_uuid,
                       "--addon", "Voicemail", "--addon", "Fax", "--number", acme.numbers[0])
    assert sorted(p["code"] for p in problems) == sorted([
        "ext-key-exists", "user-assigned", "addon-licenses-insufficient", "addon-unknown", "number-assigned"])
    assert (ok(cli, "org", "show", A), ok(cli, "ext", "list", A)) == before


@pytest.mark.parametrize("args, code", [
    (["--count", "2", "--user", "User 001"], "assign-needs-one"),
    (["--number", "1e10"], "number-scientific-notation"),
    (["--number", "+6569999999"], "number-not-owned"),
    (["--user", "Nobody Here"], "user-not-found"),
    (["--addon", " "], "addon-sku-invalid"),
])
def test_refusals(cli, acme, args, code):
    problems = refused(cli, "provision", acme.org_uuid, "--start", "300", *args)
    assert [p["code"] for p in problems] == [code]
    assert ok(cli, "ext", "list", acme.org_uuid)["extensions"] == []
