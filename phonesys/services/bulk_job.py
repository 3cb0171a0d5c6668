"""The bulk job as it travels through the flow's tasks: typed, so a misspelt key fails mypy, not a run.

``Job`` is what ``load-job`` reads once at the start; ``RowCounts`` the ledger's counts at any time;
``JobOutcome`` what the run ends with, which is also the data of its final Prefect state (as a dict,
so ``state.result()`` stays plain JSON for the API and the CLI).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from phonesys.rules.vocabulary import (
    ALL_OR_NOTHING,
    ASSIGNED,
    DEFAULT_POLICY,
    FAILED,
    PENDING,
    POLICIES,
    ROW_STATUSES,
    Policy,
)

if TYPE_CHECKING:  # exports loads pyarrow; the Prefect side reads outcomes without it
    from phonesys.services.exports import ExportResult



@dataclass(frozen=True)
class RowCounts:
    """How many of a template's rows are assigned, failed and still pending."""

    assigned: int = 0
    failed: int = 0
    pending: int = 0

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> RowCounts:
        return cls(**{status: int(counts.get(status, 0)) for status in ROW_STATUSES})

    @property
    def rows(self) -> int:
        return self.assigned + self.failed + self.pending

    @property
    def decided(self) -> int:
        return self.assigned + self.failed

    def as_dict(self) -> dict[str, int]:
        return {ASSIGNED: self.assigned, FAILED: self.failed, PENDING: self.pending}

    def in_ledger_order(self) -> dict[str, int]:
        """As the inventory lists them (pending first): the order ``--json`` documents have always had."""
        return {PENDING: self.pending, ASSIGNED: self.assigned, FAILED: self.failed}


def as_policy(value: str | None) -> Policy:
    """A template without a recorded policy (started before policies existed) continues on failures."""
    if value is None:
        return DEFAULT_POLICY
    for policy in POLICIES:
        if value == policy:
            return policy
    raise ValueError(f"unknown policy {value!r}; expected one of {', '.join(POLICIES)}")


@dataclass(frozen=True)
class Job:
    """A started template and its organization, as the flow needs them from start to end."""

    template_uuid: str
    template_name: str
    org_uuid: str
    org_name: str
    status: str
    policy: Policy
    chunk_size: int | None
    addons: tuple[str, ...]
    counts: RowCounts

    @property
    def all_or_nothing(self) -> bool:
        return self.policy == ALL_OR_NOTHING


@dataclass(frozen=True)
class JobOutcome:
    """What a bulk run ends with: the ledger's counts, failures per code and the files written."""

    template_uuid: str
    counts: RowCounts
    completed: bool
    codes: dict[str, int] = field(default_factory=dict)
    report: ExportResult | None = None
    export: ExportResult | None = None

    def verdict(self, policy: Policy) -> Literal["completed", "partially-completed", "failed"]:
        """The outcome's one word: ``failed`` means rolled back (all-or-nothing with a failed row)."""
        if not self.counts.failed:
            return "completed"
        return "failed" if policy == ALL_OR_NOTHING else "partially-completed"

    def as_dict(self) -> dict[str, Any]:
        """The flow's result, as earlier releases returned it (counts at the top level)."""
        return {"completed": self.completed, **self.counts.as_dict(), "codes": dict(self.codes),
                "report": self.report.as_dict() if self.report else {},
                "export": self.export.as_dict() if self.export else {}, "template_uuid": self.template_uuid}
