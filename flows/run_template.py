"""The one way to run a started template: here, or handed to the served ``bulk-assignment`` deployment.

``phonesys template start``, ``phonesys demo`` and the drop-folder scan all call ``run_template``.
It hands the run to the served deployment when there is one (``phonesys.ops.handoff`` decides: not
paused, and polled recently), else runs the bulk assignment flow in this process (against
``PREFECT_API_URL`` if set, else a temporary server that ends with the process:
``phonesys.ops.tempserver``). Either way the ledger's counts go to ``on_progress`` while it runs,
polled from a second thread, so a bar moves whichever process assigns the rows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine

from phonesys.services.bulk_job import RowCounts
from phonesys.services.template_runs import in_progress
from phonesys.storage.inventory.jobs import status_counts

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State

T = TypeVar("T")
Progress = Callable[[RowCounts], None]
ELSEWHERE_GRACE = 30.0  # seconds a followed run may take to end after its template was completed


@dataclass(frozen=True)
class HandedOff:
    """The flow run a served deployment accepted for the template."""

    flow_run_id: str
    flow_run_name: str
    url: str | None
    deployment: str

    def as_dict(self) -> dict[str, Any]:
        return {"flow_run_id": self.flow_run_id, "flow_run_name": self.flow_run_name, "url": self.url,
                "deployment": self.deployment}


@dataclass(frozen=True)
class RunEnd:
    """How a followed run ended: ``decided`` when every row got its outcome (exit 0 or 3, not 70);
    ``elsewhere`` when another run did that (a ``--resume``) while the followed one had not ended
    well (died with its machine, still Running on the server, or crashed)."""

    state: State
    decided: bool
    handed_off: HandedOff | None = None
    elsewhere: bool = False


def run_template(engine: Engine, template_uuid: str, chunk_size: int | None = None, *, foreground: bool = False,
                 wait: bool = True, on_progress: Progress | None = None,
                 on_handoff: Callable[[HandedOff], None] | None = None) -> RunEnd | HandedOff:
    """Run the template's flow to its end, or only hand it off when a deployment serves it and not ``wait``.

    The template is already started (its holds taken): if the configured Prefect API stops answering
    on the way, that is PrefectUnavailable naming the command that resumes, not an internal error."""
    from phonesys.ops.prefect_api import lost_api

    try:
        return _run_template(engine, template_uuid, chunk_size, foreground, wait, on_progress, on_handoff)
    except Exception as exc:
        lost = lost_api(template_uuid)
        if lost is None:
            raise
        raise lost from exc


def _run_template(engine: Engine, template_uuid: str, chunk_size: int | None, foreground: bool, wait: bool,
                  on_progress: Progress | None,
                  on_handoff: Callable[[HandedOff], None] | None) -> RunEnd | HandedOff:
    from phonesys.ops.handoff import served_deployment, wait_for_final_state
    from phonesys.ops.prefect_env import prepare_prefect

    prepare_prefect()  # first: without PREFECT_API_URL, the home's server may serve the deployment
    deployment = None if foreground else served_deployment()
    if deployment is None:
        org_uuid = _org_of(engine, template_uuid)
        return _end(engine, template_uuid, _follow(
            engine, template_uuid, lambda: run_flow_in_foreground(template_uuid, chunk_size, org_uuid), on_progress))
    handed = hand_off(engine, template_uuid, chunk_size, deployment)
    if not wait:
        return handed
    if on_handoff is not None:
        on_handoff(handed)
    gone = finished_elsewhere(engine, template_uuid)  # a run that died with its machine stays Running
    return _end(engine, template_uuid, _follow(
        engine, template_uuid, lambda: wait_for_final_state(handed.flow_run_id, give_up=gone), on_progress), handed)


def run_flow_in_foreground(template_uuid: str, chunk_size: int | None = None, org_uuid: str | None = None) -> State:
    """Run the flow to its end in this process (a subflow inside a flow); returns its final state."""
    from phonesys.ops.prefect_env import prepare_prefect, run_tags

    prepare_prefect()
    from prefect import tags

    from phonesys.flows.bulk_assignment import BulkAssignmentParameters, bulk_assignment

    parameters = BulkAssignmentParameters(template_uuid=template_uuid, chunk_size=chunk_size)
    with tags(*run_tags(org_uuid or _org_of(_configured_inventory(), template_uuid))):
        return bulk_assignment(parameters, return_state=True)


def _org_of(engine: Engine, template_uuid: str) -> str:
    """Read from the inventory the caller runs against, not a second engine of its own."""
    from phonesys.storage.inventory.engine import read_transaction
    from phonesys.storage.inventory.templates import get_template

    with read_transaction(engine) as connection:
        return str(get_template(connection, template_uuid).org_uuid)


def _configured_inventory() -> Engine:
    from phonesys.settings import load_settings
    from phonesys.storage.inventory.engine import open_engine

    return open_engine(load_settings().inventory_url)


def hand_off(engine: Engine, template_uuid: str, chunk_size: int | None, deployment: Any) -> HandedOff:
    """Submit the run to the served deployment, named and tagged like a local run."""
    from phonesys.ops.handoff import BULK_DEPLOYMENT, run_url, submit
    from phonesys.ops.prefect_env import run_tags
    from phonesys.storage.inventory.jobs import template_names
    from phonesys.storage.inventory.template_views import template_detail

    org_uuid = template_detail(engine, template_uuid, action="show").org_uuid
    flow_run = submit(deployment, template_uuid, chunk_size, run_name=" / ".join(template_names(engine, template_uuid)),
                      tags=run_tags(org_uuid))
    return HandedOff(str(flow_run.id), flow_run.name, run_url(flow_run), BULK_DEPLOYMENT)


def _follow(engine: Engine, template_uuid: str, work: Callable[[], State], on_progress: Progress | None) -> State:
    if on_progress is None:
        return work()
    return follow(engine, template_uuid, work, lambda counts: on_progress(RowCounts.of(counts)))


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


def _end(engine: Engine, template_uuid: str, state: State, handed: HandedOff | None = None) -> RunEnd:
    from phonesys.ops.run_states import rows_decided

    if rows_decided(state):
        return RunEnd(state, True, handed)
    elsewhere = not in_progress(engine, template_uuid)
    return RunEnd(state, elsewhere, handed, elsewhere)


def finished_elsewhere(engine: Engine, template_uuid: str, grace: float = ELSEWHERE_GRACE) -> Callable[[], bool]:
    """A probe, true once the template has been out of in-progress for ``grace`` seconds.

    The followed run completes the template itself a moment before its own state is final (it
    still writes its summary), so only a run still not final after ``grace`` is taken as dead, its
    rows decided by another run (a ``--resume``)."""
    left: list[float] = []

    def gone() -> bool:
        if in_progress(engine, template_uuid):
            return False
        left[:] = left or [time.monotonic()]
        return time.monotonic() - left[0] >= grace

    return gone
