"""The answers of the changing, audit and run routes of ``/api/v1``, so ``/openapi.json`` describes
every field; each is the ``--json`` document of the matching CLI command without ``ok``. Where the
storage layer's frozen dataclass is the document itself (a plan row, an audit event), it is used as is."""

from __future__ import annotations

from pydantic import Field

from phonesys.rules.errors import Problem
from phonesys.storage.inventory.audit_queries import AuditEvent
from phonesys.storage.inventory.results import PlanRow
from phonesys.web.models import Model


class Provisioned(Model):
    ext_keys: list[str]


class Released(Model):
    base_licenses: int
    addons: list[str]
    number: str | None
    user: str | None


class ExtensionDeleted(Model):
    ext_key: str
    released: Released


class NewTemplate(Model):
    uuid: str
    name: str
    status: str
    addons: list[str] = Field(default_factory=list)


class TemplateCopy(Model):
    uuid: str
    name: str
    status: str
    source: str
    total_users: int
    left_out: dict[str, int] = Field(description="Rows left out because they cannot be assigned again, per code.")


class TemplateDeleted(Model):
    uuid: str
    deleted: bool


class UploadedFile(Model):
    file_name: str
    rows: int
    identifier_kind: str
    object_key: str
    location: str


class Uploaded(Model):
    uuid: str
    total_users: int
    files: list[UploadedFile]


class PoolChange(Model):
    available_before: int
    available_after: int


class StartPlan(Model):
    """``template start --dry-run --json``: ``ok`` false when a problem would refuse the start."""

    ok: bool
    uuid: str
    org_uuid: str
    dry_run: bool
    policy: str
    chunk_size: int | None
    problems: list[Problem]
    rows: list[PlanRow]
    pools: dict[str, PoolChange]


class RevertPlan(Model):
    """``template revert --dry-run --json``: the keys to remove, those kept and gone, back to each pool."""

    ok: bool
    uuid: str
    org_uuid: str
    policy: str
    dry_run: bool
    resumed: bool
    remove: list[str]
    kept: list[Problem]
    gone: list[Problem]
    pools: dict[str, int]


class Cancelled(Model):
    template_uuid: str
    org_uuid: str
    assigned: int
    cancelled: int
    released: int
    report: str
    runs_cancelled: list[str] = Field(description="Flow runs of the template stopped (Cancelled or Cancelling).")
    runs_left: list[str] = Field(description="Flow runs inside another command: they end by themselves.")
    runs_note: str | None = Field(None, description="Why its runs could not be stopped, if so.")


class Accepted(Model):
    """A run going on elsewhere: poll ``location`` (the template) and ``report``."""

    uuid: str
    status: str
    run: str = Field(description="start or revert.")
    location: str
    report: str
    cancelled: Cancelled | None = None


class AuditEvents(Model):
    events: list[AuditEvent]
