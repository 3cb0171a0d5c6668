"""The inventory engine a task that changes the inventory uses: its audit events name the flow run
(and chunk) that made them, so ``phonesys audit`` can group one run's changes."""

from __future__ import annotations

from prefect.runtime import flow_run
from sqlalchemy import Engine

from phonesys.storage.inventory.audit import correlated
from phonesys.storage.inventory.engine import open_engine


def changing_engine(database_url: str, chunk: int | None = None) -> Engine:
    correlation = f"flow-run:{flow_run.id}" + ("" if chunk is None else f"/chunk:{chunk}")
    return correlated(open_engine(database_url), correlation)
