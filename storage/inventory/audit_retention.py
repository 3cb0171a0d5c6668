"""Pruning the audit log: the one way events ever leave it, and only past the retention.

The database enforces the retention itself: its triggers refuse to delete an event younger than
``audit_retention.days``. So a prune first brings that row to the configured retention (recording the
change as ``audit.retention``, before and after) and then deletes what is older (recorded as
``audit.prune``), both in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, select, update

from phonesys.storage.inventory.audit import Event, record
from phonesys.storage.inventory.engine import write_transaction
from phonesys.storage.inventory.schema_audit import audit_events, audit_retention


@dataclass(frozen=True)
class PruneResult:
    retention_days: int
    previous_days: int
    deleted: int
    before: str  # events older than this (UTC, ISO 8601) were deleted

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def prune(engine: Engine, retention_days: int) -> PruneResult:
    """Delete the events older than ``retention_days`` (at least 1) and keep that retention."""
    with write_transaction(engine) as connection:
        previous = int(connection.execute(select(audit_retention.c.days).where(audit_retention.c.id == 1)
                                          .with_for_update()).scalar_one())
        if previous != retention_days:
            connection.execute(update(audit_retention).where(audit_retention.c.id == 1).values(days=retention_days))
            record(connection, Event("audit.retention", None, "audit", "retention", {"days": previous},
                                     {"days": retention_days}))
        # a day's margin on the database's own check, whose clock and rounding differ from ours
        cutoff = datetime.now(UTC) - timedelta(days=retention_days + 1)
        # SQLite keeps CURRENT_TIMESTAMP's UTC text without a zone; PostgreSQL compares instants
        old = audit_events.c.at < (cutoff if connection.dialect.name == "postgresql" else cutoff.replace(tzinfo=None))
        deleted = connection.execute(select(func.count()).select_from(audit_events).where(old)).scalar_one()
        if deleted:
            connection.execute(delete(audit_events).where(old))
        record(connection, Event("audit.prune", None, "audit", "events", None,
                                 {"deleted": deleted, "older_than": cutoff.isoformat(timespec="seconds")}))
    return PruneResult(retention_days, previous, deleted, cutoff.isoformat(timespec="seconds"))
