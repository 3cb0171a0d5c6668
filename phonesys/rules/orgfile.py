"""The organization document ``phonesys org load`` reads (JSON or YAML), checked in full.

Shape: ``{"org_uuid", "name", "base_licenses", "addons": {sku: count}, "numbers": [...],
"users": [{"identity_uuid", "name"}]}``. Every problem in the document is reported at once,
with the JSON path of the offending value as its field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, ValidationError
from pydantic_core import ErrorDetails

from phonesys.rules.errors import Problem, Refused
from phonesys.rules.orgparse import parse_document
from phonesys.rules.values import COUNT_MAX, check_number, check_sku, check_user_name, check_uuid, unsafe_characters

T = TypeVar("T")

Count = Annotated[StrictInt, Field(ge=0, le=COUNT_MAX)]  # strict: no `yes`, `true`, "10" or 1.0


def _integer_as_text(value: object) -> object:
    """An unquoted phone number is a whole number to JSON and YAML; take its digits as the text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identity_uuid: str
    name: str


class OrgDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_uuid: str
    name: str = Field(min_length=1, max_length=200)
    base_licenses: Count
    addons: dict[str, Count] = Field(default_factory=dict)
    numbers: list[Annotated[str, BeforeValidator(_integer_as_text)]] = Field(default_factory=list)
    users: list[UserEntry] = Field(default_factory=list)


def read_org_document(path: Path) -> OrgDocument:
    """Parse and check a document; raises ``Refused`` listing every problem found, each naming the
    file and the document path of the offending value."""
    raw, problems = parse_document(path)
    try:
        document: OrgDocument | None = OrgDocument.model_validate(raw)
    except ValidationError as exc:
        problems += [_pydantic_problem(error) for error in exc.errors()] + _value_problems(raw)
        document = None
    problems += canonicalize(document) if document is not None else []
    if problems or document is None:
        raise Refused([_located(problem, path) for problem in problems])
    return document


def _located(problem: Problem, path: Path) -> Problem:
    """The problem with its file, its message led by the document path it is about."""
    lead = problem.field if problem.field and not problem.message.startswith(problem.field) else None
    return replace(problem, file=str(path), message=f"{lead}: {problem.message}" if lead else problem.message)


def _pydantic_problem(error: ErrorDetails) -> Problem:
    location = ".".join(str(part) for part in error["loc"]) or "document"
    given = error.get("input")
    message = error["msg"]
    if error["type"] in {"int_type", "greater_than_equal", "less_than_equal"}:
        message = (f"a count must be a whole number from 0 to {COUNT_MAX:,}, written without quotes "
                   f"(got {_shortened(json.dumps(given, default=str))})")
    return Problem("document-invalid", f"{location}: {message}", location,
                   None if isinstance(given, dict | list) else str(given)[:120])


def _shortened(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _value_problems(raw: object) -> list[Problem]:
    """The value checks of ``canonicalize`` on the parts of a structurally broken document that did
    parse, so an unknown field does not hide a bad number or a duplicate user."""
    if not isinstance(raw, dict):
        return []
    problems: list[Problem] = []
    if isinstance(raw.get("org_uuid"), str):
        org = check_uuid(raw["org_uuid"], "org_uuid")
        problems += [org] if isinstance(org, Problem) else []
    if isinstance(raw.get("name"), str):
        problems += _org_name_problems(raw["name"])
    if isinstance(raw.get("addons"), dict):
        problems += _canonical_addons(raw["addons"])[1]
    if isinstance(raw.get("numbers"), list):
        problems += _canonical_numbers(raw["numbers"])[1]
    if isinstance(raw.get("users"), list):
        problems += _canonical_users([_user_or_none(entry) for entry in raw["users"]])[1]
    return problems


def _user_or_none(entry: object) -> UserEntry | None:
    try:
        return UserEntry.model_validate(entry)
    except ValidationError:
        return None


def canonicalize(document: OrgDocument) -> list[Problem]:
    """Rewrite values in canonical form (lower-case UUIDs, E.164 numbers) and collect problems."""
    problems: list[Problem] = []
    org = check_uuid(document.org_uuid, "org_uuid")
    problems += [org] if isinstance(org, Problem) else []
    document.org_uuid = org if isinstance(org, str) else document.org_uuid
    problems += _org_name_problems(document.name)
    document.addons, addon_problems = _canonical_addons(document.addons)
    document.numbers, number_problems = _canonical_numbers(document.numbers)
    document.users, user_problems = _canonical_users(document.users)
    return problems + addon_problems + number_problems + user_problems


def _org_name_problems(name: str) -> list[Problem]:
    unsafe = unsafe_characters(name)
    return [Problem("document-invalid", f"name: the organization's name contains control or bidi "
                    f"characters ({', '.join(unsafe[:5])}); remove them.", "name", name[:120])] if unsafe else []


def _canonical_addons(addons: dict[str, T]) -> tuple[dict[str, T], list[Problem]]:
    """Add-on names in canonical form; the counts were checked by the schema."""
    result: dict[str, T] = {}
    problems = []
    for sku, count in addons.items():
        checked = check_sku(sku, f"addons.{sku}")
        if isinstance(checked, Problem):
            problems.append(checked)
        elif checked in result:
            problems.append(Problem("addon-duplicate", f"Add-on '{checked}' is listed twice.",
                                    f"addons.{sku}", sku))
        else:
            result[checked] = count
    return result, problems


def _canonical_numbers(numbers: Sequence[object]) -> tuple[list[str], list[Problem]]:
    seen: dict[str, int] = {}
    problems = []
    for index, raw in enumerate(numbers):
        if isinstance(raw, bool) or not isinstance(raw, str | int):  # reported as a type error already
            continue
        checked = check_number(str(raw), f"numbers.{index}")
        if isinstance(checked, Problem):
            problems.append(checked)
        elif checked in seen:
            problems.append(Problem("number-duplicate", f"Number {checked} is listed twice "
                                    f"(numbers.{seen[checked]} and numbers.{index}).", f"numbers.{index}", str(raw)))
        else:
            seen[checked] = index
    return list(seen), problems


def _canonical_users(entries: Sequence[UserEntry | None]) -> tuple[list[UserEntry], list[Problem]]:
    seen: dict[str, int] = {}
    result: list[UserEntry] = []
    problems: list[Problem] = []
    for index, entry in enumerate(entries):
        if entry is None:  # only in a broken document; its structural error is reported already
            continue
        identity = check_uuid(entry.identity_uuid, f"users.{index}.identity_uuid")
        name = check_user_name(entry.name, f"users.{index}.name")
        if isinstance(identity, Problem) or isinstance(name, Problem):
            problems += [p for p in (identity, name) if isinstance(p, Problem)]
        elif identity in seen:
            problems.append(Problem("user-duplicate", f"Identity UUID {identity} is listed twice "
                                    f"(users.{seen[identity]} and users.{index}).", f"users.{index}", identity))
        else:
            seen[identity] = index
            result.append(UserEntry(identity_uuid=identity, name=name))
    return result, problems
