"""The changing routes of the HTTP API against a real server (``tests.webserver``), on both databases:
each answers what the matching CLI command does, with the CLI's codes, records ``token:<name>`` as
the actor, and a refusal changes nothing. A template started through the API runs to completion in
the background (a detached ``phonesys`` process) while its progress is read."""

from __future__ import annotations

import json
import time

import pytest

from phonesys.storage.inventory.assignment import assign_chunk
from phonesys.storage.inventory.audit_queries import AuditFilter, org_events
from phonesys.storage.inventory.jobs import pending_row_ids
from phonesys.storage.inventory.templates import create_template
from tests.bulkfixtures import make_rows, make_template, start
from tests.webserver import api, assert_problem, bearer, cli_json, database_url, server, token

pytestmark = pytest.mark.slow
__all__ = ["api", "database_url", "server"]  # fixtures, used by name
HEADER = "Ext Key,User's Name,Number\r\n"


def admin(cli, org, name: str = "admin") -> dict[str, str]:
    return bearer(token(cli, org.org_uuid, "--name", name))


def shown(cli, *args: str) -> dict:
    result = cli_json(cli, *args)
    result.pop("ok")
    return result


def draft(engine, org) -> str:
    return create_template(engine, org.org_uuid, "Empty draft", []).uuid


def actors(engine, org, **wanted) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.outcome) for e in org_events(engine, org.org_uuid, AuditFilter(**wanted), 100)]


