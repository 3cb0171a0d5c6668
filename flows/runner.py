"""Running a started template's bulk assignment flow from the CLI, with a progress bar.

The flow runs in the foreground (against ``PREFECT_API_URL`` if set, else Prefect's temporary local
server, one per process that ends with it: ``phonesys.ops.tempserver``). Progress comes from the
inventory's ledger, polled from a second thread, so the bar moves whatever process does the work:
``follow`` also watches a run handed to the served deployment (``phonesys.ops.handoff`` decides
when that happens).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine

from phonesys.ops.heartbeats import HEARTBEAT_ENV
from phonesys.storage.inventory.jobs import status_counts

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State

T = TypeVar("T")

QUIET_PREFECT = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                 "PREFECT_LOGGING_LEVEL": "WARNING", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
                 **HEARTBEAT_ENV}


def quiet_prefect() -> None:
    """Keep a terminal run free of telemetry and INFO chatter unless the user asked for it, and give
    it the heartbeat every phonesys run sends (so a killed CLI run is marked Crashed, not left Running)."""
    for name, value in QUIET_PREFECT.items():
        os.environ.setdefault(name, value)


SCAN_TAGS = ("phonesys", "drop-folder")  # the drop-folder-scan deployment's tags in prefect.yaml


def scan_tags() -> list[str]:
    """Tags of a scan run started here (``phonesys dropfolder scan``): the served scan's own, so the
    UI's filters and the alert on tag ``phonesys`` see both alike."""
    return list(SCAN_TAGS)


def prepare_prefect() -> None:
    """Before a flow runs in this process: quiet, and, without PREFECT_API_URL, a temporary server
    that ends with this process and shares no database (``phonesys.ops.tempserver``)."""
    quiet_prefect()
    from phonesys.ops.prefect_api import configured_api_url

    if not configured_api_url():  # else no temporary server, and no need to import Prefect's server code
        from phonesys.ops.tempserver import use_temporary_server

        use_temporary_server()


def run_tags(org_uuid: str) -> list[str]:
    """Tags every bulk assignment run carries, so ops can filter the Prefect UI by organization."""
    return ["phonesys", "bulk-assignment", f"org:{org_uuid}"]


def run_flow_in_foreground(template_uuid: str, chunk_size: int | None = None, org_uuid: str | None = None) -> State:
    """Run the flow to its end in this process; returns the final Prefect state."""
    prepare_prefect()
    from prefect import tags

    from phonesys.flows.bulk_assignment import BulkAssignmentParameters, bulk_assignment

    parameters = BulkAssignmentParameters(template_uuid=template_uuid, chunk_size=chunk_size)
    with tags(*run_tags(org_uuid or _org_of(template_uuid))):
        return bulk_assignment(parameters, return_state=True)


def _org_of(template_uuid: str) -> str:
    from phonesys.settings import load_settings
    from phonesys.storage.inventory.engine import open_engine, read_transaction
    from phonesys.storage.inventory.templates import get_template

    with read_transaction(open_engine(load_settings().inventory_url)) as connection:
        return str(get_template(connection, template_uuid).org_uuid)


def follow(engine: Engine, template_uuid: str, work: Callable[[], T],
           on_progress: Callable[[dict[str, int]], None], interval: float = 0.3) -> T:
    """Run ``work`` while reporting the ledger's counts to ``on_progress`` until it returns."""
    done = threading.Event()

    def poll() -> None:
        while not done.wait(interval):
            on_progress(status_counts(engine, template_uuid))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        return work()
    finally:
        done.set()
        poller.join()
        on_progress(status_counts(engine, template_uuid))
