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

from phonesys.rules.assignable import Holder as Holder
from phonesys.rules.assignable import (
    PoolFacts,
    Where,
    key_exists,
    key_reserved,
    number_assigned,
    number_not_owned,
    number_reserved,
    shortfall,
    user_assigned,
    user_gone,
    user_reserved,
)
from phonesys.rules.errors import Problem

# What a template row's refusals are reported under: its CSV columns.
USER, KEY, NUMBER, ADDONS = Where("User"), Where("Ext Key"), Where("Number"), Where("Add-ons")


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
    base_total: int = 0
    addon_totals: dict[str, int] = field(default_factory=dict)
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
    """The first reason the row's user, key or number cannot be assigned (licenses aside)."""
    reserved = _reserved_problem(row, facts)
    if reserved is not None:
        return reserved
    if row.identity_uuid not in facts.user_orgs:
        return user_gone(row.user_name, row.identity_uuid, USER)
    if holder := facts.user_orgs[row.identity_uuid]:
        return user_assigned(row.user_name, holder, USER)
    if row.ext_key in facts.taken_keys:
        return key_exists(row.ext_key, KEY)
    if row.number and row.number not in facts.number_holders:
        return number_not_owned(row.number, NUMBER)
    if row.number and (holder := facts.number_holders[row.number]):
        return number_assigned(row.number, holder, NUMBER)
    return None


def _reserved_problem(row: Any, facts: Facts) -> Problem | None:
    """A key, user or number another in-progress template holds, naming that template."""
    if not facts.holders:  # the usual case: nobody else holds anything these rows want
        return None
    if holder := facts.holders.get(("identity_uuid", row.identity_uuid)):
        return user_reserved(row.user_name, holder, USER)
    if holder := facts.holders.get(("ext_key", row.ext_key)):
        return key_reserved(row.ext_key, holder, KEY)
    if row.number and (holder := facts.holders.get(("number", row.number))):
        return number_reserved(row.number, holder, NUMBER)
    return None


def _license_problem(facts: Facts, skus: Sequence[str]) -> Problem | None:
    """The row's one base license and one of each add-on, from what the rows before it left (the
    comparison is inline: it runs for every row of a 15,000-row job; the wording is the rule's)."""
    if facts.base_left < 1:
        return shortfall(PoolFacts(None, facts.base_left, facts.base_total), 1, KEY)
    for sku in skus:
        if facts.addons_left[sku] < 1:
            return shortfall(PoolFacts(sku, facts.addons_left[sku], facts.addon_totals[sku]), 1, ADDONS)
    return None
