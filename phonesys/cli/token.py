"""``phonesys token``: the API tokens that let a person or script use the HTTP API (``phonesys web``).

A token belongs to one organization, or with ``--all-orgs`` to every one (an operator's scripts).
Its secret is printed once, at creation; only a hash of it is kept.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from phonesys.cli.common import JsonOption, console, inventory, run
from phonesys.rules.errors import Refused

app = typer.Typer(help="Create, list and revoke API tokens for the HTTP API (phonesys web).", no_args_is_help=True)

ScopeOrg = Annotated[str | None, typer.Argument(metavar="[ORG]", help="Organization UUID; leave out with "
                                                "--all-orgs.", show_default=False)]
AllOrgs = Annotated[bool, typer.Option("--all-orgs", help="An operator token: every organization.")]


def _scope(org: str | None, all_orgs: bool) -> str | None:
    """The organization named, or None for the operator scope; exactly one of the two must be given."""
    from phonesys.rules.tokens import scope_invalid

    if (org is None) == (not all_orgs):
        raise Refused(scope_invalid())
    return org


@app.command("create")
def create(
    org: ScopeOrg = None,
    name: Annotated[str, typer.Option("--name", help="Who uses it (the audit trail names the caller by it).",
                                      show_default=False)] = "",
    role: Annotated[str, typer.Option("--role", help="admin (may change things) or viewer (reads only).")] = "admin",
    all_orgs: AllOrgs = False,
    as_json: JsonOption = False,
) -> None:
    """Create a token and print its secret, once: it cannot be shown again.

    Example: phonesys token create 0b9f...e1 --name "helpdesk script" --role viewer

    phonesys token create --all-orgs --name nightly-report
    """
    from phonesys.storage.inventory.tokens import create_token

    def render(result: dict[str, Any]) -> None:
        console.print(result["token"])
        console.print(f"Token '{result['name']}' ({result['role']}) created. This secret cannot be shown again: "
                      "store it now (send it as 'Authorization: Bearer <token>').")

    run(as_json, lambda: create_token(inventory(), _scope(org, all_orgs), name, role), render)


@app.command("list")
def list_tokens(org: ScopeOrg = None, all_orgs: AllOrgs = False, as_json: JsonOption = False) -> None:
    """List the tokens of an organization (or the operator tokens): names, roles, dates; never secrets.

    Example: phonesys token list 0b9f...e1
    """
    from phonesys.storage.inventory.tokens import list_tokens as query

    def render(result: dict[str, Any]) -> None:
        for token in result["tokens"]:
            state = f"revoked {token['revoked_at']:%Y-%m-%d %H:%M}" if token["revoked_at"] else "active"
            console.print(f"{token['name']}  {token['role']}  created {token['created_at']:%Y-%m-%d %H:%M}  {state}")
        console.print(f"{len(result['tokens'])} token(s)")

    run(as_json, lambda: {"tokens": query(inventory(), _scope(org, all_orgs))}, render)


@app.command("revoke")
def revoke(
    org: Annotated[str, typer.Argument(metavar="ORG", help="Organization UUID (with --all-orgs: the NAME).",
                                       show_default=False)],
    name: Annotated[str | None, typer.Argument(metavar="NAME", help="The token's name.", show_default=False)] = None,
    all_orgs: AllOrgs = False,
    as_json: JsonOption = False,
) -> None:
    """Revoke a token: the next request that sends it is refused (401).

    Example: phonesys token revoke 0b9f...e1 "helpdesk script"

    phonesys token revoke --all-orgs nightly-report
    """
    from phonesys.rules.tokens import scope_invalid
    from phonesys.storage.inventory.tokens import revoke_token

    def action() -> dict[str, Any]:
        if all_orgs == (name is not None):  # operator: NAME only; organization: ORG NAME
            raise Refused(scope_invalid())
        return revoke_token(inventory(), None if all_orgs else org, org if name is None else name)

    run(as_json, action, lambda result: console.print(f"Token '{result['name']}' revoked."))
