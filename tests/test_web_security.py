"""Every route of the HTTP API, found by walking ``app.routes`` (so a new route is covered without a
line here), tried against a real server (``tests.webserver``) the ways an attacker would:

- no token, and a revoked one: 401 ``token-invalid``;
- a token of another organization with this organization's real ids: the very 404 a missing id gets,
  byte for byte once the ids are swapped (so the answer does not tell that the ids exist), and
  nothing of this organization changes;
- a viewer token on every changing route: 403 ``token-forbidden``, nothing changed; every denial
  is in the token's organization's audit log with outcome ``denied``;
- an upload past 5 MB: refused while it streams, before the client has sent it all;
- hostile path and query values (very long, NUL, ``../``, invalid UTF-8, unicode controls): a 4xx
  problem document, never a 500;
- and no token ever in the server's log.

A route whose path takes a parameter not in ``REAL_IDS`` fails the test, so whoever adds one says
which real value fills it; a changing route not in ``CHANGES`` fails it too, so whoever adds one
says which valid request it takes (a request the route would carry out, were the token allowed).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Iterator
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from phonesys.rules.limits import MB, UPLOAD_MAX_BYTES
from phonesys.settings import Settings
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.provisioning import provision
from phonesys.storage.inventory.templates import create_template
from phonesys.web.app import create_app
from tests.bulkfixtures import make_rows, make_template, start
from tests.conftest import make_document
from tests.webserver import MISSING_ORG, SECRETS, api, bearer, cli_json, database_url, server, token

pytestmark = pytest.mark.slow
__all__ = ["api", "database_url", "server"]  # fixtures, used by name
PUBLIC = {"/openapi.json", "/docs", "/docs/assets"}  # the API's description and its page: no token
MISSING = {"org": MISSING_ORG, "key": "999", "template": "00000000-0000-4000-8000-0000000000ff"}
PROBLEM = "application/problem+json"
HOSTILE_PATH = ["1" * 5000, "%00", "a%00b", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "%ff%fe", "%E2%80%AE101",
                "%C2%85", "%1B%5B31m", quote("１０１"), "%25", "'%3B--", "{org}"]
HOSTILE_QUERY = ["x" * 5000, "\x00", "a\x00b", "../../etc/passwd", "\u202e\u2066", "\x1b[31m", "-1", "1e309", ""]
REFUSED_QUERY = {"x" * 5000, "\x00", "a\x00b", "\x1b[31m"}  # every query value, whatever its type, refuses these
READS = {"GET"}
CSV = "Ext Key,User's Name,Number\r\n"
# (method, route): the keyword arguments of a valid request (a file of the org's users for an upload)
CHANGES: dict[tuple[str, str], Callable[[dict[str, str]], dict]] = {
    ("POST", "/api/v1/orgs/{org}/extensions"): lambda ids: {"json": {"start": "150"}},
    ("PATCH", "/api/v1/orgs/{org}/extensions/{key}"): lambda ids: {"json": {"directory_name": "Changed"}},
    ("DELETE", "/api/v1/orgs/{org}/extensions/{key}"): lambda ids: {},
    ("POST", "/api/v1/orgs/{org}/templates"): lambda ids: {"json": {"name": "New"}},
    ("PATCH", "/api/v1/templates/{template}"): lambda ids: {"json": {"name": "Renamed"}},
    ("DELETE", "/api/v1/templates/{template}"): lambda ids: {},
    ("POST", "/api/v1/templates/{template}/duplicate"): lambda ids: {"json": {"name": "Copy"}},
    ("POST", "/api/v1/templates/{template}/files"): lambda ids: {
        "files": [("files", ("u.csv", (CSV + f"160,{ids['user']},\r\n").encode(), "text/csv"))]},
    ("POST", "/api/v1/templates/{template}/start"): lambda ids: {},
    ("POST", "/api/v1/templates/{template}/revert"): lambda ids: {},
    ("POST", "/api/v1/templates/{template}/cancel"): lambda ids: {},
}


@pytest.fixture(scope="module")
def routes(tmp_path_factory) -> list[RouteContext]:
    """The app's token-guarded routes; anything else it serves must be one of ``PUBLIC``."""
    home = tmp_path_factory.mktemp("routes-home")
    app: FastAPI = create_app(Settings(home=home, database_url=f"sqlite:///{home / 'inventory.sqlite3'}"))
    app.state.engine.dispose()
    served = [route for route in iter_route_contexts(app.routes)  # app.routes holds included routers unexpanded
              if not is_console(route.path)]
    guarded = [route for route in served if isinstance(route.original_route, APIRoute) and route.path not in PUBLIC]
    assert {route.path for route in served} - {route.path for route in guarded} == PUBLIC
    assert len(guarded) >= 8
    return guarded


@pytest.fixture
def real_ids(engine, org) -> dict[str, str]:
    """This organization's ids, each of which its own token can read: extension 101 and a started template."""
    template = make_template(engine, org, make_rows(org, 2))
    start(engine, template)
    provision(engine, org.org_uuid, count=1, start="101")
    return {"org": org.org_uuid, "key": "101", "template": template, "user": org.users[5].name}


