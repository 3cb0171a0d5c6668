"""Cancelling a template in progress: its rows not yet assigned fail as ``template-cancelled`` and give their
holds back, the rows already assigned keep their extensions, and the template ends (completed, with
``cancelled_at``), all in one transaction under the organization lock.

A run still alive finds nothing left to do: its chunks serialize on the same lock and see no pending
row, it never undoes a cancelled template's rows (``undo.undo_job`` checks), and completing a
completed template changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, update

from phonesys.rules.limits import REASON_MAX_CHARS
from phonesys.rules.rollback import cancelled
from phonesys.rules.status import require_allowed
from phonesys.rules.vocabulary import ASSIGNED, COMPLETED, FAILED, IN_PROGRESS, PENDING
from phonesys.storage.inventory import holds
from phonesys.storage.inventory.assignment import template_skus
from phonesys.storage.inventory.audit import Event, actor_of, record
from phonesys.storage.inventory.engine import write_transaction
from phonesys.storage.inventory.jobs import counts_by_status
from phonesys.storage.inventory.lookup import lock_org
from phonesys.storage.inventory.schema import template_rows, templates
from phonesys.storage.inventory.templates import get_template


@dataclass(frozen=True)
class Cancelled:
    template_uuid: str
    org_uuid: str
    assigned: int  # kept
    cancelled: int  # rows that were pending
    released: int  # rows whose holds went back

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def cancel_job(engine: Engine, template_ref: str) -> Cancelled:
    """End an in-progress template where it stands; refused for any other status."""
    with write_transaction(engine) as connection:
        template = get_template(connection, template_ref)
        lock_org(connection, template.org_uuid)
        template = get_template(connection, template.template_uuid)  # as it is under the lock
        require_allowed(template.template_uuid, template.status, "cancel")
        before = counts_by_status(connection, template.template_uuid)
        problem = cancelled(actor_of(connection))
        connection.execute(update(template_rows).where(template_rows.c.template_uuid == template.template_uuid,
                                                       template_rows.c.status == PENDING)
                           .values(status=FAILED, reason_code=problem.code, reason=problem.message[:REASON_MAX_CHARS],
                                   processed_at=datetime.now(UTC)))
        released = holds.release(connection, template.org_uuid, template.template_uuid,
                                 template_skus(connection, template.template_uuid))
        now = datetime.now(UTC)
        connection.execute(update(templates).where(templates.c.template_uuid == template.template_uuid)
                           .values(status=COMPLETED, completed_at=now, cancelled_at=now))
        after = counts_by_status(connection, template.template_uuid)
        record(connection, Event("template.cancel", template.org_uuid, "template", template.template_uuid,
                                 {"status": IN_PROGRESS, **before}, {"status": COMPLETED, "cancelled": before[PENDING],
                                                                     **after}, template_uuid=template.template_uuid))
    return Cancelled(template.template_uuid, template.org_uuid, after[ASSIGNED], before[PENDING], released)


def record_report(engine: Engine, template_uuid: str, report_key: str) -> None:
    """The report written after a cancel is the template's report."""
    with write_transaction(engine) as connection:
        connection.execute(update(templates).where(templates.c.template_uuid == template_uuid)
                           .values(report_key=report_key))
