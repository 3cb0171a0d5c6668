"""The HTTP API against a real server (``tests.webserver``): licenses, extensions, tokens and problems."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import httpx
import pytest

from phonesys.storage.inventory.orgs import load_org
from tests.conftest import make_document
from tests.webserver import MISSING_ORG, SECRETS, api, assert_problem, bearer, cli_json, database_url, server, token

pytestmark = pytest.mark.slow
__all__ = ["api", "database_url", "server"]  # fixtures, used by name


def test_no_token_a_bad_one_and_a_revoked_one_get_401(api, cli, org):
    path = f"/api/v1/orgs/{org.org_uuid}/licenses"
    secret = token(cli, org.org_uuid, "--name", "short-lived")
    assert api.get(path, headers=bearer(secret)).status_code == 200
    for headers in ({}, bearer("phs_not-a-token"), bearer("x"), {"Authorization": f"Basic {secret}"}):
        body = assert_problem(api.get(path, headers=headers), 401, "token-invalid")
        assert org.name not in json.dumps(body)
    assert api.get(path).headers["www-authenticate"] == "Bearer"
    assert cli("token", "revoke", org.org_uuid, "short-lived").exit_code == 0
    assert_problem(api.get(path, headers=bearer(secret)), 401, "token-invalid")  # at once, no cache


def test_another_orgs_token_gets_the_404_of_a_missing_org(api, cli, engine, org):
    other = make_document()
    load_org(engine, other)
    theirs = bearer(token(cli, other.org_uuid, "--name", "theirs"))
    for route in ("licenses", "extensions", "extensions/101"):
        hidden = api.get(f"/api/v1/orgs/{org.org_uuid}/{route}", headers=theirs)
        missing = api.get(f"/api/v1/orgs/{MISSING_ORG}/{route}", headers=theirs)
        assert hidden.status_code == missing.status_code == 404
        assert _headers(hidden) == _headers(missing)
        assert hidden.text.replace(org.org_uuid, MISSING_ORG) == missing.text
    assert assert_problem(missing, 404, "org-not-found")["problems"][0]["field"] == "org"


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k != "date"}


def test_a_viewer_reads_its_org_and_an_operator_reads_any(api, cli, engine, org):
    other = make_document()
    load_org(engine, other)
    viewer = bearer(token(cli, org.org_uuid, "--name", "viewer", "--role", "viewer"))
    operator = bearer(token(cli, "--all-orgs", "--name", f"ops-{org.org_uuid[:8]}"))
    assert api.get(f"/api/v1/orgs/{org.org_uuid}/licenses", headers=viewer).status_code == 200
    for document in (org, other):
        response = api.get(f"/api/v1/orgs/{document.org_uuid}/licenses", headers=operator)
        assert response.status_code == 200 and response.json()["org_uuid"] == document.org_uuid
    assert_problem(api.get(f"/api/v1/orgs/{MISSING_ORG}/licenses", headers=operator), 404, "org-not-found")


def test_licenses_are_the_figures_of_org_show(api, cli, org):
    assert cli("provision", org.org_uuid, "--start", "101", "--user", org.users[0].identity_uuid,
               "--addon", "Voicemail", "--number", org.numbers[0]).exit_code == 0
    response = api.get(f"/api/v1/orgs/{org.org_uuid}/licenses", headers=bearer(token(cli, org.org_uuid, "--name", "r")))
    shown = cli_json(cli, "org", "show", org.org_uuid)
    shown.pop("ok")
    assert response.json() == shown
    assert response.json()["addons"]["Voicemail"] == {"total": 2, "used": 1, "held": 0, "available": 1}


def test_extensions_page_through_in_key_order_with_the_filters_of_ext_list(api, cli, org):
    assert cli("provision", org.org_uuid, "--start", "101", "--count", "7").exit_code == 0
    assert cli("ext", "assign-user", org.org_uuid, "103", org.users[0].identity_uuid).exit_code == 0
    headers, path = bearer(token(cli, org.org_uuid, "--name", "pager")), f"/api/v1/orgs/{org.org_uuid}/extensions"
    first = api.get(path, headers=headers).json()
    assert (first["total"], first["limit"], first["offset"]) == (7, 100, 0)
    assert first["extensions"] == cli_json(cli, "ext", "list", org.org_uuid)["extensions"]
    page = api.get(path, params={"limit": 3, "offset": 3}, headers=headers).json()
    assert [e["ext_key"] for e in page["extensions"]] == ["104", "105", "106"] and page["total"] == 7
    assert api.get(path, params={"offset": 6}, headers=headers).json()["extensions"][0]["ext_key"] == "107"
    free = api.get(path, params={"has_user": "false", "limit": 2}, headers=headers).json()
    assert free["total"] == 6 and [e["ext_key"] for e in free["extensions"]] == ["101", "102"]
    shown = cli_json(cli, "ext", "show", org.org_uuid, "103")
    shown.pop("ok")
    assert api.get(f"{path}/103", headers=headers).json() == shown


def test_out_of_range_paging_is_a_problem_naming_each_value(api, cli, org):
    headers, path = bearer(token(cli, org.org_uuid, "--name", "pager")), f"/api/v1/orgs/{org.org_uuid}/extensions"
    body = assert_problem(api.get(path, params={"limit": 1001, "offset": -1}, headers=headers), 422, "request-invalid")
    assert {(p["code"], p["field"], p["value"]) for p in body["problems"]} == {
        ("request-invalid", "limit", "1001"), ("request-invalid", "offset", "-1")}


@pytest.mark.parametrize("route, command", [
    ("extensions/999", ("ext", "show", "{org}", "999")),
    ("extensions/12", ("ext", "show", "{org}", "12")),
])
def test_refusals_carry_the_clis_codes_and_problems(api, cli, org, route, command):
    response = api.get(f"/api/v1/orgs/{org.org_uuid}/{route}", headers=bearer(token(cli, org.org_uuid, "--name", "c")))
    expected = cli_json(cli, *(word.format(org=org.org_uuid) for word in command))
    body = assert_problem(response, 404 if expected["problems"][0]["code"].endswith("not-found") else 422,
                          expected["problems"][0]["code"])
    assert body["problems"] == expected["problems"]
    assert body["detail"] == expected["problems"][0]["message"]


def test_a_malformed_org_is_refused_alike_for_every_token(api, cli, org):
    headers = bearer(token(cli, org.org_uuid, "--name", "u"))
    body = assert_problem(api.get("/api/v1/orgs/not-a-uuid/licenses", headers=headers), 422, "org-uuid-invalid")
    assert body["problems"] == cli_json(cli, "org", "show", "not-a-uuid")["problems"]


def test_openapi_is_served_and_the_docs_load_nothing_off_host(api):
    spec = api.get("/openapi.json").json()
    assert {"/api/v1/orgs/{org}/licenses", "/api/v1/orgs/{org}/extensions",
            "/api/v1/orgs/{org}/extensions/{key}"} <= set(spec["paths"])
    assert "token" in spec["components"]["securitySchemes"]
    page = api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    urls = referenced_urls(page.text)
    assert {"/openapi.json", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url  # on this host, whatever the scheme
        assert api.get(url).status_code == 200, url
    assert "validatorUrl\": null" in page.text  # Swagger UI would otherwise show a badge from another host
    assert_problem(api.get("/redoc"), 404, "route-not-found")
    assert_problem(api.get("/docs/assets/%2e%2e/%2e%2e/docs.py"), 404, "route-not-found")
    assert_problem(api.post("/openapi.json"), 405, "method-not-allowed")


def referenced_urls(page: str) -> set[str]:
    """Every ``src``/``href`` of the page and every quoted URL in its scripts (Swagger UI's ``url:``)."""
    found: set[str] = set()

    class Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.update(value for name, value in attrs if name in ("src", "href") and value)

    Links().feed(page)
    found.update(re.findall(r"""url:\s*['"]([^'"]+)['"]""", page))
    assert not re.search(r"(?i)\b(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page), "an off-host URL in the page"
    return found


def test_tokens_never_reach_the_servers_log(server, cli, org):
    """Last in the module: by now the log holds every request made with every token made above."""
    client, log = server
    secret = token(cli, org.org_uuid, "--name", "logged?")
    client.get(f"/api/v1/orgs/{org.org_uuid}/licenses", headers=bearer(secret))
    client.get(f"/api/v1/orgs/{org.org_uuid}/licenses", headers=bearer(secret + "x"))
    client.get(f"/api/v1/orgs/{org.org_uuid}/licenses", params={"access_token": secret})  # wrong, but logged?
    text = log.read_text()
    assert "GET /api/v1/orgs/" in text and "access_token=phs_[redacted]" in text  # the access log is on
    assert SECRETS and not [s for s in SECRETS if s in text or s[4:20] in text]
