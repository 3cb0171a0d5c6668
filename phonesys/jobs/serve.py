"""``phonesys serve``: every deployment of prefect.yaml, served from this one process.

The deployments come from prefect.yaml through ``phonesys.jobs.deployments``; the API is checked first
(``phonesys.jobs.prefect_api``) so a missing or unreachable server is one clear line, not a traceback
from deep inside the runner.
"""

from __future__ import annotations


def serve_all(limit: int | None = None) -> None:
    """Register every deployment, then run their flow runs here until interrupted (Ctrl-C).

    On shutdown Prefect pauses the schedules, so a stopped ``phonesys serve`` leaves no pile of
    late runs behind; starting it again resumes them."""
    import prefect

    from phonesys.jobs.deployments import runner_deployments
    from phonesys.jobs.prefect_api import require_api

    require_api()
    deployments = runner_deployments()
    prefect.serve(*deployments, limit=limit)
