"""Every changing org, template and token command writes exactly its audit events, as the CLI's actor,
with before and after; a read command writes none. (Extension commands, bulk rows, refusals, revert
and cancel have tests of their own: test_audit.py, test_revert.py, test_cancel.py.)"""

from __future__ import annotations

import json

import pytest

from tests.cliassert import ok
from tests.conftest import make_document
from tests.test_audit import ACTOR, events


@pytest.fixture
def as_auditor(monkeypatch):
    monkeypatch.setenv("PHONESYS_ACTOR", ACTOR)


def _changes(engine, org_uuid: str) -> list[tuple[str, str | None, dict | None, dict | None]]:
    return [(e.action, e.target, json.loads(e.before) if e.before else None, json.loads(e.after) if e.after else None)
            for e in events(engine, org_uuid=org_uuid) if e.actor == ACTOR]


def test_org_commands_record_load_and_user_import(engine, cli, as_auditor, tmp_path):
    document = make_document(users=2)
    path = tmp_path / "org.json"
    path.write_text(document.model_dump_json())
    ok(cli, "org", "load", str(path))
    ok(cli, "org", "load", str(path))  # the same document again: recorded, it is a request that ran
    users = tmp_path / "users.csv"
    users.write_text("Identity UUID,User's Name\n7b000000-0000-4000-8000-000000000001,Ann Lee\n")
    ok(cli, "org", "import-users", document.org_uuid, str(users))
    for read in (("org", "show", document.org_uuid), ("org", "list"), ("ext", "list", document.org_uuid)):
        ok(cli, *read)

    found = _changes(engine, document.org_uuid)
    assert [action for action, *_ in found] == ["org.load", "org.load", "org.users-import"]
    assert found[0][2] is None and found[0][3] is not None, "the first load creates: nothing before it"


def test_template_commands_record_each_change_with_before_and_after(engine, org, cli, as_auditor, tmp_path):
    template = ok(cli, "template", "create", org.org_uuid, "--name", "Sales", "--addon", "Voicemail")["uuid"]
    ok(cli, "template", "rename", template, "Sales team")
    ok(cli, "template", "set-addons", template, "Call Recording")
    csv = tmp_path / "rows.csv"
    csv.write_text(f"Ext Key,User's Name,Number\n301,{org.users[0].name},\n")
    ok(cli, "template", "upload", template, str(csv))
    copy = ok(cli, "template", "duplicate", template)["uuid"]
    ok(cli, "template", "delete", copy)
    for read in (("template", "show", template), ("template", "list", org.org_uuid), ("template", "users", template)):
        ok(cli, *read)

    found = _changes(engine, org.org_uuid)
    assert [action for action, *_ in found] == ["template.create", "template.rename", "template.set-addons",
                                                "template.upload", "template.duplicate", "template.delete"]
    assert [target for _, target, *_ in found] == [template] * 4 + [copy, copy]
    rename, addons = found[1], found[2]
    assert (rename[2]["name"], rename[3]["name"]) == ("Sales", "Sales team")
    assert (addons[2]["addons"], addons[3]["addons"]) == (["Voicemail"], ["Call Recording"])


def test_token_commands_record_create_and_revoke_without_the_secret(engine, org, cli, as_auditor):
    secret = ok(cli, "token", "create", org.org_uuid, "--name", "nightly", "--role", "viewer")["token"]
    ok(cli, "token", "list", org.org_uuid)
    ok(cli, "token", "revoke", org.org_uuid, "nightly")

    found = _changes(engine, org.org_uuid)
    assert [(action, target) for action, target, *_ in found] == [("token.create", "nightly"),
                                                                  ("token.revoke", "nightly")]
    assert secret not in json.dumps(found), "the audit log never holds a token's secret"