def is_console(path: str) -> bool:
    """The web console's pages and assets (a session cookie, not a token): tests/test_console_security.py."""
    return path == "/" or path == "/console" or path.startswith("/console/")


def url(route: RouteContext, values: dict[str, str]) -> str:
    names = re.findall(r"{(\w+)}", route.path)
    unknown = [name for name in names if name not in values]
    assert not unknown, f"{route.path}: add a real value for {unknown} to the security test"
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], route.path)


def calls(routes: list[RouteContext], values: dict[str, str], methods: set[str] | None = None,
          ) -> Iterator[tuple[str, str, dict]]:
    """(method, URL, request keywords) of every route, with a valid body for a changing one."""
    for route in routes:
        for method in sorted(route.methods & (methods or route.methods)):
            if method in READS:
                yield method, url(route, values), {}
                continue
            assert (method, route.path) in CHANGES, f"{method} {route.path}: add a valid request to CHANGES"
            yield method, url(route, values), CHANGES[(method, route.path)](values)


def changing(routes: list[RouteContext]) -> list[RouteContext]:
    return [route for route in routes if route.methods - READS]


def state(cli, org_uuid: str, template: str) -> str:
    """What an organization holds, as the CLI shows it: any change through the API would show here."""
    views = [cli_json(cli, "org", "show", org_uuid), cli_json(cli, "ext", "list", org_uuid),
             cli_json(cli, "template", "list", org_uuid), cli_json(cli, "template", "show", template),
             [e for e in cli_json(cli, "audit", org_uuid, "--limit", "1000")["events"] if e["action"] != "token.denied"]]
    return json.dumps(views, sort_keys=True)


def failures(check: Callable[[httpx.Response], bool], responses: Iterator[httpx.Response]) -> list[str]:
    return [f"{r.request.method} {str(r.request.url)[:120]}: {r.status_code} {r.text[:200]}"
            for r in responses if not check(r)]


def is_problem(response: httpx.Response, status: int, code: str | None = None) -> bool:
    return (response.status_code == status and response.headers["content-type"] == PROBLEM
            and (code is None or response.json()["code"] == code))


def test_every_route_refuses_no_token_and_a_revoked_one(api, cli, routes, real_ids, org):
    secret = token(cli, org.org_uuid, "--name", "soon revoked")
    own = failures(lambda r: r.status_code == 200 or is_problem(r, 404, "report-file-not-written"),
                   (api.request(m, u, headers=bearer(secret), **k) for m, u, k in calls(routes, real_ids, READS)))
    assert not own, own  # the ids are real (a running template's files: not written yet, but seen): the
    # refusals below are about the token alone
    assert cli("token", "revoke", org.org_uuid, "soon revoked").exit_code == 0
    before = state(cli, org.org_uuid, real_ids["template"])
    for headers in ({}, bearer(secret), {"Authorization": "Bearer"}, {"Authorization": f"Token {secret}"}):
        refused = failures(lambda r: is_problem(r, 401, "token-invalid"),
                           (api.request(m, u, headers=headers, **k) for m, u, k in calls(routes, real_ids)))
        assert not refused, refused
    assert state(cli, org.org_uuid, real_ids["template"]) == before


def test_another_orgs_token_gets_exactly_the_404_of_missing_ids(api, cli, engine, routes, real_ids):
    other = make_document()
    load_org(engine, other)
    theirs = bearer(token(cli, other.org_uuid, "--name", "theirs"))
    before, checked, tried = state(cli, real_ids["org"], real_ids["template"]), 0, set()
    for route in routes:
        if not re.search(r"{(org|template)}", route.path):
            continue  # nothing of an organization in it (the sample file)
        missing = {**real_ids, **{k: MISSING[k] for k in ("org", "template")}}
        for (method, path, kwargs), (_, absent_path, _) in zip(calls([route], real_ids), calls([route], missing)):
            hidden = api.request(method, path, headers=theirs, **kwargs)
            absent = api.request(method, absent_path, headers=theirs, **kwargs)
            assert is_problem(hidden, 404), (route.path, hidden.text)
            swapped = hidden.text.replace(real_ids["org"], MISSING["org"]).replace(real_ids["template"],
                                                                                     MISSING["template"])
            assert swapped == absent.text, route.path
            assert dict(hidden.headers, date="") == dict(absent.headers, date=""), route.path
            checked += 1
            if method not in READS:
                tried.add((method, path))
    assert checked >= 18 and len(tried) == len(CHANGES)
    assert state(cli, real_ids["org"], real_ids["template"]) == before
    denied = cli_json(cli, "audit", other.org_uuid, "--action", "token.denied", "--limit", "1000")["events"]
    assert {(e["actor"], e["outcome"]) for e in denied} == {("token:theirs", "denied")}
    assert tried <= {(e["after"]["method"], e["after"]["path"]) for e in denied}


