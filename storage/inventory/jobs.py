"""The life of a bulk assignment job: preflight and start, chunking, all-or-nothing undo, completion.

A job is a template in progress; its ledger is the template's rows (pending -> assigned | failed).
Starting re-checks the seed's three conditions against the inventory inside the same transaction
that moves the template to ``in_progress``, so a refused start changes nothing and a second start
is refused by the status rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, func, select, update

from phonesys.rules import refusals
from phonesys.rules.assignable import PoolFacts, Where, pool_problem
from phonesys.rules.decisions import Facts, inventory_problem
from phonesys.rules.errors import Problem, Refused, refuse_if
from phonesys.rules.vocabulary import (
    COMPLETED,
    DEFAULT_POLICY,
    DRAFT,
    FAILED,
    IN_PROGRESS,
    PENDING,
    POLICIES,
    ROW_STATUSES,
)
from phonesys.storage.inventory import holds
from phonesys.storage.inventory.assignment import template_skus
from phonesys.storage.inventory.audit import Event, actor_of, on_behalf_of, record
from phonesys.storage.inventory.decide import gather_facts
from phonesys.storage.inventory.engine import read_transaction, write_transaction
from phonesys.storage.inventory.lookup import lock_org
from phonesys.storage.inventory.results import FailedRow, PlanRow, PoolChange, Preflight, StartPlan
from phonesys.storage.inventory.schema import organizations, template_files, template_rows, templates
from phonesys.storage.inventory.templates import get_template, locked_template


def start_job(engine: Engine, template_ref: str, *, policy: str = DEFAULT_POLICY, chunk_size: int | None = None,
              dry_run: bool = False) -> StartPlan:
    """Check the start conditions and (unless ``dry_run``) move the template to in progress.
    ``chunk_size`` None lets the flow size chunks by time."""
    if policy not in POLICIES or (chunk_size is not None and chunk_size < 1):
        raise Refused(refusals.start_options_invalid(policy))
    try:
        return _start(engine, template_ref, policy, chunk_size, dry_run)
    except Refused as refused:
        if not dry_run:
            _record_refused_start(engine, template_ref, refused)
        raise


def _start(engine: Engine, template_ref: str, policy: str, chunk_size: int | None, dry_run: bool) -> StartPlan:
    held: int | None = None
    with write_transaction(engine) as connection:
        template = locked_template(connection, template_ref, "start")
        rows = _all_rows(connection, template.template_uuid)
        if not rows:
            raise Refused(refusals.template_empty(template.template_uuid))
        check = preflight(connection, template, rows)
        if not dry_run:
            refuse_if(list(check.problems))
            connection.execute(update(templates).where(and_(templates.c.template_uuid == template.template_uuid,
                                                            templates.c.status == DRAFT))
                               .values(status=IN_PROGRESS, policy=policy, chunk_size=chunk_size,
                                       started_at=datetime.now(UTC), started_by=actor_of(connection)))
            held = holds.take(connection, template.org_uuid, template.template_uuid,
                              template_skus(connection, template.template_uuid))
            record(connection, _template_event("template.start", template, {"status": DRAFT}, {
                "status": IN_PROGRESS, "policy": policy, "chunk_size": chunk_size, "rows": len(rows),
                "held": held}))
    return StartPlan(uuid=template.template_uuid, org_uuid=template.org_uuid, dry_run=dry_run, policy=policy,
                     chunk_size=chunk_size, problems=check.problems, rows=check.rows, pools=check.pools, held=held)


def _record_refused_start(engine: Engine, template_ref: str, refused: Refused) -> None:
    """A refused start changed nothing, so its event is written on its own: who tried, and why not."""
    with write_transaction(engine) as connection:
        try:
            template = get_template(connection, template_ref)
        except Refused:  # no such template: nothing to name in the log
            return
        codes = sorted({problem.code for problem in refused.problems})
        record(connection, replace(_template_event("template.start", template, {"status": template.status},
                                                   {"refused": codes}), outcome="refused"))


def _template_event(action: str, template: Row[Any], before: dict[str, Any] | None,
                    after: dict[str, Any] | None) -> Event:
    return Event(action, template.org_uuid, "template", template.template_uuid, before, after,
                 template_uuid=template.template_uuid)


def preflight(connection: Connection, template: Row[Any], rows: Sequence[Row[Any]]) -> Preflight:
    """The seed's conditions: enough base and add-on licenses, users free, numbers and keys free."""
    skus = template_skus(connection, template.template_uuid)
    facts = gather_facts(connection, template.org_uuid, rows, skus)
    problems = _license_shortfalls(connection, template.org_uuid, facts, skus, len(rows))
    plan_rows: list[PlanRow] = []
    addons = tuple(skus)
    for row in rows:
        problem = inventory_problem(row, facts)
        if problem is not None:
            problems.append(replace(problem, row=row.row_number, file=row.file_name))
        plan_rows.append(PlanRow(file=row.file_name, row=row.row_number, ext_key=row.ext_key,
                                 user_name=row.user_name, identity_uuid=row.identity_uuid, number=row.number,
                                 addons=addons, ok=problem is None))
    pools = {"base_licenses": PoolChange(facts.base_left, facts.base_left - len(rows)),
             **{sku: PoolChange(left, left - len(rows)) for sku, left in facts.addons_left.items()}}
    return Preflight(problems=tuple(problems), rows=tuple(plan_rows), pools=pools)