def test_provision_change_and_delete_are_the_clis(api, cli, engine, org):
    headers, path = admin(cli, org, "ops desk"), f"/api/v1/orgs/{org.org_uuid}/extensions"
    made = api.post(path, json={"start": "0101", "count": 3}, headers=headers)
    assert made.status_code == 201 and made.json() == {"ext_keys": ["0101", "0102", "0103"]}
    user, number = org.users[0], org.numbers[0]
    one = api.post(path, json={"start": "200", "user": user.name, "addons": ["Voicemail"], "number": number},
                   headers=headers)
    assert one.json() == {"ext_keys": ["200"]}
    for change in ({"key": "201", "directory_name": "Front desk"}, {"user": None}, {"addons": ["Call Recording"]},
                   {"number": None}, {"user": user.identity_uuid}, {"number": number}):
        response = api.patch(f"{path}/{'200' if 'key' in change else '201'}", json=change, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == shown(cli, "ext", "show", org.org_uuid, "201")
    assert shown(cli, "ext", "show", org.org_uuid, "201") == {
        "ext_key": "201", "directory_name": "Front desk", "number": number, "addons": ["Call Recording"],
        "user": {"identity_uuid": user.identity_uuid, "name": user.name}}
    deleted = api.delete(f"{path}/201", headers=headers)
    assert deleted.status_code == 200 and deleted.json()["released"]["number"] == number
    assert cli("ext", "show", org.org_uuid, "201").exit_code == 1
    events = actors(engine, org, actor="token:ops desk")
    assert {action for _, action, _ in events} == {"ext.provision", "ext.edit", "ext.assign-user", "ext.unassign-user",
                                                   "ext.set-addons", "ext.set-number", "ext.delete"}
    assert all(outcome == "ok" for _, _, outcome in events)


def test_a_patch_is_one_kind_of_change_and_a_refused_one_changes_nothing(api, cli, org):
    headers, path = admin(cli, org), f"/api/v1/orgs/{org.org_uuid}/extensions"
    assert api.post(path, json={"start": "101"}, headers=headers).status_code == 201
    before = shown(cli, "ext", "show", org.org_uuid, "101")
    for body in ({}, {"key": "102", "number": org.numbers[0]}, {"user": org.users[0].name, "addons": []}):
        assert_problem(api.patch(f"{path}/101", json=body, headers=headers), 422, "patch-mixed")
    assert_problem(api.patch(f"{path}/101", json={"number": "+1"}, headers=headers), 422, "number-invalid")
    assert_problem(api.patch(f"{path}/101", json={"directory_name": "x" * 101}, headers=headers), 422,
                   "directory-name-too-long")
    assert shown(cli, "ext", "show", org.org_uuid, "101") == before


# (CLI words, API method, path, JSON body): the same bad input through both doors
CASES = [
    (("provision", "{org}", "--start", "12"), "POST", "/orgs/{org}/extensions", {"start": "12"}),
    (("provision", "{org}", "--start", "101", "--count", "0"), "POST", "/orgs/{org}/extensions",
     {"start": "101", "count": 0}),
    (("provision", "{org}", "--start", "101", "--count", "11"), "POST", "/orgs/{org}/extensions",
     {"start": "101", "count": 11}),
    (("provision", "{org}", "--start", "150", "--user", "Nobody"), "POST", "/orgs/{org}/extensions",
     {"start": "150", "user": "Nobody"}),
    (("provision", "{org}", "--start", "150", "--addon", "Fax"), "POST", "/orgs/{org}/extensions",
     {"start": "150", "addons": ["Fax"]}),
    (("provision", "{org}", "--start", "100"), "POST", "/orgs/{org}/extensions", {"start": "100"}),
    (("ext", "assign-user", "{org}", "100", "Nobody"), "PATCH", "/orgs/{org}/extensions/100", {"user": "Nobody"}),
    (("ext", "set-number", "{org}", "100", "12ab"), "PATCH", "/orgs/{org}/extensions/100", {"number": "12ab"}),
    (("ext", "edit", "{org}", "100", "--key", "1"), "PATCH", "/orgs/{org}/extensions/100", {"key": "1"}),
    (("ext", "edit", "{org}", "100", "--name", "a\x1bb"), "PATCH", "/orgs/{org}/extensions/100",
     {"directory_name": "a\x1bb"}),
    (("ext", "set-addons", "{org}", "100", "Fax"), "PATCH", "/orgs/{org}/extensions/100", {"addons": ["Fax"]}),
    (("ext", "delete", "{org}", "999"), "DELETE", "/orgs/{org}/extensions/999", None),
    (("ext", "delete", "{org}", "12"), "DELETE", "/orgs/{org}/extensions/12", None),
    (("template", "create", "{org}", "--name", " "), "POST", "/orgs/{org}/templates", {"name": " "}),
    (("template", "create", "{org}", "--name", "T", "--addon", "Fax"), "POST", "/orgs/{org}/templates",
     {"name": "T", "addons": ["Fax"]}),
    (("template", "rename", "{t}", "x" * 201), "PATCH", "/templates/{t}", {"name": "x" * 201}),
    (("template", "set-addons", "{t}", "Fax"), "PATCH", "/templates/{t}", {"addons": ["Fax"]}),
    (("template", "start", "{t}"), "POST", "/templates/{t}/start", None),
    (("template", "start", "{t}", "--dry-run"), "POST", "/templates/{t}/start?dry_run=true", None),
    (("template", "revert", "{t}"), "POST", "/templates/{t}/revert", None),
    (("template", "cancel", "{t}"), "POST", "/templates/{t}/cancel", None),
    (("template", "delete", "00000000-0000-4000-8000-0000000000ff"), "DELETE",
     "/templates/00000000-0000-4000-8000-0000000000ff", None),
    (("template", "duplicate", "not-a-uuid"), "POST", "/templates/not-a-uuid/duplicate", None),
    (("audit", "{org}", "--since", "yesterday"), "GET", "/orgs/{org}/audit?since=yesterday", None),
    (("ext", "history", "{org}", "1"), "GET", "/orgs/{org}/extensions/1/history", None),
]


@pytest.mark.parametrize("words, method, route, body", CASES, ids=[" ".join(c[0][:3]) for c in CASES])
def test_the_api_and_the_cli_refuse_the_same_input_with_the_same_codes(api, cli, engine, org, words, method,
                                                                       route, body):
    assert cli("provision", org.org_uuid, "--start", "100").exit_code == 0  # an extension to change
    template = draft(engine, org)  # an empty draft: not startable, nothing to revert or cancel
    fill = {"org": org.org_uuid, "t": template}
    expected = cli_json(cli, *(word.format(**fill) for word in words))
    assert expected["ok"] is False, expected
    response = api.request(method, "/api/v1" + route.format(**fill), json=body, headers=admin(cli, org))
    assert response.status_code in (404, 409, 422), response.text
    assert response.json()["problems"] == expected["problems"]


def test_templates_are_created_renamed_given_addons_duplicated_and_deleted(api, cli, engine, org):
    headers = admin(cli, org, "planner")
    made = api.post(f"/api/v1/orgs/{org.org_uuid}/templates", json={"name": "Sales", "addons": ["Voicemail"]},
                    headers=headers)
    assert made.status_code == 201, made.text
    uuid = made.json()["uuid"]
    assert made.headers["location"] == f"/api/v1/templates/{uuid}"
    renamed = api.patch(f"/api/v1/templates/{uuid}", json={"name": "Sales 2027"}, headers=headers).json()
    assert renamed == shown(cli, "template", "show", uuid) and renamed["name"] == "Sales 2027"
    addons = api.patch(f"/api/v1/templates/{uuid}", json={"addons": []}, headers=headers).json()
    assert addons["addons"] == []
    copy = api.post(f"/api/v1/templates/{uuid}/duplicate", json={"name": "Copy"}, headers=headers)
    assert copy.status_code == 201 and copy.json()["name"] == "Copy"
    assert api.delete(f"/api/v1/templates/{uuid}", headers=headers).json()["uuid"] == uuid
    assert cli("template", "show", uuid).exit_code == 1
    assert {a for _, a, _ in actors(engine, org, actor="token:planner")} == {
        "template.create", "template.rename", "template.set-addons", "template.duplicate", "template.delete"}


def files(*named: tuple[str, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, text.encode(), "text/csv")) for name, text in named]


