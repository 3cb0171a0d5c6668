"""Benchmark: many organizations' bulk jobs at once, on PostgreSQL, run by W Prefect workers.

For each W (default 1, 2, 4): N organizations (default 8), each with a started R-row template
(default 15,000; built before the clock starts), are handed to the `bulk-assignment` deployment of
prefect.yaml together; W `prefect worker start` processes on a process work pool run them, one flow
run per worker at a time, so W is the number of jobs running at once. Everything runs as in
production: a `prefect server start` of its own (on a free loopback port), `prefect work-pool create`
and `prefect deploy` as ops would, workers whose flow runs are separate processes, the inventory on
PostgreSQL, and the concurrency limits of ``phonesys.ops.limits`` (``PHONESYS_BULK_JOBS`` set to the
largest W unless given, so the limit does not cap the measurement).

Prints per W: aggregate rows/s (all rows over the time from submitting the runs to the last one
ending), the ratio to W = 1, each job's wall time p50/p95 (its flow run's start to end, and from
submission to end, which adds waiting for a worker and starting the flow run's process), and the
invariant check afterwards: over the whole database docs/invariants.md#license-counts,
docs/invariants.md#one-owner, docs/invariants.md#org-isolation and docs/invariants.md#holds (used ==
extensions, no user or number on two extensions, ...), and for every template
docs/invariants.md#exactly-once (every row assigned exactly once).

Usage: PHONESYS_BENCH_POSTGRES_URL=postgresql+psycopg://... python benchmarks/scale_out.py
           [--orgs 8] [--rows 15000] [--workers 1 2 4] [--chunk-size 500] [--bulk-jobs N]
Runs in a fresh schema of that database, dropped afterwards. The Prefect server inherits the
environment: ``PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://...`` puts it on PostgreSQL
as in production (its SQLite default answered 503 under four workers on a loaded 2-core machine;
``PREFECT_SERVER_DATABASE_TIMEOUT=60`` helps there). ``run_scale_out`` is the same run for tests
(tests/test_scale_out.py runs the CI-sized form).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.scale_jobs import Job, build_jobs, job_violations  # noqa: E402
from benchmarks.timelines import Timeline, timelines_of  # noqa: E402

POOL = "phonesys-process"  # prefect.yaml's pool: the deployment is registered exactly as ops would
DEPLOYMENT = "bulk-assignment/bulk-assignment"
RUN_TIMEOUT = 3600.0  # seconds for one round's runs to end
PREFECT_DATABASE_SETTINGS = ("PREFECT_API_DATABASE_CONNECTION_URL",
                             "PREFECT_SERVER_DATABASE_SQLALCHEMY_CONNECT_ARGS_SEARCH_PATH")


@dataclass
class Round:
    """One W's measurement."""

    workers: int
    rows: int
    makespan: float
    walls: list[float]      # each job's flow run, start to end
    latencies: list[float]  # each job, from submission to its end (queueing and process start included)
    states: list[str]
    violations: list[str] = field(default_factory=list)
    timelines: list[Timeline] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.makespan


