"""Benchmark: one 15,000-row template end to end through the bulk assignment flow, against a
running Prefect server, next to a trivial one-task flow as the orchestration floor.

Uses PREFECT_API_URL if set; otherwise starts `prefect server start` on a free loopback port for
the run. Each repetition builds a fresh organization and template (not timed), then times the flow.
Prints medians: flow wall time, assignment-phase rows/s (sum of the assign-chunk task runs), the
trivial flow's wall time and the ratio. Usage: python benchmarks/bulk_assignment.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench_org import ROWS, build_draft


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1)
            return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("prefect server did not start")


def build_template(engine) -> str:
    from phonesys.storage.inventory.jobs import start_job

    template = build_draft(engine)
    fixed = os.environ.get("BENCH_CHUNK")  # rows per task; unset: the default (sized by time)
    start_job(engine, template, **({"chunk_size": int(fixed)} if fixed else {}))
    return template


def assignment_seconds(flow_run_id) -> float:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return sum(r.total_run_time.total_seconds() for r in runs if r.name.startswith("assign-chunk"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with prefect_api():
        measure(args.runs)


@contextmanager
def prefect_api() -> Iterator[None]:
    """A fresh PHONESYS_HOME, and PREFECT_API_URL (or a server of our own while the body runs)."""
    tmp = Path(tempfile.mkdtemp(prefix="phonesys-bench-"))
    os.environ.update({"PHONESYS_HOME": str(tmp / "home"), "PREFECT_LOGGING_LEVEL": "WARNING",
                       "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        server, os.environ["PREFECT_API_URL"] = start_server(tmp / "prefect")
    try:
        yield
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)


def measure(runs: int) -> None:
    from prefect import flow, task

    from phonesys.flows.bulk_assignment import BulkAssignmentParameters, bulk_assignment
    from phonesys.settings import load_settings
    from phonesys.storage.inventory.engine import open_engine

    @task
    def one_step() -> int:
        return 1

    @flow(name="trivial-floor")
    def trivial() -> int:
        return one_step()

    engine = open_engine(load_settings().inventory_url)
    floors, walls, rates = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        trivial()
        floors.append(time.perf_counter() - started)
        template = build_template(engine)
        started = time.perf_counter()
        state = bulk_assignment(BulkAssignmentParameters(template_uuid=template), return_state=True)
        walls.append(time.perf_counter() - started)
        assert state.is_completed() and state.result()["assigned"] == ROWS, state
        rates.append(ROWS / assignment_seconds(state.state_details.flow_run_id))
    floor, wall, rate = statistics.median(floors), statistics.median(walls), statistics.median(rates)
    print(f"bulk flow ({ROWS:,} rows): median wall {wall:.2f}s; assignment phase median {rate:,.0f} rows/s")
    print(f"trivial one-task flow:    median wall {floor:.2f}s; ratio bulk/trivial {wall / floor:.1f}x "
          f"(runs={runs}, {engine.url.get_backend_name()})")


if __name__ == "__main__":
    main()