def test_an_upload_lists_every_problem_at_once_like_template_upload(api, cli, engine, org, tmp_path):
    template = draft(engine, org)
    bad = HEADER + f"12,{org.users[0].name},\r\n101,Nobody,\r\n102,{org.users[1].name},+1\r\n"
    (tmp_path / "bad.csv").write_text(bad)
    expected = cli_json(cli, "template", "upload", template, str(tmp_path / "bad.csv"))
    response = api.post(f"/api/v1/templates/{template}/files", files=files(("bad.csv", bad)), headers=admin(cli, org))
    body = assert_problem(response, 422, expected["problems"][0]["code"])
    assert body["problems"] == expected["problems"] and len(body["problems"]) == 3
    assert {(p["file"], p["row"], p["field"]) for p in body["problems"]} == {
        ("bad.csv", 2, "Ext Key"), ("bad.csv", 3, "User's Name"), ("bad.csv", 4, "Number")}
    assert body["errors_files"][0].endswith(".errors.csv")
    assert shown(cli, "template", "show", template)["total_users"] == 0


def test_an_upload_accepts_every_file_and_keeps_hostile_names_harmless(api, cli, engine, org):
    template = draft(engine, org)
    one = HEADER + f"101,{org.users[0].name},{org.numbers[0]}\r\n"
    two = HEADER + f"102,{org.users[1].name},\r\n"
    hostile = "../../etc/" + "\u202e\x1b[31m" + "x" * 400 + ".csv"
    response = api.post(f"/api/v1/templates/{template}/files", files=files(("one.csv", one), (hostile, two)),
                        headers=admin(cli, org, "uploader"))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["total_users"] == 2 == shown(cli, "template", "show", template)["total_users"]
    names = [f["file_name"] for f in result["files"]]
    assert names[0] == "one.csv" and names[1].endswith("xxx.csv") and len(names[1].encode()) <= 150
    assert not any(c in names[1] for c in "/\\\x1b\u202e")
    assert ("token:uploader", "template.upload", "ok") in actors(engine, org)