def _license_shortfalls(connection: Connection, org_uuid: str, facts: Facts, skus: list[str],
                        needed: int) -> list[Problem]:
    """The whole template's licenses at once (one base license and one of each add-on per row), with
    who holds the others; the rule decides, as it does for one extension."""
    pools = [(PoolFacts(None, facts.base_left, facts.base_total, held_note=holds.describe_held(connection, org_uuid)),
              Where("base_licenses", str(needed)))]
    pools += [(PoolFacts(sku, facts.addons_left[sku], facts.addon_totals[sku],
                         held_note=holds.describe_held(connection, org_uuid, sku)), Where("addon", sku))
              for sku in skus]
    found = (pool_problem(pool, needed, where) for pool, where in pools)
    return [problem for problem in found if problem is not None]


def pending_row_ids(engine: Engine, template_uuid: str) -> list[int]:
    """The rows still to decide, in upload order (the flow cuts them into chunks)."""
    with read_transaction(engine) as connection:
        return list(connection.execute(select(template_rows.c.id).where(
            template_rows.c.template_uuid == template_uuid, template_rows.c.status == PENDING)
            .order_by(template_rows.c.id)).scalars())


def status_counts(engine: Engine, template_uuid: str) -> dict[str, int]:
    with read_transaction(engine) as connection:
        return counts_by_status(connection, template_uuid)


def counts_by_status(connection: Connection, template_uuid: str) -> dict[str, int]:
    counts: Counter[str] = Counter(dict(connection.execute(select(template_rows.c.status, func.count()).where(
        template_rows.c.template_uuid == template_uuid).group_by(template_rows.c.status)).all()))
    return {status: counts.get(status, 0) for status in ROW_STATUSES}


def complete_job(engine: Engine, template_uuid: str, report_key: str | None, export_key: str | None) -> bool:
    """Mark the template completed once no row is pending; False if rows are still pending."""
    with write_transaction(engine) as connection:
        template = get_template(connection, template_uuid)
        if template.status == COMPLETED:
            return True
        if template.status == DRAFT:  # never started (an empty draft has no pending row either)
            raise Refused(refusals.template_not_started(template_uuid))
        if _count(connection, template_uuid, PENDING):
            return False
        lock_org(connection, template.org_uuid)
        # No row is pending, so no hold should be left; give back any a bug left behind all the same.
        holds.release(connection, template.org_uuid, template_uuid, template_skus(connection, template_uuid))
        connection.execute(update(templates).where(templates.c.template_uuid == template_uuid)
                           .values(status=COMPLETED, completed_at=datetime.now(UTC), report_key=report_key,
                                   export_key=export_key))
        record(connection, _template_event("template.complete", template, {"status": template.status}, {
            "status": COMPLETED, **counts_by_status(connection, template_uuid)}),
            actor=on_behalf_of(connection, template.started_by))
        return True


def _all_rows(connection: Connection, template_uuid: str) -> Sequence[Row[Any]]:
    """Every row with the name of the file it came from, so problems can say ``users.csv:12``."""
    return connection.execute(select(template_rows, template_files.c.file_name)
                              .join(template_files, template_files.c.id == template_rows.c.file_id)
                              .where(template_rows.c.template_uuid == template_uuid)
                              .order_by(template_rows.c.id)).all()


def _count(connection: Connection, template_uuid: str, status: str) -> int:
    return connection.execute(select(func.count()).select_from(template_rows).where(
        template_rows.c.template_uuid == template_uuid, template_rows.c.status == status)).scalar_one()


def failed_rows(engine: Engine, template_uuid: str, limit: int = 1000) -> list[FailedRow]:
    """The failed rows with their reasons, in upload order (for the UI table and the CLI summary)."""
    with read_transaction(engine) as connection:
        rows = connection.execute(select(template_rows, template_files.c.file_name)
                                  .join(template_files, template_files.c.id == template_rows.c.file_id).where(
            template_rows.c.template_uuid == template_uuid, template_rows.c.status == FAILED)
            .order_by(template_rows.c.id).limit(limit)).all()
    return [FailedRow(file=r.file_name, row=r.row_number, ext_key=r.ext_key, user_name=r.user_name,
                      number=r.number, code=r.reason_code, reason=r.reason) for r in rows]


def failure_codes(engine: Engine, template_uuid: str) -> dict[str, int]:
    """How many failed rows per reason code: what run states, events and alerts name as the cause."""
    with read_transaction(engine) as connection:
        rows = connection.execute(select(template_rows.c.reason_code, func.count()).where(
            template_rows.c.template_uuid == template_uuid, template_rows.c.status == FAILED)
            .group_by(template_rows.c.reason_code).order_by(template_rows.c.reason_code)).all()
    return {code or "unknown": count for code, count in rows}


def template_names(engine: Engine, template_uuid: str) -> tuple[str, str]:
    """(organization name, template name) of a template, for naming its flow runs."""
    with read_transaction(engine) as connection:
        template = get_template(connection, template_uuid)
        org = connection.execute(select(organizations.c.name).where(
            organizations.c.org_uuid == template.org_uuid)).scalar_one()
    return org, template.name
