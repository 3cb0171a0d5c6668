"""The organization document ``phonesys org load`` reads (JSON or YAML), checked in full.

Shape: ``{"org_uuid", "name", "base_licenses", "addons": {sku: count}, "numbers": [...],
"users": [{"identity_uuid", "name"}]}``. Every problem in the document is reported at once,
with the JSON path of the offending value as its field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from phonesys.errors import Problem, Refused
from phonesys.rules import check_number, check_sku, check_user_name, check_uuid

MAX_DOCUMENT_BYTES = 200 * 1024 * 1024


def _integer_as_text(value: object) -> object:
    """YAML reads an unquoted ``+6560000001`` as the integer 6560000001; take it as that number."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identity_uuid: str
    name: str


class OrgDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_uuid: str
    name: str = Field(min_length=1, max_length=200)
    base_licenses: int = Field(ge=0, le=10_000_000)
    addons: dict[str, int] = Field(default_factory=dict)
    numbers: list[Annotated[str, BeforeValidator(_integer_as_text)]] = Field(default_factory=list)
    users: list[UserEntry] = Field(default_factory=list)


def read_org_document(path: Path) -> OrgDocument:
    """Parse and check a document; raises ``Refused`` listing every problem found."""
    raw = _parse_file(path)
    try:
        document = OrgDocument.model_validate(raw)
    except ValidationError as exc:
        raise Refused([_pydantic_problem(error) for error in exc.errors()] + _value_problems(raw)) from None
    problems = canonicalize(document)
    if problems:
        raise Refused(problems)
    return document


def _parse_file(path: Path) -> object:
    if not path.is_file():
        raise Refused(Problem("file-not-found", f"No such file: {path}", "file", str(path)))
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise Refused(Problem("file-too-large", f"{path} is larger than {MAX_DOCUMENT_BYTES // 2**20} MB; "
                              "load users with `phonesys org import-users` instead.", "file", str(path)))
    try:
        text = path.read_text(encoding="utf-8-sig")
        return yaml.safe_load(text) if path.suffix.lower() in {".yaml", ".yml"} else json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise Refused(Problem("document-unreadable", f"{path} is not valid "
                              f"{'YAML' if path.suffix.lower() in {'.yaml', '.yml'} else 'JSON'} "
                              f"(UTF-8): {_one_line(exc)}", "file", str(path))) from None


def _one_line(exc: Exception) -> str:
    """A parse error as one line: YAML's multi-line report shrinks to its position and problem."""
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError) and mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return " ".join(str(exc).split())


def _pydantic_problem(error: dict) -> Problem:
    location = ".".join(str(part) for part in error["loc"]) or "document"
    return Problem("document-invalid", f"{location}: {error['msg']}", location,
                   None if isinstance(error.get("input"), dict | list) else str(error.get("input"))[:120])


def _value_problems(raw: object) -> list[Problem]:
    """The value checks of ``canonicalize`` on the parts of a structurally broken document that did
    parse, so an unknown field does not hide a bad number or a duplicate user."""
    if not isinstance(raw, dict):
        return []
    problems: list[Problem] = []
    if isinstance(raw.get("org_uuid"), str):
        org = check_uuid(raw["org_uuid"], "org_uuid")
        problems += [org] if isinstance(org, Problem) else []
    if isinstance(raw.get("addons"), dict):
        problems += _canonical_addons({sku: count for sku, count in raw["addons"].items()
                                       if isinstance(sku, str) and isinstance(count, int)
                                       and not isinstance(count, bool)})[1]
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
    document.addons, addon_problems = _canonical_addons(document.addons)
    document.numbers, number_problems = _canonical_numbers(document.numbers)
    document.users, user_problems = _canonical_users(document.users)
    return problems + addon_problems + number_problems + user_problems


def _canonical_addons(addons: dict[str, int]) -> tuple[dict[str, int], list[Problem]]:
    result, problems = {}, []
    for sku, count in addons.items():
        checked = check_sku(sku, f"addons.{sku}")
        if isinstance(checked, Problem):
            problems.append(checked)
        elif count < 0:
            problems.append(Problem("document-invalid", f"addons.{sku}: count must be >= 0",
                                    f"addons.{sku}", str(count)))
        elif checked in result:
            problems.append(Problem("addon-duplicate", f"Add-on '{checked}' is listed twice.",
                                    f"addons.{sku}", sku))
        else:
            result[checked] = count
    return result, problems


def _canonical_numbers(numbers: list) -> tuple[list[str], list[Problem]]:
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


def _canonical_users(entries: list[UserEntry | None]) -> tuple[list[UserEntry], list[Problem]]:
    seen: dict[str, int] = {}
    result, problems = [], []
    for index, entry in enumerate(entries):
        if entry is None:  # only in a broken document; its structural error is reported already
            continue
        identity = check_uuid(entry.identity_uuid, f"users.{index}.identity_uuid")
        name = check_user_name(entry.name, f"users.{index}.name")
        found = [p for p in (identity, name) if isinstance(p, Problem)]
        if not found and identity in seen:
            found.append(Problem("user-duplicate", f"Identity UUID {identity} is listed twice "
                                 f"(users.{seen[identity]} and users.{index}).", f"users.{index}", identity))
        problems += found
        if not found:
            seen[identity] = index
            result.append(UserEntry(identity_uuid=identity, name=name))
    return result, problems
