"""The refusals that are not about assignability: something named does not exist, a request is
malformed as a whole, a template is in the wrong state for what was asked, an organization
document would shrink a pool below its use.

Storage looks things up and calls these with what it found (or did not), so every refusal's code
and wording lives in ``rules`` and storage builds no ``Problem`` of its own
(tests/test_one_place_decides.py). Each is named for the fact it reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from phonesys.rules.errors import Problem
from phonesys.rules.vocabulary import POLICIES

# Lookups: the organization, extension, user or template a request names


def org_uuid_invalid(org_ref: str) -> Problem:
    return Problem("org-uuid-invalid", f"Organization '{org_ref}' is not a valid UUID; see `phonesys org list` "
                   "for the UUIDs.", "org", org_ref)


def org_not_found(org_uuid: str, org_ref: str) -> Problem:
    return Problem("org-not-found", f"No organization with UUID {org_uuid}; load it with "
                   "`phonesys org load FILE`.", "org", org_ref)


def extension_not_found(ext_key: str, ext_ref: str) -> Problem:
    return Problem("extension-not-found", f"Extension {ext_key} does not exist in this organization; "
                   "`phonesys ext list ORG` shows the keys.", "ext", ext_ref)


def user_uuid_not_found(identity_uuid: str, user_ref: str) -> Problem:
    return Problem("user-not-found", f"No user with Identity UUID {identity_uuid} in this organization.",
                   "user", user_ref)


def user_name_not_found(user_ref: str) -> Problem:
    return Problem("user-not-found", f"No user named '{user_ref}' in this organization.", "user", user_ref)


def user_name_ambiguous(user_ref: str, candidates: Sequence[str], more: bool) -> Problem:
    """``candidates``: the first matches, each "name (uuid)"; ``more`` when there were others too."""
    how_many = "more than 10" if more else str(len(candidates))
    return Problem("user-name-ambiguous", f"'{user_ref}' matches {how_many} users: {', '.join(candidates)}; "
                   "use the Identity UUID instead.", "user", user_ref)


def template_uuid_invalid(template_ref: str) -> Problem:
    return Problem("template-uuid-invalid", f"Template '{template_ref}' is not a valid UUID; see "
                   "`phonesys template list ORG`.", "template", template_ref)


def template_not_found(template_uuid: str, template_ref: str) -> Problem:
    return Problem("template-not-found", f"No template with UUID {template_uuid}.", "template", template_ref)


# Requests refused as a whole


def nothing_to_change() -> Problem:
    return Problem("nothing-to-change", "Give --key and/or --name.")


def assign_needs_one(count: int) -> Problem:
    return Problem("assign-needs-one", "--user, --addon and --number provision one extension; drop --count "
                   f"{count} or use a bulk assignment template.", "count", str(count))


def start_options_invalid(policy: str) -> Problem:
    return Problem("start-options-invalid", f"policy must be one of {', '.join(POLICIES)} and chunk size at "
                   "least 1.", "policy", policy)


def inventory_conflict(constraint: str) -> Problem:
    return Problem("inventory-conflict", f"The inventory changed while this request ran ({constraint}); nothing "
                   "was changed, try again.")


# Templates


def template_empty(template_uuid: str) -> Problem:
    return Problem("template-empty", "The template has no users; upload a CSV first.", "template", template_uuid)


def template_not_started(template_uuid: str) -> Problem:
    return Problem("template-not-in-progress", f"Template {template_uuid} is a draft, not in progress; start it "
                   "with `phonesys template start` first.", "template", template_uuid)


def template_user_limit(total: int, limit: int) -> Problem:
    return Problem("template-user-limit", f"The template would hold {total:,} users; the limit is {limit:,} "
                   "across all its files.", "template")


def template_no_failed_rows(template_uuid: str, template_ref: str) -> Problem:
    return Problem("template-no-failed-rows", f"Template {template_uuid} has no failed rows to retry.",
                   "template", template_ref)


def template_nothing_to_assign(template_uuid: str, left_out: Mapping[str, int]) -> Problem:
    """A completed template's copy would be empty: every row is left out, ``left_out`` says why."""
    reasons = ", ".join(f"{count} {code}" for code, count in sorted(left_out.items(), key=lambda i: -i[1]))
    return Problem("template-nothing-to-assign", f"No row of completed template {template_uuid} can be "
                   f"assigned again ({reasons}); nothing was copied.", "template", template_uuid)


# Organization documents


def base_below_used(wanted: int, used: int, held: int, held_note: str) -> Problem:
    return Problem("base-licenses-below-used", f"base_licenses {wanted} is below the {used} in use"
                   f"{_and_held(held)}{held_note}; delete extensions or wait for the templates first.",
                   "base_licenses", str(wanted))


def addon_below_used(sku: str, wanted: int, used: int, held: int, held_note: str) -> Problem:
    return Problem("addon-licenses-below-used", f"addons.{sku} {wanted} is below the {used} in use"
                   f"{_and_held(held)}{held_note}; remove the add-on from extensions first.",
                   f"addons.{sku}", str(wanted))


def _and_held(held: int) -> str:
    return f" and {held} held" if held else ""


def number_owned_by_other_org(number: str) -> Problem:
    return Problem("number-owned-by-other-org", f"Number {number} belongs to another organization.",
                   "numbers", number)


def user_in_other_org(identity_uuid: str) -> Problem:
    return Problem("user-in-other-org", f"Identity UUID {identity_uuid} belongs to a user of another "
                   "organization.", "Identity UUID", identity_uuid)


def extension_reverting(ext_key: str, template_name: str, template_uuid: str) -> Problem:
    return Problem("extension-reverting", f"Extension {ext_key} is being removed by the revert of template "
                   f"'{template_name}' ({template_uuid}), which is in progress; change it after the revert ends.",
                   "ext", ext_key)


def template_reverted(template_uuid: str) -> Problem:
    return Problem("template-reverted", f"Template {template_uuid} has been reverted already; see "
                   "`phonesys template report` for what was removed and what was kept.", "template", template_uuid)