def test_an_upload_that_is_not_a_form_of_files_is_refused(api, cli, engine, org):
    template, headers = draft(engine, org), admin(cli, org)
    path = f"/api/v1/templates/{template}/files"
    assert_problem(api.post(path, content=b"Ext Key\r\n", headers={**headers, "content-type": "text/csv"}), 422,
                   "upload-form-invalid")
    assert_problem(api.post(path, data={"files": "x"}, files=[("other", ("a.csv", b"x", "text/csv"))],
                            headers=headers), 422, "upload-form-invalid")
    assert_problem(api.post(path, headers={**headers, "content-type": "multipart/form-data; boundary=x"},
                            content=b"--x--\r\n"), 422, "upload-nothing")


def test_start_dry_run_answers_the_plan_and_changes_nothing(api, cli, engine, org):
    template = make_template(engine, org, make_rows(org, 2, first_key=300))
    response = api.post(f"/api/v1/templates/{template}/start", params={"dry_run": "true"}, headers=admin(cli, org))
    assert response.status_code == 200
    assert response.json() == cli_json(cli, "template", "start", template, "--dry-run")
    assert shown(cli, "template", "show", template)["status"] == "draft"


def wait_until(check, what: str, deadline: float = 240) -> None:
    """Poll ``check`` (a bounded count of tries, no timing assert) until it is true."""
    end = time.monotonic() + deadline
    while not check():
        assert time.monotonic() < end, f"still waiting for {what}"
        time.sleep(0.5)


def child_done(server, template: str, kind: str) -> None:
    """Wait for the detached ``phonesys`` run to print its final JSON document (it exits right after),
    so the next test does not share the database with it."""
    log = server[1].parent / "runs" / f"{template}.{kind}.log"
    wait_until(lambda: log.is_file() and '"ok": ' in log.read_text(errors="replace"), f"the {kind} process to end")


def test_a_start_is_accepted_runs_in_the_background_and_reports(api, server, cli, engine, org):
    rows = make_rows(org, 2, first_key=400)
    template, headers = make_template(engine, org, rows, addons=("Voicemail",)), admin(cli, org, "runner")
    response = api.post(f"/api/v1/templates/{template}/start", params={"chunk_size": 2}, headers=headers)
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert location == f"/api/v1/templates/{template}" and response.json()["status"] == "in_progress"
    assert_problem(api.post(f"/api/v1/templates/{template}/start", headers=headers), 422, "template-action-not-allowed")
    wait_until(lambda: api.get(location, headers=headers).json()["status"] == "completed", "the run to complete")
    child_done(server, template, "start")
    report = api.get(f"{location}/report", headers=headers).json()
    assert report["counts"] == {"pending": 0, "assigned": 2, "failed": 0} and report["report"]
    assert shown(cli, "ext", "show", org.org_uuid, "400")["addons"] == ["Voicemail"]
    assert {("token:runner", "template.start"), ("token:runner", "bulk.assign")} <= {
        (a, act) for a, act, _ in actors(engine, org, template=template)}


def test_revert_dry_run_then_revert_in_the_background(api, server, cli, engine, org):
    template = make_template(engine, org, make_rows(org, 2, first_key=500))
    assert cli("template", "start", template, "--wait").exit_code == 0
    headers, path = admin(cli, org, "undoer"), f"/api/v1/templates/{template}"
    plan = api.post(f"{path}/revert", params={"dry_run": "true"}, headers=headers)
    assert plan.status_code == 200 and plan.json()["remove"] == ["500", "501"]
    assert plan.json() == cli_json(cli, "template", "revert", template, "--dry-run")
    response = api.post(f"{path}/revert", headers=headers)
    assert response.status_code == 202 and response.headers["location"] == path
    wait_until(lambda: api.get(path, headers=headers).json()["revert"] == "reverted", "the revert to end")
    child_done(server, template, "revert")
    assert cli("ext", "show", org.org_uuid, "500").exit_code == 1
    assert ("token:undoer", "template.revert", "ok") in actors(engine, org, template=template)


