"""Template routes of the HTTP API against a real server (``tests.webserver``): each answers what the
matching CLI command prints with ``--json``, and a template of another organization is a 404 that
cannot be told from a missing template."""

from __future__ import annotations

import codecs
import uuid

import pytest

from phonesys.rules.samples import SAMPLES
from phonesys.storage.inventory.assignment import assign_chunk
from phonesys.storage.inventory.jobs import pending_row_ids
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.templates import create_template
from tests.bulkfixtures import make_rows, make_template, start, take_user
from tests.conftest import make_document
from tests.webserver import api, assert_problem, bearer, cli_json, database_url, server, token

pytestmark = pytest.mark.slow
__all__ = ["api", "database_url", "server"]  # fixtures, used by name
MISSING_TEMPLATE = "00000000-0000-4000-8000-0000000000ff"


def shown(cli, *args: str) -> dict:
    result = cli_json(cli, *args)
    result.pop("ok")
    return result


def test_the_template_list_searches_and_pages_like_template_list(api, cli, engine, org):
    for name in ("Sales east", "Sales west", "Support"):
        create_template(engine, org.org_uuid, name, [])
    headers, path = bearer(token(cli, org.org_uuid, "--name", "t")), f"/api/v1/orgs/{org.org_uuid}/templates"
    listed = cli_json(cli, "template", "list", org.org_uuid)["templates"]
    assert api.get(path, headers=headers).json() == {"total": 3, "limit": 100, "offset": 0, "templates": listed}
    sales = api.get(path, params={"search": "SALES", "limit": 1, "offset": 1}, headers=headers).json()
    assert sales["total"] == 2 and sales["templates"] == cli_json(cli, "template", "list", org.org_uuid,
                                                                  "--search", "sales")["templates"][1:]
    by_uuid = api.get(path, params={"search": listed[2]["uuid"][:13]}, headers=headers).json()
    assert [t["uuid"] for t in by_uuid["templates"]] == [listed[2]["uuid"]]


def test_show_users_and_report_are_the_clis(api, cli, engine, org):
    rows = make_rows(org, 3)
    template = make_template(engine, org, rows, addons=("Call Recording",))
    headers = bearer(token(cli, org.org_uuid, "--name", "t"))
    assert api.get(f"/api/v1/templates/{template}", headers=headers).json() == shown(cli, "template", "show", template)
    users = api.get(f"/api/v1/templates/{template}/users", params={"offset": 1}, headers=headers).json()
    assert users == {"total": 3, "limit": 100, "offset": 1,
                     "users": cli_json(cli, "template", "users", template)["users"][1:]}
    start(engine, template)
    take_user(engine, org, rows[1]["identity_uuid"], "950")  # that row fails: its user has an extension
    assign_chunk(engine, template, pending_row_ids(engine, template))
    report = api.get(f"/api/v1/templates/{template}/report", headers=headers).json()
    assert report == shown(cli, "template", "report", template)
    assert report["counts"] == {"pending": 0, "assigned": 2, "failed": 1}
    assert [(r["row"], r["code"]) for r in report["failed_rows"]] == [(3, "user-assigned")]


@pytest.mark.parametrize("route, command", [
    ("", ("template", "show", "{t}")),
    ("/users", ("template", "users", "{t}")),
    ("/report", ("template", "report", "{t}")),
])
@pytest.mark.parametrize("template", ["draft", MISSING_TEMPLATE, "not-a-uuid"])
def test_refusals_carry_the_clis_codes(api, cli, engine, org, route, command, template):
    if template == "draft":
        template = create_template(engine, org.org_uuid, "Draft", []).uuid
    expected = cli_json(cli, *(word.format(t=template) for word in command))
    if expected["ok"]:
        return  # show and users of a draft: nothing refused (the test above compares the figures)
    response = api.get(f"/api/v1/templates/{template}{route}", headers=bearer(token(cli, org.org_uuid, "--name", "c")))
    code = expected["problems"][0]["code"]
    body = assert_problem(response, 404 if code.endswith("not-found") else 422, code)
    assert body["problems"] == expected["problems"]


