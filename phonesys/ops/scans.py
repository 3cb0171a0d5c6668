"""Whether a drop-folder scan is about to start: what ``phonesys notify`` coalesces into.

A scan lists ``incoming/`` when it starts, so a scan that has not started yet when a manifest
arrives will find it. ``notify`` then sends no event: the trigger would only add a second scan that
queues behind the first and finds nothing. One waiting scan serves any number of notifications.

A running scan does not count (it may have listed the folder already): the event then queues one
scan behind it. The deployment's collision strategy is ENQUEUE, so a scan that meets a running one
waits (``AwaitingConcurrencySlot``) instead of ending Cancelled, which the UI would show as a fault.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

SCAN_DEPLOYMENT = "drop-folder-scan/drop-folder-scan"
AWAITING_SLOT = "AwaitingConcurrencySlot"  # Prefect's name for a run queued behind a concurrency limit


def is_waiting(state_type: str, state_name: str | None, expected_start: datetime | None, now: datetime) -> bool:
    """True for a run that will start without anyone's help and has not started: Pending, queued
    for the concurrency slot, or Scheduled and due (a future schedule tick is not waiting yet)."""
    if state_type == "PENDING":
        return True
    if state_type != "SCHEDULED":
        return False
    return state_name == AWAITING_SLOT or (expected_start is not None and expected_start <= now)


def waiting_scan() -> FlowRun | None:
    """A run of the served scan deployment that is about to start, or None (not served, none waiting,
    or the API could not say: then the event is sent, as before, and reports any real failure)."""
    from phonesys.ops.handoff import served_deployment

    deployment = served_deployment(SCAN_DEPLOYMENT)
    if deployment is None:
        return None
    try:
        runs = _unstarted_runs(deployment.id)
    except Exception:  # noqa: BLE001 - any failure to ask means "send the event"
        return None
    now = datetime.now(UTC)
    return next((run for run in runs if run.state is not None and is_waiting(
        run.state.type.value, run.state.name, run.expected_start_time, now)), None)


def _unstarted_runs(deployment_id: UUID) -> list[FlowRun]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    unstarted = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
        any_=[StateType.PENDING, StateType.SCHEDULED])))
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_run_filter=unstarted, sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=20,
                                     deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))
