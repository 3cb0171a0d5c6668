"""Every route of the HTTP API, found by walking ``app.routes`` (so a new route is covered without a
line here), tried against a real server (``tests.webserver``) the ways an attacker would:

- no token, and a revoked one: 401 ``token-invalid``;
- a token of another organization with this organization's real ids: the very 404 a missing id gets,
  byte for byte once the ids are swapped (so the answer does not tell that the ids exist);
- hostile path and query values (very long, NUL, ``../``, invalid UTF-8, unicode controls): a 4xx
  problem document, never a 500;
- and no token ever in the server's log.

A route whose path takes a parameter not in ``REAL_IDS`` fails the test, so whoever adds one says
which real value fills it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from phonesys.settings import Settings
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.provisioning import provision
from phonesys.web.app import create_app
from tests.bulkfixtures import make_rows, make_template, start
from tests.conftest import make_document
from tests.webserver import MISSING_ORG, SECRETS, api, bearer, database_url, server, token

pytestmark = pytest.mark.slow
__all__ = ["api", "database_url", "server"]  # fixtures, used by name
PUBLIC = {"/openapi.json", "/docs", "/docs/assets"}  # the API's description and its page: no token
MISSING = {"org": MISSING_ORG, "key": "999", "template": "00000000-0000-4000-8000-0000000000ff"}
PROBLEM = "application/problem+json"
HOSTILE_PATH = ["1" * 5000, "%00", "a%00b", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "%ff%fe", "%E2%80%AE101",
                "%C2%85", "%1B%5B31m", quote("１０１"), "%25", "'%3B--", "{org}"]
HOSTILE_QUERY = ["x" * 5000, "\x00", "a\x00b", "../../etc/passwd", "\u202e\u2066", "\x1b[31m", "-1", "1e309", ""]
REFUSED_QUERY = {"x" * 5000, "\x00", "a\x00b", "\x1b[31m"}  # every query value, whatever its type, refuses these


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
    return {"org": org.org_uuid, "key": "101", "template": template}


def is_console(path: str) -> bool:
    """The web console's pages and assets (a session cookie, not a token): tests/test_console_security.py."""
    return path == "/" or path == "/console" or path.startswith("/console/")


def url(route: RouteContext, values: dict[str, str]) -> str:
    names = re.findall(r"{(\w+)}", route.path)
    unknown = [name for name in names if name not in values]
    assert not unknown, f"{route.path}: add a real value for {unknown} to the security test"
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], route.path)


def calls(routes: list[RouteContext], values: dict[str, str]) -> Iterator[tuple[str, str]]:
    for route in routes:
        for method in sorted(route.methods):
            yield method, url(route, values)


def failures(check: Callable[[httpx.Response], bool], responses: Iterator[httpx.Response]) -> list[str]:
    return [f"{r.request.method} {str(r.request.url)[:120]}: {r.status_code} {r.text[:200]}"
            for r in responses if not check(r)]


def is_problem(response: httpx.Response, status: int, code: str | None = None) -> bool:
    return (response.status_code == status and response.headers["content-type"] == PROBLEM
            and (code is None or response.json()["code"] == code))


def test_every_route_refuses_no_token_and_a_revoked_one(api, cli, routes, real_ids, org):
    secret = token(cli, org.org_uuid, "--name", "soon revoked")
    own = failures(lambda r: r.status_code == 200, (api.request(m, u, headers=bearer(secret))
                                                    for m, u in calls(routes, real_ids)))
    assert not own, own  # the ids are real: the refusals below are about the token alone
    assert cli("token", "revoke", org.org_uuid, "soon revoked").exit_code == 0
    for headers in ({}, bearer(secret), {"Authorization": "Bearer"}, {"Authorization": f"Token {secret}"}):
        refused = failures(lambda r: is_problem(r, 401, "token-invalid"),
                           (api.request(m, u, headers=headers) for m, u in calls(routes, real_ids)))
        assert not refused, refused


def test_another_orgs_token_gets_exactly_the_404_of_missing_ids(api, cli, engine, routes, real_ids):
    other = make_document()
    load_org(engine, other)
    theirs = bearer(token(cli, other.org_uuid, "--name", "theirs"))
    checked = 0
    for route in routes:
        if not re.search(r"{(org|template)}", route.path):
            continue  # nothing of an organization in it (the sample file)
        missing = {**real_ids, **{k: MISSING[k] for k in ("org", "template")}}
        for method in sorted(route.methods):
            hidden = api.request(method, url(route, real_ids), headers=theirs)
            absent = api.request(method, url(route, missing), headers=theirs)
            assert is_problem(hidden, 404), (route.path, hidden.text)
            swapped = hidden.text.replace(real_ids["org"], MISSING["org"]).replace(real_ids["template"],
                                                                                     MISSING["template"])
            assert swapped == absent.text, route.path
            assert dict(hidden.headers, date="") == dict(absent.headers, date=""), route.path
            checked += 1
    assert checked >= 7


def test_hostile_path_values_are_4xx_problems(api, cli, routes, real_ids):
    operator = bearer(token(cli, "--all-orgs", "--name", f"ops-{real_ids['org'][:8]}"))  # past any scope check
    bad: list[str] = []
    for route in routes:
        for name in re.findall(r"{(\w+)}", route.path):
            for value in HOSTILE_PATH:
                for method in sorted(route.methods):
                    response = api.request(method, url(route, {**real_ids, name: value}), headers=operator)
                    bad += failures(lambda r: 400 <= r.status_code < 500 and r.headers["content-type"] == PROBLEM,
                                    iter([response]))
    assert not bad, bad


def test_hostile_query_values_are_never_a_500(api, cli, routes, real_ids):
    headers = bearer(token(cli, real_ids["org"], "--name", "q"))
    bad: list[str] = []
    for route in routes:
        for param in route.dependant.query_params:
            for value in HOSTILE_QUERY:
                for method, path in calls([route], real_ids):
                    response = api.request(method, path, params={param.alias: value}, headers=headers)
                    refused = 400 <= response.status_code < 500 and response.headers["content-type"] == PROBLEM
                    if not (refused or (value not in REFUSED_QUERY and response.status_code == 200)):
                        bad.append(f"{route.path}?{param.alias}={value[:20]!r}: {response.status_code} "
                                   f"{response.text[:200]}")
    assert not bad, bad


def test_no_token_reaches_the_servers_log(server):
    """Last in the module: the log holds every request above, hostile ones included."""
    _client, log = server
    text = log.read_text(errors="replace")
    assert "GET /api/v1/" in text
    assert SECRETS and not [s for s in SECRETS if s in text or s[4:20] in text]
