"""The web console's doors, over HTTP against a real ``phonesys web`` (``tests.webserver``): sign-in and
its cookie, CSRF on every form, a revoked token, a viewer, another organization, sign-out.

Every refused post is checked to have changed nothing (the org's figures as ``org show`` reads them).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from phonesys.rules.limits import CONSOLE_SESSION_SECONDS, UPLOAD_REQUEST_MAX_BYTES, WEB_SECRET_MIN
from phonesys.settings import Settings
from phonesys.storage.inventory.audit_queries import AuditFilter, org_events
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.provisioning import provision
from phonesys.storage.inventory.template_views import template_detail
from phonesys.storage.inventory.templates import create_template
from phonesys.storage.inventory.usage import org_usage
from phonesys.web.console.sessions import Signer, web_secret
from tests.bulkfixtures import make_rows, make_template, start
from tests.conftest import make_document
from tests.consolesession import ConsoleSession, codes_of, csrf_of
from tests.webserver import MISSING_ORG, api, database_url, server, token

pytestmark = pytest.mark.slow
__all__ = ["api", "database_url", "server"]  # fixtures, used by name


@pytest.fixture
def browser(api) -> Iterator[ConsoleSession]:
    session = ConsoleSession(api.base_url)
    yield session
    session.close()


def signed_in(api, secret: str) -> ConsoleSession:
    session = ConsoleSession(api.base_url)
    assert session.sign_in(secret).status_code == 303
    return session


def test_without_a_session_every_page_sends_the_browser_to_sign_in(api, cli, org):
    for path in ("/", "/console", f"/console/orgs/{org.org_uuid}/licenses", f"/console/orgs/{org.org_uuid}/templates",
                 f"/console/orgs/{org.org_uuid}/extensions/101", "/console/orgs"):
        response = api.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/console/sign-in"), path
    signed = signed_in(api, token(cli, org.org_uuid, "--name", "admin"))
    value = signed.http.cookies["phonesys_session"]
    token_id, issued, nonce, mac = value.split(".")
    assert api.get("/console", headers={"Cookie": f"phonesys_session={value}"}).headers["location"] == (
        f"/console/orgs/{org.org_uuid}/licenses")  # the real cookie, sent the same way, is taken
    for forged in (f"{int(token_id) + 1}.{issued}.{nonce}.{mac}", f"{token_id}.{issued}.{nonce}.{mac[::-1]}",
                   f"{token_id}.{int(issued) + 99}.{nonce}.{mac}", "garbage"):
        response = api.get("/console", headers={"Cookie": f"phonesys_session={forged}"})
        assert response.headers["location"] == "/console/sign-in", forged


def test_sign_in_sets_a_strict_http_only_cookie_and_a_bad_token_sets_none(api, cli, org, browser):
    refused = browser.sign_in("phs_not-a-token")
    assert refused.status_code == 401 and codes_of(refused) == ["token-invalid"]
    assert "phonesys_session" not in refused.headers.get("set-cookie", "")
    response = browser.sign_in(token(cli, org.org_uuid, "--name", "admin"))
    assert (response.status_code, response.headers["location"]) == (303, "/console")
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("phonesys_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/console"} <= flags
    assert "secure" not in flags  # served over http here; https sets Secure
    assert browser.get("/console").headers["location"] == f"/console/orgs/{org.org_uuid}/licenses"


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(api, cli, engine, org):
    session = signed_in(api, token(cli, org.org_uuid, "--name", "admin"))
    before = org_usage(engine, org.org_uuid)
    action = f"/console/orgs/{org.org_uuid}/provision"
    for data in ({"start": "101", "count": "2"}, {"start": "101", "count": "2", "csrf_token": "forged"}):
        response = session.http.post(action, data=data)
        assert response.status_code == 403 and codes_of(response) == ["csrf-invalid"]
    assert session.http.post("/console/sign-in", data={"token": "x"}).status_code == 403  # sign-in too
    assert org_usage(engine, org.org_uuid) == before
    done = session.post_form(action, action, {"start": "101", "count": "2"})
    assert done.status_code == 303 and org_usage(engine, org.org_uuid).base_licenses.used == 2


def test_a_revoked_token_s_session_stops_at_the_next_request(api, cli, org):
    session = signed_in(api, token(cli, org.org_uuid, "--name", "soon revoked"))
    licenses = f"/console/orgs/{org.org_uuid}/licenses"
    page = session.get(licenses)
    assert page.status_code == 200
    assert cli("token", "revoke", org.org_uuid, "soon revoked").exit_code == 0
    assert session.get(licenses).headers["location"] == "/console/sign-in"


def test_sign_out_ends_the_session(api, cli, org):
    session = signed_in(api, token(cli, org.org_uuid, "--name", "admin"))
    out = session.post_form(f"/console/orgs/{org.org_uuid}/licenses", "/console/sign-out")
    assert out.status_code == 303 and 'phonesys_session=""' in out.headers["set-cookie"]
    assert session.get("/console").headers["location"] == "/console/sign-in"


def test_a_viewer_sees_the_pages_but_every_change_is_refused(api, cli, engine, org):
    provision(engine, org.org_uuid, 1, "101")
    template = create_template(engine, org.org_uuid, "Sales", []).uuid
    viewer = signed_in(api, token(cli, org.org_uuid, "--name", "viewer", "--role", "viewer"))
    page = viewer.get(f"/console/orgs/{org.org_uuid}/extensions/101")
    assert page.status_code == 200 and "read-only" in page.text and "disabled" in page.text
    before = org_usage(engine, org.org_uuid)
    base = f"/console/orgs/{org.org_uuid}"
    posts = [(f"{base}/provision", f"{base}/provision", {"start": "200"}),
             (f"{base}/extensions/101", f"{base}/extensions/101/edit", {"directory_name": "x"}),
             (f"{base}/extensions/101", f"{base}/extensions/101/delete", {}),
             (f"{base}/templates/new", f"{base}/templates", {"name": "mine"}),
             (f"/console/templates/{template}/users", f"/console/templates/{template}/delete", {})]
    for page_path, action, data in posts:
        response = viewer.post_form(page_path, action, data)
        assert response.status_code == 403 and codes_of(response) == ["token-forbidden"], action
    assert org_usage(engine, org.org_uuid) == before
    denied = org_events(engine, org.org_uuid, AuditFilter(actions=("token.denied",)))
    assert sorted(e.after["path"] for e in denied if e.actor == "token:viewer") == sorted(a for _, a, _ in posts)
    assert viewer.get(f"/console/templates/{template}").status_code == 200


def test_another_organizations_pages_answer_like_missing_ones(api, cli, engine, org):
    other = make_document()
    load_org(engine, other)
    provision(engine, other.org_uuid, 1, "101")
    theirs = create_template(engine, other.org_uuid, "Theirs", []).uuid
    mine = signed_in(api, token(cli, org.org_uuid, "--name", "admin"))
    for path in (f"/console/orgs/{other.org_uuid}/licenses", f"/console/orgs/{other.org_uuid}/extensions/101",
                 f"/console/orgs/{other.org_uuid}/exports/extensions.csv"):
        hidden, missing = mine.get(path), mine.get(path.replace(other.org_uuid, MISSING_ORG))
        assert hidden.status_code == missing.status_code == 404 and codes_of(hidden) == ["org-not-found"]
        assert other.name not in hidden.text
    for suffix in ("", "/users", "/report", "/progress", "/report.csv"):
        assert mine.get(f"/console/templates/{theirs}{suffix}").status_code == 404
    refused = mine.post_form(f"/console/orgs/{org.org_uuid}/licenses", f"/console/templates/{theirs}/delete")
    assert refused.status_code == 404 and codes_of(refused) == ["template-not-found"]
    operator = signed_in(api, token(cli, "--all-orgs", "--name", f"ops-{org.org_uuid[:8]}"))
    assert operator.get("/console").headers["location"] == "/console/orgs"
    assert other.name in operator.get("/console/orgs").text
    assert operator.get(f"/console/templates/{theirs}").status_code == 200


def test_changes_are_audited_as_the_token_and_refusals_carry_the_clis_codes(api, cli, engine, org):
    session = signed_in(api, token(cli, org.org_uuid, "--name", "desk admin"))
    base = f"/console/orgs/{org.org_uuid}"
    bad = session.post_form(f"{base}/provision", f"{base}/provision", {"start": "12", "count": "1"})
    assert bad.status_code == 422 and codes_of(bad) == ["ext-key-format"]
    assert session.post_form(f"{base}/provision", f"{base}/provision", {"start": "101"}).status_code == 303
    long_name = session.post_form(f"{base}/extensions/101", f"{base}/extensions/101/edit",
                                  {"new_key": "101", "directory_name": "x" * 101})
    assert long_name.status_code == 422 and codes_of(long_name) == ["directory-name-too-long"]
    events = org_events(engine, org.org_uuid, AuditFilter(actions=("ext.provision",)))
    assert [e.actor for e in events] == ["token:desk admin"]


def test_an_upload_past_5_mb_is_refused_before_it_is_read(api, cli, engine, org):
    session = signed_in(api, token(cli, org.org_uuid, "--name", "admin"))
    template = create_template(engine, org.org_uuid, "Big", []).uuid
    page = f"/console/templates/{template}/users"
    big = b"Ext Key,User's Name\r\n" + b"101,User 000\r\n" * 400_000
    response = session.post_form(page, f"/console/templates/{template}/files",
                                 files={"files": ("big.csv", big, "text/csv")})
    assert response.status_code == 413 and codes_of(response) == ["file-too-large"]
    cookie = "; ".join(f"{name}={value}" for name, value in session.http.cookies.items())
    head = (f"POST /console/templates/{template}/files HTTP/1.1\r\nHost: console\r\nCookie: {cookie}\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {UPLOAD_REQUEST_MAX_BYTES + 1}\r\n\r\n")
    with socket.create_connection((api.base_url.host, api.base_url.port), timeout=60) as connection:
        connection.sendall(head.encode())  # and no body: the answer comes from the header alone
        answer = b""
        while b"</html>" not in answer and (chunk := connection.recv(65536)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 ") and b"<code>request-too-large</code>" in answer, answer[:300]


HOSTILE = ["1" * 5000, "%00", "..%2F..%2Fetc%2Fpasswd", "%ff%fe", "%E2%80%AE101", "%1B%5B31m", "'%3B--"]
PAGES = ["/console/orgs/{org}/licenses", "/console/orgs/{org}/extensions/{key}", "/console/templates/{template}",
         "/console/templates/{template}/users", "/console/templates/{template}/report",
         "/console/templates/{template}/progress", "/console/orgs/{org}/exports/{key}.csv"]


def test_hostile_ids_and_query_values_are_refused_never_a_500(api, cli, engine, org):
    session = signed_in(api, token(cli, org.org_uuid, "--name", "admin"))
    real = {"org": org.org_uuid, "key": "101", "template": create_template(engine, org.org_uuid, "T", []).uuid}
    bad = []
    for page in PAGES:
        for name in ("org", "key", "template"):
            for value in HOSTILE:
                path = page.format(**{**real, name: value})
                if path != page.format(**real) and not 400 <= (status := session.get(path).status_code) < 500:
                    bad.append(f"{path[:80]}: {status}")
    for query in ({"offset": "x" * 5000}, {"has_user": "\x00"}, {"addon": "a\x00b"}, {"offset": "-5"}):
        status = session.get(f"/console/orgs/{org.org_uuid}/licenses", params=query).status_code
        if status >= 500:
            bad.append(f"licenses?{query}: {status}")
    assert not bad, bad


ACTION_LABELS = ("Licenses", "Users", "Assign", "Report", "Duplicate", "Delete")


def offered(page_text: str, template: str) -> list[str]:
    """The actions of a template's row in the Bulk Assignment list, in order."""
    row = page_text.split(f"<code>{template}</code>", 1)[1].split("</tr>", 1)[0]
    return [label for label in ACTION_LABELS if f">{label}</" in row]


