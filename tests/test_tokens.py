"""API tokens through the CLI: the secret is shown once and stored only as a hash; names are unique
per scope; revoking is by name; every refusal has its code (on SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from phonesys.storage.inventory.engine import interactive, write_transaction
from phonesys.storage.inventory.schema import api_tokens
from phonesys.storage.inventory.tokens import resolve_token


def _json(result) -> dict:
    return json.loads(result.stdout)


def create(cli, *args: str) -> dict:
    result = cli("token", "create", *args, "--json")
    assert result.exit_code == 0, result.output
    return _json(result)


def test_secret_is_shown_once_and_stored_as_its_hash(cli, engine, org):
    result = cli("token", "create", org.org_uuid, "--name", "helpdesk", "--role", "viewer")
    assert result.exit_code == 0, result.output
    secret, notice = result.stdout.splitlines()[:2]
    assert secret.startswith("phs_") and len(secret) > 40 and "cannot be shown again" in notice
    with engine.connect() as connection:
        row = connection.execute(select(api_tokens)).one()
    assert row.hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(tuple(row))
    listed = cli("token", "list", org.org_uuid, "--json")
    assert secret not in listed.stdout and row.hash not in listed.stdout
    assert [(t["name"], t["role"], t["revoked_at"]) for t in _json(listed)["tokens"]] == [("helpdesk", "viewer", None)]
    caller = resolve_token(engine, secret)
    assert caller is not None and (caller.name, caller.org_uuid, caller.role) == ("helpdesk", org.org_uuid, "viewer")
    assert _json(cli("token", "list", org.org_uuid, "--json"))["tokens"][0]["last_used_at"] is not None


def test_revoked_token_resolves_to_nobody(cli, engine, org):
    secret = create(cli, org.org_uuid, "--name", "script")["token"]
    result = cli("token", "revoke", org.org_uuid, "script")
    assert result.exit_code == 0 and "revoked" in result.stdout
    assert resolve_token(engine, secret) is None
    assert _json(cli("token", "list", org.org_uuid, "--json"))["tokens"][0]["revoked_at"] is not None


def test_operator_token_has_no_org_and_its_own_names(cli, engine, org):
    made = create(cli, "--all-orgs", "--name", "nightly")
    assert made["org_uuid"] is None and made["role"] == "admin"
    create(cli, org.org_uuid, "--name", "nightly")  # another scope: the same name is fine
    again = cli("token", "create", "--all-orgs", "--name", "nightly", "--json")
    assert again.exit_code == 1 and _json(again)["problems"][0]["code"] == "token-name-exists"
    assert [t["name"] for t in _json(cli("token", "list", "--all-orgs", "--json"))["tokens"]] == ["nightly"]
    assert cli("token", "revoke", "--all-orgs", "nightly").exit_code == 0
    assert resolve_token(engine, made["token"]) is None


def test_refusals_have_codes(cli, org):
    cases = [
        (("create", org.org_uuid, "--name", "x", "--role", "root"), "token-role-invalid"),
        (("create", org.org_uuid, "--name", "  "), "token-name-invalid"),
        (("create", org.org_uuid, "--name", "x" * 101), "token-name-invalid"),
        (("create", org.org_uuid, "--name", "bell\x07"), "token-name-invalid"),
        (("create", "--name", "x"), "token-scope-invalid"),
        (("create", org.org_uuid, "--all-orgs", "--name", "x"), "token-scope-invalid"),
        (("list",), "token-scope-invalid"),
        (("revoke", org.org_uuid), "token-scope-invalid"),
        (("revoke", org.org_uuid, "nobody"), "token-not-found"),
        (("create", "00000000-0000-4000-8000-000000000000", "--name", "x"), "org-not-found"),
        (("create", "not-a-uuid", "--name", "x"), "org-uuid-invalid"),
    ]
    for args, code in cases:
        result = cli("token", *args, "--json")
        assert result.exit_code == 1, (args, result.output)
        assert _json(result)["problems"][0]["code"] == code, args
    plain = cli("token", "revoke", org.org_uuid, "nobody")
    assert plain.stderr.startswith("error token-not-found:")


def test_a_name_is_never_reused_even_after_revoking(cli, org):
    create(cli, org.org_uuid, "--name", "once")
    assert cli("token", "revoke", org.org_uuid, "once").exit_code == 0
    again = cli("token", "create", org.org_uuid, "--name", "once", "--json")
    assert _json(again)["problems"][0]["code"] == "token-name-exists"


def test_token_storage_builds_no_problem_itself():
    """Refusals about tokens are made in phonesys.rules.tokens; storage only raises them."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "storage" / "inventory"
    for module in ("tokens.py", "extension_pages.py"):
        assert "Problem(" not in (root / module).read_text(), module


def test_api_statuses_follow_the_kind_of_refusal():
    from phonesys.rules.errors import Conflict, NotFound, Problem, Refused
    from phonesys.rules.tokens import token_invalid
    from phonesys.web.problems import status_of

    problem = Problem("ext-key-exists", "taken")
    assert [status_of(e) for e in (Refused(token_invalid()), NotFound(problem), Conflict(problem), Refused(problem))] \
        == [401, 404, 409, 422]


def test_deleting_an_organization_revokes_its_tokens_and_only_its(cli, engine, org):
    from phonesys.storage.inventory.orgs import delete_org, load_org
    from tests.conftest import make_document

    other = make_document()
    load_org(engine, other)
    mine, theirs = create(cli, org.org_uuid, "--name", "mine")["token"], create(cli, other.org_uuid, "--name", "t")["token"]
    operator = create(cli, "--all-orgs", "--name", "ops")["token"]
    delete_org(engine, org.org_uuid)
    assert resolve_token(engine, mine) is None
    assert resolve_token(engine, theirs) is not None and resolve_token(engine, operator) is not None
    with engine.connect() as connection:  # the row stays, revoked: its name still names it in the audit trail
        kept = connection.execute(select(api_tokens).where(api_tokens.c.org_uuid == org.org_uuid)).one()
    assert kept.name == "mine" and kept.revoked_at is not None
    load_org(engine, org)  # the same UUID loaded again: the old token stays revoked
    assert resolve_token(engine, mine) is None


def test_a_token_in_use_while_another_job_writes_still_resolves(cli, engine, org):
    """Noting ``last_used_at`` never holds a request up: while another transaction holds the write lock
    (SQLite) or the token's row (PostgreSQL), the token resolves and the note waits for a later request."""
    secret = create(cli, org.org_uuid, "--name", "reader")["token"]
    with write_transaction(interactive(engine, 60)) as connection:
        connection.execute(update(api_tokens).where(api_tokens.c.name == "reader").values(name="reader"))
        caller = resolve_token(engine, secret)
        assert caller is not None and caller.name == "reader"
    assert _used(engine, "reader") is None
    assert resolve_token(engine, secret) is not None and _used(engine, "reader") is not None
    with engine.begin() as connection:  # noted less than a minute ago: the next requests only read
        connection.execute(update(api_tokens).where(api_tokens.c.name == "reader")
                           .values(last_used_at=datetime.now(UTC) - timedelta(seconds=5)))
    before = _used(engine, "reader")
    assert resolve_token(engine, secret) is not None and _used(engine, "reader") == before


def _used(engine, name: str):
    with engine.connect() as connection:
        return connection.execute(select(api_tokens.c.last_used_at).where(api_tokens.c.name == name)).scalar_one()
