"""``phonesys serve``: every deployment of prefect.yaml, served from this one process.

The deployments come from prefect.yaml through ``phonesys.jobs.deployments``; the API is checked first
(``phonesys.jobs.prefect_api``) so a missing or unreachable server is one clear line, not a traceback
from deep inside the runner.
"""

from __future__ import annotations


def serve_all(limit: int | None = None) -> None:
    """Register every deployment, then run their flow runs here until interrupted (Ctrl-C).

    Each flow-run process emits a heartbeat every 30 s, and the automation that marks a run Crashed
    when its heartbeats stop is created if missing: a run killed with this process (SIGKILL, a lost
    machine) becomes Crashed and alerts instead of showing Running for good.

    On shutdown Prefect pauses the schedules, so a stopped ``phonesys serve`` leaves no pile of
    late runs behind; starting it again resumes them."""
    import prefect
    from prefect.client.orchestration import get_client

    from phonesys.jobs.deployments import runner_deployments
    from phonesys.jobs.heartbeats import HEARTBEAT_SECONDS, ensure_crash_detector
    from phonesys.jobs.prefect_api import require_api

    require_api()
    deployments = runner_deployments()
    with get_client(sync_client=True) as client:
        ensure_crash_detector(client)
    prefect.serve(*deployments, limit=limit, heartbeat_seconds=HEARTBEAT_SECONDS)