def test_each_status_offers_the_actions_the_help_page_lists(api, cli, engine, org):
    session = signed_in(api, token(cli, org.org_uuid, "--name", "admin"))
    listing = f"/console/orgs/{org.org_uuid}/templates"
    empty = create_template(engine, org.org_uuid, "Empty", []).uuid
    draft = make_template(engine, org, make_rows(org, 2))
    running = make_template(engine, org, make_rows(org, 1, first_user=2, first_key=3000, first_number=None))
    start(engine, running)
    done = make_template(engine, org, make_rows(org, 1, first_user=3, first_key=4000, first_number=None))
    start(engine, done)
    assert cli("template", "cancel", done).exit_code == 0
    page = session.get(listing).text
    assert offered(page, draft) == ["Licenses", "Users", "Assign", "Duplicate", "Delete"]
    assert offered(page, running) == ["Licenses", "Users", "Report", "Duplicate"]
    assert offered(page, done) == ["Licenses", "Report", "Duplicate"]
    empty_row = page.split(f"<code>{empty}</code>", 1)[1].split("</tr>", 1)[0]
    assert 'disabled title="Upload users first' in empty_row  # Assign is disabled while the list is empty
    assert "disabled" not in page.split(f"<code>{draft}</code>", 1)[1].split("</tr>", 1)[0]
    found = session.get(listing, params={"search": draft[:8].upper()}).text
    assert draft in found and running not in found
    copy = session.post_form(listing, f"/console/templates/{done}/duplicate")
    assert copy.status_code == 303 and copy.headers["location"] != f"/console/templates/{done}"
    assert template_detail(engine, copy.headers["location"].rsplit("/", 1)[1]).status == "draft"


