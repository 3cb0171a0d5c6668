"""`phonesys notify` while a scan runs: no Cancelled run, and no pile of queued scans.

A `phonesys serve` child of its own, whose scans stay busy for a while (the ``scan-started``
failpoint with a short sleep), against the session's Prefect test server; `notify` runs in-process.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from prefect.settings import PREFECT_API_URL

from phonesys.ops.handoff import served_deployment
from phonesys.storage.inventory.engine import dispose_engines
from tests.opsfixtures import delete_deployments, serve_env, start_serve, stop_serve, wait_until

pytestmark = pytest.mark.slow

SCAN = "drop-folder-scan/drop-folder-scan"


@pytest.fixture
def database_url(tmp_path):
    yield f"sqlite:///{tmp_path / 'inventory.sqlite3'}"
    dispose_engines()


@pytest.fixture
def slow_scans(prefect_server, phonesys_env, tmp_path):
    """`phonesys serve` whose every scan takes about 30 s; yields the scan deployment."""
    log = tmp_path / "serve.log"
    env = serve_env(phonesys_env, PREFECT_API_URL.value(), PHONESYS_FAILPOINT="scan-started",
                    PHONESYS_FAILPOINT_SECONDS="30")
    process = start_serve(env, log)
    try:
        yield wait_until(lambda: process.poll() is None and served_deployment(SCAN), timeout=120,
                         what=f"phonesys serve to poll (log: {log})")
    finally:
        stop_serve(process)
        delete_deployments()


def scan_runs(deployment_id) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))


def test_notify_while_a_scan_runs_queues_one_scan_and_cancels_none(slow_scans, cli):
    from prefect.deployments import run_deployment

    run_deployment(slow_scans.id, timeout=0, as_subflow=False)
    wait_until(lambda: [r for r in scan_runs(slow_scans.id) if r.state.is_running()], timeout=60,
               what="a scan to be running")
    since = datetime.now(UTC)

    first = cli("notify", f"incoming/{uuid.uuid4()}/a/request.json", "--json")
    assert first.exit_code == 0, first.output

    # The trigger's run (if the first notify sent an event) meets the running scan: it must wait.
    waiting = wait_until(lambda: [r for r in scan_runs(slow_scans.id) if r.created >= since
                                  and r.state.name != "Scheduled"] or json.loads(first.stdout).get("coalesced"),
                         timeout=60, what="the triggered scan to meet the running one")
    second = cli("notify", f"incoming/{uuid.uuid4()}/b/request.json", "--json")

    states = [(r.name, r.state.name, r.state.message) for r in scan_runs(slow_scans.id)]
    assert not [s for s in states if s[1] == "Cancelled"], states
    assert waiting is True or {r.state.name for r in waiting} <= {"AwaitingConcurrencySlot", "Pending", "Running"}
    document = json.loads(second.stdout)
    assert second.exit_code == 0 and document["coalesced"] is True, second.output
    assert "event" not in document and document["scan"]["state"] in {"AwaitingConcurrencySlot", "Pending"}


NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("state_type, name, start, waiting", [
    ("PENDING", "Pending", None, True),
    ("SCHEDULED", "AwaitingConcurrencySlot", NOW.replace(minute=1), True),  # queued behind a running scan
    ("SCHEDULED", "Late", NOW.replace(minute=0, second=0), True),
    ("SCHEDULED", "Scheduled", NOW.replace(minute=1), False),  # the next minute's tick: not due yet
    ("RUNNING", "Running", None, False),  # may have listed incoming/ already
    ("COMPLETED", "Completed", None, False),
])
def test_a_scan_is_waiting_until_it_starts(state_type, name, start, waiting):
    from phonesys.ops.scans import is_waiting

    assert is_waiting(state_type, name, start, NOW) is waiting
