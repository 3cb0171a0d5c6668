"""``template cancel``: end an in-progress template where it stands and write its report."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from phonesys.services.reports import write_report
from phonesys.storage.inventory.assignment import template_skus
from phonesys.storage.inventory.cancel import Cancelled, cancel_job, record_report
from phonesys.storage.inventory.engine import read_transaction
from phonesys.storage.objects import ObjectStore


@dataclass(frozen=True)
class CancelOutcome:
    cancelled: Cancelled
    report: str  # where the report is

    def as_dict(self) -> dict[str, object]:
        return {**self.cancelled.as_dict(), "report": self.report}


def cancel_template(engine: Engine, store: ObjectStore, template_ref: str) -> CancelOutcome:
    """Cancel, then report every row: assigned, failed, and ``template-cancelled`` for those never reached."""
    done = cancel_job(engine, template_ref)
    with read_transaction(engine) as connection:
        skus = template_skus(connection, done.template_uuid)
    written = write_report(engine, store, done.org_uuid, done.template_uuid, skus)
    record_report(engine, done.template_uuid, written.key)
    return CancelOutcome(done, written.location)
