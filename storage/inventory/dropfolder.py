"""The drop-folder ledger: a request (its manifest's key and version) is claimed exactly once.

Claiming is an INSERT against a unique (manifest key, version) constraint, so a duplicate delivery
or two scanners racing cannot both win: the loser's insert fails and it skips the request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select, update

from phonesys.rules.errors import Conflict
from phonesys.storage.inventory.engine import read_transaction, write_transaction
from phonesys.storage.inventory.schema import dropfolder_requests


def claim(engine: Engine, manifest_key: str, version: str, org_uuid: str, request_name: str) -> int | None:
    """The new claim's id, or None when this version of the request was claimed before."""
    try:
        with write_transaction(engine) as connection:
            claim_id: int = connection.execute(insert(dropfolder_requests).values(
                manifest_key=manifest_key, version=version, org_uuid=org_uuid, request_name=request_name,
            ).returning(dropfolder_requests.c.id)).scalar_one()
            return claim_id
    except Conflict:  # the unique (manifest key, version) constraint: someone claimed it first
        return None


def record_template(engine: Engine, claim_id: int, template_uuid: str) -> None:
    with write_transaction(engine) as connection:
        connection.execute(update(dropfolder_requests).where(dropfolder_requests.c.id == claim_id)
                           .values(template_uuid=template_uuid))


def finish(engine: Engine, claim_id: int, status: str, status_key: str) -> None:
    with write_transaction(engine) as connection:
        connection.execute(update(dropfolder_requests).where(dropfolder_requests.c.id == claim_id)
                           .values(status=status, status_key=status_key, finished_at=datetime.now(UTC)))


def status_key_of_template(engine: Engine, template_uuid: str) -> str | None:
    """Where a drop-folder request's status.json lives, if the template came from one."""
    with read_transaction(engine) as connection:
        return connection.execute(select(dropfolder_requests.c.status_key).where(
            dropfolder_requests.c.template_uuid == template_uuid)).scalar()


STALE_AFTER = timedelta(minutes=15)


def take_over_stale(engine: Engine, manifest_key: str, version: str) -> tuple[int, str | None] | None:
    """Re-claim a request whose scanner died mid-way (claimed long ago, never finished).

    Returns (claim id, template recorded so far) to the one caller whose conditional UPDATE wins.
    """
    cutoff = datetime.now(UTC) - STALE_AFTER
    with write_transaction(engine) as connection:
        row = connection.execute(select(dropfolder_requests).where(
            dropfolder_requests.c.manifest_key == manifest_key, dropfolder_requests.c.version == version,
            dropfolder_requests.c.status == "claimed", dropfolder_requests.c.claimed_at < cutoff)).first()
        if row is None:
            return None
        won = connection.execute(update(dropfolder_requests).where(
            dropfolder_requests.c.id == row.id, dropfolder_requests.c.claimed_at == row.claimed_at)
            .values(claimed_at=datetime.now(UTC))).rowcount
        return (row.id, row.template_uuid) if won else None
