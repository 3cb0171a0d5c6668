"""Running a template's revert, chunk by chunk: the extensions it made are removed, one transaction
per chunk under the organization lock, each re-judged at that moment (``rules.revert``).

A pending revert row holds its extension: manual changes to it are refused (``holds.revert_holder``). An
extension that changed anyway (a race before the hold, a change outside phonesys) is re-judged in
the chunk and kept with ``changed-since``, never removed. Rows already decided are skipped, so a
chunk retried or rerun after a crash never removes anything twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from phonesys.rules.errors import Problem
from phonesys.rules.limits import REASON_MAX_CHARS
from phonesys.rules.revert import revert_verdict
from phonesys.rules.vocabulary import PENDING, REVERT_ROW_STATUSES, REVERTED, REVERTING
from phonesys.storage.inventory.audit import Event, on_behalf_of, record, record_bulk_reverted
from phonesys.storage.inventory.engine import read_transaction, write_transaction
from phonesys.storage.inventory.lookup import lock_org
from phonesys.storage.inventory.revert_plan import VERDICT_STATUS, made_extensions
from phonesys.storage.inventory.schema_audit import revert_rows, template_reverts
from phonesys.storage.inventory.templates import get_template
from phonesys.storage.inventory.undo import delete_extensions
from phonesys.storage.inventory.upsert import chunked, one_of


@dataclass(frozen=True)
class RevertChunk:
    reverted: int
    kept: int
    gone: int


def pending_revert_ids(engine: Engine, template_uuid: str) -> list[int]:
    with read_transaction(engine) as connection:
        return list(connection.execute(select(revert_rows.c.id).where(
            revert_rows.c.template_uuid == template_uuid, revert_rows.c.status == PENDING)
            .order_by(revert_rows.c.id)).scalars())


def revert_chunk(engine: Engine, template_uuid: str, row_ids: Sequence[int]) -> RevertChunk:
    """Remove the still-unchanged extensions of the pending rows among ``row_ids``."""
    with write_transaction(engine) as connection:
        template = get_template(connection, template_uuid)
        lock_org(connection, template.org_uuid)
        pending = dict(connection.execute(select(revert_rows.c.extension_id, revert_rows.c.id).where(
            revert_rows.c.id.in_(list(row_ids)), revert_rows.c.status == PENDING)).all())
        judged = [(ext, *revert_verdict(ext)) for ext in made_extensions(connection, template_uuid, list(pending))]
        removed = [ext for ext, verdict, _ in judged if verdict == "remove"]
        if removed:  # their events first, built from the rows about to go, as whoever started the revert
            record_bulk_reverted(connection, template.org_uuid, template_uuid,
                                 one_of(connection, revert_rows.c.id, [pending[e.extension_id] for e in removed]),
                                 (removed[0].now or {})["addons"],
                                 on_behalf_of(connection, _started_by(connection, template_uuid)))
        delete_extensions(connection, template.org_uuid, [ext.extension_id for ext in removed])
        _decide(connection, [(pending[ext.extension_id], VERDICT_STATUS[v] if v != "remove" else REVERTED, p)
                             for ext, v, p in judged])
        verdicts = [v for _, v, _ in judged]
    return RevertChunk(verdicts.count("remove"), verdicts.count("kept"), verdicts.count("gone"))


def _started_by(connection: Connection, template_uuid: str) -> str | None:
    return connection.execute(select(template_reverts.c.started_by).where(
        template_reverts.c.template_uuid == template_uuid)).scalar()


def _decide(connection: Connection, decided: list[tuple[int, str, Problem | None]]) -> None:
    """The rows without a reason (the removed ones, nearly all) in one set-based UPDATE per status;
    the kept and gone ones, each with its own reason, one by one."""
    now = datetime.now(UTC)
    for status in sorted({status for _, status, problem in decided if problem is None}):
        ids = [row_id for row_id, s, problem in decided if problem is None and s == status]
        for batch in chunked(ids):
            connection.execute(update(revert_rows).where(revert_rows.c.id.in_(batch), revert_rows.c.status == PENDING)
                               .values(status=status, processed_at=now))
    reasoned = [(row_id, status, p) for row_id, status, p in decided if p is not None]
    if reasoned:
        connection.execute(
            update(revert_rows).where(revert_rows.c.id == bindparam("row_id"), revert_rows.c.status == PENDING)
            .values(status=bindparam("new_status"), reason_code=bindparam("code"), reason=bindparam("why"),
                    processed_at=now),
            [{"row_id": row_id, "new_status": status, "code": p.code, "why": p.message[:REASON_MAX_CHARS]}
             for row_id, status, p in reasoned])


def revert_counts(connection: Connection, template_uuid: str) -> dict[str, int]:
    counted: dict[str, int] = dict(connection.execute(select(revert_rows.c.status, func.count()).where(
        revert_rows.c.template_uuid == template_uuid).group_by(revert_rows.c.status)).all())
    return {status: int(counted.get(status, 0)) for status in REVERT_ROW_STATUSES}


def revert_result(engine: Engine, template_uuid: str) -> tuple[dict[str, int], str | None]:
    """The revert's counts and its report's key (None until it completed): what any run of it did,
    read from the ledger, so a run handed to another process is reported like one run here."""
    with read_transaction(engine) as connection:
        key = connection.execute(select(template_reverts.c.report_key).where(
            template_reverts.c.template_uuid == template_uuid)).scalar()
        return revert_counts(connection, template_uuid), key


def complete_revert(engine: Engine, template_uuid: str, report_key: str | None) -> bool:
    """End the revert once no row is pending; False while some are."""
    with write_transaction(engine) as connection:
        template = get_template(connection, template_uuid)
        lock_org(connection, template.org_uuid)
        status = connection.execute(select(template_reverts.c.status).where(
            template_reverts.c.template_uuid == template_uuid)).scalar()
        if status != REVERTING:
            return status == REVERTED
        counts = revert_counts(connection, template_uuid)
        if counts[PENDING]:
            return False
        connection.execute(update(template_reverts).where(template_reverts.c.template_uuid == template_uuid)
                           .values(status=REVERTED, completed_at=datetime.now(UTC), report_key=report_key))
        record(connection, Event("template.reverted", template.org_uuid, "template", template_uuid,
                                 {"status": REVERTING}, {"status": REVERTED, **counts}, template_uuid=template_uuid),
               actor=on_behalf_of(connection, _started_by(connection, template_uuid)))
        return True