def test_another_orgs_template_is_a_missing_one_and_an_operator_sees_all(api, cli, engine, org):
    other = make_document()
    load_org(engine, other)
    theirs = create_template(engine, other.org_uuid, "Theirs", []).uuid
    mine = bearer(token(cli, org.org_uuid, "--name", "mine"))
    for route in ("", "/users", "/report"):
        hidden = api.get(f"/api/v1/templates/{theirs}{route}", headers=mine)
        missing = api.get(f"/api/v1/templates/{MISSING_TEMPLATE}{route}", headers=mine)
        assert_problem(hidden, 404, "template-not-found")
        assert hidden.text.replace(theirs, MISSING_TEMPLATE) == missing.text
        assert dict(hidden.headers, date="") == dict(missing.headers, date="")
    assert_problem(api.get(f"/api/v1/orgs/{other.org_uuid}/templates", headers=mine), 404, "org-not-found")
    operator = bearer(token(cli, "--all-orgs", "--name", f"ops-{uuid.uuid4().hex[:8]}"))
    assert api.get(f"/api/v1/templates/{theirs}", headers=operator).json()["org_uuid"] == other.org_uuid
    assert api.get(f"/api/v1/orgs/{other.org_uuid}/templates", headers=operator).json()["total"] == 1


@pytest.mark.parametrize("by", ["name", "uuid"])
def test_the_sample_file_is_the_one_sample_csv_writes(api, cli, org, by, tmp_path):
    response = api.get("/api/v1/sample-csv", params={"by": by}, headers=bearer(token(cli, org.org_uuid, "--name", "s")))
    assert cli("sample-csv", "--by", by, "--output", str(tmp_path / "s.csv")).exit_code == 0
    assert response.content == (tmp_path / "s.csv").read_bytes() == codecs.BOM_UTF8 + SAMPLES[by].encode()
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="phonesys_sample_by_{by}.csv"'


def test_free_text_with_control_characters_is_a_request_problem(api, cli, org):
    headers = bearer(token(cli, org.org_uuid, "--name", "nul"))
    for value in ("\x00", "a\x1bb", "x" * 201):
        body = assert_problem(api.get(f"/api/v1/orgs/{org.org_uuid}/templates", params={"search": value},
                                      headers=headers), 422, "request-invalid")
        assert body["problems"][0]["field"] == "search"


def test_the_report_names_download_routes_that_stream_the_files(api, cli, engine, org):
    """The API's report names routes, not server paths; the report file streams once written."""
    template = make_template(engine, org, make_rows(org, 2), addons=())
    start(engine, template)
    assign_chunk(engine, template, pending_row_ids(engine, template))
    headers, path = bearer(token(cli, org.org_uuid, "--name", "reader")), f"/api/v1/templates/{template}"
    for which in ("report", "export"):
        assert_problem(api.get(f"{path}/{which}/file", headers=headers), 404, "report-file-not-written")
    assert api.post(f"{path}/cancel", headers=headers).status_code == 200  # ends it, writing its report
    report = api.get(f"{path}/report", headers=headers).json()
    clis = shown(cli, "template", "report", template)
    assert (report["report"], report["export"]) == (f"{path}/report/file", None)
    assert {**report, "report": clis["report"], "export": clis["export"]} == clis
    downloaded = api.get(report["report"], headers=headers)
    assert downloaded.status_code == 200 and downloaded.headers["content-type"].startswith("text/csv")
    name = downloaded.headers["content-disposition"].split("filename=")[1].strip('"')
    assert name.startswith(org.org_uuid) and name.endswith("_license_phonesystem_bulk_assignment_report.csv")
    lines = downloaded.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith('"Ext Key","User\'s Name"') and len(lines) == 3