def run_scale_out(orgs: int = 8, rows: int = 15_000, workers: tuple[int, ...] = (1, 2, 4),
                  postgres_url: str = "", *, chunk_size: int = 500, bulk_jobs: int | None = None,
                  echo: Callable[[str], None] = print) -> list[Round]:
    """Run one round per worker count and return them (``format_rounds`` prints them)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from phonesys.storage.inventory.engine import open_engine

    engine = open_engine(postgres_url)
    with tempfile.TemporaryDirectory(prefix="phonesys-scale-out-") as tmp, prefect_server(Path(tmp)) as api_url, \
            temporary_settings(updates={PREFECT_API_URL: api_url}):
        env = worker_env(api_url, postgres_url, Path(tmp), bulk_jobs or max(workers))
        register_deployment(env)
        rounds = []
        for serial, count in enumerate(workers):
            echo(f"W={count}: building {orgs} organizations x {rows:,} rows ...")
            jobs = build_jobs(engine, orgs, rows, serial, chunk_size)
            with worker_processes(env, count, Path(tmp) / f"workers-{serial}"):
                rounds.append(measure_round(jobs, count))
            rounds[-1].violations = job_violations(engine, jobs)
            echo(format_rounds(rounds)[-1])
            for number, line in enumerate(rounds[-1].timelines, start=1):
                echo(f"  job {number}: {line.line()}")
        return rounds


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """A `prefect server start` of the benchmark's own: nothing else polls its pool."""
    from phonesys.ops.localserver import free_port, start_server, wait_healthy

    server = start_server(home / "prefect", port=free_port())
    try:
        wait_healthy(server, timeout=300)
        yield server.api_url
        complaints = [line for line in server.log.read_text(errors="replace").splitlines()
                      if "locked" in line or " 503" in line or "ERROR" in line]
        print(f"prefect server log: {len(complaints)} lines of errors/locks/503s; last: {complaints[-3:]}")
    finally:
        if server.process.poll() is not None:  # it died under us: say why before its folder goes
            print(f"prefect server exited with {server.process.returncode}; end of its log:\n"
                  f"{server.log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        server.stop()


def worker_env(api_url: str, postgres_url: str, tmp: Path, bulk_jobs: int) -> dict[str, str]:
    """What a worker machine sets (README, Scale-out deployment); flow runs inherit it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHONESYS_", "PREFECT_"))}
    env.update(PREFECT_API_URL=api_url, PHONESYS_DATABASE_URL=postgres_url, PHONESYS_HOME=str(tmp / "home"),
               PHONESYS_STORAGE_URL=str(tmp / "objects"), PHONESYS_SOURCE_DIR=str(ROOT),
               PHONESYS_BULK_JOBS=str(bulk_jobs), PYTHONPATH=str(ROOT), PREFECT_HOME=str(tmp / "client-home"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING",
               PREFECT_WORKER_QUERY_SECONDS="1")  # default 10 s: polling would dominate short jobs
    return env


def register_deployment(env: dict[str, str]) -> None:
    """`prefect work-pool create` and `prefect deploy` of prefect.yaml's bulk-assignment, as ops do."""
    prefect = [sys.executable, "-m", "prefect", "--no-prompt"]
    for command in (["work-pool", "create", POOL, "--type", "process", "--overwrite"],
                    ["deploy", "--name", DEPLOYMENT.split("/")[1]]):
        done = subprocess.run(prefect + command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


@contextmanager
def worker_processes(env: dict[str, str], count: int, logs: Path) -> Iterator[list[subprocess.Popen]]:
    """``count`` workers taking one flow run at a time; interrupted (they finish cleanly) on exit."""
    logs.mkdir(parents=True, exist_ok=True)
    workers = []
    try:
        for number in range(count):
            with (logs / f"worker-{number}.log").open("wb") as log:
                workers.append(subprocess.Popen(
                    [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--limit", "1",
                     "--name", f"scale-out-{logs.name}-{number}"], cwd=ROOT, env=env, stdout=log,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True))
        wait_for_workers(workers, {f"scale-out-{logs.name}-{n}" for n in range(count)}, logs)
        yield workers
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def wait_for_workers(workers: list[subprocess.Popen], names: set[str], logs: Path, timeout: float = 300) -> None:
    """Block until every worker has announced itself to the server, so the clock measures the jobs,
    not how long Python takes to start a worker."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import WorkerStatus

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while not names <= {w.name for w in client.read_workers_for_work_pool(POOL)
                            if w.status == WorkerStatus.ONLINE}:
            if any(w.poll() is not None for w in workers) or time.monotonic() > deadline:
                tails = "".join(log.read_text(errors="replace")[-1500:] for log in sorted(logs.glob("*.log")))
                raise RuntimeError(f"workers did not come online:\n{tails}")
            time.sleep(0.5)


def measure_round(jobs: list[Job], workers: int) -> Round:
    """Submit every job's run at once, wait for all of them; times come from the Prefect API."""
    from prefect.deployments import run_deployment

    from phonesys.ops.prefect_env import run_tags

    submitted = datetime.now(UTC)
    ids = [run_deployment(DEPLOYMENT, parameters={"parameters": {"template_uuid": job.template_uuid}},
                          timeout=0, as_subflow=False, tags=run_tags(job.org_uuid)).id for job in jobs]
    runs = wait_for_runs(ids)
    timelines = timelines_of(runs, submitted)
    ended = max(run.end_time for run in runs if run.end_time)
    walls = [(run.end_time - run.start_time).total_seconds() for run in runs if run.start_time and run.end_time]
    latencies = [(run.end_time - submitted).total_seconds() for run in runs if run.end_time]
    return Round(workers, sum(job.rows for job in jobs), (ended - submitted).total_seconds(), walls, latencies,
                 [run.state.type.value for run in runs], timelines=timelines)


def wait_for_runs(ids: list, timeout: float = RUN_TIMEOUT) -> list:
    """The flow runs once every one is final (Completed, Failed, Crashed, Cancelled)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
            if len(runs) == len(ids) and all(run.state and run.state.is_final() for run in runs):
                return runs
            if time.monotonic() > deadline:
                raise TimeoutError(f"runs not final after {timeout:.0f} s: "
                                   f"{sorted(str(r.state and r.state.type.value) for r in runs)}")
            time.sleep(1.0)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the value below which ``share`` of ``values`` lie."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def format_rounds(rounds: list[Round]) -> list[str]:
    """One line per round: W, rows/s, ratio to the first round, job p50/p95, states, invariants."""
    base = rounds[0].rows_per_second
    lines = []
    for r in rounds:
        states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(Counter(r.states).items()))
        verdict = "invariants hold" if not r.violations else f"INVARIANTS BROKEN: {'; '.join(r.violations)}"
        lines.append(f"W={r.workers}: {r.rows:,} rows in {r.makespan:.1f}s = {r.rows_per_second:,.0f} rows/s "
                     f"(x{r.rows_per_second / base:.2f} of W={rounds[0].workers}); job wall p50 "
                     f"{percentile(r.walls, 0.5):.1f}s p95 {percentile(r.walls, 0.95):.1f}s, from submission "
                     f"p50 {percentile(r.latencies, 0.5):.1f}s p95 {percentile(r.latencies, 0.95):.1f}s; "
                     f"{states}; {verdict}")
    return lines


@contextmanager
def new_schema(url: str, prefix: str) -> Iterator[str]:
    """A new schema (its name) of the PostgreSQL database at ``url``, dropped with all it holds afterwards."""
    import sqlalchemy

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        from phonesys.storage.inventory.engine import dispose_engines

        dispose_engines()
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """The URL of a new schema of the PostgreSQL database at ``url`` for one run (dropped afterwards)."""
    from urllib.parse import quote

    with new_schema(url, "scale_out") as schema:
        yield f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def prefect_on_postgres(url: str) -> Iterator[None]:
    """Unless PREFECT_API_DATABASE_CONNECTION_URL names one, the benchmark's Prefect server keeps its
    data in a schema of its own in the same PostgreSQL database, as in production (README, Scale-out
    deployment): on its SQLite default, a 2-core machine under load answered "database is locked"
    (503, which Prefect's clients retry after 2, 4, 8 ... s), stalling jobs for tens of seconds."""
    from sqlalchemy.engine import make_url

    if os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL"):
        yield
        return
    with new_schema(url, "scale_out_prefect") as schema:
        asyncpg = make_url(url).set(drivername="postgresql+asyncpg", query={})
        os.environ.update(zip(PREFECT_DATABASE_SETTINGS, (asyncpg.render_as_string(hide_password=False),
                                                          f"{schema}, public"), strict=True))
        try:
            yield
        finally:
            for name in PREFECT_DATABASE_SETTINGS:
                os.environ.pop(name, None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orgs", type=int, default=8)
    parser.add_argument("--rows", type=int, default=15_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--bulk-jobs", type=int, default=None, help="PHONESYS_BULK_JOBS (default: largest W)")
    args = parser.parse_args()
    url = os.environ.get("PHONESYS_BENCH_POSTGRES_URL")
    if not url:
        parser.error("set PHONESYS_BENCH_POSTGRES_URL to a PostgreSQL database (postgresql+psycopg://...)")
    print(f"scale-out: {args.orgs} orgs x {args.rows:,} rows, W={args.workers}, chunk size {args.chunk_size}")
    with fresh_schema(url) as schema_url, prefect_on_postgres(url):
        rounds = run_scale_out(args.orgs, args.rows, tuple(args.workers), schema_url, chunk_size=args.chunk_size,
                               bulk_jobs=args.bulk_jobs, echo=lambda line: print(line, flush=True))
    print("\n".join(["summary:", *format_rounds(rounds)]))
    return 0 if all(not r.violations and set(r.states) == {"COMPLETED"} for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
