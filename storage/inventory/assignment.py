"""Assigning one chunk of a started template: the heart of bulk assignment, one transaction.

Inside a single transaction, holding the organization lock, the chunk reads its still-pending rows,
decides per row whether it can be assigned *now* (user exists and is free, number owned and free,
key free, licenses left), creates the extensions, turns the rows' holds (taken at start) into use,
gives back the holds of rows that failed, and writes every row's outcome to the ledger
(``template_rows.status``). Rows already decided are
skipped, so re-running a chunk after a crash or a retry never claims anything twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, String, and_, bindparam, insert, literal, select, update
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement

from phonesys.failpoints import failpoint
from phonesys.rules import refusals
from phonesys.rules.decisions import RowDecision
from phonesys.rules.errors import Refused
from phonesys.rules.limits import REASON_MAX_CHARS
from phonesys.rules.status import DRAFT
from phonesys.rules.vocabulary import ASSIGNED, FAILED, PENDING
from phonesys.storage.inventory import holds
from phonesys.storage.inventory.audit import on_behalf_of, record_bulk_assigned
from phonesys.storage.inventory.decide import decide_rows, pending_rows
from phonesys.storage.inventory.engine import write_transaction
from phonesys.storage.inventory.lookup import lock_org
from phonesys.storage.inventory.pools import claim_addons, claim_base
from phonesys.storage.inventory.schema import extension_addons, extensions, template_addons, template_rows
from phonesys.storage.inventory.templates import get_template
from phonesys.storage.inventory.upsert import one_of


@dataclass(frozen=True)
class ChunkOutcome:
    assigned: int
    failed: int
    already_done: int


def assign_chunk(engine: Engine, template_uuid: str, row_ids: Sequence[int]) -> ChunkOutcome:
    """Assign the pending rows among ``row_ids``; returns how many were assigned, failed, skipped."""
    with write_transaction(engine) as connection:
        template = get_template(connection, template_uuid)
        lock_org(connection, template.org_uuid)
        # A draft was never started. A completed template has no pending row left (another run of
        # the same template finished it first), so its chunk is a no-op, not a failure of this run.
        if get_template(connection, template_uuid).status == DRAFT:
            raise Refused(refusals.template_not_started(template_uuid))
        rows = pending_rows(connection, template_uuid, row_ids)
        skus = template_skus(connection, template_uuid)
        decisions = decide_rows(connection, template.org_uuid, rows, skus)
        assigned = [d for d in decisions if d.problem is None]
        failed = [d for d in decisions if d.problem is not None]
        _use_licenses(connection, template, assigned, skus)
        _create_extensions(connection, template.org_uuid, assigned, skus)
        if assigned:  # as whoever started the template; the flow run is the correlation
            record_bulk_assigned(connection, template.org_uuid, template_uuid,
                                 one_of(connection, template_rows.c.id, [d.row.id for d in assigned]), skus,
                                 on_behalf_of(connection, template.started_by))
        failpoint("mid-chunk")  # inside the transaction: killing here must leave no trace
        holds.release(connection, template.org_uuid, template_uuid, skus, [d.row.id for d in failed])
        _record_failures(connection, failed)
    return ChunkOutcome(len(assigned), len(decisions) - len(assigned), len(row_ids) - len(rows))


def template_skus(connection: Connection, template_uuid: str) -> list[str]:
    return sorted(connection.execute(select(template_addons.c.sku).where(
        template_addons.c.template_uuid == template_uuid)).scalars())


def _use_licenses(connection: Connection, template: Row[Any], assigned: list[RowDecision], skus: list[str]) -> None:
    """Held rows turn their holds into use; rows without a hold (started before holds existed) claim."""
    holds.convert(connection, template.org_uuid, template.template_uuid,
                  [d.row.id for d in assigned if d.prepaid], skus)
    unpaid = sum(not d.prepaid for d in assigned)
    if unpaid:
        claim_base(connection, template.org_uuid, unpaid)
        claim_addons(connection, template.org_uuid, {sku: unpaid for sku in skus})


def _create_extensions(connection: Connection, org_uuid: str, assigned: list[RowDecision],
                       skus: list[str]) -> None:
    """Set-based: the extensions come straight from the assigned rows of ``template_rows`` (the
    values the decision saw), in one statement whatever the chunk size (the rows are named by one
    array parameter on PostgreSQL); the add-ons and the ledger then name the new extensions by the
    ids the insert returned: one statement per add-on and one for the ledger.

    Not looked up again by (organization, key): for an organization new since the last ANALYZE,
    PostgreSQL estimates one extension and may probe by the (organization, template) index,
    filtering every extension of the organization for each row: seconds per chunk, growing with
    each chunk (issue 22's scale-out stalls). With ids from RETURNING every statement is bounded by
    the chunk, whatever the plan."""
    if not assigned:
        return
    chosen = one_of(connection, template_rows.c.id, [d.row.id for d in assigned])
    made = connection.execute(insert(extensions).from_select(
        ["org_uuid", "ext_key", "identity_uuid", "number", "template_uuid"],
        select(literal(org_uuid, String), template_rows.c.ext_key, template_rows.c.identity_uuid,
               template_rows.c.number, template_rows.c.template_uuid).where(chosen).order_by(template_rows.c.id))
        .returning(extensions.c.id))
    of_made = one_of(connection, extensions.c.id, list(made.scalars()))
    for sku in skus:
        connection.execute(insert(extension_addons).from_select(
            ["extension_id", "org_uuid", "sku"],
            select(extensions.c.id, literal(org_uuid, String), literal(sku, String)).where(of_made)))
    connection.execute(_ledger_update(connection, org_uuid, chosen, of_made))


def _ledger_update(connection: Connection, org_uuid: str, chosen: ColumnElement[bool],
                   of_made: ColumnElement[bool]) -> Update:
    """The chunk's assigned rows point at their new extensions. PostgreSQL: joined to the chunk's new
    extensions by key, both sides named by primary keys, so any plan is bounded by the chunk.
    SQLite: each row probes the (organization, key) index, the plan it always picks (and cheaper
    there than the join)."""
    assigned = update(template_rows).where(chosen, template_rows.c.status == PENDING)
    if connection.dialect.name == "postgresql":
        return assigned.where(of_made, extensions.c.ext_key == template_rows.c.ext_key).values(
            status=ASSIGNED, extension_id=extensions.c.id, processed_at=datetime.now(UTC))
    made = select(extensions.c.id).where(extensions.c.org_uuid == org_uuid,
                                         extensions.c.ext_key == template_rows.c.ext_key).scalar_subquery()
    return assigned.values(status=ASSIGNED, extension_id=made, processed_at=datetime.now(UTC))


def _record_failures(connection: Connection, failed: list[RowDecision]) -> None:
    if not failed:
        return
    connection.execute(
        update(template_rows).where(and_(template_rows.c.id == bindparam("row_id"),
                                         template_rows.c.status == PENDING))
        .values(status=FAILED, reason_code=bindparam("code"), reason=bindparam("why"),
                processed_at=bindparam("at")),
        [{"row_id": d.row.id, "code": problem.code, "why": problem.message[:REASON_MAX_CHARS],
          "at": datetime.now(UTC)} for d in failed if (problem := d.problem) is not None])