def test_cancel_ends_an_in_progress_template_and_releases_its_holds(api, cli, engine, org):
    template = make_template(engine, org, make_rows(org, 2, first_key=600))
    start(engine, template)
    response = api.post(f"/api/v1/templates/{template}/cancel", headers=admin(cli, org, "stopper"))
    assert response.status_code == 200, response.text
    assert response.json()["cancelled"] == 2 and response.json()["report"]
    assert shown(cli, "template", "show", template)["status"] == "completed"
    assert shown(cli, "org", "show", org.org_uuid)["base_licenses"]["held"] == 0
    assert ("token:stopper", "template.cancel", "ok") in actors(engine, org, template=template)


def test_audit_history_and_exports_are_the_clis(api, cli, org, tmp_path):
    headers = bearer(token(cli, org.org_uuid, "--name", "reader", "--role", "viewer"))
    assert cli("provision", org.org_uuid, "--start", "101", "--number", org.numbers[1]).exit_code == 0
    assert cli("ext", "edit", org.org_uuid, "101", "--key", "111").exit_code == 0
    audit = api.get(f"/api/v1/orgs/{org.org_uuid}/audit", params={"ext": "111", "limit": 5}, headers=headers)
    assert audit.json() == shown(cli, "audit", org.org_uuid, "--ext", "111", "--limit", "5")
    history = api.get(f"/api/v1/orgs/{org.org_uuid}/extensions/111/history", headers=headers).json()
    assert [e["action"] for e in history["events"]] == ["ext.provision", "ext.edit"]
    exported = api.get(f"/api/v1/orgs/{org.org_uuid}/exports/extensions", headers=headers)
    assert exported.status_code == 200 and exported.headers["x-export-rows"] == "1"
    name = exported.headers["content-disposition"].split("filename=")[1].strip('"')
    assert name.startswith(org.org_uuid) and name.endswith("_license_phonesystem_provisioned_extension.csv")
    assert cli("export", "extensions", org.org_uuid, "--output", str(tmp_path)).exit_code == 0
    local = next(tmp_path.glob("*.csv")).read_bytes()
    assert exported.content == local  # the same file, byte for byte (the name's time may differ)
    numbers = api.get(f"/api/v1/orgs/{org.org_uuid}/exports/numbers", params={"format": "parquet",
                                                                              "available_only": "true"},
                      headers=headers)
    assert numbers.status_code == 200 and numbers.headers["x-export-rows"] == str(len(org.numbers) - 1)
    assert numbers.content[:4] == b"PAR1"
    assert json.loads(audit.text)["events"][0]["action"] == "ext.edit"


def test_cancel_then_revert_removes_what_the_template_had_assigned(api, server, cli, engine, org):
    template = make_template(engine, org, make_rows(org, 2, first_key=700))
    start(engine, template)
    assign_chunk(engine, template, pending_row_ids(engine, template)[:1])  # one row assigned, one pending
    headers, path = admin(cli, org, "stop and undo"), f"/api/v1/templates/{template}"
    response = api.post(f"{path}/cancel", params={"revert": "true"}, headers=headers)
    assert response.status_code == 202 and response.headers["location"] == path, response.text
    assert response.json()["cancelled"]["assigned"] == 1 and response.json()["run"] == "revert"
    wait_until(lambda: api.get(path, headers=headers).json()["revert"] == "reverted", "the revert to end")
    child_done(server, template, "revert")
    assert cli("ext", "show", org.org_uuid, "700").exit_code == 1
    assert shown(cli, "org", "show", org.org_uuid)["base_licenses"]["used"] == 0
