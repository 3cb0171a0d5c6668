"""API tokens: which roles exist, what a token name may be, and every refusal about tokens.

A token is given to a person or a script; its *name* is how the audit trail names that caller, so
a name is unique within its scope (an organization, or the operator scope of ``--all-orgs``) and
never reused, even after revocation. The secret itself is never stored (``storage.inventory.tokens``
keeps a SHA-256 of it); ``TOKEN_PREFIX`` makes a leaked secret recognisable to secret scanners.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from phonesys.rules.errors import NotFound, Problem, Refused
from phonesys.rules.limits import TOKEN_NAME_MAX
from phonesys.rules.values import check_printable_name

Role = Literal["admin", "viewer"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
TOKEN_PREFIX: Final = "phs_"


def check_token_name(raw: str) -> str | Problem:
    """The name as stored (inner whitespace collapsed), or why it cannot be a token's name."""
    return check_printable_name(raw, "token-name-invalid", "Token name", TOKEN_NAME_MAX)


def check_role(raw: str) -> Role | Problem:
    for role in ROLES:
        if raw == role:
            return role
    return Problem("token-role-invalid", f"Role '{raw[:40]}' is not one of {', '.join(ROLES)}.", "role", raw[:120])


def scope_invalid() -> Problem:
    """Exactly one of ORG and ``--all-orgs`` names whose token it is."""
    return Problem("token-scope-invalid", "Give either an organization (ORG) or --all-orgs, not both and not "
                   "neither.", "org")


def name_taken(name: str) -> Problem:
    return Problem("token-name-exists", f"A token named '{name}' already exists in this scope (names are not "
                   "reused, even after revoking: they name the caller in the audit trail).", "name", name)


def token_not_found(name: str) -> NotFound:
    return NotFound(Problem("token-not-found", f"No token named '{name}' in this scope; see `phonesys token "
                            "list`.", "name", name))


def token_invalid() -> Problem:
    """One answer for a missing, malformed, unknown or revoked token: which one it was is not told."""
    return Problem("token-invalid", "Send a valid, unrevoked token: 'Authorization: Bearer phs_...' (create one "
                   "with `phonesys token create`).")


def org_hidden(org_ref: str, org_uuid: str) -> NotFound:
    """What a token scoped to another organization is told: exactly the ``org-not-found`` of
    ``storage.inventory.lookup.get_org``, so a caller cannot learn that the organization exists."""
    return NotFound(Problem("org-not-found", f"No organization with UUID {org_uuid}; load it with "
                            "`phonesys org load FILE`.", "org", org_ref))


def token_forbidden() -> Refused:
    """A viewer token asking for a change: told the same whatever the request named (403 before any lookup)."""
    return Refused(Problem("token-forbidden", "This token is a viewer's: it reads, and only an admin token changes "
                           "anything (create one with `phonesys token create ORG --role admin`)."))


def may_change(role: Role) -> bool:
    """Only an ``admin`` token changes the inventory; a ``viewer`` sees the same console pages, read-only."""
    return role == "admin"


def csrf_invalid() -> Problem:
    """A form posted without the token its page carried: likely another site's form, or a stale page."""
    return Problem("csrf-invalid", "This form is stale or did not come from this console; reload the page and "
                   "try again.", "csrf_token")
