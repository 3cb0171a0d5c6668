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

from phonesys.jobs.handoff import served_deployment
from phonesys.jobs.heartbeats import CRASH_DETECTOR, CRASH_MESSAGE
from phonesys.storage.inventory.engine import dispose_engines
from tests.opsfixtures import (
    delete_deployments,
    read_events,
    serve_env,
    start_serve,
    started_template,
    stop_serve,
    wait_until,
)

pytestmark = pytest.mark.slow

WINDOW = 35  # seconds without a heartbeat before the run is Crashed (the default is 90)


@pytest.fixture
def database_url(tmp_path):
    """One SQLite inventory shared with the serve child."""
    yield f"sqlite:///{tmp_path / 'inventory.sqlite3'}"
    dispose_engines()


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), children first."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").partition("=")[::2] for item in raw if b"=" in item)


def flow_run(flow_run_id: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def test_a_run_killed_with_its_serve_process_becomes_crashed_and_alerts(alert_hook, cli, engine, phonesys_env,
                                                                         tmp_path):
    log = tmp_path / "serve.log"
    process = start_serve(serve_env(phonesys_env, PREFECT_API_URL.value(), PHONESYS_FAILPOINT="before-first-chunk"),
                          log)
    try:
        wait_until(lambda: process.poll() is None and served_deployment(), timeout=120, what=f"serve (log: {log})")
        shortened = cli("alerts", "setup", "--webhook-url", alert_hook.url, "--crash-after", str(WINDOW), "--json")
        assert shortened.exit_code == 0 and CRASH_DETECTOR in json.loads(shortened.stdout)["automations"], shortened.output
        _, template = started_template(engine, 3, name="Lost with its machine", start=False)
        started = cli("template", "start", template, "--json")
        assert started.exit_code == 0, started.output
        run_id = json.loads(started.stdout)["flow_run_id"]
        wait_until(lambda: read_events("prefect.flow-run.heartbeat", f"prefect.flow-run.{run_id}"), timeout=60,
                   what="the run's first heartbeat")

        processes = [process.pid, *descendants(process.pid)]
        assert any(environment(pid).get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY") == "30" for pid in processes[1:])
        for pid in processes:
            os.kill(pid, signal.SIGKILL)
        process.wait(timeout=30)
        killed = time.monotonic()
        assert flow_run(run_id).state.is_running(), "nobody is left to say the run died"

        crashed = wait_until(lambda: (run := flow_run(run_id)).state.is_crashed() and run, timeout=WINDOW + 45,
                             interval=1, what="the heartbeat automation to mark the run Crashed")
        assert time.monotonic() - killed < WINDOW + 45 and crashed.state.message == CRASH_MESSAGE
        wait_until(lambda: alert_hook.matching(crashed.name, "prefect.flow-run.Crashed"), timeout=60,
                   what="the failed-or-crashed alert")
    finally:
        stop_serve(process)
        cli("alerts", "setup", "--webhook-url", alert_hook.url)  # the default window again
        delete_deployments()
