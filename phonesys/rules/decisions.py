"""Whether a template row can be assigned, given the facts of the inventory: the assignment rules.

``phonesys.storage.inventory.decide`` reads the facts (set-based, a few queries per chunk); these
functions decide each row in order, consuming base and add-on licenses from what remains, so the
decision for row N accounts for the rows before it. The same rules answer the start's preflight and
every chunk of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from phonesys.rules.errors import Problem


@dataclass(frozen=True)
class Holder:
    """The in-progress template holding something, for messages that name it."""

    template_uuid: str
    name: str

    def __str__(self) -> str:
        return f"template '{self.name}' ({self.template_uuid})"


@dataclass(frozen=True)
class RowDecision:
    row: Any             # a template_rows row (file, row number, key, user, number)
    problem: Problem | None
    prepaid: bool = False  # its template holds its licenses (convert them, claim nothing new)


@dataclass
class Facts:
    user_orgs: dict[str, str | None]   # identity -> ext key holding it ("" when free); missing = unknown
    number_holders: dict[str, str]     # number -> ext key holding it ("" when free); missing = not owned
    taken_keys: set[str]
    base_left: int
    addons_left: dict[str, int]
    holders: dict[tuple[str, str], Holder] = field(default_factory=dict)  # (kind, value) -> other template
    prepaid: set[int] = field(default_factory=set)  # row ids whose licenses their own template holds


def decide(row: Any, facts: Facts, skus: Sequence[str]) -> Problem | None:
    """The first reason the row cannot be assigned, or None after consuming its licenses."""
    problem = inventory_problem(row, facts)
    prepaid = row.id in facts.prepaid
    if problem is None and not prepaid:
        problem = _license_problem(facts, skus)
    if problem is None:
        if not prepaid:
            facts.base_left -= 1
            for sku in skus:
                facts.addons_left[sku] -= 1
        facts.taken_keys.add(row.ext_key)
        facts.user_orgs[row.identity_uuid] = row.ext_key
        if row.number:
            facts.number_holders[row.number] = row.ext_key
    return problem


def inventory_problem(row: Any, facts: Facts) -> Problem | None:
    reserved = _reserved_problem(row, facts)
    if reserved is not None:
        return reserved
    if row.identity_uuid not in facts.user_orgs:
        return Problem("user-not-found", f"User {row.user_name} ({row.identity_uuid}) no longer exists in "
                       "the organization.", "User")
    if facts.user_orgs[row.identity_uuid]:
        return Problem("user-assigned", f"{row.user_name} already has extension "
                       f"{facts.user_orgs[row.identity_uuid]}.", "User")
    if row.ext_key in facts.taken_keys:
        return Problem("ext-key-exists", f"Extension {row.ext_key} already exists.", "Ext Key")
    if row.number and row.number not in facts.number_holders:
        return Problem("number-not-owned", f"Number {row.number} is not a number license of the "
                       "organization.", "Number")
    if row.number and facts.number_holders[row.number]:
        return Problem("number-assigned", f"Number {row.number} is already assigned to extension "
                       f"{facts.number_holders[row.number]}.", "Number")
    return None


def _reserved_problem(row: Any, facts: Facts) -> Problem | None:
    """A key, user or number another in-progress template holds, naming that template."""
    if not facts.holders:  # the usual case: nobody else holds anything these rows want
        return None
    if holder := facts.holders.get(("identity_uuid", row.identity_uuid)):
        return Problem("user-reserved", f"{row.user_name} is reserved by {holder}, which is in progress.", "User")
    if holder := facts.holders.get(("ext_key", row.ext_key)):
        return Problem("ext-key-reserved", f"Extension {row.ext_key} is reserved by {holder}, which is in "
                       "progress.", "Ext Key")
    if row.number and (holder := facts.holders.get(("number", row.number))):
        return Problem("number-reserved", f"Number {row.number} is reserved by {holder}, which is in "
                       "progress.", "Number")
    return None


def _license_problem(facts: Facts, skus: Sequence[str]) -> Problem | None:
    if facts.base_left < 1:
        return Problem("base-licenses-insufficient", "No unprovisioned Phone System base license is left.",
                       "Ext Key")
    for sku in skus:
        if facts.addons_left[sku] < 1:
            return Problem("addon-licenses-insufficient", f"No '{sku}' add-on license is left.", "Add-ons")
    return None
