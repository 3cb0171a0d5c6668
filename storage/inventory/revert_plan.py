"""Planning a template's revert: the extensions it made, each judged now (``rules.revert``).

What a template made comes from its ledger (rows assigned, with their extension ids); what happened
to each since comes from the audit log (events after its ``bulk.assign``) and from the extension as
it is now. Starting the revert writes the plan as ``revert_rows`` in the same transaction that
checks it, so the pending rows hold their extensions from that moment (``holds.revert_holder``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, func, insert, select

from phonesys.rules import refusals
from phonesys.rules.errors import Problem, Refused
from phonesys.rules.limits import REASON_MAX_CHARS
from phonesys.rules.revert import LaterChange, MadeExtension, Verdict, revert_verdict
from phonesys.rules.status import require_allowed
from phonesys.rules.vocabulary import ALL_OR_NOTHING, ASSIGNED, DEFAULT_POLICY, GONE, KEPT, PENDING, POLICIES, REVERTING
from phonesys.storage.inventory.assignment import template_skus
from phonesys.storage.inventory.audit import Event, actor_of, extension_snapshots, record
from phonesys.storage.inventory.engine import write_transaction
from phonesys.storage.inventory.lookup import lock_org
from phonesys.storage.inventory.schema import template_rows
from phonesys.storage.inventory.schema_audit import audit_events, revert_rows, template_reverts
from phonesys.storage.inventory.templates import get_template
from phonesys.storage.inventory.upsert import chunked

VERDICT_STATUS = {"remove": PENDING, "kept": KEPT, "gone": GONE}


@dataclass(frozen=True)
class RevertPlan:
    """What a revert will do (``dry_run``) or has been started to do."""

    template_uuid: str
    org_uuid: str
    policy: str
    dry_run: bool
    remove: list[str] = field(default_factory=list)  # ext keys
    kept: list[Problem] = field(default_factory=list)
    gone: list[Problem] = field(default_factory=list)
    pools: dict[str, int] = field(default_factory=dict)  # what returns to each pool
    resumed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"uuid": self.template_uuid, "org_uuid": self.org_uuid, "policy": self.policy, "dry_run": self.dry_run,
                "resumed": self.resumed, "remove": self.remove, "kept": [p.as_dict() for p in self.kept],
                "gone": [p.as_dict() for p in self.gone], "pools": self.pools}


def start_revert(engine: Engine, template_ref: str, *, policy: str = DEFAULT_POLICY,
                 dry_run: bool = False) -> RevertPlan:
    """Judge every extension the template made and (unless ``dry_run``) hold the plan for the flow.
    A revert already in progress is resumed as it was planned."""
    if policy not in POLICIES:
        raise Refused(refusals.start_options_invalid(policy))
    with write_transaction(engine) as connection:
        template = get_template(connection, template_ref)
        lock_org(connection, template.org_uuid)
        require_allowed(template.template_uuid, template.status, "revert")
        existing = connection.execute(select(template_reverts).where(
            template_reverts.c.template_uuid == template.template_uuid)).first()
        if existing is not None:
            return _resume(template, existing, dry_run)
        verdicts = [(ext, *revert_verdict(ext)) for ext in made_extensions(connection, template.template_uuid)]
        plan = _plan(connection, template, policy, dry_run, verdicts)
        if policy == ALL_OR_NOTHING and plan.kept:
            raise Refused(plan.kept)
        if not dry_run:
            _hold(connection, template, policy, plan, verdicts)
    return plan


Verdicts = list[tuple[MadeExtension, Verdict, Problem | None]]


def _plan(connection: Connection, template: Row[Any], policy: str, dry_run: bool, verdicts: Verdicts) -> RevertPlan:
    remove = [ext for ext, verdict, _ in verdicts if verdict == "remove"]
    skus = template_skus(connection, template.template_uuid)
    freed = Counter({"base_licenses": len(remove)})
    for ext in remove:  # a removable extension exists: ``now`` is set
        now = ext.now or {}
        freed.update({f"addon:{sku}": 1 for sku in now["addons"] if sku in skus})
        freed.update({"numbers": 1} if now.get("number") else {})
        freed.update({"users": 1} if now.get("user") else {})
    kept = [p for _, v, p in verdicts if v == "kept" and p]
    gone = [p for _, v, p in verdicts if v == "gone" and p]
    return RevertPlan(template.template_uuid, template.org_uuid, policy, dry_run, [e.ext_key for e in remove],
                      kept, gone, dict(freed))


def made_extensions(connection: Connection, template_uuid: str,
                    extension_ids: Sequence[int] | None = None) -> list[MadeExtension]:
    """The extensions the template's assigned rows made (or those among ``extension_ids``), each with its
    state now and the newest audit event on it after the template made it."""
    query = select(template_rows.c.extension_id, template_rows.c.ext_key, template_rows.c.identity_uuid,
                   template_rows.c.number).where(template_rows.c.template_uuid == template_uuid,
                                                 template_rows.c.status == ASSIGNED,
                                                 template_rows.c.extension_id.is_not(None))
    if extension_ids is not None:
        query = query.where(template_rows.c.extension_id.in_(list(extension_ids)))
    rows = connection.execute(query.order_by(template_rows.c.id)).all()
    ids = [row.extension_id for row in rows]
    now, later = extension_snapshots(connection, ids), _later_changes(connection, template_uuid, ids)
    skus = template_skus(connection, template_uuid)
    return [MadeExtension(row.extension_id, row.ext_key, {"key": row.ext_key, "user": row.identity_uuid,
                                                          "number": row.number, "addons": skus},
                          now.get(row.extension_id), later.get(row.extension_id)) for row in rows]


def _later_changes(connection: Connection, template_uuid: str, ids: list[int]) -> dict[int, LaterChange]:
    """Per extension, the newest event after its ``bulk.assign`` by this template (none: untouched)."""
    found: dict[int, LaterChange] = {}
    for batch in chunked(ids):  # the made-events narrowed to the batch too: a chunk reads its own, not the template's
        made = (select(audit_events.c.extension_id, func.max(audit_events.c.id).label("made_id"))
                .where(audit_events.c.template_uuid == template_uuid, audit_events.c.action == "bulk.assign",
                       audit_events.c.extension_id.in_(batch))
                .group_by(audit_events.c.extension_id).subquery())
        rows = connection.execute(
            select(audit_events.c.extension_id, audit_events.c.at, audit_events.c.actor, audit_events.c.action)
            .join(made, and_(made.c.extension_id == audit_events.c.extension_id, audit_events.c.id > made.c.made_id))
            .where(audit_events.c.extension_id.in_(batch)).order_by(audit_events.c.id)).all()
        for row in rows:  # ascending: the newest wins
            at = row.at.isoformat() if hasattr(row.at, "isoformat") else str(row.at)
            found[row.extension_id] = LaterChange(at, row.actor, row.action)
    return found


def _hold(connection: Connection, template: Row[Any], policy: str, plan: RevertPlan, verdicts: Verdicts) -> None:
    connection.execute(insert(template_reverts).values(template_uuid=template.template_uuid,
                                                       org_uuid=template.org_uuid, status=REVERTING, policy=policy,
                                                       started_by=actor_of(connection)))
    connection.execute(insert(revert_rows), [] if not verdicts else [
        {"template_uuid": template.template_uuid, "org_uuid": template.org_uuid, "extension_id": ext.extension_id,
         "ext_key": ext.ext_key, "status": VERDICT_STATUS[verdict], "reason_code": problem.code if problem else None,
         "reason": problem.message[:REASON_MAX_CHARS] if problem else None}
        for ext, verdict, problem in verdicts])
    record(connection, Event("template.revert", template.org_uuid, "template", template.template_uuid,
                             {"status": template.status}, {"policy": policy, "remove": len(plan.remove),
                                                           "kept": len(plan.kept), "gone": len(plan.gone)},
                             template_uuid=template.template_uuid))


def _resume(template: Row[Any], existing: Row[Any], dry_run: bool) -> RevertPlan:
    if existing.status != REVERTING:
        raise Refused(refusals.template_reverted(template.template_uuid))
    return RevertPlan(template.template_uuid, template.org_uuid, existing.policy, dry_run, resumed=True)
