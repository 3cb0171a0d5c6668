"""Templates through the CLI: create, list/search, show, set add-ons, duplicate, delete, status rules."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from phonesys.rules.status import ALLOWED, STATUSES
from phonesys.storage.inventory.schema import templates
from tests.cliassert import ok, refused


@pytest.fixture
def template(cli, org) -> str:
    return ok(cli, "template", "create", org.org_uuid, "--name", "Sales onboarding",
              "--addon", "Call Recording")["uuid"]


def set_status(engine, template_uuid: str, status: str) -> None:
    with engine.begin() as connection:
        connection.execute(update(templates).where(templates.c.template_uuid == template_uuid).values(status=status))


def test_create_prints_uuid_and_show_has_total_users(cli, org, template):
    shown = ok(cli, "template", "show", template)
    assert shown["uuid"] == template and shown["status"] == "draft" and shown["total_users"] == 0
    assert shown["addons"] == ["Call Recording"] and shown["org_uuid"] == org.org_uuid
    text = cli("template", "create", org.org_uuid, "--name", "Plain")
    assert text.exit_code == 0 and "Created draft template " in text.stderr
    created = text.stdout.strip()  # only the UUID, so T=$(phonesys template create ...) works
    assert text.stdout == created + "\n" and ok(cli, "template", "show", created)["name"] == "Plain"


def test_rename_a_draft(cli, org, template):
    renamed = ok(cli, "template", "rename", template, "  Sales   onboarding 2027 ")
    assert renamed == {"uuid": template, "name": "Sales onboarding 2027"}
    assert ok(cli, "template", "show", template)["name"] == "Sales onboarding 2027"
    assert [p["code"] for p in refused(cli, "template", "rename", template, " ")] == ["template-name-invalid"]
    text = cli("template", "rename", template, "Support")
    assert text.exit_code == 0 and text.stdout == f"Template {template} is now named 'Support'\n"


def test_list_and_search_by_name_or_uuid(cli, org, template):
    other = ok(cli, "template", "create", org.org_uuid, "--name", "Support team")["uuid"]
    everything = ok(cli, "template", "list", org.org_uuid)["templates"]
    assert {t["uuid"] for t in everything} == {template, other}
    assert everything[0].keys() == {"uuid", "name", "total_users", "status", "cancelled", "revert"}
    assert [t["uuid"] for t in ok(cli, "template", "list", org.org_uuid, "--search", "SALES")["templates"]] == [template]
    assert [t["uuid"] for t in ok(cli, "template", "list", org.org_uuid, "--search", other[:8])["templates"]] == [other]
    assert ok(cli, "template", "list", org.org_uuid, "--search", "nothing like it")["templates"] == []


def test_set_addons_replaces_and_refuses_unknown(cli, org, template):
    assert ok(cli, "template", "set-addons", template, "Voicemail", "Call Recording")["addons"] == [
        "Call Recording", "Voicemail"]
    problems = refused(cli, "template", "set-addons", template, "Fax", "Voicemail")
    assert [p["code"] for p in problems] == ["addon-unknown"]
    assert ok(cli, "template", "show", template)["addons"] == ["Call Recording", "Voicemail"]
    assert ok(cli, "template", "set-addons", template)["addons"] == []


@pytest.mark.parametrize("args, code", [
    (["--name", ""], "template-name-invalid"),
    (["--name", "x" * 201], "template-name-invalid"),
    (["--name", "Sales\x1b[2J"], "template-name-invalid"),
    (["--name", "Sales \u202eQ4"], "template-name-invalid"),
    (["--name", "ok", "--addon", "Fax"], "addon-unknown"),
])
def test_create_refusals_change_nothing(cli, org, args, code):
    assert [p["code"] for p in refused(cli, "template", "create", org.org_uuid, *args)] == [code]
    assert ok(cli, "template", "list", org.org_uuid)["templates"] == []


@pytest.mark.parametrize("ref, code", [("nope", "template-uuid-invalid"),
                                       ("00000000-0000-4000-8000-000000000000", "template-not-found")])
def test_unknown_template(cli, ref, code):
    for command in (["show"], ["users"], ["delete"], ["duplicate"], ["set-addons", "Voicemail"], ["rename", "X"]):
        assert [p["code"] for p in refused(cli, "template", command[0], ref, *command[1:])] == [code]


def test_duplicate_copies_addons_into_a_new_draft(cli, org, template):
    copy = ok(cli, "template", "duplicate", template)
    assert copy["status"] == "draft" and copy["name"] == "Copy of Sales onboarding"
    assert ok(cli, "template", "show", copy["uuid"])["addons"] == ["Call Recording"]


def test_delete_removes_only_that_template(cli, org, template):
    other = ok(cli, "template", "create", org.org_uuid, "--name", "Keep")["uuid"]
    ok(cli, "template", "delete", template)
    assert [t["uuid"] for t in ok(cli, "template", "list", org.org_uuid)["templates"]] == [other]


COMMANDS = {
    "show": ["show"], "users": ["users"], "set-addons": ["set-addons", "Voicemail"],
    "duplicate": ["duplicate"], "delete": ["delete"], "rename": ["rename", "New name"],
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", sorted(COMMANDS))
def test_every_action_in_every_status(cli, engine, template, status, action):
    """Allowed exactly where the seed allows it; otherwise refused with the reason and no change."""
    set_status(engine, template, status)
    before = ok(cli, "template", "show", template)
    result = cli("template", *COMMANDS[action][:1], template, *COMMANDS[action][1:], "--json")
    if action in ALLOWED[status]:
        assert result.exit_code == 0, result.output
    else:
        problems = refused(cli, "template", *COMMANDS[action][:1], template, *COMMANDS[action][1:])
        assert [p["code"] for p in problems] == ["template-action-not-allowed"]
        assert status in problems[0]["message"] and action in problems[0]["message"]
        assert ok(cli, "template", "show", template) == before


def test_templates_of_one_org_are_invisible_to_another(cli, engine, org, template):
    from phonesys.storage.inventory.orgs import load_org
    from tests.conftest import make_document

    other = make_document(number_prefix="+659")
    load_org(engine, other)
    assert ok(cli, "template", "list", other.org_uuid)["templates"] == []


RUN_COMMANDS = {"start": ["start", "--dry-run"], "report": ["report"], "upload": ["upload", "--key", "x.csv"]}


@pytest.mark.parametrize("status, action", [(s, a) for s in STATUSES for a in sorted(RUN_COMMANDS)
                                             if a not in ALLOWED[s]])
def test_start_report_upload_are_refused_where_the_seed_forbids_them(cli, engine, template, status, action):
    """The allowed cases are covered by the upload and bulk tests; here every forbidden one."""
    set_status(engine, template, status)
    command = RUN_COMMANDS[action]
    problems = refused(cli, "template", command[0], template, *command[1:])
    assert [p["code"] for p in problems] == ["template-action-not-allowed"]


def test_resume_of_a_draft_or_completed_template_says_it_is_not_in_progress(cli, engine, template):
    """``start --resume`` is a resume, whatever the status: the README's code, not the report action's."""
    for status in ("draft", "completed"):
        set_status(engine, template, status)
        problems = refused(cli, "template", "start", template, "--resume")
        assert [p["code"] for p in problems] == ["template-not-in-progress"], problems
        assert status in problems[0]["message"]


def test_duplicate_with_an_empty_name_is_refused_like_create_and_rename(cli, org, template):
    for command in (["create", org.org_uuid, "--name", ""], ["rename", template, ""],
                    ["duplicate", template, "--name", ""], ["duplicate", template, "--name", "  "]):
        assert [p["code"] for p in refused(cli, "template", *command)] == ["template-name-invalid"], command
    assert [t["name"] for t in ok(cli, "template", "list", org.org_uuid)["templates"]] == ["Sales onboarding"]
