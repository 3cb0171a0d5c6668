"""Hand a started template to the served ``bulk-assignment`` deployment instead of running it here.

``phonesys template start`` runs the flow in its own process unless something is serving the
deployment right now (``phonesys serve`` or a worker on the process pool): then the run belongs
there, where the ops view, retries and logs live, and the CLI only submits and optionally follows.

"Served right now" is what the Prefect server itself records: whoever executes a deployment's runs
polls the API for them, and each poll sets the deployment's ``last_polled`` and status READY (a
runner polls every 10 s, a worker every 15 s). A deployment that merely exists (registered once,
its server long gone) would take the run and never start it, so a poll older than a minute means
"not served" and the run stays in the foreground. A paused deployment is not served either: a
stopped ``phonesys serve`` pauses its deployments on the way out, while the server still calls them
READY, polled seconds ago, for up to a minute; a run handed over then would sit Late for good.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun, State
    from prefect.client.schemas.responses import DeploymentResponse

BULK_DEPLOYMENT = "bulk-assignment/bulk-assignment"
REVERT_DEPLOYMENT = "template-revert/template-revert"
POLL_FRESHNESS = timedelta(seconds=60)  # the server's own NOT_READY threshold (foreman default)
START_TIMEOUT = 120.0  # seconds a handed-off run may wait to be picked up before --wait gives up


def is_served(status: str | None, last_polled: datetime | None, now: datetime, *, paused: bool = False,
              freshness: timedelta = POLL_FRESHNESS) -> bool:
    """True when the deployment is not paused, READY, and was polled within ``freshness`` of ``now``."""
    fresh = last_polled is not None and now - last_polled <= freshness
    return not paused and (status or "").upper() == "READY" and fresh


def served_deployment(name: str = BULK_DEPLOYMENT) -> DeploymentResponse | None:
    """The deployment when a Prefect API is configured and something is serving it; else None.

    Any failure to ask (no API, unknown deployment, server down) means None: the foreground run
    is always the safe answer, and it reports a real connection problem itself."""
    from prefect.client.orchestration import get_client

    from phonesys.ops.prefect_api import configured_api_url

    if not configured_api_url():
        return None
    try:
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(name)
    except Exception:  # noqa: BLE001 - ObjectNotFound, HTTP and connection errors alike mean "not served"
        return None
    status = getattr(deployment.status, "value", deployment.status)
    served = is_served(status, deployment.last_polled, datetime.now(UTC), paused=bool(deployment.paused))
    return deployment if served else None


def submit(deployment: DeploymentResponse, template_uuid: str, chunk_size: int | None, *,
           run_name: str | None = None, tags: list[str] | None = None) -> FlowRun:
    """A bulk-assignment run (its flow takes one ``parameters`` model) for the template."""
    return submit_run(deployment, {"parameters": template_parameters(template_uuid, chunk_size)},
                      run_name=run_name, tags=tags)


def template_parameters(template_uuid: str, chunk_size: int | None) -> dict[str, Any]:
    """A template's run parameters; no ``chunk_size`` leaves the flow's own sizing by time."""
    parameters: dict[str, Any] = {"template_uuid": template_uuid}
    if chunk_size is not None:
        parameters["chunk_size"] = chunk_size
    return parameters


def submit_run(deployment: DeploymentResponse, parameters: dict[str, Any], *, run_name: str | None = None,
               tags: list[str] | None = None) -> FlowRun:
    """Create the flow run and return at once (``timeout=0``); the serving process starts it."""
    from prefect.deployments import run_deployment

    flow_run = run_deployment(deployment.id, parameters=parameters, timeout=0, as_subflow=False,
                              flow_run_name=run_name, tags=tags or [])
    return cast("FlowRun", flow_run)  # called from sync code: the run itself, not a coroutine


def run_url(flow_run: FlowRun) -> str | None:
    """Where the run is shown in the Prefect UI (None when no UI URL is known)."""
    from prefect.utilities.urls import url_for

    return url_for(flow_run)


def wait_for_final_state(flow_run_id: UUID | str, interval: float = 1.0, start_timeout: float = START_TIMEOUT,
                         give_up: Callable[[], bool] | None = None) -> State:
    """Poll the API until the run is in a final state (completed, failed, crashed, cancelled).

    A run nobody picks up (the serving process stopped right after the check) stays Scheduled, then
    Late, forever; after ``start_timeout`` seconds that state is returned instead of waiting on.
    A run whose process died with its machine stays Running; ``give_up`` (asked every poll) returns
    the state it has then, e.g. once another run finished the work."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + start_timeout
    with get_client(sync_client=True) as client:
        while True:
            state = client.read_flow_run(UUID(str(flow_run_id))).state
            if state is not None and (state.is_final() or (state.is_scheduled() and time.monotonic() > deadline)):
                return state
            if state is not None and give_up is not None and give_up():
                return state
            time.sleep(interval)
