"""``phonesys serve``: every deployment of prefect.yaml, served from this one process.

The deployments come from prefect.yaml through ``phonesys.ops.deployments``; the API is checked first
(``phonesys.ops.prefect_api``) so a missing or unreachable server is one clear line, not a traceback
from deep inside the runner.
"""

from __future__ import annotations

import os

RUNNER_POLL_SECONDS = 1.0  # Prefect's default is 10: a handed-off run waited 5 s on average to start


def serve_all(limit: int | None = None) -> None:
    """Register every deployment, then run their flow runs here until interrupted (Ctrl-C).

    Each flow-run process emits a heartbeat every 30 s, and the automation that marks a run Crashed
    when its heartbeats stop is created if missing: a run killed with this process (SIGKILL, a lost
    machine) becomes Crashed and alerts instead of showing Running for good.

    On shutdown the deployments are paused, so a stopped ``phonesys serve`` leaves no pile of late
    runs behind and gets no work handed to it (starting it again resumes them). Prefect's runner
    pauses them on its way out, but that step runs inside a cancelled event loop and can be cut
    short; the ``finally`` does it again, synchronously."""
    import prefect
    from prefect.client.orchestration import get_client

    from phonesys.ops.deployments import runner_deployments
    from phonesys.ops.heartbeats import HEARTBEAT_SECONDS, ensure_crash_detector
    from phonesys.ops.prefect_api import require_api

    require_api()
    deployments = runner_deployments()
    with get_client(sync_client=True) as client:
        ensure_crash_detector(client)
    try:
        prefect.serve(*deployments, limit=limit, heartbeat_seconds=HEARTBEAT_SECONDS,
                      query_seconds=runner_poll_seconds())
    finally:
        pause_deployments([f"{d.flow_name}/{d.name}" for d in deployments])


def runner_poll_seconds() -> float | None:
    """How often the runner asks the server for runs to start: every second, unless
    PREFECT_RUNNER_POLL_FREQUENCY says otherwise (None: Prefect reads it). A drop-folder request
    waits for two polls (its scan, then its bulk run), and a poll is one small request."""
    return None if os.environ.get("PREFECT_RUNNER_POLL_FREQUENCY") else RUNNER_POLL_SECONDS


def pause_deployments(names: list[str]) -> None:
    """Pause the named deployments that are not paused yet; a server gone by now is nothing to do."""
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            for name in names:
                deployment = client.read_deployment_by_name(name)
                if not deployment.paused:
                    client.pause_deployment(deployment.id)
    except Exception:  # noqa: BLE001 - shutting down: the server may be gone, and Ctrl-C must not print a traceback
        return
