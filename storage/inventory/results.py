"""The typed values the inventory hands to the layers above: a start plan, a template's details, an
organization's usage, and what each write did.

Frozen dataclasses whose field names are the keys ``--json`` and the HTTP API have always printed,
in the same order: callers read attributes, and ``as_dict`` gives the document at the edge (tuples
become lists), so the output stays byte for byte what it was. Nothing here touches the database,
so a service can import these types without loading the inventory.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from phonesys.rules.errors import Problem


def as_document(value: Any) -> Any:
    """A dataclass as plain dicts and lists, fields in declaration order (what ``json.dumps`` prints)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_document(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple):
        return [as_document(item) for item in value]
    if isinstance(value, dict):
        return {key: as_document(item) for key, item in value.items()}
    return value


class Document:
    """Mixin: ``as_dict`` is the value's JSON document (the keys callers used to index)."""

    def as_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = as_document(self)
        return document


# --- an organization's figures (``org show``, ``org list``, ``GET /orgs/{org}/licenses``)

@dataclass(frozen=True)
class Pool(Document):
    """A license pool. ``held``: reserved by in-progress templates; ``available``: what is left for new requests."""

    total: int
    used: int
    held: int
    available: int

    @classmethod
    def of(cls, total: int, used: int, held: int) -> Pool:
        return cls(total=total, used=used, held=held, available=total - used - held)


@dataclass(frozen=True)
class NumberUsage(Document):
    total: int
    assigned: int
    held: int
    available: int


@dataclass(frozen=True)
class UserUsage(Document):
    """Users count as unassigned only when no in-progress template holds them either."""

    total: int
    assigned: int
    held: int
    unassigned: int


@dataclass(frozen=True)
class ExtensionUsage(Document):
    total: int
    with_user: int
    without_user: int


@dataclass(frozen=True)
class OrgUsage(Document):
    """Totals, used, held and available for every pool of one organization."""

    org_uuid: str
    name: str
    base_licenses: Pool
    addons: dict[str, Pool]  # by SKU, in SKU order
    numbers: NumberUsage
    users: UserUsage
    extensions: ExtensionUsage


@dataclass(frozen=True)
class OrgListing(Document):
    """One line of ``org list``."""

    org_uuid: str
    name: str
    base_licenses: Pool


@dataclass(frozen=True)
class OrgLoaded(Document):
    """What ``org load`` did: whether the organization is new, and what its document held."""

    org_uuid: str
    created: bool
    numbers: int
    users: int


@dataclass(frozen=True)
class UsersImported(Document):
    org_uuid: str
    rows: int
    added: int
    updated: int


# --- templates

@dataclass(frozen=True)
class TemplateFile(Document):
    """One accepted upload of a template."""

    file_name: str
    object_key: str | None
    sha256: str
    rows: int
    identifier_kind: str


@dataclass(frozen=True)
class TemplateDetail(Document):
    """A template as ``template show`` prints it; ``created_at`` in ISO 8601."""

    uuid: str
    org_uuid: str
    name: str
    status: str
    addons: tuple[str, ...]
    total_users: int
    created_at: str | None
    policy: str | None
    report_key: str | None
    export_key: str | None
    files: tuple[TemplateFile, ...]
    cancelled: bool = False  # ended by `template cancel` (its status is completed)
    revert: str | None = None  # reverting / reverted, once `template revert` started


@dataclass(frozen=True)
class NewDraft(Document):
    """A draft template just made: what ``template create`` and ``template duplicate`` print first."""

    uuid: str
    name: str
    status: str


@dataclass(frozen=True)
class NewTemplate(NewDraft):
    """A draft just created with its add-ons."""

    addons: tuple[str, ...]


@dataclass(frozen=True)
class TemplateCopy(NewDraft):
    """A draft copied from ``source``; ``left_out`` counts, by code, the rows that could not come along."""

    source: str
    total_users: int
    left_out: dict[str, int]


@dataclass(frozen=True)
class TemplateRenamed(Document):
    uuid: str
    name: str


@dataclass(frozen=True)
class TemplateAddons(Document):
    uuid: str
    addons: tuple[str, ...]


@dataclass(frozen=True)
class TemplateDeleted(Document):
    uuid: str
    deleted: bool = True


# --- starting a template, and how its rows ended

@dataclass(frozen=True)
class PlanRow(Document):
    """One row of the start check: what it would assign and whether it can."""

    file: str
    row: int
    ext_key: str
    user_name: str
    identity_uuid: str
    number: str | None
    addons: tuple[str, ...]
    ok: bool


@dataclass(frozen=True)
class PoolChange(Document):
    """A pool's licenses available before the start and after every row took one."""

    available_before: int
    available_after: int


@dataclass(frozen=True)
class Preflight:
    """The start check: every problem found, each row's verdict, each pool's change."""

    problems: tuple[Problem, ...]
    rows: tuple[PlanRow, ...]
    pools: dict[str, PoolChange]  # base_licenses, then each add-on SKU


@dataclass(frozen=True)
class StartPlan:
    """What ``template start`` checked and (unless a dry run) did; ``held`` is how many rows it holds
    (None on a dry run, which holds nothing)."""

    uuid: str
    org_uuid: str
    dry_run: bool
    policy: str
    chunk_size: int | None
    problems: tuple[Problem, ...]
    rows: tuple[PlanRow, ...]
    pools: dict[str, PoolChange]
    held: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The ``template start --dry-run --json`` document; problems without their empty fields."""
        document: dict[str, Any] = {
            "uuid": self.uuid, "org_uuid": self.org_uuid, "dry_run": self.dry_run, "policy": self.policy,
            "chunk_size": self.chunk_size, "problems": [p.as_dict() for p in self.problems],
            "rows": as_document(self.rows), "pools": as_document(self.pools)}
        return document if self.held is None else {**document, "held": self.held}


@dataclass(frozen=True)
class FailedRow(Document):
    """A row the run could not assign, with the code and reason the report gives it."""

    file: str
    row: int
    ext_key: str
    user_name: str
    number: str | None
    code: str | None
    reason: str | None


# --- extensions

@dataclass(frozen=True)
class Released(Document):
    """What a deleted extension gave back: its base license, add-ons, number and user."""

    base_licenses: int
    addons: tuple[str, ...]
    number: str | None
    user: str | None


@dataclass(frozen=True)
class ExtensionDeleted(Document):
    ext_key: str
    released: Released


@dataclass(frozen=True)
class ExtensionEdited(Document):
    """The extension's key and directory name after an edit (None: the user's name is shown)."""

    ext_key: str
    directory_name: str | None
