"""The all-or-nothing policy: when any row fails, no row of the template keeps an assignment.

``revalidate`` finds rows that can no longer be assigned before anything is claimed; ``fail_all``
then records every row as failed and gives back the template's holds. If a row still fails during
assignment (another job took its number meanwhile), ``undo_job`` deletes the extensions the job
created (and only those: matched by id, organization, key and the template that made them) and
returns their licenses, numbers and users, and gives back the holds of the rows never attempted,
in one transaction with the ledger update.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, delete, select, update

from phonesys.rules.decisions import RowDecision
from phonesys.rules.errors import Problem
from phonesys.rules.limits import REASON_MAX_CHARS
from phonesys.rules.rollback import changed_since, not_attempted, rolled_back
from phonesys.rules.vocabulary import ASSIGNED, FAILED, PENDING, RowStatus
from phonesys.storage.inventory import holds
from phonesys.storage.inventory.assignment import template_skus
from phonesys.storage.inventory.audit import extension_event, extension_snapshots, on_behalf_of, record_all
from phonesys.storage.inventory.decide import decide_rows, pending_rows
from phonesys.storage.inventory.engine import read_transaction, write_transaction
from phonesys.storage.inventory.lookup import lock_org
from phonesys.storage.inventory.pools import release_base
from phonesys.storage.inventory.schema import addon_pools, extension_addons, extensions, template_rows
from phonesys.storage.inventory.templates import get_template


def revalidate(engine: Engine, template_uuid: str) -> list[RowDecision]:
    """Decide every pending row against the inventory as it is now, writing nothing."""
    with read_transaction(engine) as connection:
        template = get_template(connection, template_uuid)
        return decide_rows(connection, template.org_uuid, pending_rows(connection, template_uuid),
                           template_skus(connection, template_uuid))


def fail_all(engine: Engine, template_uuid: str, decisions: list[RowDecision]) -> None:
    """Record every pending row as failed: its own reason, or that another row failed."""
    first = next(d for d in decisions if d.problem is not None)
    with write_transaction(engine) as connection:
        org_uuid = get_template(connection, template_uuid).org_uuid
        lock_org(connection, org_uuid)
        for decision in decisions:
            problem = decision.problem or not_attempted(first.row.row_number)
            _fail_row(connection, decision.row.id, problem, PENDING)
        holds.release(connection, org_uuid, template_uuid, template_skus(connection, template_uuid))


def undo_job(engine: Engine, template_uuid: str) -> int:
    """Delete what the job assigned and mark those rows rolled back; returns how many were undone.

    An extension is deleted only while it is still the one its row made: the ledger's id, in the
    same organization, with the row's key and stamped with this template. One deleted by hand
    meanwhile has nothing left to undo; one changed by hand since (re-keyed, say) is left as it
    is and its row says so (``changed-since``), so the summary counts only what was really undone."""
    with write_transaction(engine) as connection:
        org_uuid = get_template(connection, template_uuid).org_uuid
        lock_org(connection, org_uuid)
        template = get_template(connection, template_uuid)  # as it is under the lock
        if template.cancelled_at is not None:
            return 0  # cancelled: its assigned rows are kept (or reverted on purpose), never undone by a late run
        ours, gone, changed = _assigned_extensions(connection, org_uuid, template_uuid)
        _record_undone(connection, template, list(ours.values()))
        delete_extensions(connection, org_uuid, list(ours.values()))
        first_failed = connection.execute(select(template_rows.c.row_number).where(
            template_rows.c.template_uuid == template_uuid, template_rows.c.status == FAILED)
            .order_by(template_rows.c.id).limit(1)).scalar()
        for row_id in [*ours, *gone]:
            _fail_row(connection, row_id, rolled_back(first_failed), ASSIGNED)
        for row_id, ext_key in changed.items():
            _fail_row(connection, row_id, changed_since(first_failed, ext_key), ASSIGNED)
        for row_id in connection.execute(select(template_rows.c.id).where(
                template_rows.c.template_uuid == template_uuid, template_rows.c.status == PENDING)).scalars():
            _fail_row(connection, row_id, not_attempted(first_failed), PENDING)
        holds.release(connection, org_uuid, template_uuid, template_skus(connection, template_uuid))
        return len(ours) + len(gone)


def _assigned_extensions(connection: Connection, org_uuid: str, template_uuid: str
                         ) -> tuple[dict[int, int], list[int], dict[int, str]]:
    """The assigned rows, split: row -> extension still the template's, rows whose extension is
    gone, and row -> current key of an extension changed since."""
    rows = connection.execute(select(template_rows.c.id, template_rows.c.ext_key, extensions.c.id.label("ext_id"),
                                     extensions.c.org_uuid, extensions.c.ext_key.label("key_now"),
                                     extensions.c.template_uuid.label("made_by"))
                              .join(extensions, extensions.c.id == template_rows.c.extension_id, isouter=True)
                              .where(template_rows.c.template_uuid == template_uuid,
                                     template_rows.c.status == ASSIGNED)).all()
    ours = {r.id: r.ext_id for r in rows if r.ext_id is not None
            and (r.org_uuid, r.key_now, r.made_by) == (org_uuid, r.ext_key, template_uuid)}
    gone = [r.id for r in rows if r.ext_id is None]
    changed = {r.id: r.key_now for r in rows if r.ext_id is not None and r.id not in ours}
    return ours, gone, changed


def _record_undone(connection: Connection, template: Row[Any], extension_ids: list[int]) -> None:
    """One ``bulk.undo`` event per extension about to be removed, as whoever started the template."""
    before = extension_snapshots(connection, extension_ids)
    record_all(connection, (extension_event("bulk.undo", template.org_uuid, i, before[i], None, template.template_uuid)
                            for i in extension_ids), actor=on_behalf_of(connection, template.started_by))


def _fail_row(connection: Connection, row_id: int, problem: Problem, from_status: RowStatus) -> None:
    connection.execute(update(template_rows).where(and_(template_rows.c.id == row_id,
                                                        template_rows.c.status == from_status))
                       .values(status=FAILED, extension_id=None, reason_code=problem.code,
                               reason=problem.message[:REASON_MAX_CHARS], processed_at=datetime.now(UTC)))


def delete_extensions(connection: Connection, org_uuid: str, extension_ids: list[int]) -> None:
    """Remove extensions a template made, giving their add-ons and base licenses back (their numbers
    and users are free once the extension rows are gone)."""
    if not extension_ids:
        return
    held = Counter(connection.execute(select(extension_addons.c.sku).where(
        extension_addons.c.extension_id.in_(extension_ids))).scalars())
    connection.execute(delete(extension_addons).where(extension_addons.c.extension_id.in_(extension_ids)))
    for sku, count in held.items():
        connection.execute(update(addon_pools).where(addon_pools.c.org_uuid == org_uuid, addon_pools.c.sku == sku)
                           .values(used=addon_pools.c.used - count))
    deleted = connection.execute(delete(extensions).where(extensions.c.org_uuid == org_uuid,
                                                          extensions.c.template_uuid.is_not(None),
                                                          extensions.c.id.in_(extension_ids))).rowcount
    release_base(connection, org_uuid, deleted)