def test_a_draft_s_licenses_are_saved_all_or_nothing(api, cli, engine, org):
    session = signed_in(api, token(cli, org.org_uuid, "--name", "admin"))
    template = create_template(engine, org.org_uuid, "Sales", []).uuid
    page, action = f"/console/templates/{template}", f"/console/templates/{template}/licenses"
    refused = session.post_form(page, action, {"name": "", "addons": ["Voicemail"]})
    assert refused.status_code == 422 and codes_of(refused) == ["template-name-invalid"]
    assert template_detail(engine, template).addons == ()
    assert session.post_form(page, action, {"name": "Sales 2027", "addons": ["Voicemail"]}).status_code == 303
    detail = template_detail(engine, template)
    assert (detail.name, detail.addons) == ("Sales 2027", ("Voicemail",))


def test_behind_an_https_proxy_the_cookie_is_secure(api, cli, org):
    """uvicorn takes X-Forwarded-Proto from a proxy on loopback, as from a load balancer it trusts."""
    form = api.get("/console/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "secure" in form.headers["set-cookie"].lower()
    nonce = form.cookies["phonesys_sign_in"]
    response = api.post("/console/sign-in", headers={"X-Forwarded-Proto": "https", "Cookie": f"phonesys_sign_in={nonce}"},
                        data={"token": token(cli, org.org_uuid, "--name", "admin"), "csrf_token": csrf_of(form)})
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("phonesys_session="))
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_processes_of_one_home_share_the_secret_and_a_short_one_is_refused(tmp_path, monkeypatch):
    first, second = web_secret(Settings(home=tmp_path)), web_secret(Settings(home=tmp_path))
    assert first == second and len(first) >= WEB_SECRET_MIN
    assert (tmp_path / "web_secret").stat().st_mode & 0o077 == 0
    signed = Signer(first).new_session(7)
    assert Signer(second).session_token_id(signed) == 7 and Signer(b"another" * 8).session_token_id(signed) is None
    stale = Signer(first).new_session(7, issued=time.time() - CONSOLE_SESSION_SECONDS - 1)
    assert Signer(first).session_token_id(stale) is None  # a session lasts CONSOLE_SESSION_SECONDS
    with pytest.raises(ValueError, match="PHONESYS_WEB_SECRET"):
        web_secret(Settings(home=tmp_path, web_secret="short"))
    assert web_secret(Settings(home=tmp_path, web_secret="s" * WEB_SECRET_MIN)) == b"s" * WEB_SECRET_MIN
