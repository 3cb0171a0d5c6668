"""A run killed with its machine becomes Crashed and alerts, instead of showing Running for good.

A real `phonesys serve` child against the session's Prefect test server takes a handed-off bulk run,
which freezes before its first chunk (failpoint). The test checks the run's process got the 30 s
heartbeat, then SIGKILLs serve and the flow-run process together (a lost machine: nobody is left to
report anything) and waits for the heartbeat automation to set the run Crashed and for the
"flow run failed or crashed" alert to reach the webhook. The automation's window is shortened to
35 s here (Prefect's heartbeat minimum is 30 s), then put back to the default.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL

from phonesys.ops.handoff import served_deployment
from phonesys.ops.heartbeats import CRASH_DETECTOR, CRASH_MESSAGE
from phonesys.storage.inventory.engine import dispose_engines
from tests.opsfixtures import (
    delete_deployments,
    descendants,
    read_events,
    serve_env,
    start_serve,
    started_template,
    stop_serve,
    wait_until,
)

pytestmark = pytest.mark.slow

# The killed run is frozen inside its bulk-job slots, and on the session's test server its expired
# lease was seen to keep them for the rest of the session, starving later jobs (test_scale_out).
NO_LIMITS = "off"
WINDOW = 35  # seconds without a heartbeat before the run is Crashed (the default is 90)


@pytest.fixture
def database_url(tmp_path):
    """One SQLite inventory shared with the serve child."""
    yield f"sqlite:///{tmp_path / 'inventory.sqlite3'}"
    dispose_engines()


def environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").partition("=")[::2] for item in raw if b"=" in item)


def flow_run(flow_run_id: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


@pytest.fixture
def short_window(alert_hook, cli):
    """The alerts, with the heartbeat automation's window shortened for the test, then put back."""
    shortened = cli("alerts", "setup", "--webhook-url", alert_hook.url, "--crash-after", str(WINDOW), "--json")
    assert shortened.exit_code == 0 and CRASH_DETECTOR in json.loads(shortened.stdout)["automations"], shortened.output
    yield alert_hook
    cli("alerts", "setup", "--webhook-url", alert_hook.url)


def hand_off_a_frozen_run(cli, engine) -> str:
    """A template started with the CLI, handed to the served deployment; its run freezes before its
    first chunk. Returns the run's id once its first heartbeat is on the server."""
    wait_until(served_deployment, timeout=120, what="the bulk-assignment deployment to be served")
    _, template = started_template(engine, 3, name="Lost with its machine", start=False)
    started = cli("template", "start", template, "--json")
    assert started.exit_code == 0 and json.loads(started.stdout)["handed_off"], started.output
    run_id = json.loads(started.stdout)["flow_run_id"]
    wait_until(lambda: read_events("prefect.flow-run.heartbeat", f"prefect.flow-run.{run_id}"), timeout=90,
               what="the run's first heartbeat")
    return run_id


def kill_and_expect_crashed(pid: int, run_id: str, alert_hook) -> None:
    """SIGKILL ``pid`` and everything below it (the flow-run process sent heartbeats every 30 s), then
    wait for the run to be Crashed by the automation and for the alert."""
    processes = [pid, *descendants(pid)]
    assert any(environment(child).get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY") == "30" for child in processes[1:])
    for each in processes:
        os.kill(each, signal.SIGKILL)
    killed = time.monotonic()
    time.sleep(1)
    assert flow_run(run_id).state.is_running(), "nobody is left to say the run died"
    crashed = wait_until(lambda: (run := flow_run(run_id)).state.is_crashed() and run, timeout=WINDOW + 45,
                         interval=1, what="the heartbeat automation to mark the run Crashed")
    assert time.monotonic() - killed < WINDOW + 45 and crashed.state.message == CRASH_MESSAGE
    wait_until(lambda: alert_hook.matching(crashed.name, "prefect.flow-run.Crashed"), timeout=60,
               what="the failed-or-crashed alert")


def test_a_run_killed_with_its_serve_process_becomes_crashed_and_alerts(short_window, cli, engine, phonesys_env,
                                                                         tmp_path):
    log = tmp_path / "serve.log"
    process = start_serve(serve_env(phonesys_env, PREFECT_API_URL.value(), PHONESYS_FAILPOINT="before-first-chunk",
                                    PHONESYS_BULK_LIMITS=NO_LIMITS), log)
    try:
        run_id = hand_off_a_frozen_run(cli, engine)
        kill_and_expect_crashed(process.pid, run_id, short_window)
        process.wait(timeout=30)
    finally:
        stop_serve(process)
        delete_deployments()


def test_a_run_killed_with_its_worker_becomes_crashed_and_alerts(short_window, cli, engine, phonesys_env, tmp_path):
    """A process worker as README's Scale-out section starts it (no PREFECT_* settings of its own but
    the API URL): the heartbeat setting reaches its flow-run process through prefect.yaml's job variables."""
    from benchmarks.scale_out import register_deployment, worker_env, worker_processes

    env = worker_env(PREFECT_API_URL.value(), phonesys_env["PHONESYS_DATABASE_URL"], tmp_path, 4)
    env.update(PHONESYS_FAILPOINT="before-first-chunk", PHONESYS_STORAGE_URL=str(tmp_path / "home" / "objects"),
               PHONESYS_BULK_LIMITS=NO_LIMITS)
    assert "PREFECT_FLOWS_HEARTBEAT_FREQUENCY" not in env
    register_deployment(env)
    try:
        with worker_processes(env, 1, tmp_path / "workers") as [worker]:
            run_id = hand_off_a_frozen_run(cli, engine)
            kill_and_expect_crashed(worker.pid, run_id, short_window)
    finally:
        delete_deployments()
