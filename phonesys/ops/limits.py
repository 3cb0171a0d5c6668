"""How many bulk jobs may write to the inventory at once: Prefect global concurrency limits.

Each bulk job's assignment phase (its chunk loop) holds one slot of two limits, taken together:

- ``phonesys-bulk-jobs`` (``PHONESYS_BULK_JOBS``, default 4): the jobs writing at once across every
  worker and machine, so a burst of templates cannot swamp PostgreSQL with connections and locks;
- ``phonesys-org-<org uuid>`` (1): one job per organization. Two jobs of one org would only take
  turns on the organization's row lock chunk by chunk; one after the other, each finishes sooner.

Both are taken in one request, so a job waiting for its organization holds no global slot meanwhile.
The limits live on the Prefect server and are created (or set to the configured value) by the job
itself, so there is nothing to set up by hand; ``prefect gcl ls`` shows them. Slots are leases of
``LEASE_SECONDS`` that the holder renews in the background: a job killed outright (SIGKILL, a lost
machine) gives its slots back within about a minute and a half (lease plus the server's repossessor
loop), never holding them forever.

With no Prefect API configured (a foreground run on Prefect's temporary server) the limits would
exist only in this process, so they are skipped with one log line; so are they on the home's local
server (``phonesys.ops.homeserver``), for its commands' foreground runs and for the runs ``phonesys
serve`` starts against it: one machine, and the waits they add cost a small job seconds. (That
server keeps its data in SQLite: a slot request that meets another write there is answered 503,
and Prefect's client retries it 2 s later; a 1,000-row job spent 2 of its 3 s waiting so.) The
limits bound throughput, not correctness: two jobs of one organization still take turns on its row
lock. ``PHONESYS_BULK_LIMITS=off`` skips them on purpose (tests that SIGKILL jobs use it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from phonesys.ops.homeserver import home_server_in_use, names_home_server
from phonesys.ops.prefect_api import configured_api_url
from phonesys.settings import DEFAULT_BULK_JOBS, load_settings

if TYPE_CHECKING:
    from prefect.client.schemas.objects import ConcurrencyLeaseHolder

GLOBAL_LIMIT = "phonesys-bulk-jobs"
LEASE_SECONDS = 60  # the shortest lease Prefect accepts; renewed every 45 s while the job is alive
NOTABLE_WAIT_SECONDS = 1.0  # a job that waited longer for its slots logs it at WARNING
_skipped: list[str] = []  # why the limits were skipped, once logged (log once per process)


def org_limit(org_uuid: str) -> str:
    return f"phonesys-org-{org_uuid}"


@contextmanager
def bulk_job_slots(org_uuid: str, jobs: int = DEFAULT_BULK_JOBS, *, enabled: bool = True) -> Iterator[None]:
    """Hold a global bulk-job slot and the organization's slot for the duration of the block.

    ``jobs``: the global limit (``PHONESYS_BULK_JOBS``); ``enabled``: ``PHONESYS_BULK_LIMITS``.
    Waits, without a deadline, until both are free: a queued job simply starts later.
    """
    reason = None if enabled else "PHONESYS_BULK_LIMITS is off"
    if reason is None and not configured_api_url():
        reason = "no PREFECT_API_URL (a temporary server's limits would bind this process only)"
    if reason is None and (home_server_in_use() or names_home_server(configured_api_url(), load_settings().home)):
        reason = "this PHONESYS_HOME's local Prefect server (the limits are for workers sharing a server)"
    if reason is not None:
        _log_skip_once(reason)
        yield
        return
    from prefect.concurrency.sync import concurrency

    ensure_limits(org_uuid, jobs)
    asked = time.monotonic()
    with concurrency([GLOBAL_LIMIT, org_limit(org_uuid)], lease_duration=LEASE_SECONDS, strict=True,
                     holder=_holder(), raise_on_lease_renewal_failure=False):
        _log_wait(org_uuid, time.monotonic() - asked)
        yield


def _log_wait(org_uuid: str, waited: float) -> None:
    """A job that queued says so at WARNING, the level workers run at: queueing is what ops look for
    when a job starts late. Getting the slots at once stays at INFO."""
    level = logging.WARNING if waited >= NOTABLE_WAIT_SECONDS else logging.INFO
    _logger().log(level, "Bulk job slots %s and %s held after waiting %.1f s", GLOBAL_LIMIT,
                  org_limit(org_uuid), waited)


def ensure_limits(org_uuid: str, jobs: int) -> None:
    """Create the two limits, or set them to ``jobs`` and 1, on the server (idempotent)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client:
        for name, limit in ((GLOBAL_LIMIT, jobs), (org_limit(org_uuid), 1)):
            try:
                client.upsert_global_concurrency_limit_by_name(name, limit)
            except ObjectAlreadyExists:  # another job created it between the read and the create
                client.upsert_global_concurrency_limit_by_name(name, limit)


def _holder() -> ConcurrencyLeaseHolder | None:
    """The flow run holding the slots, shown by the server next to the lease (None outside a run)."""
    from prefect.client.schemas.objects import ConcurrencyLeaseHolder
    from prefect.runtime import flow_run

    return ConcurrencyLeaseHolder(type="flow_run", id=flow_run.id) if flow_run.id else None


def _log_skip_once(reason: str) -> None:
    if reason not in _skipped:
        _skipped.append(reason)
        _logger().info("Bulk job concurrency limits skipped: %s", reason)


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("phonesys.ops.limits")
