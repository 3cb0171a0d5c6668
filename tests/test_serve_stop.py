"""A ``phonesys serve`` that has just stopped: work must stay here, not go to its paused deployments.

Each test starts (and stops) its own ``phonesys serve`` child against the session's Prefect test
server, so it never disturbs the module-wide one of tests/test_serve.py. The inventory is one SQLite
file shared with the child.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL

from phonesys.ops.handoff import served_deployment
from phonesys.ops.heartbeats import CRASH_AFTER, CRASH_DETECTOR
from phonesys.ops.localserver import free_port
from phonesys.storage.inventory.engine import dispose_engines
from phonesys.storage.inventory.jobs import status_counts
from phonesys.storage.inventory.orgs import load_org
from tests.conftest import make_document
from tests.opsfixtures import (
    delete_deployments,
    drop_request,
    serve_env,
    start_serve,
    started_template,
    stop_serve,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def database_url(tmp_path):
    """One SQLite inventory per test, shared with the serve child (the conftest default is per backend)."""
    yield f"sqlite:///{tmp_path / 'inventory.sqlite3'}"
    dispose_engines()


def serve_then_stop(phonesys_env: dict[str, str], log) -> None:
    """Start ``phonesys serve``, wait until it polls its deployments, then Ctrl-C it."""
    process = start_serve(serve_env(phonesys_env, PREFECT_API_URL.value()), log)
    try:
        wait_until(lambda: process.poll() is None and served_deployment(), timeout=120,
                   what=f"phonesys serve to poll (log: {log})")
    finally:
        stop_serve(process)


@pytest.fixture
def stopped_serve(prefect_server, phonesys_env, tmp_path):
    """A serve that came and went, on a server without the heartbeat automation before it came."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for automation in client.read_automations_by_name(CRASH_DETECTOR):
            client.delete_automation(automation.id)
    serve_then_stop(phonesys_env, tmp_path / "serve.log")
    yield
    delete_deployments()


def ignored_signals(pid: int) -> int:
    """The process's mask of ignored signals (bit n-1 set: signal n is ignored), from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16)


def test_a_serve_child_takes_ctrl_c_even_when_the_test_run_ignores_it(phonesys_env, tmp_path):
    """A test run started in the background has SIGINT ignored; the serve child must not inherit that,
    or stop_serve's Ctrl-C is lost and the stopped serve leaves its deployments unpaused."""
    unreachable = f"http://127.0.0.1:{free_port()}/api"
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process = start_serve(serve_env(phonesys_env, unreachable), tmp_path / "serve.log")
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN, "the test process is left as it was"
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        assert not ignored_signals(process.pid) & 1 << (signal.SIGINT - 1)
    finally:
        process.kill()
        process.wait()


def test_serve_creates_the_heartbeat_automation_when_missing(stopped_serve):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        [detector] = client.read_automations_by_name(CRASH_DETECTOR)
    assert detector.trigger.within == CRASH_AFTER and detector.enabled


def test_a_stopped_serve_gets_no_work_its_deployment_is_paused(stopped_serve, cli, engine):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("bulk-assignment/bulk-assignment")
    assert deployment.paused, "phonesys serve pauses its deployments when it stops"
    assert served_deployment() is None

    _, template_uuid = started_template(engine, 3, name="After serve stopped", start=False)
    result = cli("template", "start", template_uuid, "--json")

    assert result.exit_code == 0, result.output
    assert "handed_off" not in json.loads(result.stdout), "ran here, not handed to a paused deployment"
    assert status_counts(engine, template_uuid) == {"pending": 0, "assigned": 3, "failed": 0}


def test_a_scan_after_serve_stopped_runs_the_bulk_work_itself(stopped_serve, engine, phonesys_env):
    from phonesys.flows.drop_folder import drop_folder_scan

    org = make_document(base=3, users=2, numbers=2, number_prefix="+658")
    load_org(engine, org)
    store = drop_request(phonesys_env, org.org_uuid, "late", f"Ext Key,Identity UUID\n401,{org.users[0].identity_uuid}\n",
                         {"template": "Late"})

    [outcome] = drop_folder_scan(wait=False)["requests"]

    assert outcome["status"] == "started"
    status = json.loads(store.read_bytes(f"processed/{org.org_uuid}/late/status.json").decode())
    assert status["status"] == "completed" and status["counts"]["assigned"] == 1