def test_hostile_path_values_are_4xx_problems(api, cli, routes, real_ids):
    operator = bearer(token(cli, "--all-orgs", "--name", f"ops-{real_ids['org'][:8]}"))  # past any scope check
    bad: list[str] = []
    for route in routes:
        for name in re.findall(r"{(\w+)}", route.path):
            for value in HOSTILE_PATH:
                for method, path, kwargs in calls([route], {**real_ids, name: value}):
                    response = api.request(method, path, headers=operator, **kwargs)
                    bad += failures(lambda r: 400 <= r.status_code < 500 and r.headers["content-type"] == PROBLEM,
                                    iter([response]))
    assert not bad, bad


def test_hostile_query_values_are_never_a_500(api, cli, routes, real_ids):
    headers = bearer(token(cli, real_ids["org"], "--name", "q"))
    bad: list[str] = []
    for route in routes:
        for param in route.dependant.query_params:
            for value in HOSTILE_QUERY:
                for method, path, kwargs in calls([route], real_ids):
                    response = api.request(method, path, params={param.alias: value}, headers=headers, **kwargs)
                    refused = 400 <= response.status_code < 500 and response.headers["content-type"] == PROBLEM
                    if not (refused or (value not in REFUSED_QUERY and response.status_code == 200)):
                        bad.append(f"{route.path}?{param.alias}={value[:20]!r}: {response.status_code} "
                                   f"{response.text[:200]}")
    assert not bad, bad


def test_a_viewer_changes_nothing_and_each_denial_is_audited(api, cli, routes, real_ids):
    viewer = bearer(token(cli, real_ids["org"], "--name", "looker", "--role", "viewer"))
    before, tried = state(cli, real_ids["org"], real_ids["template"]), set()
    for values in (real_ids, {**real_ids, **MISSING}):  # the same 403 for real, missing and other ids
        for method, path, kwargs in calls(changing(routes), values):
            if method not in READS:
                refused = failures(lambda r: is_problem(r, 403, "token-forbidden"),
                                   iter([api.request(method, path, headers=viewer, **kwargs)]))
                assert not refused, refused
                tried.add((method, path))
    assert len(tried) == 2 * len(CHANGES)
    assert state(cli, real_ids["org"], real_ids["template"]) == before
    denied = cli_json(cli, "audit", real_ids["org"], "--actor", "token:looker", "--limit", "1000")["events"]
    assert {(e["action"], e["outcome"], e["after"]["status"]) for e in denied} == {("token.denied", "denied", 403)}
    assert {(e["after"]["method"], e["after"]["path"]) for e in denied} == tried


def upload_head(template: str, secret: str, boundary: str, declared: int) -> bytes:
    """The request line, headers and the file part's own headers of a hand-made multipart upload."""
    part = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n" + CSV)
    return (f"POST /api/v1/templates/{template}/files HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {secret}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {declared}\r\n"
            "Connection: close\r\n\r\n" + part).encode()


def answer(connection: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
        data = connection.recv(65536)
        if not data:
            break
        received += data
    return received


def test_an_upload_past_5_mb_is_refused_before_the_client_has_sent_it(api, cli, engine, org):
    """A client declares 8 MB, sends 5.5 MB of it and waits: the 413 comes while 2.5 MB are still
    unsent (a server that read the whole body first would never answer). Nothing was added."""
    template = create_template(engine, org.org_uuid, "Big", []).uuid
    secret = token(cli, org.org_uuid, "--name", "big")
    row, declared = b"101,User 000,\r\n", 8 * MB
    with socket.create_connection((api.base_url.host, api.base_url.port), timeout=60) as connection:
        connection.sendall(upload_head(template, secret, "b0undary", declared))
        sent = 0
        while sent < UPLOAD_MAX_BYTES + MB // 2:
            connection.sendall(row * 4096)
            sent += len(row) * 4096
        response = answer(connection)
    assert sent < declared and response.startswith(b"HTTP/1.1 413 "), response[:300]
    body = json.loads(response.split(b"\r\n\r\n", 1)[1])
    assert (body["code"], body["problems"][0]["file"]) == ("file-too-large", "big.csv")
    assert cli_json(cli, "template", "show", template)["total_users"] == 0


def test_an_upload_declaring_more_than_the_cap_is_refused_before_any_byte_is_read(api, cli, engine, org):
    template = create_template(engine, org.org_uuid, "Huge", []).uuid
    secret = token(cli, org.org_uuid, "--name", "huge")
    with socket.create_connection((api.base_url.host, api.base_url.port), timeout=60) as connection:
        connection.sendall(upload_head(template, secret, "b0undary", 10 ** 10))  # then no body at all
        response = answer(connection)
    assert response.startswith(b"HTTP/1.1 413 ") and b'"code":"request-too-large"' in response, response[:300]


def test_no_token_reaches_the_servers_log(server):
    """Last in the module: the log holds every request above, hostile ones included."""
    _client, log = server
    text = log.read_text(errors="replace")
    assert "GET /api/v1/" in text
    assert SECRETS and not [s for s in SECRETS if s in text or s[4:20] in text]
