"""May this user, number, key or license go on an extension? One decision per fact, for every path.

Storage reads the facts of one request (a manual ``ext`` change, Provision & Assign, the template
start's check, a bulk chunk's row) into the small frozen dataclasses below; these pure functions
return the refusal (code, message, field) or nothing. So the same fact gets the same code and the
same message whichever path asked; only ``field`` differs, because it names what the caller was
given (the ``user`` argument, the ``User`` column). The upload's SQL takes its wording from
``phonesys.rules.messages``, as these functions do.
"""

from __future__ import annotations

from dataclasses import dataclass

from phonesys.rules import messages
from phonesys.rules.errors import Problem


@dataclass(frozen=True)
class Holder:
    """The in-progress template holding something, for messages that name it."""

    template_uuid: str
    name: str

    def __str__(self) -> str:
        return f"template '{self.name}' ({self.template_uuid})"


@dataclass(frozen=True)
class Where:
    """What a refusal is reported under: the argument or column (``field``) and the value given."""

    field: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class UserFacts:
    """One user a request wants to put on an extension, as storage found them."""

    name: str
    extension: str | None = None     # key of the extension that has the user now
    reserved_by: Holder | None = None


@dataclass(frozen=True)
class NumberFacts:
    """One number a request wants to put on an extension, as storage found it."""

    number: str
    owned: bool
    extension: str | None = None     # key of the extension that has the number now
    reserved_by: Holder | None = None


@dataclass(frozen=True)
class KeyFacts:
    """One extension key a request wants to create or rename to."""

    key: str
    exists: bool
    reserved_by: Holder | None = None


@dataclass(frozen=True)
class PoolFacts:
    """A license pool: the base licenses (``sku`` None) or one add-on; ``known`` False when the
    organization has no such add-on. ``held_note`` is storage's description of who holds the rest."""

    sku: str | None
    available: int
    total: int
    known: bool = True
    held_note: str = ""


def user_problems(user: UserFacts, ext_key: str | None, where: Where) -> list[Problem]:
    """Why ``user`` cannot go on extension ``ext_key`` (None: a new one): it has another, or an
    in-progress template holds it. Both reasons are reported when both hold."""
    problems = []
    if user.extension and user.extension != ext_key:
        problems.append(user_assigned(user.name, user.extension, where))
    if user.reserved_by is not None:
        problems.append(user_reserved(user.name, user.reserved_by, where))
    return problems


def number_problem(number: NumberFacts, ext_key: str | None, where: Where) -> Problem | None:
    """Why ``number`` cannot go on extension ``ext_key`` (None: a new one): the first of not owned,
    on another extension, held by an in-progress template."""
    if not number.owned:
        return number_not_owned(number.number, where)
    if number.extension and number.extension != ext_key:
        return number_assigned(number.number, number.extension, where)
    if number.reserved_by is not None:
        return number_reserved(number.number, number.reserved_by, where)
    return None


def key_problem(key: KeyFacts, where: Where) -> Problem | None:
    """Why a new extension (or a renamed one) cannot take ``key``: held first, then taken."""
    if key.reserved_by is not None:
        return key_reserved(key.key, key.reserved_by, where)
    if key.exists:
        return key_exists(key.key, where)
    return None


def pool_problem(pool: PoolFacts, needed: int, where: Where) -> Problem | None:
    """Why ``needed`` licenses cannot come from ``pool``: an unknown add-on, or too few left."""
    if not pool.known:
        return Problem("addon-unknown", f"The organization has no '{pool.sku}' add-on licenses; check the "
                       "spelling with `phonesys org show`.", where.field, where.value)
    return None if pool.available >= needed else shortfall(pool, needed, where)


def shortfall(pool: PoolFacts, needed: int, where: Where) -> Problem:
    """``needed`` licenses from a pool that has fewer: how many are missing and who holds the rest."""
    what = "unprovisioned Phone System base" if pool.sku is None else f"'{pool.sku}' add-on"
    code = "base-licenses-insufficient" if pool.sku is None else "addon-licenses-insufficient"
    advice = "buy more or delete unused extensions" if pool.sku is None else "buy more or remove it from extensions"
    available = max(pool.available, 0)
    return Problem(code, f"Needs {needed} {what} license(s); {available} available (short by "
                   f"{needed - available}): only {available} of {pool.total} are free{pool.held_note}; {advice}.",
                   where.field, where.value)


def user_assigned(name: str, ext_key: str, where: Where) -> Problem:
    return Problem("user-assigned", messages.USER_ASSIGNED.format(user_name=name, assigned_ext=ext_key),
                   where.field, where.value)


def user_reserved(name: str, holder: Holder, where: Where) -> Problem:
    return Problem("user-reserved", f"User '{name}' is reserved by {holder}, which is in progress and will "
                   "give them an extension.", where.field, where.value)


def user_gone(name: str, identity_uuid: str, where: Where) -> Problem:
    """A template row's user was deleted from the organization after the upload."""
    return Problem("user-not-found", f"User {name} ({identity_uuid}) no longer exists in the organization.",
                   where.field, where.value)


def number_not_owned(number: str, where: Where) -> Problem:
    return Problem("number-not-owned", messages.NUMBER_NOT_OWNED.format(number=number), where.field, where.value)


def number_assigned(number: str, ext_key: str, where: Where) -> Problem:
    return Problem("number-assigned", messages.NUMBER_ASSIGNED.format(number=number, assigned_ext=ext_key),
                   where.field, where.value)


def number_reserved(number: str, holder: Holder, where: Where) -> Problem:
    return Problem("number-reserved", f"Number {number} is reserved by {holder}, which is in progress.",
                   where.field, where.value)


def key_exists(key: str, where: Where) -> Problem:
    return Problem("ext-key-exists", messages.EXT_KEY_EXISTS.format(ext_key=key), where.field, where.value)


def key_reserved(key: str, holder: Holder, where: Where) -> Problem:
    return Problem("ext-key-reserved", f"Extension {key} is reserved by {holder}, which is in progress; "
                   "choose a free key.", where.field, where.value)


@dataclass(frozen=True)
class Taken:
    """Everything an organization's inventory has given away or reserved, by kind: the facts a
    completed template's copy is filtered on (``still_assignable``)."""

    users: frozenset[str]
    keys: frozenset[str]
    numbers: frozenset[str]
    held_users: frozenset[str]
    held_keys: frozenset[str]
    held_numbers: frozenset[str]
    known_users: frozenset[str]
    owned_numbers: frozenset[str]


def still_assignable_code(identity_uuid: str, ext_key: str, number: str | None, taken: Taken) -> str | None:
    """The first reason a row (user, key, number) could not be assigned today, or None when it could."""
    checks = (
        (identity_uuid not in taken.known_users, "user-not-found"),
        (identity_uuid in taken.users, "user-assigned"),
        (identity_uuid in taken.held_users, "user-reserved"),
        (ext_key in taken.keys, "ext-key-exists"),
        (ext_key in taken.held_keys, "ext-key-reserved"),
        (bool(number) and number not in taken.owned_numbers, "number-not-owned"),
        (bool(number) and number in taken.numbers, "number-assigned"),
        (bool(number) and number in taken.held_numbers, "number-reserved"),
    )
    return next((code for failed, code in checks if failed), None)
